// Command soak runs Chancery as a fleet (three nats-server nodes, two
// chancery replicas) under writers with and without idempotency keys,
// kills the stream leader's node and then a replica with SIGKILL, starts
// each again, and reports what clients were told against what the stream
// holds: acknowledged writes lost, change alerts expected, delivered and
// duplicated, the longest write outage and the answers seen. It exits 1
// when an aim is missed:
//
//	go run ./internal/soak [-warmup 10s] [-down 10s] [-settle 15s] [-keyed 3] [-unkeyed 2] [-keep]
//
// It is not part of `go test`: it builds binaries and runs for minutes.
package main

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"time"

	"github.com/chancery/chancery/internal/fleet"
)

type options struct {
	warmup, down, settle, timeout time.Duration
	alertWait                     time.Duration
	keyed, unkeyed                int
	keep                          bool
}

func main() {
	var o options
	flag.DurationVar(&o.warmup, "warmup", 10*time.Second, "writes before the first fault")
	flag.DurationVar(&o.down, "down", 10*time.Second, "how long a killed process stays down")
	flag.DurationVar(&o.settle, "settle", 15*time.Second, "writes after each restart, before the next step")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "the whole run, setup and checks included, stops after this")
	flag.DurationVar(&o.alertWait, "alert-wait", 2*time.Minute, "how long the alerts may take to arrive after the writes end")
	flag.IntVar(&o.keyed, "keyed", 3, "writers that send an Idempotency-Key and retry on 503 and 409")
	flag.IntVar(&o.unkeyed, "unkeyed", 2, "writers without keys: a failed or unknown write is not retried")
	flag.BoolVar(&o.keep, "keep", false, "keep the run's directory (stores, data, logs)")
	flag.Parse()

	fleet.Main("soak", o.timeout, func(ctx context.Context) (bool, error) { return run(ctx, o) })
}

func run(ctx context.Context, o options) (bool, error) {
	f, err := fleet.New(ctx, o.keep)
	if err != nil {
		return false, err
	}
	defer f.Close()

	specs := make([]fleet.NodeSpec, 3)
	for i := range specs {
		specs[i].Host = "127.0.0.1"
	}
	cluster, rcv, replicas, err := f.StartAll(ctx, specs, "127.0.0.1", []fleet.Named{
		{Name: "replica-a", Spec: fleet.ReplicaSpec{Host: "127.0.0.1"}},
		{Name: "replica-b", Spec: fleet.ReplicaSpec{Host: "127.0.0.1"}},
	})
	if err != nil {
		return false, err
	}

	rec := &fleet.Recorder{}
	client := fleet.NewClient(15 * time.Second)
	stopWriters := make(chan struct{})
	var writers sync.WaitGroup
	for i := range o.keyed + o.unkeyed {
		w := &writer{name: fmt.Sprintf("w%d", i+1), keyed: i < o.keyed, replicas: replicas, home: i % len(replicas),
			client: client, rec: rec, stop: stopWriters}
		writers.Go(func() { w.run(ctx) })
	}
	start := time.Now()
	fleet.Logf("writers started: %d with Idempotency-Key, %d without", o.keyed, o.unkeyed)
	fleet.Sleep(ctx, o.warmup)

	// The stream leader's node, killed: no leadership handed over.
	leader, err := cluster.StreamLeader(ctx)
	if err != nil {
		return false, err
	}
	node := cluster.Node(leader)
	killed := time.Now()
	node.Kill()
	fleet.Logf("killed %s, the stream leader (kill -9)", leader)
	newLeader, elected, err := cluster.WaitLeader(ctx, leader, time.Minute)
	if err != nil {
		return false, fmt.Errorf("no new stream leader: %w", err)
	}
	fleet.Logf("new stream leader %s, %.1fs after the kill", newLeader, elected.Sub(killed).Seconds())
	fleet.Sleep(ctx, o.down)
	if err := node.Start(); err != nil {
		return false, err
	}
	fleet.Logf("restarted %s", leader)
	fleet.Sleep(ctx, o.settle)

	// A replica, killed and restarted on its data directory.
	victim := replicas[1]
	replicaKilled := time.Now()
	victim.Kill()
	fleet.Logf("killed %s (kill -9)", victim.Name)
	fleet.Sleep(ctx, o.down)
	if err := victim.Start(); err != nil {
		return false, err
	}
	if err := victim.WaitReady(ctx, 2*time.Minute); err != nil {
		return false, fmt.Errorf("%s after its restart: %w", victim.Name, err)
	}
	fleet.Logf("restarted %s: ready %.1fs after its start", victim.Name, time.Since(replicaKilled.Add(o.down)).Seconds())
	fleet.Sleep(ctx, o.settle)

	ops, stream, end, err := fleet.Collect(ctx, stopWriters, &writers, rec, cluster, client, replicas[0])
	if err != nil {
		return false, err
	}
	alerts := fleet.WaitAlerts(ctx, stream, rcv, o.alertWait)
	lost := fleet.Lost(ops, stream)
	dup := fleet.Duplicated(stream)
	keys := keyedCreates(ops, stream)
	outage := fleet.LongestOutage(ops, start, end)
	firstOK := fleet.FirstOK(ops, elected)
	codes := fleet.Codes(ops)
	readModels := f.VerifyReadModels(ctx, client, cluster, replicas)

	fmt.Println()
	fmt.Println("== soak report")
	n := summary(ops)
	fmt.Printf("writes: %d attempts, %d acknowledged, %d failed, %d unknown; %d logical writes by keyed writers, %d unresolved\n",
		len(ops), n[fleet.OK], n[fleet.Fail], n[fleet.Unknown], n["logical"], n["unresolved"])
	fmt.Printf("stream: %d events\n", len(stream))
	fmt.Printf("answers: %s\n", fleet.FormatCodes(codes))
	fleet.PrintList("acknowledged writes lost", "lost", lost)
	fleet.PrintList("duplicated writes (one request, several events)", "duplicated", dup)
	fmt.Printf("idempotency keys that did not create exactly one meeting: %d\n", len(keys))
	for _, k := range keys {
		fmt.Println("  key:", k)
	}
	fmt.Printf("alerts: %d expected, %d delivered, %d missing, %d duplicated, %d unexpected\n",
		alerts.Expected, alerts.Delivered, alerts.Missing, alerts.Duplicated, alerts.Unexpected)
	for i, m := range alerts.MissingList {
		if i == 10 {
			fmt.Printf("  ... and %d more\n", len(alerts.MissingList)-i)
			break
		}
		fmt.Println("  missing alert for", m)
	}
	if alerts.Missing > 0 {
		recs, err := client.DeliveryRecords(ctx, replicas[0])
		fmt.Printf("  delivery records of change alerts: %s %v\n", fleet.FormatCodes(recs), errText(err))
	}
	fmt.Printf("longest write outage: %.1fs (from %s to %s)\n", outage.Len().Seconds(),
		outage.From.Format("15:04:05.000"), outage.To.Format("15:04:05.000"))
	back := firstOK.Sub(elected)
	if firstOK.IsZero() {
		back = -1
	}
	fmt.Printf("leader kill: new leader after %.1fs; first acknowledged write %.1fs after the new leader\n",
		elected.Sub(killed).Seconds(), back.Seconds())
	fmt.Printf("read models: %d problems\n", len(readModels))
	for _, p := range readModels {
		fmt.Println("  read model:", p)
	}

	aims := fleet.NewAims()
	aim := aims.Check
	fmt.Println()
	aim(len(lost) == 0, "0 acknowledged writes lost")
	aim(len(dup) == 0 && len(keys) == 0, "0 duplicated writes; each idempotency key created exactly one meeting")
	aim(alerts.Missing == 0 && alerts.Unexpected == 0, "0 missing alerts")
	aim(alerts.Duplicated == 0, "0 duplicated alerts")
	aim(codes["500"] == 0, "no 500")
	aim(noMissingRetryAfter(codes), "every 503 and 409 has Retry-After")
	aim(!firstOK.IsZero() && back <= 5*time.Second, "writes back within 5 s of a new leader")
	aim(len(readModels) == 0, "both read models equal a rebuild from the stream")
	aims.Print()
	return aims.Met, nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
