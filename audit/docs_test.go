package audit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chancery/chancery/internal/tooltest"
)

// The Python checker that docs/audit.md gives auditors finds the same head
// as the trail's end line: the documented chain is the one export writes.
func TestTheDocumentedPythonCheckerAgreesWithTheTrail(t *testing.T) {
	python := tooltest.Require(t, "python3", "install Python 3 (apt-get install -y python3)")
	doc, err := os.ReadFile(filepath.Join("..", "docs", "audit.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "An auditor can check the chain")
	_, script, ok2 := strings.Cut(after, "```python\n")
	script, _, ok3 := strings.Cut(script, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("docs/audit.md no longer shows a Python checker after \"An auditor can check the chain\"")
	}

	_, trail, end := talksTrail(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "trail.ndjson"), []byte(trail), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "-c", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if got, want := strings.TrimSpace(string(out)), "head "+end.Head; err != nil || got != want {
		t.Errorf("the documented checker: %v, %q; want %q", err, got, want)
	}
}
