// Package embedded runs nats-server with JetStream inside the process, on
// a data directory's store, and keeps it writing through a full disk (see
// Guard). The caller holds the data directory's lock (internal/datalock):
// nats-server does not lock its store.
package embedded

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"golang.org/x/crypto/bcrypt"
)

// URLFile is the file in a data directory through which the other
// subcommands find a running serve's server.
const URLFile = "nats.url"

// Server is an in-process nats-server with JetStream.
type Server struct {
	mu       sync.Mutex
	srv      *server.Server // the running server; replaced by restart
	opts     *server.Options
	logger   *slog.Logger
	user     string
	password string
	urlFile  string // the nats.url this process wrote, if it did
	guard    *Guard
}

// Start runs nats-server in-process, storing JetStream under dataDir/nats,
// fsyncing every write (a single node has no replica to fall back on) and
// listening on loopback only, with a fresh password so that other local
// users cannot write to the stream.
func Start(dataDir string, logger *slog.Logger) (*Server, error) {
	pw := make([]byte, 24)
	rand.Read(pw)
	e := &Server{user: "chancery", password: hex.EncodeToString(pw), logger: logger.With("component", "nats")}
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
	e.guard = newGuard(e.opts.StoreDir, e.restart)
	if e.srv, err = e.run(); err != nil {
		return nil, err
	}
	// A restart listens where the first server did: nats.url stays true.
	e.opts.Port = e.srv.Addr().(*net.TCPAddr).Port
	return e, nil
}

// run starts a server with e's options.
func (e *Server) run() (*server.Server, error) {
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
func (e *Server) server() *server.Server {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.srv
}

// InProcessConn connects a client to the running server without a socket.
// A client's reconnect after a restart asks again, and reaches the new
// server.
func (e *Server) InProcessConn() (net.Conn, error) { return e.server().InProcessConn() }

// ClientOptions connect a nats.go client to the server in-process, with its
// credentials, reconnecting quickly to a restarted server.
func (e *Server) ClientOptions() []nats.Option {
	return []nats.Option{nats.InProcessServer(e), nats.UserInfo(e.user, e.password), nats.ReconnectWait(50 * time.Millisecond)}
}

// Guard is the server's full-disk guard.
func (e *Server) Guard() *Guard { return e.guard }

// restart stops the server and starts another on the same store and
// port: every stream is loaded afresh from disk. Clients connected
// in-process reconnect to it by themselves.
func (e *Server) restart() error {
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

// Serve starts serve's server on dataDir's store and publishes its URL
// (Publish), so that tools attach to it; it logs where both are.
func Serve(dataDir string, logger *slog.Logger) (*Server, error) {
	e, err := Start(dataDir, logger)
	if err != nil {
		return nil, err
	}
	if err := e.Publish(dataDir); err != nil {
		e.Shutdown()
		return nil, err
	}
	logger.Info("embedded nats started", "store", filepath.Join(dataDir, "nats"), "url_file", e.urlFile)
	return e, nil
}

// Publish writes the server's client URL to dataDir/nats.url (mode 0600),
// through which the other subcommands attach to a running serve instead of
// opening the store a second time. Only serve publishes: a tool's server
// ends with the tool.
func (e *Server) Publish(dataDir string) error {
	u, err := url.Parse(e.server().ClientURL())
	if err != nil {
		return fmt.Errorf("embedded nats client url: %w", err)
	}
	u.User = url.UserPassword(e.user, e.password)
	path := filepath.Join(dataDir, URLFile)
	if err := os.WriteFile(path, []byte(u.String()+"\n"), 0o600); err != nil {
		return fmt.Errorf("write nats.url: %w", err)
	}
	e.urlFile = path
	return nil
}

// Shutdown stops the server, removing nats.url if this process wrote it.
func (e *Server) Shutdown() {
	if e.urlFile != "" {
		os.Remove(e.urlFile)
	}
	srv := e.server()
	srv.Shutdown()
	srv.WaitForShutdown()
}
