package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chancery/chancery/api"
	"github.com/chancery/chancery/internal/apitest"
	fakeclock "github.com/chancery/chancery/internal/clock"
)

const testToken = "test-token-0123456789abcdef"

// clock is the settable clock the service records events by.
type clock = fakeclock.Clock

func newClock(t time.Time) *clock { return fakeclock.New(t) }

// service is a running `chancery serve` in this process: real embedded NATS,
// real SQLite file, real HTTP server on a loopback port.
type service struct {
	*apitest.Client // every answer checked against the API's document
	t               *testing.T
	app             *app
	base            string
	dir             string
	closed          bool
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
	return newService(t, a, dir), nil
}

// pendingStart is a serve started in a goroutine, for a start that must
// wait for something (its cluster, a tool that has the store open) before
// it returns.
type pendingStart struct {
	t    *testing.T
	done chan startResult
}

type startResult struct {
	s   *service
	err error
}

// startInBackground starts a service on dir as startService does, without
// waiting for it.
func startInBackground(t *testing.T, dir string, tweak ...func(*testServe)) *pendingStart {
	p := &pendingStart{t: t, done: make(chan startResult, 1)}
	go func() {
		s, err := tryStartService(t, dir, tweak...)
		p.done <- startResult{s, err}
	}()
	return p
}

// stillWaiting fails the test if the start returns within d; while says
// what it must wait out.
func (p *pendingStart) stillWaiting(d time.Duration, while string) {
	p.t.Helper()
	select {
	case r := <-p.done:
		p.t.Fatalf("serve started (%v) %s", r.err, while)
	case <-time.After(d):
	}
}

// started returns the service once its start returns, and fails the test
// if the start fails or takes longer than d; after says what it waited for.
func (p *pendingStart) started(d time.Duration, after string) *service {
	p.t.Helper()
	select {
	case r := <-p.done:
		if r.err != nil {
			p.t.Fatalf("serve %s: %v", after, r.err)
		}
		return r.s
	case <-time.After(d):
		p.t.Fatalf("serve did not start within %s %s", d, after)
	}
	return nil
}

// newService is the test's hold on a started app serving dir; it stops
// the app when the test ends.
func newService(t *testing.T, a *app, dir string) *service {
	base := "http://" + a.addr()
	s := &service{Client: document(t).NewClient(t, base, testToken), t: t, app: a, base: base, dir: dir}
	t.Cleanup(s.stop)
	return s
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

// checker is built once: reading the document takes longer than most
// requests.
var checker = sync.OnceValues(func() (*apitest.Checker, error) { return apitest.New(api.OpenAPI()) })

// document is the checker of the API's document, for a test's requests.
func document(t testing.TB) *apitest.Checker {
	t.Helper()
	c, err := checker()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkedClient is an HTTP client that gives up after timeout (never when
// 0) and checks every answer against the API's document.
func checkedClient(t testing.TB, timeout time.Duration) *http.Client {
	t.Helper()
	c := document(t).Client(t, nil)
	c.Timeout = timeout
	return c
}

// waitUntil polls cond every 20 ms until it holds or d has passed.
func waitUntil(d time.Duration, cond func() bool) {
	deadline := time.Now().Add(d)
	for !cond() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// repeatUntil calls f with 0, 1, 2, … until stop is closed or f says to
// stop, as a writer keeping load on the service does.
func repeatUntil(stop <-chan struct{}, f func(i int) bool) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		if !f(i) {
			return
		}
	}
}

// writeConfig writes text as the config file chancery.yaml in dir and
// returns its path.
func writeConfig(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "chancery.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// belgradeDesk is the notifier part of a config whose one subscriber, the
// Belgrade desk, wants change alerts about Serbia by webhook at url, with a
// short ack wait so that a redelivery comes within the test; secret, when
// given, signs them.
func belgradeDesk(url, secret string) string {
	signed := ""
	if secret != "" {
		signed = "    secret: " + secret + "\n"
	}
	return `notifier:
  public_url: https://chancery.example.org
  delivery: {ack_wait: 1s, backoff: [50ms]}
subscribers:
  - name: belgrade-desk
    channel: webhook
    to: ` + url + "\n" + signed + `    timezone: Europe/Belgrade
    alerts: [change]
    filter: {countries: [RS]}
`
}
