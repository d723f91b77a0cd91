package calendar

// Benchmarks of /calendar.ics with 5,000 engagements, in one run:
//
//	BenchmarkFeedCacheHit       the feed handler over HTTP, every request a
//	                            cache hit (unchanged read model)
//	BenchmarkStaticFileServer   the same bytes from a file by net/http's
//	                            FileServer over HTTP: the baseline a cache
//	                            hit is compared against
//	BenchmarkFeedChangedModel   the feed handler over HTTP with the read-model
//	                            position moving before every request: each
//	                            one queries SQLite and renders
//	BenchmarkFeedRender         Render alone, 5,000 engagements
//
// The HTTP benchmarks run parallel clients over loopback with keep-alive
// and report req/s and the p99 latency. docs/benchmarks-calendar.md has the
// numbers. No timing is asserted.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/projections"
)

// benchEngagements is the size of the benchmarked feed.
const benchEngagements = 5000

// benchNow is the benchmarks' clock: the generated engagements lie from 60
// days before it to two years after, inside the default window.
var benchNow = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

var benchZones = []struct{ city, country, zone string }{
	{"Moscow", "RU", "Europe/Moscow"}, {"Belgrade", "RS", "Europe/Belgrade"}, {"Beijing", "CN", "Asia/Shanghai"},
	{"Washington", "US", "America/New_York"}, {"Berlin", "DE", "Europe/Berlin"}, {"Paris", "FR", "Europe/Paris"},
	{"Ankara", "TR", "Europe/Istanbul"}, {"New Delhi", "IN", "Asia/Kolkata"}, {"Brasília", "BR", "America/Sao_Paulo"},
	{"Canberra", "AU", "Australia/Sydney"},
}

// benchEnvelopes generates the events of benchEngagements meetings and
// visits, as the stream would hold them: mostly timed meetings in ten
// zones, some all-day, one in ten a two-day visit, one in twenty cancelled.
func benchEnvelopes(b *testing.B) []events.Envelope {
	b.Helper()
	var envs []events.Envelope
	add := func(agg events.Aggregate, id string, version int, cmd any, at time.Time) {
		for _, env := range decide(b, agg, id, version, step{at, cmd}) {
			env.Seq = uint64(len(envs) + 1)
			envs = append(envs, env)
		}
	}
	for i := range benchEngagements {
		at := benchNow.Add(-time.Duration(benchEngagements-i) * time.Minute)
		z := benchZones[i%len(benchZones)]
		day := benchNow.AddDate(0, 0, i%790-60).Format(events.DateLayout)
		if i%10 == 9 {
			id := events.NewVisitID(at)
			v := &events.Visit{ID: id}
			add(v, id, 0, &events.AnnounceVisit{
				Visitor:     events.Participant{Name: fmt.Sprintf("Visitor Nº%d Đorđević", i), Office: "Minister of Foreign Affairs", Country: "RS"},
				Destination: events.Destination{City: z.city, Country: z.country},
				Start:       day, End: benchNow.AddDate(0, 0, i%790-59).Format(events.DateLayout), Purpose: "Official visit; talks, and a joint statement.",
			}, at)
			continue
		}
		start, end := day+"T10:00", day+"T11:30"
		if i%7 == 0 {
			start, end = day, day
		}
		id := events.NewMeetingID(at)
		m := &events.Meeting{ID: id}
		add(m, id, 0, &events.ScheduleMeeting{
			Kind: events.Kinds[i%len(events.Kinds)], Title: fmt.Sprintf("Consultations Nº%d, %s — agenda; trade, energy", i, z.city),
			Start: start, End: end, Timezone: z.zone,
			Location:     events.Location{City: z.city, Country: z.country, Venue: "Ministry of Foreign Affairs"},
			Participants: []events.Participant{lavrov, vulin},
			Description:  "Bilateral cooperation agenda; international and regional questions.",
			Source:       source,
		}, at)
		if i%20 == 3 {
			add(m, id, 1, &events.CancelMeeting{Reason: "called off"}, at.Add(time.Second))
		}
	}
	return envs
}

// benchStore is a SQLite read model holding the generated engagements,
// applied by the projector.
func benchStore(b *testing.B) (*projections.DB, *projections.Projector) {
	b.Helper()
	ctx := context.Background()
	db, err := projections.Open(ctx, filepath.Join(b.TempDir(), "chancery.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	p, err := projections.NewProjector(ctx, db, nil, "unused", nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Apply(ctx, benchEnvelopes(b)); err != nil {
		b.Fatal(err)
	}
	return db, p
}

// benchFeed serves the feed handler over HTTP; position is the read-model
// position it sees.
func benchFeed(b *testing.B, db *projections.DB, position func() uint64) string {
	b.Helper()
	h := NewHandler(Config{DB: db, Position: position, UIDHost: "chancery.test", Now: func() time.Time { return benchNow }})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /calendar.ics", h.ServeAll)
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv.URL + "/calendar.ics"
}

// benchGet fetches url parallelly b.N times, uncompressed, checking each
// answer, and reports req/s and the p99 latency.
func benchGet(b *testing.B, url string, wantBytes int) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	b.Cleanup(client.CloseIdleConnections)
	var mu sync.Mutex
	var latencies []time.Duration
	b.SetBytes(int64(wantBytes))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			res, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			n, err := io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != 200 || int(n) != wantBytes {
				b.Errorf("status %d, %d bytes (%v), want 200 and %d bytes", res.StatusCode, n, err, wantBytes)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		latencies = append(latencies, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
}

// benchBody fetches the feed once, uncompressed.
func benchBody(b *testing.B, url string) []byte {
	b.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept-Encoding", "identity")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		b.Fatalf("status %d: %v", res.StatusCode, err)
	}
	if n := bytes.Count(body, []byte("BEGIN:VEVENT")); n < benchEngagements*9/10 {
		b.Fatalf("the feed has %d events, want about %d", n, benchEngagements)
	}
	return body
}

func BenchmarkFeedCacheHit(b *testing.B) {
	db, p := benchStore(b)
	url := benchFeed(b, db, p.Position)
	body := benchBody(b, url) // the one render; every request after it hits
	queries := db.Queries()
	benchGet(b, url, len(body))
	if db.Queries() != queries {
		b.Fatalf("cache hits ran %d queries", db.Queries()-queries)
	}
}

func BenchmarkStaticFileServer(b *testing.B) {
	db, p := benchStore(b)
	body := benchBody(b, benchFeed(b, db, p.Position))
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "calendar.ics"), body, 0o644); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	b.Cleanup(srv.Close)
	benchGet(b, srv.URL+"/calendar.ics", len(body))
}

func BenchmarkFeedChangedModel(b *testing.B) {
	db, p := benchStore(b)
	var pos atomic.Uint64
	pos.Store(p.Position())
	url := benchFeed(b, db, func() uint64 { return pos.Add(1) }) // a new position for every request
	body := benchBody(b, url)
	queries := db.Queries()
	benchGet(b, url, len(body))
	if got := db.Queries() - queries; got < int64(b.N) {
		b.Fatalf("%d requests ran %d queries: not every one rendered", b.N, got)
	}
}

func BenchmarkFeedRender(b *testing.B) {
	db, _ := benchStore(b)
	items, _, err := db.Feed(context.Background(), projections.Query{FromDate: benchNow.AddDate(0, 0, -90).Format(events.DateLayout)})
	if err != nil || len(items) != benchEngagements {
		b.Fatalf("%d items: %v", len(items), err)
	}
	var buf bytes.Buffer
	opts := Options{Name: "Chancery", UIDHost: "chancery.test", BaseURL: "https://chancery.test"}
	b.ResetTimer()
	for b.Loop() {
		buf.Reset()
		if err := Render(&buf, items, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
