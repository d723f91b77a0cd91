// Package natstest runs a real nats-server with JetStream in-process for
// tests, with its store in a temporary directory, as nats-server's own tests
// do. There is no fake event store.
package natstest

import (
	"context"
	"fmt"
	"net"
	"net/url"
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

// StartCluster runs n JetStream servers in-process as one cluster (named
// "chancery-test", routes on loopback ports, each with its own store), as
// nats-server's own cluster tests do, and returns them once the cluster
// has a JetStream meta leader. Each Server's client is connected to its
// own node.
func StartCluster(tb testing.TB, n int) []*Server {
	tb.Helper()
	ports := make([]int, n)
	for i := range ports {
		ports[i] = freePort(tb)
	}
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	out := make([]*Server, n)
	for i := range out {
		dir := tb.TempDir()
		srv, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: -1,
			JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true,
			Cluster: server.ClusterOpts{Name: "chancery-test", Host: "127.0.0.1", Port: ports[i]},
			Routes:  routes,
		})
		if err != nil {
			tb.Fatal(err)
		}
		go srv.Start()
		out[i] = &Server{Srv: srv, Dir: dir}
		tb.Cleanup(out[i].Stop)
	}
	for _, s := range out {
		if !s.Srv.ReadyForConnections(10 * time.Second) {
			tb.Fatal("nats-server not ready")
		}
		nc, err := nats.Connect(s.Srv.ClientURL())
		if err != nil {
			tb.Fatal(err)
		}
		js, err := jetstream.New(nc)
		if err != nil {
			tb.Fatal(err)
		}
		s.NC, s.JS = nc, js
	}
	// JetStream answers once the servers have elected a meta leader.
	deadline := time.Now().Add(30 * time.Second)
	for _, s := range out {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := s.JS.AccountInfo(ctx)
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatalf("JetStream cluster not ready: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return out
}

func freePort(tb testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
