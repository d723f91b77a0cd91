// Package natsconn connects Chancery to NATS: to a server in the process
// (internal/embedded) or to an external server or cluster, and waits for
// one that is not up yet. A tool (tool.go) connects through a data
// directory too, and gives up a NATS that stays away.
package natsconn

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Options say how to reach NATS.
type Options struct {
	URL      string // empty: Local
	Creds    string
	User     string
	Password string
	CAFile   string
	CertFile string
	KeyFile  string
	// Local is the server in this process to connect to when URL is empty.
	Local Local
}

// Local is a server in this process, which a client reaches without a
// socket.
type Local interface {
	ClientOptions() []nats.Option
}

// How quickly a connection to an external NATS gives up a silent server.
const (
	pingInterval = time.Second
	dialTimeout  = 2 * time.Second
)

// Connect opens the client connection: in-process to o.Local, otherwise to
// the configured URLs with credentials and TLS as given. extra options come
// last, so they override the defaults here.
func Connect(o Options, logger *slog.Logger, extra ...nats.Option) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("chancery"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { logger.Info("nats reconnected", "url", nc.ConnectedUrlRedacted()) }),
	}
	if o.URL == "" && o.Local != nil {
		opts = append(opts, o.Local.ClientOptions()...)
		return nats.Connect("", append(opts, extra...)...)
	}
	if o.Creds != "" {
		opts = append(opts, nats.UserCredentials(o.Creds))
	}
	if o.User != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.CAFile != "" {
		opts = append(opts, nats.RootCAs(o.CAFile))
	}
	if o.CertFile != "" || o.KeyFile != "" {
		opts = append(opts, nats.ClientCert(o.CertFile, o.KeyFile))
	}
	// A server cut off by a partition drops packets without a word: ping
	// it every second and give it up after two unanswered pings, and
	// dial each server for 2 s at most, so that the connection moves to a
	// live node in about 3 s instead of nats.go's default 2 minutes.
	opts = append(opts, nats.RetryOnFailedConnect(false), nats.Timeout(dialTimeout),
		nats.PingInterval(pingInterval), nats.MaxPingsOutstanding(2))
	nc, err := nats.Connect(strings.TrimSpace(o.URL), append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats %s: %w", Redact(o.URL), err)
	}
	return nc, nil
}

// Wait connects a service, waiting for NATS as long as it takes (or until
// ctx ends): a service started before its NATS (compose up, a host
// booting, a NATS upgrade) stays up, unready, and logs what it waits for,
// instead of exiting. Attempts back off (Backoff) between rounds of every
// URL, and so do the reconnects after a later loss. A server that refuses
// the credentials twice ends the wait with its error.
func Wait(ctx context.Context, o Options, logger *slog.Logger) (*nats.Conn, error) {
	connected, closed := make(chan struct{}), make(chan struct{})
	var connectedOnce, closedOnce sync.Once
	var lastErr atomic.Value // error: the last attempt's
	nc, err := Connect(o, logger,
		nats.RetryOnFailedConnect(true),
		nats.CustomReconnectDelay(Backoff),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) { lastErr.Store(&err) }),
		nats.ConnectHandler(func(*nats.Conn) { connectedOnce.Do(func() { close(connected) }) }),
		nats.ClosedHandler(func(*nats.Conn) { closedOnce.Do(func() { close(closed) }) }),
	)
	if err != nil || nc.IsConnected() {
		return nc, err
	}
	url := Redact(o.URL)
	why := func() error {
		if err, _ := lastErr.Load().(*error); err != nil {
			return *err
		}
		return nc.LastError()
	}
	logger.Warn("NATS is not reachable yet; waiting for it (the service stays unready meanwhile)", "url", url)
	for every := 5 * time.Second; ; every = min(2*every, time.Minute) {
		select {
		case <-connected:
			logger.Info("nats connected", "url", nc.ConnectedUrlRedacted())
			return nc, nil
		case <-closed:
			return nil, fmt.Errorf("connect to nats %s: %w", url, cmp.Or(why(), nats.ErrConnectionClosed))
		case <-ctx.Done():
			nc.Close()
			return nil, fmt.Errorf("waiting for nats %s: %w", url, ctx.Err())
		case <-time.After(every):
			if !nc.IsConnected() {
				logger.Warn("still waiting for NATS", "url", url, "err", why())
			}
		}
	}
}

// The pause between rounds of attempts to reach NATS starts at
// ReconnectFirst and doubles up to ReconnectMax (docs/operations.md).
const (
	ReconnectFirst = 250 * time.Millisecond
	ReconnectMax   = 5 * time.Second
)

// Backoff is the pause before the next round of attempts to reach NATS,
// with a tenth of jitter so that replicas do not knock in step.
func Backoff(rounds int) time.Duration {
	d := min(ReconnectFirst<<min(max(rounds-1, 0), 5), ReconnectMax)
	return d + mrand.N(d/10+1)
}

// Redact removes the passwords from comma-separated NATS URLs.
func Redact(raw string) string {
	parts := strings.Split(raw, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			u.User = url.User(u.User.Username())
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}
