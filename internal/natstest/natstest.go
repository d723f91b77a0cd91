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
	return StartOn(tb, dir, -1)
}

// StartOn is Start on a given loopback port (-1 for any), for a client
// that was told where the server would be before it ran.
func StartOn(tb testing.TB, dir string, port int) *Server {
	tb.Helper()
	return StartWith(tb, server.Options{StoreDir: dir, Port: port})
}

// StartWith is Start with the server's options, for a test or a benchmark
// that needs more than a store and a port (SyncAlways, limits). What makes
// it a test server is set whatever opts says: JetStream on, loopback, no
// signal handlers, no log; an empty StoreDir is a fresh temporary one and a
// zero Port is any free port.
func StartWith(tb testing.TB, opts server.Options) *Server {
	tb.Helper()
	if opts.StoreDir == "" {
		opts.StoreDir = tb.TempDir()
	}
	if opts.Port == 0 {
		opts.Port = -1
	}
	opts.Host, opts.JetStream, opts.NoSigs, opts.NoLog = "127.0.0.1", true, true, true
	srv, err := server.NewServer(&opts)
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		tb.Fatal("nats-server not ready")
	}
	nc, js := connect(tb, "", nats.InProcessServer(srv))
	s := &Server{Srv: srv, NC: nc, JS: js, Dir: opts.StoreDir}
	tb.Cleanup(s.Stop)
	return s
}

// connect opens a client to url and its JetStream API; the test fails if
// it cannot.
func connect(tb testing.TB, url string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		tb.Fatal(err)
	}
	return nc, js
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
// nats-server's own cluster tests do, and returns them once streams can be
// placed on all of them. Each Server's client is connected to its own node.
func StartCluster(tb testing.TB, n int) []*Server {
	tb.Helper()
	c := NewCluster(tb, n)
	for i := range n {
		c.StartNode(i)
	}
	c.WaitReady()
	return c.Nodes
}

// Cluster is a cluster of in-process servers whose nodes start one by one.
type Cluster struct {
	tb    testing.TB
	ports []int
	Nodes []*Server // nil until started
}

// NewCluster allocates the routes of an n-node cluster; no node runs yet.
func NewCluster(tb testing.TB, n int) *Cluster {
	c := &Cluster{tb: tb, ports: make([]int, n), Nodes: make([]*Server, n)}
	for i := range c.ports {
		c.ports[i] = FreePort(tb)
	}
	return c
}

// StartNode starts node i (from 0) with a client connected to it; it
// returns once the node accepts connections, not once JetStream is ready.
func (c *Cluster) StartNode(i int) *Server {
	tb := c.tb
	tb.Helper()
	var routes []*url.URL
	for _, p := range c.ports {
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	dir := tb.TempDir()
	srv, err := server.NewServer(&server.Options{
		ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: -1,
		JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true,
		Cluster: server.ClusterOpts{Name: "chancery-test", Host: "127.0.0.1", Port: c.ports[i]},
		Routes:  routes,
	})
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Start()
	s := &Server{Srv: srv, Dir: dir}
	tb.Cleanup(s.Stop)
	if !srv.ReadyForConnections(10 * time.Second) {
		tb.Fatal("nats-server not ready")
	}
	s.NC, s.JS = connect(tb, srv.ClientURL())
	c.Nodes[i] = s
	return s
}

// WaitReady waits until streams can be placed on every node: the meta
// leader has heard from every peer, and every node has caught up with it.
func (c *Cluster) WaitReady() {
	tb := c.tb
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !clusterReady(c.Nodes) {
		if time.Now().After(deadline) {
			tb.Fatal("JetStream cluster not ready: peers not all current")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, s := range c.Nodes {
		waitAccount(tb, s.JS, deadline, s.Srv.Name())
	}
}

// waitAccount waits until the node behind js answers for its account: a
// node can count as current before its JetStream API serves requests.
func waitAccount(tb testing.TB, js jetstream.JetStream, deadline time.Time, node string) {
	tb.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("JetStream on %s not ready: %v", node, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func clusterReady(nodes []*Server) bool {
	leaders := 0
	for _, s := range nodes {
		if s == nil || !s.Srv.JetStreamIsCurrent() {
			return false
		}
		if s.Srv.JetStreamIsLeader() {
			leaders++
			if len(s.Srv.JetStreamClusterPeers()) != len(nodes) {
				return false
			}
		}
	}
	return leaders == 1
}

// FreePort is a loopback port nothing listens on (as long as nobody takes
// it meanwhile).
func FreePort(tb testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
