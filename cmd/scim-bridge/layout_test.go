package main

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/scim-bridge/scim-bridge"

// appPackage is the composition root: it builds and runs the bridge from a
// configuration, joining the SCIM layer and the domain.
const appPackage = module + "/bridge/app"

// appTestPackage runs whole bridges built by bridge/app in tests.
const appTestPackage = appPackage + "/apptest"

// simclockPackage is the simulated clock of the tests and the benchmark.
const simclockPackage = module + "/bridge/simclock"

type listedPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	require.NoError(t, err)
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p listedPackage
		require.NoError(t, dec.Decode(&p))
		pkgs = append(pkgs, p)
	}
	require.NotEmpty(t, pkgs)
	return pkgs
}

// TestDependencyRules enforces the project's layering (dependencies point from
// cmd to bridge/app, from there to scim, bridge and config, never back): each rule names the packages it
// applies to, what they must not depend on, and why.
func TestDependencyRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	rules := []struct {
		pkg        func(string) bool
		banned     func(string) bool
		why        string
		transitive bool // check every dependency, not only direct imports
	}{
		{func(p string) bool { return p == module+"/config" }, func(d string) bool { return strings.HasPrefix(d, module+"/") },
			"config is a leaf: everything may import it, it imports no project package", true},
		{func(p string) bool {
			return strings.HasPrefix(p, module+"/bridge") && p != appPackage && p != appTestPackage
		}, func(d string) bool {
			return strings.HasPrefix(d, module+"/scim") || strings.HasPrefix(d, module+"/cmd") || strings.HasPrefix(d, "github.com/gin-gonic/") ||
				d == appPackage
		}, "the domain does not know about HTTP, SCIM, the assembly or the commands", true},
		{func(p string) bool { return p == appPackage }, func(d string) bool { return strings.HasPrefix(d, module+"/cmd") },
			"bridge/app assembles the components (the one place that joins the SCIM layer and the domain); the commands use it, never the reverse", true},
		{func(p string) bool { return p == appTestPackage }, func(d string) bool { return strings.HasPrefix(d, module+"/cmd") },
			"bridge/app/apptest runs the assembly for the tests of any package, the commands' included; it never depends on a command", true},
		{func(p string) bool { return p == module+"/bridge/reconcile" || p == module+"/bridge/known" }, func(d string) bool { return d == module+"/bridge/delivery" },
			"reconciliation and the known BigCommerce state stand beside delivery, not on it", true},
		{func(p string) bool { return strings.HasPrefix(p, module+"/scim") }, func(d string) bool { return d == appPackage },
			"the SCIM layer is one component the assembly uses", true},
		{func(p string) bool { return p == module+"/bridge/store" }, func(d string) bool {
			return strings.HasPrefix(d, module+"/bridge/store/") || strings.Contains(d, "sqlite") || strings.Contains(d, "pgx")
		}, "the store interface imports no backend", true},
		{func(p string) bool { return strings.HasPrefix(p, module+"/scim") }, func(d string) bool {
			return strings.HasPrefix(d, module+"/cmd") || strings.HasPrefix(d, module+"/bridge/store/sqlite") || strings.HasPrefix(d, module+"/bridge/store/postgres")
		}, "the SCIM layer works through bridge.Service and the store interface", true},
		{func(p string) bool { return p == simclockPackage }, func(d string) bool { return strings.HasPrefix(d, module+"/") },
			"the simulated clock is a leaf that any test can import", true},
		{func(p string) bool { return p != simclockPackage && p != module+"/cmd/scim-bridge-load" }, func(d string) bool { return d == simclockPackage },
			"the simulated clock is for tests and the delivery benchmark; the bridge runs on real time (Deps leaves test imports out)", true},
		{func(p string) bool { return !strings.HasPrefix(p, module+"/cmd") }, func(d string) bool {
			return d == "io/ioutil" || d == "github.com/pkg/errors" || d == "log"
		}, "deprecated or global-state packages (use os/io, fmt.Errorf with %w, zap)", false},
	}
	for _, p := range listPackages(t) {
		for _, r := range rules {
			if !r.pkg(p.ImportPath) {
				continue
			}
			deps := p.Imports
			if r.transitive {
				deps = p.Deps
			}
			for _, d := range deps {
				require.False(t, r.banned(d), "%s depends on %s: %s", p.ImportPath, d, r.why)
			}
		}
	}
}

// TestPackageDocs: every package has exactly one package doc comment.
func TestPackageDocs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, p := range listPackages(t) {
		docs := 0
		for _, f := range p.GoFiles {
			file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, f), nil, parser.PackageClauseOnly|parser.ParseComments)
			require.NoError(t, err)
			if file.Doc != nil && strings.TrimSpace(file.Doc.Text()) != "" {
				docs++
			}
		}
		require.Equal(t, 1, docs, "%s must have exactly one package doc comment (has %d)", p.ImportPath, docs)
	}
}
