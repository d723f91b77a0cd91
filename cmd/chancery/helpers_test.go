package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	fakeclock "github.com/chancery/chancery/internal/clock"
)

const testToken = "test-token-0123456789abcdef"

// clock is the settable clock the service records events by.
type clock = fakeclock.Clock

func newClock(t time.Time) *clock { return fakeclock.New(t) }

// service is a running `chancery serve` in this process: real embedded NATS,
// real SQLite file, real HTTP server on a loopback port.
type service struct {
	t      *testing.T
	app    *app
	base   string
	dir    string
	closed bool
}

// testServe is what a test may set before serve starts: its flags, and
// the clock (time.Now when nil).
type testServe struct {
	serveOptions
	now func() time.Time
}

func startService(t *testing.T, dir string, tweak ...func(*testServe)) *service {
	t.Helper()
	s, err := tryStartService(t, dir, tweak...)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	return s
}

// tryStartService is startService returning the error of a failed start
// (for a goroutine, which must not call t.Fatal).
func tryStartService(t *testing.T, dir string, tweak ...func(*testServe)) (*service, error) {
	o := testServe{serveOptions: serveOptions{data: dir, http: "127.0.0.1:0"}, now: time.Now}
	for _, f := range tweak {
		f(&o)
	}
	getenv := func(k string) string {
		if k == "CHANCERY_API_TOKEN" {
			return testToken
		}
		return ""
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := start(context.Background(), o.serveOptions, serveEnv{getenv: getenv, logger: logger, now: o.now})
	if err != nil {
		return nil, err
	}
	s := &service{t: t, app: a, base: "http://" + a.addr(), dir: dir}
	t.Cleanup(s.stop)
	return s, nil
}

func (s *service) stop() {
	if s.closed {
		return
	}
	s.closed = true
	if err := s.app.close(); err != nil {
		s.t.Errorf("close: %v", err)
	}
}

// response is an HTTP answer with its body decoded when it is JSON.
type response struct {
	status int
	header http.Header
	raw    []byte
	json   map[string]any
}

// do sends a request; body may be nil, a []byte, or a value to encode as
// JSON. Headers come in pairs; "Authorization" defaults to the test token
// for writes, and "-" as its value sends none.
func (s *service) do(method, path string, body any, headers ...string) response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if method != http.MethodGet {
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "-" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, raw: raw}
	json.Unmarshal(raw, &r.json)
	return r
}

// must fails the test unless the response has the wanted status.
func (r response) must(t *testing.T, want int) response {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.raw)
	}
	return r
}

func (r response) position(t *testing.T) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(r.header.Get("Chancery-Position"), 10, 64)
	if err != nil {
		t.Fatalf("no Chancery-Position header: %v", r.header)
	}
	return n
}

func (r response) str(key string) string {
	v, _ := r.json[key].(string)
	return v
}

// list returns the items under key of a list response.
func (r response) list(key string) []map[string]any {
	items, _ := r.json[key].([]any)
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i], _ = it.(map[string]any)
	}
	return out
}

// fieldErrors returns the field names of a problem+json answer.
func (r response) fieldErrors() []string {
	var out []string
	errs, _ := r.json["errors"].([]any)
	for _, e := range errs {
		m, _ := e.(map[string]any)
		f, _ := m["field"].(string)
		out = append(out, f)
	}
	return out
}

// waitUntil polls cond every 20 ms until it holds or d has passed.
func waitUntil(d time.Duration, cond func() bool) {
	deadline := time.Now().Add(d)
	for !cond() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}
