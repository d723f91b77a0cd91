// Package layout holds no code: its test checks that the packages keep the
// import rules of the design, so a change that breaks one fails the build's
// tests rather than a later reading.
package layout

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/chancery/chancery"

// deps lists, for each package of the module (tests left out), the
// packages of the module it depends on, directly or not.
func deps(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg := strings.TrimPrefix(fields[0], module+"/")
		m[pkg] = nil
		for _, d := range fields[1:] {
			if rest, ok := strings.CutPrefix(d, module+"/"); ok {
				m[pkg] = append(m[pkg], rest)
			}
		}
	}
	return m
}

func TestPackagesKeepTheDesignsImportRules(t *testing.T) {
	m := deps(t)
	for _, pkg := range []string{"events", "projections", "calendar", "notifier", "api", "audit", "cmd/chancery"} {
		if _, ok := m[pkg]; !ok {
			t.Fatalf("go list does not show %s", pkg)
		}
	}
	allowed := func(pkg string, ok ...string) {
		for _, d := range m[pkg] {
			if !slices.Contains(ok, d) {
				t.Errorf("%s depends on %s; it may depend only on %v of this module", pkg, d, ok)
			}
		}
	}
	allowed("events")                // the domain knows nothing else of ours
	allowed("projections", "events") // the read model is built from events alone
	if slices.Contains(m["calendar"], "notifier") {
		t.Error("calendar depends on notifier")
	}
	for pkg, ds := range m {
		if slices.Contains(ds, "cmd/chancery") {
			t.Errorf("%s depends on cmd/chancery", pkg)
		}
	}
}
