package resource

import (
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func benchFilters() []struct{ name, filter string } {
	return []struct{ name, filter string }{
		{"okta_userName", `userName eq "test.user@okta.local"`},
		{"entra_email", `emails[type eq "work"].value eq "test.user@okta.local"`},
		{"entra_manager", `id eq 2819c223-7f76-453a-919d-413861904646 and manager eq 54D382A4-2050-4C03-94D1-E769F1D15682`},
		{"postman_compound", `name.FamilyName eq "user" and (emails.Value co "okta.local" or emails.Value co "example.org")`},
	}
}

// BenchmarkCompileFilterMatch compiles a filter and evaluates it against one
// full representation, as a handler does for a non-exact filter.
func BenchmarkCompileFilterMatch(b *testing.B) {
	s := UserSchema()
	doc := mustJSON(b, sampleUser)
	for _, bf := range benchFilters() {
		b.Run(bf.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f, err := s.CompileFilter(bf.filter)
				if err != nil {
					b.Fatal(err)
				}
				if !f.Match(doc) {
					b.Fatal("no match")
				}
			}
		})
	}
}

// BenchmarkMatch evaluates a compiled filter (the per-resource cost when a
// page is filtered in Go).
func BenchmarkMatch(b *testing.B) {
	s := UserSchema()
	doc := mustJSON(b, sampleUser)
	for _, bf := range benchFilters() {
		f, err := s.CompileFilter(bf.filter)
		require.NoError(b, err)
		b.Run(bf.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !f.Match(doc) {
					b.Fatal("no match")
				}
			}
		})
	}
}

// BenchmarkApplyPatchEntraValidator applies the validator's 36-operation
// "Replace Attributes (Verbose)" PATCH, with operations as elimity hands them
// over.
func BenchmarkApplyPatchEntraValidator(b *testing.B) {
	body, err := os.ReadFile("testdata/entra_validator_patch.json")
	require.NoError(b, err)
	s := UserSchema()
	ops, status := elimityPatch(b, newElimity(b), s, string(body))
	require.NotNil(b, ops, "elimity rejected the body with %d", status)
	require.Len(b, ops, 36)
	doc := mustJSON(b, sampleUser)
	b.ReportAllocs()
	for b.Loop() {
		if _, changed, err := s.ApplyPatch(doc, ops); err != nil || !changed {
			b.Fatal(err)
		}
	}
}

// BenchmarkNormalizeBodyEntraValidator normalises the same body (its manager
// is a raw string, so it is rewritten).
func BenchmarkNormalizeBodyEntraValidator(b *testing.B) {
	body, err := os.ReadFile("testdata/entra_validator_patch.json")
	require.NoError(b, err)
	s := UserSchema()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NormalizeBody(s, http.MethodPatch, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProject shapes a group read the way Entra asks for it.
func BenchmarkProject(b *testing.B) {
	s := GroupSchema()
	doc := mustJSON(b, sampleGroup)
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Project(doc, nil, []string{"members"})
	}
}
