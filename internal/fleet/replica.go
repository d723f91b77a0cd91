package fleet

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Token is the bearer token every replica accepts for writes.
const Token = "fleet-harness-token-0123456789"

// A Replica is one `chancery serve` process with its own data directory.
type Replica struct {
	*Proc
	Addr string // host:port of its HTTP API
	Data string
}

// Base is the replica's API root URL.
func (r *Replica) Base() string { return "http://" + r.Addr }

// ReplicaSpec places one replica.
type ReplicaSpec struct {
	Host  string // the address its HTTP API listens on
	Port  int    // 0: a free port on Host
	Netns string
	NATS  string // comma-separated client URLs it is given
}

// WriteConfig writes a chancery config file for the fleet: stream
// replicas on every node and one webhook subscriber for change alerts on
// engagements in any of countries.
func (f *Fleet) WriteConfig(replicas int, webhookURL string, countries []string) (string, error) {
	cfg := fmt.Sprintf("nats:\n  replicas: %d\nsubscribers:\n  - name: fleet-webhook\n    channel: webhook\n    to: %q\n    alerts: [change]\n    filter: {countries: [", replicas, webhookURL)
	for i, c := range countries {
		if i > 0 {
			cfg += ", "
		}
		cfg += c
	}
	cfg += "]}\n"
	path := filepath.Join(f.Dir, "chancery.yaml")
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

// StartReplica starts `chancery serve` against the cluster with config.
func (f *Fleet) StartReplica(ctx context.Context, name string, spec ReplicaSpec, config string) (*Replica, error) {
	if spec.Port == 0 {
		p, err := freePort(spec.Host)
		if err != nil {
			return nil, err
		}
		spec.Port = p
	}
	r := &Replica{Addr: net.JoinHostPort(spec.Host, fmt.Sprint(spec.Port)), Data: filepath.Join(f.Dir, name)}
	r.Proc = &Proc{Name: name, Netns: spec.Netns, Log: filepath.Join(f.Dir, name+".log"),
		Env:  []string{"CHANCERY_API_TOKEN=" + Token},
		Args: []string{f.Bin.Chancery, "serve", "--nats", spec.NATS, "--data", r.Data, "--http", r.Addr, "--config", config}}
	f.track(r.Proc)
	if err := r.Start(); err != nil {
		return nil, err
	}
	return r, r.WaitReady(ctx, 2*time.Minute)
}

// WaitReady waits until the replica's /readyz answers 200.
func (r *Replica) WaitReady(ctx context.Context, within time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	return poll(ctx, within, 200*time.Millisecond, func() error {
		if err := r.alive(); err != nil {
			return err
		}
		res, err := client.Get(r.Base() + "/readyz")
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("%s /readyz: %d", r.Name, res.StatusCode)
		}
		return nil
	})
}
