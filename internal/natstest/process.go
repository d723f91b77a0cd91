package natstest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A Process is a nats-server running as a process of its own, so that a
// test can kill it with SIGKILL: an in-process server can only be shut down
// politely, and a polite stream leader hands its leadership over at once,
// which is not what a crash or a lost machine looks like.
type Process struct {
	Name string
	URL  string // client URL
	Dir  string // its store
	NC   *nats.Conn
	JS   jetstream.JetStream

	args []string
	cmd  *exec.Cmd
}

// ProcessCluster is a cluster of nats-server processes on loopback ports.
type ProcessCluster struct {
	tb    testing.TB
	Nodes []*Process
}

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// Binary builds the nats-server of this module's go.mod once per test
// binary and returns its path.
func Binary(tb testing.TB) string {
	tb.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "chancery-nats-server-")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "nats-server")
		out, err := exec.Command("go", "build", "-o", binaryPath, "github.com/nats-io/nats-server/v2").CombinedOutput()
		if err != nil {
			binaryErr = fmt.Errorf("build nats-server: %v: %s", err, out)
		}
	})
	if binaryErr != nil {
		tb.Fatal(binaryErr)
	}
	return binaryPath
}

// StartProcessCluster runs n nats-server processes as one JetStream
// cluster and returns once a stream can be placed on all of them. Each
// node's client is connected to that node only. Under -short it skips the
// test: building the server and waiting out the elections that follow a
// killed node take minutes.
func StartProcessCluster(tb testing.TB, n int) *ProcessCluster {
	tb.Helper()
	if testing.Short() {
		tb.Skip("kills nodes of a nats-server process cluster: not in -short")
	}
	bin := Binary(tb)
	c := &ProcessCluster{tb: tb}
	ports := make([]int, n)
	routes := make([]string, n)
	for i := range ports {
		ports[i] = FreePort(tb)
		routes[i] = fmt.Sprintf("nats-route://127.0.0.1:%d", ports[i])
	}
	for i := range n {
		p := &Process{Name: fmt.Sprintf("n%d", i+1), Dir: tb.TempDir()}
		port := FreePort(tb)
		p.URL = fmt.Sprintf("nats://127.0.0.1:%d", port)
		p.args = []string{bin, "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "-sd", p.Dir,
			"--name", p.Name, "--cluster_name", "chancery-test",
			"--cluster", fmt.Sprintf("nats://127.0.0.1:%d", ports[i]), "--routes", strings.Join(routes, ",")}
		c.Nodes = append(c.Nodes, p)
		c.Start(i)
	}
	tb.Cleanup(func() {
		for _, p := range c.Nodes {
			p.kill()
		}
	})
	c.waitReady()
	return c
}

// Start (re)starts node i's process on its store and reconnects its client.
func (c *ProcessCluster) Start(i int) {
	tb := c.tb
	tb.Helper()
	p := c.Nodes[i]
	p.cmd = exec.Command(p.args[0], p.args[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = nil, nil
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		nc, err := nats.Connect(p.URL, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
		if err == nil {
			js, err := jetstream.New(nc)
			if err != nil {
				tb.Fatal(err)
			}
			if p.NC != nil {
				p.NC.Close()
			}
			p.NC, p.JS = nc, js
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("nats-server %s does not accept connections: %v", p.Name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill ends node i with SIGKILL, as a crash or a lost machine would.
func (c *ProcessCluster) Kill(i int) { c.Nodes[i].kill() }

func (p *Process) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
	p.cmd = nil
}

// waitReady waits until every node answers JetStream requests and a
// three-replica stream can be placed.
func (c *ProcessCluster) waitReady() {
	tb := c.tb
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := c.Nodes[0].JS.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name: "NATSTEST_READY", Subjects: []string{"natstest.ready"}, Replicas: len(c.Nodes), Storage: jetstream.MemoryStorage,
		})
		if err == nil {
			err = c.Nodes[0].JS.DeleteStream(ctx, "NATSTEST_READY")
		}
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("JetStream process cluster not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range c.Nodes {
		waitAccount(tb, p.JS, deadline, p.Name)
	}
}

// Connect opens a client to every node of the cluster, as a replica given
// all their URLs is, that gives up a silent node after two missed pings.
func (c *ProcessCluster) Connect() jetstream.JetStream {
	tb := c.tb
	tb.Helper()
	urls := make([]string, len(c.Nodes))
	for i, p := range c.Nodes {
		urls[i] = p.URL
	}
	nc, js := connect(tb, strings.Join(urls, ","), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond),
		nats.PingInterval(time.Second), nats.MaxPingsOutstanding(2), nats.Timeout(2*time.Second))
	tb.Cleanup(nc.Close)
	return js
}
