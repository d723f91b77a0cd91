// Package natstest runs a real nats-server with JetStream in-process for
// tests, with its store in a temporary directory, as nats-server's own tests
// do. There is no fake event store.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is a running embedded server and a client connected to it.
type Server struct {
	Srv *server.Server
	NC  *nats.Conn
	JS  jetstream.JetStream
	Dir string
}

// Start runs a single JetStream server on a loopback port; it is shut down
// when the test ends. dir may be empty for a fresh temporary store.
func Start(tb testing.TB, dir string) *Server {
	tb.Helper()
	if dir == "" {
		dir = tb.TempDir()
	}
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		tb.Fatal("nats-server not ready")
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		tb.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{Srv: srv, NC: nc, JS: js, Dir: dir}
	tb.Cleanup(s.Stop)
	return s
}

// Stop closes the client and shuts the server down; calling it twice is fine.
func (s *Server) Stop() {
	if s.NC != nil {
		s.NC.Close()
	}
	if s.Srv != nil {
		s.Srv.Shutdown()
		s.Srv.WaitForShutdown()
	}
}
