package scim

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// randomString mixes ASCII (HTML and control characters included), valid
// multi-byte runes, U+2028/U+2029 and invalid UTF-8.
func randomString(rng *rand.Rand) string {
	pieces := []string{"a", "Z", "0", " ", "\"", "\\", "<", ">", "&", "\b", "\f", "\n", "\r", "\t", "\x00", "\x1f", "\x7f",
		"é", "日本", "😀", "\u2028", "\u2029", "\xff", "\xc3", "\xe2\x80", "@", "/", "%", "\ufffd"}
	n := rng.IntN(12)
	s := ""
	for range n {
		s += pieces[rng.IntN(len(pieces))]
	}
	return s
}

func randomValue(rng *rand.Rand, depth int) any {
	k := rng.IntN(11)
	if depth > 3 {
		k = rng.IntN(6)
	}
	switch k {
	case 0:
		return nil
	case 1, 2:
		return randomString(rng)
	case 3:
		return rng.IntN(2) == 0
	case 4:
		return rng.Float64() * 1e6 // handed to encoding/json
	case 5:
		return rng.IntN(1000) - 500
	case 6, 7:
		m := map[string]any{}
		for range rng.IntN(6) {
			m[randomString(rng)] = randomValue(rng, depth+1)
		}
		if rng.IntN(10) == 0 {
			return map[string]any(nil)
		}
		return m
	case 8:
		var xs []any
		if rng.IntN(5) > 0 {
			xs = []any{}
		}
		for range rng.IntN(5) {
			xs = append(xs, randomValue(rng, depth+1))
		}
		return xs
	case 9:
		var xs []string
		for range rng.IntN(4) {
			xs = append(xs, randomString(rng))
		}
		return xs
	default:
		return []map[string]any{{"value": randomString(rng), "n": int64(rng.IntN(9))}}
	}
}

// appendJSON is byte-for-byte json.Marshal on SCIM-shaped trees.
func TestMarshalIsJSONMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		v := randomValue(rng, 0)
		want, err := json.Marshal(v)
		require.NoError(t, err)
		got, err := appendJSON(nil, v)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "value %d: %#v", i, v)
	}
	_, err := appendJSON(nil, map[string]any{"x": make(chan int)})
	require.Error(t, err, "a value encoding/json refuses is refused")
}

func FuzzMarshalString(f *testing.F) {
	for _, s := range []string{"", "plain", "<a&b>", "\u2028\xff\x00\"\\", "日本😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := map[string]any{s: []any{s, map[string]any{"k": s}}}
		want, err := json.Marshal(v)
		require.NoError(t, err)
		got, err := appendJSON(nil, v)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
	})
}

func BenchmarkMarshalPage(b *testing.B) {
	doc := map[string]any{"userName": "someone@example.com", "active": true, "id": "0196f1d2-7d0a-7c3e-8c1f-3b2a1d0e9f8a",
		"name":    map[string]any{"givenName": "Some", "familyName": "One", "formatted": "Some One"},
		"emails":  []any{map[string]any{"value": "someone@example.com", "type": "work", "primary": true}},
		"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"meta":    map[string]any{"resourceType": "User", "location": "https://bridge.example.com/scim/v2/Users/0196f1d2", "created": "2026-01-01T00:00:00Z", "lastModified": "2026-01-01T00:00:00Z", "version": "W/\"3\""}}
	resources := make([]any, 100)
	for i := range resources {
		resources[i] = doc
	}
	page := map[string]any{"schemas": []string{listSchemaURN}, "totalResults": 100000, "startIndex": 1, "itemsPerPage": 100, "Resources": resources}
	b.Run("encoding/json", func(b *testing.B) {
		for range b.N {
			if _, err := json.Marshal(page); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("appendJSON", func(b *testing.B) {
		for range b.N {
			if _, err := appendJSON(nil, page); err != nil {
				b.Fatal(err)
			}
		}
	})
}
