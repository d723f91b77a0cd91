package api

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits bound how often one token, or one client address without a
// token, may be answered. A zero Rate takes the default.
type Limits struct {
	Off bool
	// TokenRate and TokenBurst: requests per second, and at once, for each
	// token (by name).
	TokenRate  float64
	TokenBurst int
	// ClientRate and ClientBurst: the same for each client address that
	// brings no valid token.
	ClientRate  float64
	ClientBurst int
	// Loopback limits clients on 127.0.0.1 and ::1 too; by default they
	// are not limited (a local tool or the tour of the README is not abuse).
	Loopback bool
	// TrustedProxies are the addresses whose X-Forwarded-For names the
	// client. Any other peer is the client, whatever header it sends.
	TrustedProxies []netip.Prefix
	// MaxClients bounds the limiters kept for client addresses and tokens.
	MaxClients int
}

// Defaults of Limits, as documented in docs/configuration.md.
const (
	DefaultTokenRate   = 50
	DefaultTokenBurst  = 100
	DefaultClientRate  = 10
	DefaultClientBurst = 40
	DefaultMaxClients  = 10000
)

func (l Limits) withDefaults() Limits {
	l.TokenRate = positiveOr(l.TokenRate, DefaultTokenRate)
	l.TokenBurst = positiveOr(l.TokenBurst, DefaultTokenBurst)
	l.ClientRate = positiveOr(l.ClientRate, DefaultClientRate)
	l.ClientBurst = positiveOr(l.ClientBurst, DefaultClientBurst)
	l.MaxClients = positiveOr(l.MaxClients, DefaultMaxClients)
	return l
}

// positiveOr is v, or def when v is zero or negative: a limit that would
// refuse everything means "not set".
func positiveOr[T int | float64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// limiter applies Limits to requests.
type limiter struct {
	cfg     Limits
	tokens  *buckets
	clients *buckets
}

func newLimiter(cfg Limits) *limiter {
	cfg = cfg.withDefaults()
	return &limiter{
		cfg:     cfg,
		tokens:  newBuckets(rate.Limit(cfg.TokenRate), cfg.TokenBurst, cfg.MaxClients),
		clients: newBuckets(rate.Limit(cfg.ClientRate), cfg.ClientBurst, cfg.MaxClients),
	}
}

// allow reports whether r may be answered now and, if not, how long the
// caller should wait. Health probes are never limited: an orchestrator that
// sees 429 on /healthz restarts a healthy process.
func (l *limiter) allow(r *http.Request, c caller, now time.Time) (bool, time.Duration) {
	if l == nil || l.cfg.Off || r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
		return true, 0
	}
	client := l.client(r)
	if !l.cfg.Loopback && client.IsLoopback() {
		return true, 0
	}
	if c.authd {
		return l.tokens.allow("token "+c.token.Name, now)
	}
	return l.clients.allow(client.String(), now)
}

// client is the address a request comes from: the peer of the connection,
// or, when the peer is a trusted proxy, the last address in
// X-Forwarded-For that is not one (earlier ones the client itself may have
// written).
func (l *limiter) client(r *http.Request) netip.Addr {
	peer := remoteAddr(r.RemoteAddr)
	if !l.trusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer // a mangled header: the proxy is all that is known
		}
		if a = a.Unmap(); !l.trusted(a) {
			return a
		}
	}
	return peer
}

func (l *limiter) trusted(a netip.Addr) bool {
	for _, p := range l.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func remoteAddr(hostport string) netip.Addr {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// buckets are token-bucket limiters by key, at most max of them. A limiter
// whose bucket has refilled is the same as a new one, so those are the
// ones dropped when room is needed; only when every one is in use does the
// one idle longest go.
type buckets struct {
	mu    sync.Mutex
	every rate.Limit
	burst int
	max   int
	m     map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newBuckets(every rate.Limit, burst, max int) *buckets {
	return &buckets{every: every, burst: burst, max: max, m: map[string]*bucket{}}
}

func (b *buckets) allow(key string, now time.Time) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k, ok := b.m[key]
	if !ok {
		if len(b.m) >= b.max {
			b.evict(now)
		}
		k = &bucket{lim: rate.NewLimiter(b.every, b.burst)}
		b.m[key] = k
	}
	k.seen = now
	if k.lim.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - k.lim.TokensAt(now)
	return false, time.Duration(missing / float64(b.every) * float64(time.Second))
}

func (b *buckets) evict(now time.Time) {
	var oldest string
	for key, k := range b.m {
		if k.lim.TokensAt(now) >= float64(b.burst) {
			delete(b.m, key)
		} else if oldest == "" || k.seen.Before(b.m[oldest].seen) {
			oldest = key
		}
	}
	if len(b.m) >= b.max {
		delete(b.m, oldest)
	}
}

// len is how many limiters are kept.
func (b *buckets) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}

// retryAfter is a wait as Retry-After: whole seconds, at least one.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
