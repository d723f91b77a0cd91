package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chancery/chancery/internal/natstest"
)

// backgroundServe is `chancery serve` run in a goroutine the way main runs
// it, for the tests that watch it start, wait and shut down.
type backgroundServe struct {
	cancel context.CancelFunc
	done   chan int // its exit code
	stderr natstest.LogBuffer
}

// serveInBackground starts `chancery serve args…` with the environment env; it is
// cancelled when the test ends, if the test has not stopped it.
func serveInBackground(t *testing.T, env map[string]string, args ...string) *backgroundServe {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := &backgroundServe{cancel: cancel, done: make(chan int, 1)}
	go func() {
		err := run(ctx, append([]string{"serve"}, args...), func(k string) string { return env[k] }, nil, &bytes.Buffer{}, &s.stderr)
		s.done <- exitCode(err)
	}()
	return s
}

// stop cancels serve, as a shutdown signal does, and fails the test unless
// it exits 0 within 30 s.
func (s *backgroundServe) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case code := <-s.done:
		if code != 0 {
			t.Fatalf("serve exited %d after shutdown:\n%s", code, s.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not shut down")
	}
}

// postCall writes a phone call through the API at base with token and fails
// the test unless it is created; when says at which point of the test.
func postCall(t *testing.T, base, token, when string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v1/meetings", strings.NewReader(`{"kind":"call","title":"Phone call","start":"2022-08-22T11:00","timezone":"Europe/Belgrade","location":{"country":"RS"}}`))
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := checkedClient(t, 0).Do(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("write %s: %v %v", when, res, err)
	}
	res.Body.Close()
}
