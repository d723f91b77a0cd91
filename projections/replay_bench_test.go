package projections

// BenchmarkReplay measures a full replay of a large stream into SQLite
// against two raw rates measured in the same run: reading the same stream
// with an ordered consumer (no decoding), and inserting the rows the replay
// wrote into a fresh file in batched transactions with prepared statements
// (no decoding, no folding, no encoding).
//
// It generates CHANCERY_REPLAY_EVENTS events (default 1,000,000; 20,000
// with -short) with genEvents into an embedded server (or the one at
// CHANCERY_REPLAY_NATS_URL), once per run:
//
//	go test -run '^$' -bench Replay -benchtime 1x -timeout 30m ./projections/
//
// docs/benchmarks.md has the results.

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/natstest"
)

func replayBenchEvents(b *testing.B) int {
	if v := os.Getenv("CHANCERY_REPLAY_EVENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("CHANCERY_REPLAY_EVENTS=%q", v)
		}
		return n
	}
	if testing.Short() {
		return 20000
	}
	return 1000000
}

func BenchmarkReplay(b *testing.B) {
	ctx := context.Background()
	n := replayBenchEvents(b)
	js := benchServer(b)
	l, err := events.OpenLog(ctx, js, events.LogConfig{})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	publishGenerated(b, js, n)
	b.Logf("generated and stored %d events in %s", n, time.Since(start).Round(time.Millisecond))

	for b.Loop() {
		// Raw read: every message through an ordered consumer, nothing decoded.
		t0 := time.Now()
		if got := readAll(b, js, l.Stream()); got != n {
			b.Fatalf("read %d messages, want %d", got, n)
		}
		readRate := float64(n) / time.Since(t0).Seconds()

		// The replay, with the peak heap sampled while it runs.
		dir := b.TempDir()
		db, err := Open(ctx, filepath.Join(dir, "replay.db"))
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		stop := samplePeakHeap()
		t0 = time.Now()
		pos, err := Replay(ctx, db, l, 0, nil)
		replayTime := time.Since(t0)
		peak := stop()
		if err != nil || pos != uint64(n) {
			b.Fatalf("replay reached %d, %v; want %d", pos, err, n)
		}

		// Raw insert of the rows the replay wrote.
		insertTime := rawInsertRows(b, db, filepath.Join(dir, "raw.db"))
		db.Close()

		replayRate := float64(n) / replayTime.Seconds()
		insertRate := float64(n) / insertTime.Seconds()
		b.ReportMetric(replayRate, "replay-events/s")
		b.ReportMetric(readRate, "raw-read-events/s")
		b.ReportMetric(insertRate, "raw-insert-events/s")
		b.ReportMetric(replayRate/min(readRate, insertRate)*100, "%-of-slower-raw")
		b.ReportMetric(replayTime.Seconds(), "replay-s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(before.HeapInuse)/(1<<20), "heap-before-MB") // the embedded server's and the test's, after a GC
	}
}

// benchServer is an embedded server, or the one at CHANCERY_REPLAY_NATS_URL
// (a nats-server in another process, so that the heap measured is the
// replay's alone); the stream is deleted from it afterwards, unless
// CHANCERY_REPLAY_KEEP is set (to measure the chancery commands on it).
func benchServer(b *testing.B) jetstream.JetStream {
	u := os.Getenv("CHANCERY_REPLAY_NATS_URL")
	if u == "" {
		return natstest.Start(b, "").JS
	}
	nc, err := nats.Connect(u)
	if err != nil {
		b.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if os.Getenv("CHANCERY_REPLAY_KEEP") == "" {
			js.DeleteStream(context.Background(), events.DefaultStream)
		}
		nc.Close()
	})
	return js
}

// publishGenerated stores n generated events on the stream, asynchronously
// with a bounded window of unacknowledged publishes.
func publishGenerated(b *testing.B, js jetstream.JetStream, n int) {
	var failed atomic.Int64
	genEvents(b, n, func(env events.Envelope, _ state) {
		env.Seq = 0
		data, err := json.Marshal(env)
		if err != nil {
			b.Fatal(err)
		}
		m := nats.NewMsg(events.Subject(env.AggregateType, env.AggregateID, env.Type[len(env.AggregateType)+1:]))
		m.Data = data
		if _, err := js.PublishMsgAsync(m); err != nil {
			failed.Add(1)
		}
	})
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(5 * time.Minute):
		b.Fatal("publishes not acknowledged in 5 minutes")
	}
	if failed.Load() > 0 {
		b.Fatalf("%d publishes failed", failed.Load())
	}
}

// readAll reads the whole stream with an ordered consumer and counts it.
func readAll(b *testing.B, js jetstream.JetStream, stream string) int {
	ctx := context.Background()
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	pending := cons.CachedInfo().NumPending
	it, err := cons.Messages(jetstream.PullMaxMessages(1024))
	if err != nil {
		b.Fatal(err)
	}
	defer it.Stop()
	n := 0
	for uint64(n) < pending {
		if _, err := it.Next(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	return n
}

// samplePeakHeap samples the heap in use every 20 ms until stop, which
// returns the peak.
func samplePeakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		return peak.Load()
	}
}

// rawInsertRows copies the rows of db into a fresh read model at path with
// the projector's statements in batched transactions, and returns the time
// spent inserting (reading them out is not counted).
func rawInsertRows(b *testing.B, db *DB, path string) (spent time.Duration) {
	total := &spent
	ctx := context.Background()
	out, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	// Like the replay into a new file: indexes built once, after the rows.
	t0 := time.Now()
	if err := out.dropIndexes(ctx); err != nil {
		b.Fatal(err)
	}
	spent = time.Since(t0)
	defer func() {
		t0 := time.Now()
		if err := out.restoreIndexes(ctx); err != nil {
			b.Fatal(err)
		}
		*total += time.Since(t0)
	}()
	type row struct {
		id, typ, kind, status, country, start, end, startDate, endDate, doc, folded, countries string
		version, seq                                                                           int64
	}
	const chunk = 10000
	after := ""
	for {
		rows := make([]row, 0, chunk)
		rs, err := db.read.QueryContext(ctx, `SELECT id, type, version, kind, status, country, start_utc, end_utc, start_date, end_date, last_seq, doc, people_folded, people_countries
			FROM engagements WHERE id > ? ORDER BY id LIMIT ?`, after, chunk)
		if err != nil {
			b.Fatal(err)
		}
		for rs.Next() {
			var r row
			if err := rs.Scan(&r.id, &r.typ, &r.version, &r.kind, &r.status, &r.country, &r.start, &r.end, &r.startDate, &r.endDate, &r.seq, &r.doc, &r.folded, &r.countries); err != nil {
				b.Fatal(err)
			}
			rows = append(rows, r)
		}
		rs.Close()
		if len(rows) == 0 {
			return spent
		}
		after = rows[len(rows)-1].id

		t0 := time.Now()
		tx, err := out.write.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		ins := mustPrepare(b, tx, upsertSQL)
		for _, r := range rows {
			if _, err := ins.ExecContext(ctx, r.id, r.typ, r.version, r.kind, r.status, r.country, r.start, r.end, r.startDate, r.endDate, r.seq, r.doc, r.folded, r.countries); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := tx.ExecContext(ctx, checkpointSQL, strconv.FormatInt(rows[len(rows)-1].seq, 10)); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		spent += time.Since(t0)
	}
}

func mustPrepare(b *testing.B, tx *sql.Tx, q string) *sql.Stmt {
	st, err := tx.Prepare(q)
	if err != nil {
		b.Fatal(err)
	}
	return st
}
