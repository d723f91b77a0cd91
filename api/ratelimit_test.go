package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/natstest"
)

const (
	deskToken  = "desk-token-0123456789"
	pressToken = "press-token-0123456789"
)

// limitedServer is the API over a real event log, behind limits.
func limitedServer(t *testing.T, limits Limits) *httptest.Server {
	t.Helper()
	ns := natstest.Start(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log, err := events.OpenLog(ctx, ns.JS, events.LogConfig{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{Log: log, Limits: limits, Tokens: []Token{
		{Name: "desk", Token: deskToken, Scope: ScopeRead},
		{Name: "press", Token: pressToken, Scope: ScopeRead},
	}}))
	t.Cleanup(srv.Close)
	return srv
}

// get reads path with token ("" for none) and returns the answer's status
// and Retry-After.
func get(t *testing.T, srv *httptest.Server, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("429 as %q, want a problem", res.Header.Get("Content-Type"))
	}
	return res.StatusCode, res.Header.Get("Retry-After")
}

// slow is a limit that does not refill while a test runs: one request an hour.
const slow = 1.0 / 3600

func TestRequestsBeyondTheBurstAre429WithRetryAfterPerTokenAndPerClient(t *testing.T) {
	t.Parallel()
	srv := limitedServer(t, Limits{TokenRate: slow, TokenBurst: 2, ClientRate: slow, ClientBurst: 3, Loopback: true})

	for i := range 2 {
		if status, _ := get(t, srv, "/api/v1/events", deskToken); status != http.StatusOK {
			t.Fatalf("desk request %d: status %d, want 200 within the burst", i+1, status)
		}
	}
	status, after := get(t, srv, "/api/v1/events", deskToken)
	if status != http.StatusTooManyRequests {
		t.Fatalf("desk request 3: status %d, want 429 beyond the burst", status)
	}
	if secs, err := strconv.Atoi(after); err != nil || secs < 1 {
		t.Errorf("Retry-After %q, want whole seconds", after)
	}
	// Another token has its own bucket, and so do callers without one.
	if status, _ := get(t, srv, "/api/v1/events", pressToken); status != http.StatusOK {
		t.Errorf("press token: status %d, want 200: the desk's limit is its own", status)
	}
	for i := range 3 {
		if status, _ := get(t, srv, "/api/v1/events", ""); status != http.StatusOK {
			t.Fatalf("anonymous read %d: status %d, want 200 within the client's burst", i+1, status)
		}
	}
	if status, after := get(t, srv, "/api/v1/events", ""); status != http.StatusTooManyRequests || after == "" {
		t.Errorf("anonymous read 4: status %d, Retry-After %q; want 429 with Retry-After", status, after)
	}
	// A wrong token is no token: it counts against the client address.
	if status, _ := get(t, srv, "/api/v1/events", "wrong-token-0123456789"); status != http.StatusTooManyRequests {
		t.Errorf("wrong token: status %d, want 429 like any anonymous caller", status)
	}
	if status, _ := get(t, srv, "/healthz", ""); status != http.StatusOK {
		t.Errorf("/healthz: status %d; health probes are never limited", status)
	}
}

func TestLoopbackIsNotLimitedByDefault(t *testing.T) {
	t.Parallel()
	srv := limitedServer(t, Limits{TokenRate: slow, TokenBurst: 1, ClientRate: slow, ClientBurst: 1})
	for i := range 5 {
		for _, token := range []string{deskToken, ""} {
			if status, _ := get(t, srv, "/api/v1/events", token); status != http.StatusOK {
				t.Fatalf("request %d (token %q) from loopback: status %d, want 200", i+1, token, status)
			}
		}
	}
}

func TestForwardedForNamesTheClientOnlyFromATrustedProxy(t *testing.T) {
	l := newLimiter(Limits{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}})
	for _, tc := range []struct {
		peer, forwarded, want string
	}{
		{"192.0.2.7:4000", "198.51.100.1", "192.0.2.7"},                // not a proxy: its header is ignored
		{"10.0.0.2:4000", "198.51.100.1", "198.51.100.1"},              // a trusted proxy
		{"10.0.0.2:4000", "203.0.113.9, 198.51.100.1", "198.51.100.1"}, // the client wrote the first
		{"10.0.0.2:4000", "198.51.100.1, 10.0.0.3", "198.51.100.1"},    // two proxies
		{"10.0.0.2:4000", "", "10.0.0.2"},                              // no header
		{"10.0.0.2:4000", "not-an-address", "10.0.0.2"},                // a mangled header
		{"[::ffff:192.0.2.7]:4000", "198.51.100.1", "192.0.2.7"},       // v4 in v6
		{"[2001:db8::1]:4000", "", "2001:db8::1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		if tc.forwarded != "" {
			r.Header.Set("X-Forwarded-For", tc.forwarded)
		}
		if got := l.client(r).String(); got != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: client %s, want %s", tc.peer, tc.forwarded, got, tc.want)
		}
	}
}

func TestLimitersOfIdleClientsAreEvicted(t *testing.T) {
	b := newBuckets(1, 2, 3) // one a second, two at once, three clients kept
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []string{"a", "b", "c"} {
		b.allow(c, t0)
	}
	b.allow("a", t0) // "a" spent its burst; "b" and "c" have refilled by t0+1s
	t1 := t0.Add(time.Second)
	b.allow("d", t1)
	if n := b.len(); n != 2 {
		t.Errorf("%d limiters kept, want 2: the refilled ones go when a new client comes", n)
	}
	b.allow("a", t1)
	if ok, _ := b.allow("a", t1); ok {
		t.Error("a's limiter was evicted while its bucket was not full")
	}
	// When none has refilled, the one seen longest ago goes: the map
	// never grows past its bound.
	for i, c := range []string{"e", "f", "g", "h"} {
		now := t0.Add(time.Second + time.Duration(i)*time.Millisecond)
		b.allow(c, now)
		b.allow(c, now)
		b.allow(c, now)
		if n := b.len(); n > 3 {
			t.Fatalf("%d limiters kept, want at most 3", n)
		}
	}
}
