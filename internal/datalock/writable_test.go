package datalock

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A directory that takes a file passes and keeps no trace of the check; one
// that does not yet exist is not in the way; one that cannot take a file is
// named. (A file stands in for the unwritable directory: a read-only mount
// needs privileges a unit test does not have, and permissions stop no root.)
func TestWritableNamesTheDirectoryThatTakesNoFile(t *testing.T) {
	dir := t.TempDir()
	if err := Writable(dir, filepath.Join(dir, "nats")); err != nil {
		t.Fatalf("Writable(a fresh directory, an absent one) = %v, want nil", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("the check left %v behind", left)
	}
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := Writable(dir, notDir)
	if err == nil || !strings.Contains(err.Error(), "data directory "+notDir+" is not writable") {
		t.Errorf("Writable(%s) = %v, want it named as not writable", notDir, err)
	}
}
