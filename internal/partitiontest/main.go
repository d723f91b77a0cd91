// Command partitiontest cuts nats-server nodes of a Chancery fleet off the
// network and checks what clients were told. It builds a bridge and one
// network namespace per node and per replica (addresses 10.250.77.0/24,
// on that bridge only), runs a three-node cluster, two chancery replicas
// and compare-and-set writers, then cuts off the stream leader, a
// follower, and the node a replica is connected to, one at a time, each
// for a while and healed. A cut drops every packet in and out of the
// node's interface (iptables DROP inside its namespace: no RST, no ICMP).
//
// It records every operation (invoke and completion times; ok, fail or
// unknown) and checks: no acknowledged write lost, none stored twice,
// each meeting's history linearizable (porcupine, a compare-and-set
// register of version and state), no 500, interruptions of writes within
// bounds, and both replicas' read models equal to a rebuild. It exits 1
// when an aim is missed, and removes everything it made, also on failure
// or interrupt:
//
//	go run ./internal/partitiontest [-scenarios leader,follower,replica-node] [-hold 15s] [-settle 15s] [-keep]
//
// It needs root and iptables, and is not part of `go test`.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chancery/chancery/internal/fleet"
)

type options struct {
	scenarios             []string
	hold, settle, timeout time.Duration
	writers, meetings     int
	keep                  bool
}

func main() {
	var o options
	scen := flag.String("scenarios", "leader,follower,replica-node", "the cuts, in order: leader (the stream leader's node), follower (a node that neither leads nor has a replica connected), replica-node (the node replica 1 is connected to)")
	flag.DurationVar(&o.hold, "hold", 15*time.Second, "how long each node stays cut off")
	flag.DurationVar(&o.settle, "settle", 15*time.Second, "writes after each heal, before the next cut")
	flag.DurationVar(&o.timeout, "timeout", 12*time.Minute, "the whole run, setup and checks included, stops after this")
	flag.IntVar(&o.writers, "writers", 4, "compare-and-set writers, spread over the two replicas")
	flag.IntVar(&o.meetings, "meetings", 3, "meetings the writers share")
	flag.BoolVar(&o.keep, "keep", false, "keep the run's directory (stores, data, logs)")
	flag.Parse()
	o.scenarios = strings.Split(*scen, ",")
	for _, s := range o.scenarios {
		if !slices.Contains([]string{"leader", "follower", "replica-node"}, s) {
			fmt.Fprintf(os.Stderr, "partitiontest: -scenarios: %q is not leader, follower or replica-node\n", s)
			os.Exit(2)
		}
	}
	if err := preflight(); err != nil {
		fmt.Fprintln(os.Stderr, "partitiontest:", err)
		os.Exit(2)
	}

	fleet.Main("partitiontest", o.timeout, func(ctx context.Context) (bool, error) { return run(ctx, o) })
}

// phase is one cut: which node, when, and what the cluster did.
type phase struct {
	scenario   string
	node       string
	wasLeader  bool
	cut, heal  time.Time
	elected    time.Time // a new stream leader was seen (leader cuts)
	newLeader  string
	settledEnd time.Time
	connected  map[string]string     // replica name → the node it was connected to at the cut
	leaderless map[string]fleet.Span // each stream's and bucket's longest span without a leader, cut to settled
}

func run(ctx context.Context, o options) (bool, error) {
	f, err := fleet.New(ctx, o.keep)
	if err != nil {
		return false, err
	}
	defer f.Close()

	var nodes, reps []host
	for i := range 3 {
		nodes = append(nodes, nodeHost(i))
	}
	for i := range 2 {
		reps = append(reps, replicaHost(i))
	}
	all := append(slices.Clone(nodes), reps...)
	teardown(all) // what a killed earlier run left
	f.OnClose(func() { teardown(all) })
	if err := setup(all); err != nil {
		return false, err
	}
	fleet.Logf("network: bridge %s (%s/24), namespaces %s", bridge, bridgeIP, names(all))

	specs := make([]fleet.NodeSpec, len(nodes))
	for i, h := range nodes {
		specs[i] = fleet.NodeSpec{Host: h.addr, ClientPort: 4222, ClusterPort: 6222, MonitorPort: 8222, Netns: h.ns}
	}
	var named []fleet.Named
	for i, h := range reps {
		named = append(named, fleet.Named{Name: fmt.Sprintf("replica-%d", i+1), Spec: fleet.ReplicaSpec{Host: h.addr, Port: 8080, Netns: h.ns}})
	}
	cluster, _, replicas, err := f.StartAll(ctx, specs, bridgeIP, named)
	if err != nil {
		return false, err
	}

	rec := &fleet.Recorder{}
	client := fleet.NewClient(15 * time.Second)
	aggs, err := createMeetings(ctx, client, replicas[0], rec, o.meetings)
	if err != nil {
		return false, err
	}
	initial := map[string]register{}
	for _, a := range aggs {
		initial[a] = register{Version: 1, Start: fleet.Day(0)}
	}
	stopWriters := make(chan struct{})
	var writers sync.WaitGroup
	for i := range o.writers {
		w := &casWriter{name: fmt.Sprintf("w%d", i+1), index: i, replica: replicas[i%len(replicas)], client: client, rec: rec, aggs: aggs, stop: stopWriters}
		writers.Go(func() { w.run(ctx) })
	}
	start := time.Now()
	fleet.Logf("%d writers on %d meetings", o.writers, len(aggs))
	fleet.Sleep(ctx, o.settle)

	var phases []*phase
	for _, s := range o.scenarios {
		p, err := cutOne(ctx, s, cluster, replicas, nodes, o)
		if err != nil {
			return false, err
		}
		phases = append(phases, p)
	}
	ops, stream, end, err := fleet.Collect(ctx, stopWriters, &writers, rec, cluster, client, replicas[0])
	if err != nil {
		return false, err
	}
	lost := fleet.Lost(ops, stream)
	dup := fleet.Duplicated(stream)
	codes := fleet.Codes(ops)
	lin, checked := linearizable(ops, initial)
	readModels := f.VerifyReadModels(ctx, client, cluster, replicas)

	fmt.Println()
	fmt.Println("== partition report")
	n := map[string]int{}
	for _, op := range ops {
		n[op.Outcome]++
	}
	fmt.Printf("operations: %d (%d ok, %d fail, %d unknown), %.0fs of writes; stream: %d events\n",
		len(ops), n[fleet.OK], n[fleet.Fail], n[fleet.Unknown], end.Sub(start).Seconds(), len(stream))
	fmt.Printf("answers: %s\n", fleet.FormatCodes(codes))
	fleet.PrintList("acknowledged writes lost", "lost", lost)
	fleet.PrintList("duplicated writes", "duplicated", dup)
	allLin := true
	fmt.Printf("linearizability (porcupine, CAS register of version and state), %d operations:\n", checked)
	for a, res := range lin {
		fmt.Printf("  %s: %s\n", a, res)
		allLin = allLin && strings.HasPrefix(res, "Ok")
	}

	aims := fleet.NewAims()
	aim := aims.Check
	for _, p := range phases {
		role := "follower"
		if p.wasLeader {
			role = "stream leader"
		}
		fmt.Printf("cut %s (%s, %s) for %.0fs:", p.node, p.scenario, role, p.heal.Sub(p.cut).Seconds())
		for _, name := range fleet.Resources {
			if sp, ok := p.leaderless[name]; ok {
				at := "during the cut"
				if sp.From.After(p.heal) {
					at = "after the heal"
				}
				fmt.Printf(" %s had no leader for %.1fs %s;", name, sp.Length.Seconds(), at)
			}
		}
		limit := 2 * time.Second
		if p.wasLeader {
			if p.elected.IsZero() {
				fmt.Printf(" no new leader seen;")
				limit = 0
			} else {
				election := p.elected.Sub(p.cut)
				fmt.Printf(" new leader %s after %.1fs;", p.newLeader, election.Seconds())
				limit = election + 5*time.Second
			}
		}
		// A follower cut is judged on the replicas that were not
		// connected to it; the replica-node scenario judges them all.
		worst, judged := time.Duration(0), 0
		for _, r := range replicas {
			out := fleet.LongestOutage(byReplica(ops, r.Name), p.cut, p.settledEnd)
			note := ""
			if p.connected[r.Name] == p.node {
				note = ", connected to the cut node"
			}
			fmt.Printf(" longest outage through %s%s %.1fs (from %s);", r.Name, note, out.Len().Seconds(), out.From.Format("15:04:05.0"))
			if p.scenario != "follower" || note == "" {
				worst = max(worst, out.Len())
				judged++
			}
		}
		fmt.Println()
		aim(limit > 0 && judged > 0 && worst <= limit, "%s cut (%s): writes interrupted %.1fs (%d replicas judged), at most %.1fs", p.scenario, p.node, worst.Seconds(), judged, limit.Seconds())
	}
	fmt.Printf("read models: %d problems\n", len(readModels))
	for _, p := range readModels {
		fmt.Println("  read model:", p)
	}
	fmt.Println()
	aim(len(lost) == 0, "0 acknowledged writes lost")
	aim(len(dup) == 0, "0 duplicated writes")
	aim(allLin && len(lin) == len(aggs), "every meeting's history linearizable")
	aim(codes["500"] == 0, "no 500")
	aim(len(readModels) == 0, "both read models equal a rebuild from the stream")
	aims.Print()
	return aims.Met, nil
}

// cutOne picks the node of a scenario, cuts it off for o.hold, heals it,
// and lets writes settle for o.settle.
func cutOne(ctx context.Context, scenario string, cluster *fleet.Cluster, replicas []*fleet.Replica, nodes []host, o options) (*phase, error) {
	leader, err := cluster.StreamLeader(ctx)
	if err != nil {
		return nil, err
	}
	connected := map[string]string{} // replica name → node name
	for _, r := range replicas {
		connected[r.Name] = connectedNode(ctx, cluster, r)
	}
	var target string
	switch scenario {
	case "leader":
		target = leader
	case "replica-node":
		target = connected[replicas[0].Name]
		if target == "" {
			return nil, fmt.Errorf("no node shows a connection from %s", replicas[0].Name)
		}
	case "follower":
		for _, n := range cluster.Nodes {
			if n.Name != leader && !slices.Contains(mapValues(connected), n.Name) {
				target = n.Name
			}
		}
		if target == "" { // both replicas' nodes are followers: take one of them
			for _, n := range cluster.Nodes {
				if n.Name != leader {
					target = n.Name
				}
			}
		}
	}
	var h host
	for i, n := range cluster.Nodes {
		if n.Name == target {
			h = nodes[i]
		}
	}
	p := &phase{scenario: scenario, node: target, wasLeader: target == leader, connected: connected}
	fleet.Logf("replicas connected to: %v; stream leader %s", connected, leader)
	wctx, stopWatch := context.WithCancel(ctx)
	watched := make(chan map[string]fleet.Span, 1)
	go func() { watched <- cluster.Leaderless(wctx) }()
	defer func() {
		stopWatch()
		p.leaderless = <-watched
	}()
	p.cut = time.Now()
	if err := cut(h); err != nil {
		return nil, err
	}
	fleet.Logf("cut off %s (%s)", target, scenario)
	if p.wasLeader {
		if l, at, err := cluster.WaitLeader(ctx, target, o.hold); err == nil {
			p.newLeader, p.elected = l, at
			fleet.Logf("new stream leader %s, %.1fs after the cut", l, at.Sub(p.cut).Seconds())
		}
	}
	fleet.Sleep(ctx, time.Until(p.cut.Add(o.hold)))
	p.heal = time.Now()
	if err := heal(h); err != nil {
		return nil, err
	}
	fleet.Logf("healed %s", target)
	fleet.Sleep(ctx, o.settle)
	p.settledEnd = time.Now()
	return p, ctx.Err()
}

// connectedNode is the node whose monitoring endpoint lists a client
// connection named chancery from r's address.
func connectedNode(ctx context.Context, cluster *fleet.Cluster, r *fleet.Replica) string {
	host := strings.Split(r.Addr, ":")[0]
	client := &http.Client{Timeout: 2 * time.Second}
	for _, n := range cluster.Nodes {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s:8222/connz?limit=1024", n.Host), nil)
		res, err := client.Do(req)
		if err != nil {
			continue
		}
		var connz struct {
			Connections []struct {
				IP   string `json:"ip"`
				Name string `json:"name"`
			} `json:"connections"`
		}
		err = json.NewDecoder(res.Body).Decode(&connz)
		res.Body.Close()
		if err != nil {
			continue
		}
		for _, c := range connz.Connections {
			if c.IP == host && c.Name == "chancery" {
				return n.Name
			}
		}
	}
	return ""
}

func byReplica(ops []fleet.Op, name string) []fleet.Op {
	var out []fleet.Op
	for _, op := range ops {
		if op.Replica == name && op.Kind == "cas" {
			out = append(out, op)
		}
	}
	return out
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func names(hs []host) string {
	var out []string
	for _, h := range hs {
		out = append(out, h.ns+"="+h.addr)
	}
	return strings.Join(out, " ")
}
