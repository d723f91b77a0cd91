package fleet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/chancery/chancery/events"
)

// A Node is one nats-server of the cluster.
type Node struct {
	*Proc
	Host        string // the address it listens on
	ClientPort  int
	ClusterPort int
	Dir         string // its JetStream store
}

// URL is the node's client URL.
func (n *Node) URL() string { return fmt.Sprintf("nats://%s:%d", n.Host, n.ClientPort) }

// NodeSpec places one node: where it listens and in which namespace.
type NodeSpec struct {
	Host        string
	ClientPort  int // 0: a free port on Host
	ClusterPort int // 0: a free port on Host
	MonitorPort int // 0: no monitoring endpoint
	Netns       string
}

// Cluster is a JetStream cluster of nats-server processes, and the
// harness's own client connection to it (to find the stream leader).
type Cluster struct {
	Nodes []*Node
	nc    *nats.Conn
	js    jetstream.JetStream
}

// StartCluster starts one nats-server per spec as one JetStream cluster and
// waits until a stream can be placed on all of them.
func (f *Fleet) StartCluster(ctx context.Context, specs []NodeSpec) (*Cluster, error) {
	c := &Cluster{}
	routes := make([]string, len(specs))
	for i := range specs {
		s := &specs[i]
		for _, port := range []*int{&s.ClientPort, &s.ClusterPort} {
			if *port == 0 {
				p, err := freePort(s.Host)
				if err != nil {
					return nil, err
				}
				*port = p
			}
		}
		routes[i] = fmt.Sprintf("nats-route://%s:%d", s.Host, s.ClusterPort)
	}
	for i, s := range specs {
		name := fmt.Sprintf("n%d", i+1)
		dir := filepath.Join(f.Dir, name)
		n := &Node{Host: s.Host, ClientPort: s.ClientPort, ClusterPort: s.ClusterPort, Dir: dir}
		args := []string{
			f.Bin.NATSServer, "-a", s.Host, "-p", fmt.Sprint(s.ClientPort), "-js", "-sd", dir,
			"--name", name, "--cluster_name", "chancery-fleet",
			"--cluster", fmt.Sprintf("nats://%s:%d", s.Host, s.ClusterPort), "--routes", strings.Join(routes, ","),
		}
		if s.MonitorPort != 0 {
			args = append(args, "-m", fmt.Sprint(s.MonitorPort))
		}
		n.Proc = &Proc{Name: name, Netns: s.Netns, Log: filepath.Join(f.Dir, name+".log"), Args: args}
		f.track(n.Proc)
		c.Nodes = append(c.Nodes, n)
		if err := n.Start(); err != nil {
			return nil, err
		}
	}
	nc, err := nats.Connect(c.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond),
		nats.Timeout(time.Second), nats.PingInterval(time.Second), nats.MaxPingsOutstanding(2),
		nats.RetryOnFailedConnect(true), nats.Name("fleet-harness"))
	if err != nil {
		return nil, fmt.Errorf("connect to the cluster: %w", err)
	}
	f.onClose(nc.Close)
	c.nc = nc
	if c.js, err = jetstream.New(nc); err != nil {
		return nil, err
	}
	return c, c.waitReady(ctx)
}

// URLs are the client URLs of every node, comma-separated, as an operator
// gives them to chancery.
func (c *Cluster) URLs() string {
	urls := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		urls[i] = n.URL()
	}
	return strings.Join(urls, ",")
}

// Node returns the node with this server name.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

func (c *Cluster) waitReady(ctx context.Context) error {
	return poll(ctx, 90*time.Second, 200*time.Millisecond, func() error {
		for _, n := range c.Nodes {
			if err := n.alive(); err != nil {
				return err
			}
		}
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_, err := c.js.CreateOrUpdateStream(actx, jetstream.StreamConfig{
			Name: "FLEET_READY", Subjects: []string{"fleet.ready"}, Replicas: len(c.Nodes), Storage: jetstream.MemoryStorage,
		})
		if err == nil {
			err = c.js.DeleteStream(actx, "FLEET_READY")
		}
		return err
	})
}

// StreamLeader is the server name of the event stream's leader, as the
// stream's info says; an error while there is none or it cannot be asked.
func (c *Cluster) StreamLeader(ctx context.Context) (string, error) {
	actx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	s, err := c.js.Stream(actx, events.DefaultStream)
	if err != nil {
		return "", err
	}
	info := s.CachedInfo()
	if info.Cluster == nil || info.Cluster.Leader == "" {
		return "", errors.New("the stream has no leader")
	}
	return info.Cluster.Leader, nil
}

// LastSeq is the stream's last sequence, from its leader.
func (c *Cluster) LastSeq(ctx context.Context) (uint64, error) {
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, err := c.js.Stream(actx, events.DefaultStream)
	if err != nil {
		return 0, err
	}
	return s.CachedInfo().State.LastSeq, nil
}

// WaitLeader waits until the stream has a leader other than not (any
// leader for ""), and returns it with the time it was first seen.
func (c *Cluster) WaitLeader(ctx context.Context, not string, within time.Duration) (string, time.Time, error) {
	var leader string
	err := poll(ctx, within, 50*time.Millisecond, func() error {
		l, err := c.StreamLeader(ctx)
		if err != nil {
			return err
		}
		if l == not {
			return fmt.Errorf("%s still leads", l)
		}
		leader = l
		return nil
	})
	return leader, time.Now(), err
}

// freePort asks the kernel for a free TCP port on host.
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// poll calls try every interval until it returns nil, ctx ends, or within
// has passed; then it returns try's last error.
func poll(ctx context.Context, within, interval time.Duration, try func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := try()
		if err == nil || errors.Is(err, errExited) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %w", within, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(interval):
		}
	}
}

// Resources are the streams and buckets a replica writes to.
var Resources = []string{events.DefaultStream, "KV_" + events.IdempotencyBucket, "CHANCERY_ALERTS", "KV_CHANCERY_DELIVERIES", "KV_CHANCERY_SUBSCRIPTIONS"}

// Leaderless watches every resource's leader from start until ctx ends and
// returns, for each, its longest span with no leader seen (and when it
// began): the election time of each raft group.
func (c *Cluster) Leaderless(ctx context.Context) map[string]Span {
	spans := map[string]Span{}
	since := map[string]time.Time{}
	for ctx.Err() == nil {
		for _, name := range Resources {
			actx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			s, err := c.js.Stream(actx, name)
			cancel()
			now := time.Now()
			led := err == nil && s.CachedInfo().Cluster != nil && s.CachedInfo().Cluster.Leader != ""
			switch {
			case !led && since[name].IsZero():
				since[name] = now
			case led && !since[name].IsZero():
				if d := now.Sub(since[name]); d > spans[name].Length {
					spans[name] = Span{From: since[name], Length: d}
				}
				since[name] = time.Time{}
			}
		}
		Sleep(ctx, 250*time.Millisecond)
	}
	for name, from := range since {
		if !from.IsZero() {
			if d := time.Since(from); d > spans[name].Length {
				spans[name] = Span{From: from, Length: d}
			}
		}
	}
	return spans
}

// Span is a stretch of time.
type Span struct {
	From   time.Time
	Length time.Duration
}
