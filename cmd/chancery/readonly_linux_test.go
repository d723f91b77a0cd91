package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// readOnly makes dir read-only to this process: a read-only bind mount of
// it when the process may mount (as root, where permissions stop nothing),
// else permissions. It returns the path to use.
func readOnly(t *testing.T, dir string) string {
	t.Helper()
	mnt := t.TempDir()
	if err := syscall.Mount(dir, mnt, "", syscall.MS_BIND, ""); err == nil {
		t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
		if err := syscall.Mount("", mnt, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
			t.Fatalf("remount %s read-only: %v", mnt, err)
		}
		return mnt
	}
	if os.Geteuid() == 0 {
		t.Skip("running as root without the right to mount: no way to make a directory read-only")
	}
	for _, d := range []string{dir, filepath.Join(dir, "nats")} {
		os.Chmod(d, 0o555)
		t.Cleanup(func() { os.Chmod(d, 0o755) })
	}
	return dir
}

func TestServeOnAReadOnlyDataDirectoryFailsAtOnceNamingIt(t *testing.T) {
	dir := t.TempDir()
	s := startService(t, dir)
	s.Do("POST", "/api/v1/meetings", seedTalks()).Must(t, 201)
	s.stop()

	ro := readOnly(t, dir)
	if f, err := os.CreateTemp(ro, "probe"); err == nil {
		f.Close()
		os.Remove(f.Name())
		t.Fatalf("%s is still writable", ro)
	}
	_, err := tryStartService(t, ro)
	if err == nil {
		t.Fatal("serve started on a read-only data directory")
	}
	if msg := err.Error(); !strings.Contains(msg, ro) || !strings.Contains(msg, "not writable") {
		t.Errorf("error = %q, want one naming %s as not writable", msg, ro)
	}
}
