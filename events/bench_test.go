package events_test

// Benchmarks of the write path, each against an embedded JetStream server
// set up the same way and the same stream config (created by events.OpenLog):
//
//	BenchmarkAppend      events.Execute of a ScheduleMeeting on a new id:
//	                     Load (finds nothing), Decide, Append
//	BenchmarkAppendLog   Log.Append of a prebuilt one-event envelope
//	BenchmarkRawPublish  js.PublishMsg of the same bytes and headers: the
//	                     baseline the other two are compared against
//
// Each runs twice: on a default server (as internal/natstest starts it) and
// on one with SyncAlways (fsync every write, as cmd/chancery runs it).
// docs/benchmarks.md has the numbers. No timing is asserted.

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/natstest"
)

// benchModes are the server configurations every benchmark runs under.
var benchModes = []struct {
	name       string
	syncAlways bool
}{
	{"default", false},
	{"sync_always", true},
}

// benchJS returns a client of a fresh embedded server: natstest's server,
// with SyncAlways if asked.
func benchJS(b *testing.B, syncAlways bool) jetstream.JetStream {
	b.Helper()
	return natstest.StartWith(b, server.Options{SyncAlways: syncAlways}).JS
}

// benchLog opens the event log on a fresh server, returning the client too.
func benchLog(b *testing.B, syncAlways bool) (*events.Log, jetstream.JetStream) {
	b.Helper()
	js := benchJS(b, syncAlways)
	log, err := events.OpenLog(context.Background(), js, events.LogConfig{})
	if err != nil {
		b.Fatal(err)
	}
	return log, js
}

// benchTalks is a realistic command: talks between two heads of state.
func benchTalks() *events.ScheduleMeeting {
	return &events.ScheduleMeeting{
		Kind:     "talks",
		Title:    "Talks between the Presidents of Serbia and Russia",
		Start:    "2025-10-14T10:00",
		End:      "2025-10-14T12:30",
		Timezone: "Europe/Moscow",
		Location: events.Location{City: "Moscow", Country: "RU", Venue: "Kremlin, Catherine Hall"},
		Participants: []events.Participant{
			{Name: "Aleksandar Vučić", Office: "President of Serbia", Country: "RS"},
			{Name: "Vladimir Putin", Office: "President of the Russian Federation", Country: "RU"},
		},
		Description: "Bilateral talks on energy cooperation and the long-term gas contract, followed by statements to the press.",
		Source:      &events.Source{URL: "https://www.predsednik.rs/en/press-center/news/talks-in-moscow", Published: "2025-10-10"},
	}
}

// benchEnvelope returns the envelope Execute records for benchTalks, as
// appended (Seq unset), by executing it once on log.
func benchEnvelope(b *testing.B, log *events.Log) events.Envelope {
	b.Helper()
	_, res, err := events.Execute[events.Meeting](context.Background(), log, events.NewMeetingID(time.Now()), benchTalks(), events.Meta{Actor: "bench", Fresh: true})
	if err != nil {
		b.Fatal(err)
	}
	env := res.Events[0]
	env.Seq = 0
	return env
}

func reportEventsPerSec(b *testing.B, perOp int) {
	b.ReportMetric(float64(b.N)*float64(perOp)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkAppend(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode.name, func(b *testing.B) {
			ctx := context.Background()
			log, _ := benchLog(b, mode.syncAlways)
			cmd := benchTalks()
			b.ReportAllocs()
			for b.Loop() {
				_, _, err := events.Execute[events.Meeting](ctx, log, events.NewMeetingID(time.Now()), cmd, events.Meta{Actor: "bench", Fresh: true})
				if err != nil {
					b.Fatal(err)
				}
			}
			reportEventsPerSec(b, 1)
		})
	}
}

func BenchmarkAppendLog(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode.name, func(b *testing.B) {
			ctx := context.Background()
			log, _ := benchLog(b, mode.syncAlways)
			env := benchEnvelope(b, log)
			b.ReportAllocs()
			for b.Loop() {
				env.AggregateID = events.NewMeetingID(time.Now())
				if _, _, err := log.Append(ctx, []events.Envelope{env}, events.AppendOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			reportEventsPerSec(b, 1)
		})
	}
}

// rawPublish publishes an envelope's bytes to a fresh meeting's subject
// with the headers Log.Append sets, and waits for the ack: the baseline.
func rawPublish(b *testing.B, js jetstream.JetStream, data []byte) {
	id := events.NewMeetingID(time.Now())
	m := nats.NewMsg(events.SubjectPrefix + ".meeting." + id + ".scheduled")
	m.Data = data
	m.Header.Set("Chancery-Event-Type", events.MeetingScheduledType)
	m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, "0")
	m.Header.Set(jetstream.ExpectedLastSubjSeqSubjHeader, events.SubjectPrefix+".meeting."+id+".*")
	if _, err := js.PublishMsg(context.Background(), m); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkRawPublish(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode.name, func(b *testing.B) {
			log, js := benchLog(b, mode.syncAlways) // creates the stream with the log's config
			env := benchEnvelope(b, log)
			data, err := json.Marshal(env)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				rawPublish(b, js, data)
			}
			reportEventsPerSec(b, 1)
		})
	}
}

// BenchmarkWritePath measures Execute, Log.Append and the raw publish on one
// server and one stream, interleaved in rounds of writePathRound writes of
// each, so that the host's drift and the stream's growth fall on all three
// alike; it reports each one's events/s over the whole run and the ratios
// of the first two to the raw publish. One op is one round.
func BenchmarkWritePath(b *testing.B) {
	const writePathRound = 100
	for _, mode := range benchModes {
		b.Run(mode.name, func(b *testing.B) {
			ctx := context.Background()
			log, js := benchLog(b, mode.syncAlways)
			cmd := benchTalks()
			env := benchEnvelope(b, log)
			data, err := json.Marshal(env)
			if err != nil {
				b.Fatal(err)
			}
			writers := []func(){
				func() { // Execute, as the API creates a meeting
					if _, _, err := events.Execute[events.Meeting](ctx, log, events.NewMeetingID(time.Now()), cmd, events.Meta{Actor: "bench", Fresh: true}); err != nil {
						b.Fatal(err)
					}
				},
				func() { // Log.Append of the envelope Execute records
					env.AggregateID = events.NewMeetingID(time.Now())
					if _, _, err := log.Append(ctx, []events.Envelope{env}, events.AppendOptions{}); err != nil {
						b.Fatal(err)
					}
				},
				func() { rawPublish(b, js, data) }, // the baseline
			}
			spent := make([]time.Duration, len(writers))
			round := 0
			for b.Loop() {
				// Each round starts with a different writer, so none always
				// follows another's garbage.
				for k := range writers {
					i := (round + k) % len(writers)
					t0 := time.Now()
					for range writePathRound {
						writers[i]()
					}
					spent[i] += time.Since(t0)
				}
				round++
			}
			n := float64(round * writePathRound)
			rate := func(i int) float64 { return n / spent[i].Seconds() }
			b.ReportMetric(rate(0), "execute-events/s")
			b.ReportMetric(rate(1), "append-events/s")
			b.ReportMetric(rate(2), "raw-events/s")
			b.ReportMetric(rate(0)/rate(2)*100, "%execute-of-raw")
			b.ReportMetric(rate(1)/rate(2)*100, "%append-of-raw")
		})
	}
}

// BenchmarkDecide is the command's own work in Execute, without the append:
// deciding benchTalks on a new meeting (validating every field), encoding
// the payload and folding the event.
func BenchmarkDecide(b *testing.B) {
	cmd := benchTalks()
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		var m events.Meeting
		evs, err := m.Decide(cmd, now)
		if err != nil {
			b.Fatal(err)
		}
		data, err := events.MarshalJSON(evs[0])
		if err != nil {
			b.Fatal(err)
		}
		env := events.Envelope{Type: evs[0].EventType(), AggregateType: events.MeetingAggregate, AggregateID: events.NewMeetingID(now), Version: 1, Data: data}
		if err := m.Apply(env, evs[0]); err != nil {
			b.Fatal(err)
		}
	}
}
