package notifier

// BenchmarkAlertLatency measures, in real time, how long after a reminder
// falls due its receiver accepts it: 1,000 webhook subscribers, the sweep
// at its default (@every 30s), the default 4 delivery workers, everything
// on one embedded NATS and one SQLite read model. In the same run it times
// BenchmarkRawSend's baseline: the same webhook POSTs sent directly, with
// no sweep and no queue. It reports p50/p99 of both.
//
// One op waits for real due times, so it takes minutes: run it with
//
//	go test -run '^$' -bench AlertLatency -benchtime 1x -timeout 20m ./notifier/
//
// With -short (as CI smoke-runs benchmarks) it skips.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chancery/chancery/events"
)

// benchSubscribers is how many subscribers every alert goes to.
const benchSubscribers = 1000

// latencyReceiver records when each alert id arrived.
type latencyReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	arrived map[string]time.Time
}

func newLatencyReceiver(b *testing.B) *latencyReceiver {
	r := &latencyReceiver{arrived: map[string]time.Time{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		now := time.Now()
		r.mu.Lock()
		if _, ok := r.arrived[req.Header.Get("webhook-id")]; !ok {
			r.arrived[req.Header.Get("webhook-id")] = now
		}
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(r.Close)
	return r
}

func (r *latencyReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.arrived)
}

func percentiles(d []time.Duration) (p50, p99, worst time.Duration) {
	slices.Sort(d)
	at := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	return at(0.50), at(0.99), d[len(d)-1]
}

func BenchmarkAlertLatency(b *testing.B) {
	if testing.Short() {
		b.Skip("-short: one op waits minutes of real time")
	}
	for b.Loop() {
		benchLatencyOnce(b)
	}
}

func benchLatencyOnce(b *testing.B) {
	ctx := context.Background()
	w := newWorld(b, time.Now())
	rcv := newLatencyReceiver(b)
	subs := make([]Subscriber, benchSubscribers)
	for i := range subs {
		subs[i] = Subscriber{Target: Target{Name: fmt.Sprintf("desk-%04d", i), Channel: "webhook", To: rcv.URL + "/hook"}, Zone: time.UTC, Alerts: []string{CategoryReminder}}
	}
	n, err := New(ctx, Config{
		Rules:       Rules{Reminders: []time.Duration{time.Hour}, AllDayReminder: 9 * 60},
		Subscribers: subs,
	}, Deps{DB: w.db, Log: w.events, JS: w.srv.JS, Channel: NewChannels(ChannelsConfig{})})
	if err != nil {
		b.Fatal(err)
	}
	// Two meetings whose 1 h reminders fall due at the next two minute
	// boundaries at least 20 s away: 2,000 alerts.
	first := time.Now().Add(20 * time.Second).Truncate(time.Minute).Add(time.Minute)
	var dues []time.Time
	var last uint64
	for i := range 2 {
		due := first.Add(time.Duration(i) * time.Minute)
		dues = append(dues, due)
		start := due.Add(time.Hour).UTC()
		_, res, err := events.Execute[events.Meeting](ctx, w.events, events.NewMeetingID(time.Now()), &events.ScheduleMeeting{
			Kind: "talks", Title: fmt.Sprintf("Talks %d", i), Timezone: "Europe/London",
			Start: start.In(londonZone(b)).Format("2006-01-02T15:04"), Location: events.Location{City: "London", Country: "GB"},
		}, events.Meta{Actor: "bench", Fresh: true})
		if err != nil {
			b.Fatal(err)
		}
		last = res.Position
	}
	if err := w.proj.CatchUp(ctx, last); err != nil {
		b.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer n.Stop()
	want := len(dues) * benchSubscribers
	deadline := dues[len(dues)-1].Add(3 * time.Minute)
	for rcv.count() < want && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := rcv.count(); got != want {
		b.Fatalf("receiver got %d alerts, want %d", got, want)
	}
	sent, err := n.queue.List(ctx, StatusSent)
	if err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	rcv.mu.Lock()
	for _, d := range sent {
		lat = append(lat, rcv.arrived[d.ID].Sub(d.DueAt))
	}
	rcv.mu.Unlock()
	p50, p99, worst := percentiles(lat)
	b.ReportMetric(p50.Seconds(), "p50-s")
	b.ReportMetric(p99.Seconds(), "p99-s")
	b.ReportMetric(worst.Seconds(), "max-s")

	// The baseline: the same number of POSTs, straight from a loop with as
	// many senders as the notifier has workers.
	raw := rawSendLatencies(b, rcv.URL, want)
	r50, r99, _ := percentiles(raw)
	b.ReportMetric(r50.Seconds()*1000, "raw-p50-ms")
	b.ReportMetric(r99.Seconds()*1000, "raw-p99-ms")
}

func rawSendLatencies(b *testing.B, url string, count int) []time.Duration {
	ch := NewChannels(ChannelsConfig{})
	out := make([]time.Duration, count)
	var wg sync.WaitGroup
	const senders = 4
	for s := range senders {
		wg.Go(func() {
			for i := s; i < count; i += senders {
				m := Message{ID: fmt.Sprintf("raw-%d", i), Category: CategoryReminder, Subject: "raw", Text: "raw", DueAt: time.Now()}
				t0 := time.Now()
				if err := ch.Send(context.Background(), Target{Name: "raw", Channel: "webhook", To: url + "/raw"}, m); err != nil {
					b.Error(err)
				}
				out[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	return out
}

func londonZone(b *testing.B) *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		b.Fatal(err)
	}
	return loc
}
