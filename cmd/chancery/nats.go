package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/crypto/bcrypt"
)

// natsOptions say how to reach NATS.
type natsOptions struct {
	url      string // empty: run an embedded server
	creds    string
	user     string
	password string
	caFile   string
	certFile string
	keyFile  string
}

// embedded is an in-process nats-server with JetStream.
type embedded struct {
	mu       sync.Mutex
	srv      *server.Server // the running server; replaced by restart
	opts     *server.Options
	logger   *slog.Logger
	user     string
	password string
	urlFile  string // the nats.url this process wrote, if it did
	guard    *storeGuard
}

// startEmbedded runs nats-server in-process, storing JetStream under
// dataDir/nats, fsyncing every write (a single node has no replica to fall
// back on) and listening on loopback only, with a fresh password so that
// other local users cannot write to the stream. The caller holds the data
// directory's lock.
func startEmbedded(dataDir string, logger *slog.Logger) (*embedded, error) {
	pw := make([]byte, 24)
	rand.Read(pw)
	e := &embedded{user: "chancery", password: hex.EncodeToString(pw), logger: logger.With("component", "nats")}
	e.opts = &server.Options{
		ServerName: "chancery",
		Host:       "127.0.0.1",
		Port:       -1,
		JetStream:  true,
		StoreDir:   filepath.Join(dataDir, "nats"),
		SyncAlways: true,
		NoSigs:     true,
		MaxPayload: 8 << 20,
		Users:      []*server.User{{Username: e.user, Password: e.password}},
	}
	// The server keeps only a bcrypt hash: no plaintext password in memory dumps or logs.
	hash, err := bcrypt.GenerateFromPassword([]byte(e.password), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	e.opts.Users[0].Password = string(hash)
	e.guard = newStoreGuard(e.opts.StoreDir)
	if e.srv, err = e.run(); err != nil {
		return nil, err
	}
	// A restart listens where the first server did: nats.url stays true.
	e.opts.Port = e.srv.Addr().(*net.TCPAddr).Port
	return e, nil
}

// run starts a server with e's options.
func (e *embedded) run() (*server.Server, error) {
	opts := *e.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	srv.SetLoggerV2(natsLogger{e.logger, e.guard.noticed}, false, false, false)
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats: not ready after 30s (store %s)", opts.StoreDir)
	}
	return srv, nil
}

// server returns the running server.
func (e *embedded) server() *server.Server {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.srv
}

// InProcessConn connects a client to the running server without a socket.
// A client's reconnect after a restart asks again, and reaches the new
// server.
func (e *embedded) InProcessConn() (net.Conn, error) { return e.server().InProcessConn() }

// restart stops the server and starts another on the same store and
// port: every stream is loaded afresh from disk. Clients connected
// in-process reconnect to it by themselves.
func (e *embedded) restart() error {
	old := e.server()
	old.Shutdown()
	old.WaitForShutdown()
	srv, err := e.run()
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.srv = srv
	e.mu.Unlock()
	return nil
}

// publish writes the server's client URL to dataDir/nats.url (mode 0600),
// through which the other subcommands attach to a running serve instead of
// opening the store a second time. Only serve publishes: a tool's server
// ends with the tool.
func (e *embedded) publish(dataDir string) error {
	u, _ := url.Parse(e.server().ClientURL())
	u.User = url.UserPassword(e.user, e.password)
	path := filepath.Join(dataDir, "nats.url")
	if err := os.WriteFile(path, []byte(u.String()+"\n"), 0o600); err != nil {
		return fmt.Errorf("write nats.url: %w", err)
	}
	e.urlFile = path
	return nil
}

// shutdown stops the server, removing nats.url if this process wrote it.
func (e *embedded) shutdown() {
	if e.urlFile != "" {
		os.Remove(e.urlFile)
	}
	srv := e.server()
	srv.Shutdown()
	srv.WaitForShutdown()
}

// How quickly a connection to an external NATS gives up a silent server.
const (
	pingInterval = time.Second
	dialTimeout  = 2 * time.Second
)

// connect opens the client connection: in-process to an embedded server,
// otherwise to the configured URLs with credentials and TLS as given. extra
// options come last, so they override the defaults here.
func connect(o natsOptions, e *embedded, logger *slog.Logger, extra ...nats.Option) (*nats.Conn, error) {
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
	if e != nil {
		opts = append(opts, nats.InProcessServer(e), nats.UserInfo(e.user, e.password), nats.ReconnectWait(50*time.Millisecond))
		return nats.Connect("", append(opts, extra...)...)
	}
	if o.creds != "" {
		opts = append(opts, nats.UserCredentials(o.creds))
	}
	if o.user != "" {
		opts = append(opts, nats.UserInfo(o.user, o.password))
	}
	if o.caFile != "" {
		opts = append(opts, nats.RootCAs(o.caFile))
	}
	if o.certFile != "" || o.keyFile != "" {
		opts = append(opts, nats.ClientCert(o.certFile, o.keyFile))
	}
	// A server cut off by a partition drops packets without a word: ping
	// it every second and give it up after two unanswered pings, and
	// dial each server for 2 s at most, so that the connection moves to a
	// live node in about 3 s instead of nats.go's default 2 minutes.
	opts = append(opts, nats.RetryOnFailedConnect(false), nats.Timeout(dialTimeout),
		nats.PingInterval(pingInterval), nats.MaxPingsOutstanding(2))
	nc, err := nats.Connect(strings.TrimSpace(o.url), append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats %s: %w", redact(o.url), err)
	}
	return nc, nil
}

// connectServe connects serve, waiting for NATS as long as it takes (or
// until ctx ends): a service started before its NATS (compose up, a host
// booting, a NATS upgrade) stays up, unready, and logs what it waits for,
// instead of exiting. Attempts back off (reconnectBackoff) between rounds
// of every URL, and so do the reconnects after a later loss. A server that
// refuses the credentials twice ends the wait with its error.
func connectServe(ctx context.Context, o natsOptions, e *embedded, logger *slog.Logger) (*nats.Conn, error) {
	connected, closed := make(chan struct{}), make(chan struct{})
	var connectedOnce, closedOnce sync.Once
	var lastErr atomic.Value // error: the last attempt's
	nc, err := connect(o, e, logger,
		nats.RetryOnFailedConnect(true),
		nats.CustomReconnectDelay(reconnectBackoff),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) { lastErr.Store(&err) }),
		nats.ConnectHandler(func(*nats.Conn) { connectedOnce.Do(func() { close(connected) }) }),
		nats.ClosedHandler(func(*nats.Conn) { closedOnce.Do(func() { close(closed) }) }),
	)
	if err != nil || nc.IsConnected() {
		return nc, err
	}
	url := redact(o.url)
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
// reconnectFirst and doubles up to reconnectMax (docs/operations.md).
const (
	reconnectFirst = 250 * time.Millisecond
	reconnectMax   = 5 * time.Second
)

// reconnectBackoff is the pause before the next round of attempts to reach
// NATS, with a tenth of jitter so that replicas do not knock in step.
func reconnectBackoff(rounds int) time.Duration {
	d := min(reconnectFirst<<min(max(rounds-1, 0), 5), reconnectMax)
	return d + mrand.N(d/10+1)
}

func redact(raw string) string {
	parts := strings.Split(raw, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			u.User = url.User(u.User.Username())
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}

// natsLogger sends the embedded server's notices, warnings and errors to slog.
type natsLogger struct {
	l       *slog.Logger
	onError func(msg string) // told of every error, when set
}

func (n natsLogger) Noticef(format string, v ...any) { n.l.Debug(fmt.Sprintf(format, v...)) }
func (n natsLogger) Warnf(format string, v ...any)   { n.l.Warn(fmt.Sprintf(format, v...)) }
func (n natsLogger) Fatalf(format string, v ...any)  { n.l.Error(fmt.Sprintf(format, v...)) }
func (n natsLogger) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	n.l.Error(msg)
	if n.onError != nil {
		n.onError(msg)
	}
}
func (n natsLogger) Debugf(format string, v ...any) {}
func (n natsLogger) Tracef(format string, v ...any) {}

// startupWait is how long serve waits for JetStream to become available.
const startupWait = 2 * time.Minute

// whileJetStreamStarts runs f until it succeeds, fails for another reason
// than JetStream being unavailable for now, or startupWait has passed: a
// service started together with its NATS cluster (compose up, a restart of
// every node) waits for the cluster to elect its leaders and hear from its
// peers instead of exiting.
func whileJetStreamStarts(ctx context.Context, logger *slog.Logger, f func() error) error {
	deadline := time.Now().Add(startupWait)
	for delay := 250 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		err := f()
		if err == nil || !jetStreamStarting(err) || time.Now().Add(delay).After(deadline) {
			return err
		}
		logger.Warn("JetStream is not ready yet; waiting", "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
	}
}

// jetStreamStarting reports an error that a cluster still starting (or
// electing a leader) answers: no answer in time, nobody listening yet, too
// few peers heard from to place replicas, or the system not available.
func jetStreamStarting(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case 10005, // no suitable peers for placement
			10008, // JetStream system temporarily unavailable
			10009: // cluster can not handle request (no leader)
			return true
		}
	}
	return false
}
