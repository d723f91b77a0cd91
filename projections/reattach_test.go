package projections

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/natstest"
)

// When the node that serves the projector's reader dies (SIGKILL), the
// projector notices within a couple of missed heartbeats and reads on from
// a live node: an event written after the stream's new leader is elected
// is applied within seconds, not after the 11 s that nats.go's default
// heartbeat took.
func TestProjectorReattachesWhenItsReadersNodeDies(t *testing.T) {
	cluster := natstest.StartProcessCluster(t, 3)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	home := cluster.Nodes[0]
	l, err := events.OpenLog(ctx, home.JS, events.LogConfig{Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, filepath.Join(t.TempDir(), "chancery.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The projector reads through a connection to every node, as a
	// replica given all their URLs does; its log goes to the test's.
	var logs natstest.LogBuffer
	defer func() {
		if t.Failed() {
			t.Logf("projector log:\n%s", logs.String())
		}
	}()
	p, err := NewProjector(ctx, db, cluster.Connect(), l.Stream(), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { p.Keep(pctx, 100*time.Millisecond, time.Second); close(done) }()
	go p.Watch(pctx, time.Second, time.Now) // as serve runs it
	defer func() { stop(); <-done }()

	write := func(l *events.Log) uint64 {
		t.Helper()
		c := talks()
		cmd := &events.ScheduleMeeting{Kind: c.Kind, Title: c.Title, Start: c.Span.Start, Timezone: c.Span.Timezone, Location: c.Location, Participants: c.Participants}
		_, res, err := events.Execute[events.Meeting](ctx, l, events.NewMeetingID(time.Now()), cmd, events.Meta{Fresh: true})
		if err != nil {
			t.Fatal(err)
		}
		return res.Position
	}
	if err := p.WaitFor(ctx, write(l)); err != nil {
		t.Fatal(err)
	}

	// The projector's reader is the stream's only consumer: find its node.
	var readerNode string
	stream, err := home.JS.Stream(ctx, l.Stream())
	if err != nil {
		t.Fatal(err)
	}
	for info := range stream.ListConsumers(ctx).Info() {
		if info.Cluster != nil {
			readerNode = info.Cluster.Leader
		}
	}
	victim := -1
	for i, n := range cluster.Nodes {
		if n.Name == readerNode {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatalf("the projector's reader is on %q, not a node of the cluster", readerNode)
	}
	if victim == 0 {
		// Write and read through another node than the one killed.
		home = cluster.Nodes[1]
	}
	other, err := events.OpenLog(ctx, home.JS, events.LogConfig{Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	cluster.Kill(victim)
	pos := write(other) // waits for the new stream leader
	// A new reader needs the stream's leader and the meta leader (which
	// places consumers), each elected anew if it was on the killed node:
	// the clock starts when another client can make a reader.
	var ready time.Time
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := home.JS.OrderedConsumer(cctx, l.Stream(), jetstream.OrderedConsumerConfig{})
		cancel()
		if err == nil {
			ready = time.Now()
			if info := c.CachedInfo(); info != nil {
				home.JS.DeleteConsumer(ctx, l.Stream(), info.Name)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatal(err)
		}
	}
	for {
		// While the projector starts a new reader, WaitFor reports why
		// it stopped; it starts again by itself.
		err := p.WaitFor(ctx, pos)
		if err == nil {
			break
		}
		if !events.Transient(err) || ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	gap := max(time.Since(ready), 0)
	t.Logf("reader on %s (killed); applied %v after readers could be made again", readerNode, gap.Round(time.Millisecond))
	if gap > 8*time.Second {
		t.Errorf("applied %v after readers could be made again, want within a few seconds", gap.Round(time.Millisecond))
	}
}
