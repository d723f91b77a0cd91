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
	var failed response
	for i := range 5000 {
		body := seedTalks()
		body["title"] = fmt.Sprintf("Talks %d", i)
		body["description"] = strings.Repeat("x", 8000)
		r := svc.do("POST", "/api/v1/meetings", body)
		if r.status != http.StatusCreated {
			failed = r
			break
		}
		acked++
	}
	if failed.status != http.StatusServiceUnavailable || failed.header.Get("Retry-After") == "" {
		t.Fatalf("the write that met the full disk: %d (Retry-After %q) %s, want 503 with Retry-After", failed.status, failed.header.Get("Retry-After"), failed.raw)
	}
	t.Logf("%d writes acknowledged before the disk was full", acked)

	// From now on writes are refused at once, saying why.
	r := svc.do("POST", "/api/v1/meetings", seedTalks())
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.raw), "cannot write") {
		t.Errorf("a write on the full disk: %d %s, want 503 saying the store cannot write", r.status, r.raw)
	}
	if r := svc.do("GET", "/readyz", nil); r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.raw), "cannot write") {
		t.Errorf("/readyz on the full disk: %d %s, want 503 saying why", r.status, r.raw)
	}

	os.Remove(filler)
	var after response
	waitUntil(90*time.Second, func() bool {
		after = svc.do("POST", "/api/v1/meetings", seedTalks())
		return after.status == http.StatusCreated
	})
	if after.status != http.StatusCreated {
		t.Fatalf("a write after space was freed: %d %s, want 201 without a restart", after.status, after.raw)
	}
	pos := after.position(t)
	waitUntil(60*time.Second, func() bool { return svc.do("GET", "/readyz", nil).status == http.StatusOK })
	list := svc.do("GET", fmt.Sprintf("/api/v1/meetings?limit=500&min_position=%d", pos), nil).must(t, http.StatusOK).list("meetings")
	if len(list) < acked+1 {
		t.Errorf("%d meetings listed, want every one of the %d acknowledged and the one after", len(list), acked+1)
	}
}
