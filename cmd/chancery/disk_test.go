package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chancery/chancery/internal/apitest"
)

// A full disk under the embedded store: the write that meets it answers
// 503 (not 500), later writes answer 503 at once naming the problem,
// /readyz says why, and once space is freed the service writes again with
// no restart, having lost nothing it acknowledged.
func TestFullDiskAnswers503AndHealsOnceSpaceIsFreed(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a file system: not in -short")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=32m"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount a small tmpfs (CI runs as root): %v", err)
		}
		t.Skipf("skipped on this machine: mounting a small tmpfs needs root (%v)", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	svc := startService(t, filepath.Join(dir, "data"))

	// Leave about a megabyte free.
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * st.Bsize
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, free-1<<20), 0o600); err != nil {
		t.Fatal(err)
	}

	acked := 0
	var failed apitest.Response
	for i := range 5000 {
		body := seedTalks()
		body["title"] = fmt.Sprintf("Talks %d", i)
		body["description"] = strings.Repeat("x", 8000)
		r := svc.Do("POST", "/api/v1/meetings", body)
		if r.Status != http.StatusCreated {
			failed = r
			break
		}
		acked++
	}
	if failed.Status != http.StatusServiceUnavailable || failed.Header.Get("Retry-After") == "" {
		t.Fatalf("the write that met the full disk: %d (Retry-After %q) %s, want 503 with Retry-After", failed.Status, failed.Header.Get("Retry-After"), failed.Raw)
	}
	t.Logf("%d writes acknowledged before the disk was full", acked)

	// From now on writes are refused at once, saying why.
	r := svc.Do("POST", "/api/v1/meetings", seedTalks())
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Raw), "cannot write") {
		t.Errorf("a write on the full disk: %d %s, want 503 saying the store cannot write", r.Status, r.Raw)
	}
	if r := svc.Do("GET", "/readyz", nil); r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Raw), "cannot write") {
		t.Errorf("/readyz on the full disk: %d %s, want 503 saying why", r.Status, r.Raw)
	}

	os.Remove(filler)
	var after apitest.Response
	waitUntil(90*time.Second, func() bool {
		after = svc.Do("POST", "/api/v1/meetings", seedTalks())
		return after.Status == http.StatusCreated
	})
	if after.Status != http.StatusCreated {
		t.Fatalf("a write after space was freed: %d %s, want 201 without a restart", after.Status, after.Raw)
	}
	pos := after.Position(t)
	waitUntil(60*time.Second, func() bool { return svc.Do("GET", "/readyz", nil).Status == http.StatusOK })
	list := svc.Do("GET", fmt.Sprintf("/api/v1/meetings?limit=500&min_position=%d", pos), nil).Must(t, http.StatusOK).List("meetings")
	if len(list) < acked+1 {
		t.Errorf("%d meetings listed, want every one of the %d acknowledged and the one after", len(list), acked+1)
	}
}
