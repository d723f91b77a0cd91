package fleet

import (
	"context"
	"os"
	"sync"
)

// Fleet owns everything a run starts: its processes, its temporary
// directory and whatever else registers a cleanup. Close undoes it all.
type Fleet struct {
	Dir  string // everything the run writes: stores, data directories, logs
	Bin  Binaries
	Keep bool // leave Dir in place after Close (to read the logs)

	mu      sync.Mutex
	procs   []*Proc
	cleanup []func()
}

// New makes the run's directory and builds the binaries into it; keep
// leaves the directory in place after Close.
func New(ctx context.Context, keep bool) (*Fleet, error) {
	Logf("building nats-server and chancery")
	dir, err := os.MkdirTemp("", "chancery-fleet-")
	if err != nil {
		return nil, err
	}
	f := &Fleet{Dir: dir, Keep: keep}
	if f.Bin, err = Build(ctx, dir); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (f *Fleet) track(p *Proc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.procs = append(f.procs, p)
}

// onClose registers fn to run at Close, after every process is killed and
// before the directory is removed; the last registered runs first.
func (f *Fleet) onClose(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanup = append(f.cleanup, fn)
}

// OnClose is onClose for the commands' own resources (namespaces, rules).
func (f *Fleet) OnClose(fn func()) { f.onClose(fn) }

// Close kills every process the fleet started, runs the registered
// cleanups, and removes the run's directory unless Keep is set.
func (f *Fleet) Close() {
	f.mu.Lock()
	procs, cleanup := f.procs, f.cleanup
	f.procs, f.cleanup = nil, nil
	f.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Kill()
	}
	for i := len(cleanup) - 1; i >= 0; i-- {
		cleanup[i]()
	}
	if f.Keep {
		Logf("kept %s", f.Dir)
	} else {
		_ = os.RemoveAll(f.Dir)
	}
}

// Named is a replica to start, with its name.
type Named struct {
	Name string
	Spec ReplicaSpec
}

// StartAll runs the nats-server nodes, a webhook receiver on receiverHost
// for change alerts, and the replicas, each given every node's URL and the
// receiver as its subscriber.
func (f *Fleet) StartAll(ctx context.Context, nodes []NodeSpec, receiverHost string, replicas []Named) (*Cluster, *Receiver, []*Replica, error) {
	Logf("starting %d nats-server nodes", len(nodes))
	cluster, err := f.StartCluster(ctx, nodes)
	if err != nil {
		return nil, nil, nil, err
	}
	rcv, err := f.StartReceiver(receiverHost)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, err := f.WriteConfig(len(nodes), rcv.URL, Countries)
	if err != nil {
		return nil, nil, nil, err
	}
	Logf("starting %d chancery replicas", len(replicas))
	var started []*Replica
	for _, r := range replicas {
		r.Spec.NATS = cluster.URLs()
		rep, err := f.StartReplica(ctx, r.Name, r.Spec, cfg)
		if err != nil {
			return nil, nil, nil, err
		}
		started = append(started, rep)
	}
	return cluster, rcv, started, nil
}
