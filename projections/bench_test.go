package projections

// Benchmarks of the read side, on the same generated stream of events:
//
//	BenchmarkProjector  Projector.Apply of the stream in batches of 1000 into
//	                    a fresh SQLite file
//	BenchmarkRawInsert  the same rows written straight into a fresh file with
//	                    the same schema, connection and statements: the
//	                    baseline the projector is compared against
//
// TestBenchRawInsertMatchesProjector checks that the baseline writes exactly
// what the projector writes. docs/benchmarks.md has the numbers. No timing is
// asserted.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chancery/chancery/events"
)

// benchEvents is how many events one benchmark op projects: ten batches.
const benchEvents = 10 * maxBatch

// benchStream is a generated event stream and the rows the projector writes
// for it, batch by batch.
type benchStream struct {
	envs    []events.Envelope
	batches []benchBatch
	counts  map[string]int // events per type
}

// benchBatch is what the projector writes for one batch of envs: one upsert
// per aggregate it touched (in id order), then the checkpoint.
type benchBatch struct {
	rows []benchRow
	pos  string
}

type benchRow struct {
	upsert []any
}

type benchPlace struct{ city, country, zone, venue string }

var benchPlaces = []benchPlace{
	{"Moscow", "RU", "Europe/Moscow", "Kremlin"},
	{"Belgrade", "RS", "Europe/Belgrade", "Palace of Serbia"},
	{"Beijing", "CN", "Asia/Shanghai", "Great Hall of the People"},
	{"Washington", "US", "America/New_York", "White House"},
	{"Berlin", "DE", "Europe/Berlin", "Federal Chancellery"},
	{"Paris", "FR", "Europe/Paris", "Élysée Palace"},
	{"Ankara", "TR", "Europe/Istanbul", "Presidential Complex"},
	{"Budapest", "HU", "Europe/Budapest", "Carmelite Monastery"},
	{"New Delhi", "IN", "Asia/Kolkata", "Hyderabad House"},
	{"Brasília", "BR", "America/Sao_Paulo", "Palácio do Planalto"},
}

var benchPeople = []events.Participant{
	{Name: "Aleksandar Vučić", Office: "President of Serbia", Country: "RS"},
	{Name: "Vladimir Putin", Office: "President of the Russian Federation", Country: "RU"},
	{Name: "Xi Jinping", Office: "President of the People's Republic of China", Country: "CN"},
	{Name: "Olaf Scholz", Office: "Federal Chancellor", Country: "DE"},
	{Name: "Emmanuel Macron", Office: "President of the French Republic", Country: "FR"},
	{Name: "Recep Tayyip Erdoğan", Office: "President of Türkiye", Country: "TR"},
	{Name: "Viktor Orbán", Office: "Prime Minister of Hungary", Country: "HU"},
	{Name: "Narendra Modi", Office: "Prime Minister of India", Country: "IN"},
	{Name: "Luiz Inácio Lula da Silva", Office: "President of Brazil", Country: "BR"},
	{Name: "Ana Brnabić", Office: "President of the National Assembly", Country: "RS"},
	{Name: "Sergey Lavrov", Office: "Minister of Foreign Affairs", Country: "RU"},
	{Name: "Marko Đurić", Office: "Minister of Foreign Affairs", Country: "RS"},
}

var benchKinds = []string{"talks", "talks", "talks", "meeting", "call", "summit"}

// genBenchStream generates n events with genEvents and keeps them, with
// the rows the projector writes for each batch of maxBatch.
func genBenchStream(tb testing.TB, n int) *benchStream {
	tb.Helper()
	s := &benchStream{counts: map[string]int{}}
	states := map[string]state{}
	touched := map[string]uint64{}
	genEvents(tb, n, func(env events.Envelope, st state) {
		states[env.AggregateID] = st
		touched[env.AggregateID] = env.Seq
		s.envs = append(s.envs, env)
		s.counts[env.Type]++
		if len(s.envs)%maxBatch == 0 || len(s.envs) == n {
			s.batches = append(s.batches, benchBatchOf(tb, states, touched, env.Seq))
			touched = map[string]uint64{}
		}
	})
	return s
}

// genEvents generates n events, deterministically, and hands each to emit
// with its aggregate's state after it: about 70% meeting.scheduled, 20%
// meeting.rescheduled (of a meeting scheduled up to 2000 events earlier, so
// in the same batch or an earlier one) and 10% visit.announced. Each
// payload comes from the aggregate's own Decide and each state from its own
// Evolve, so versions, sequences and data are what events.Execute would
// have recorded. It keeps only the states it may still change, so it can
// generate millions of events in little memory.
func genEvents(tb testing.TB, n int, emit func(events.Envelope, state)) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)
	states := map[string]state{}
	var meetings []string

	for i := range n {
		now := base.Add(time.Duration(i) * time.Minute)
		day := base.AddDate(0, 0, 30+rng.IntN(700))
		var (
			id  string
			cmd any
			st  state
		)
		switch r := rng.IntN(10); {
		case r >= 7 && r <= 8 && len(meetings) > 0:
			id = meetings[max(0, len(meetings)-1-rng.IntN(1400))]
			st = states[id]
			m := &st.(*meetingState).Meeting
			if m.AllDay {
				d, _ := time.Parse(events.DateLayout, m.Start)
				d = d.AddDate(0, 0, 1+rng.IntN(14))
				cmd = &events.RescheduleMeeting{Start: d.Format(events.DateLayout), End: d.Format(events.DateLayout), Reason: "Moved at the request of the guest"}
			} else {
				d, _ := time.Parse(events.DateTimeLayout, m.Start)
				d = d.Add(time.Duration(1+rng.IntN(72)) * time.Hour)
				cmd = &events.RescheduleMeeting{Start: d.Format(events.DateTimeLayout), End: d.Add(90 * time.Minute).Format(events.DateTimeLayout), Timezone: m.Timezone, Reason: "Schedule change"}
			}
		case r == 9:
			id = events.NewVisitID(now)
			st = &visitState{}
			p := benchPlaces[rng.IntN(len(benchPlaces))]
			who := benchPeople[rng.IntN(len(benchPeople))]
			cmd = &events.AnnounceVisit{
				Visitor:     who,
				Destination: events.Destination{City: p.city, Country: p.country},
				Start:       day.Format(events.DateLayout),
				End:         day.AddDate(0, 0, rng.IntN(4)).Format(events.DateLayout),
				Purpose:     "Official visit: talks with the host and a business forum.",
				Source:      &events.Source{URL: "https://www.example.gov/news/" + strconv.Itoa(i), Published: now.Format(events.DateLayout)},
			}
		default:
			id = events.NewMeetingID(now)
			st = &meetingState{}
			meetings = append(meetings, id)
			if len(meetings) > 2800 { // out of reach of reschedules: forget
				delete(states, meetings[0])
				meetings = meetings[1:]
			}
			p := benchPlaces[rng.IntN(len(benchPlaces))]
			a := rng.IntN(len(benchPeople))
			b := (a + 1 + rng.IntN(len(benchPeople)-1)) % len(benchPeople)
			c := &events.ScheduleMeeting{
				Kind:         benchKinds[rng.IntN(len(benchKinds))],
				Title:        fmt.Sprintf("Talks between %s and %s", benchPeople[a].Name, benchPeople[b].Name),
				Location:     events.Location{City: p.city, Country: p.country, Venue: p.venue},
				Participants: []events.Participant{benchPeople[a], benchPeople[b]},
				Description:  "Bilateral talks on energy, trade and regional security, followed by statements to the press.",
				Source:       &events.Source{URL: "https://www.example.gov/news/" + strconv.Itoa(i), Published: now.Format(events.DateLayout)},
			}
			if rng.IntN(5) == 0 {
				c.Start, c.End = day.Format(events.DateLayout), day.Format(events.DateLayout)
			} else {
				t := day.Add(time.Duration(rng.IntN(9)) * time.Hour)
				c.Start, c.End, c.Timezone = t.Format(events.DateTimeLayout), t.Add(2*time.Hour).Format(events.DateTimeLayout), p.zone
			}
			cmd = c
		}
		evs, err := st.Decide(cmd, now)
		if err != nil {
			tb.Fatalf("event %d: %v", i, err)
		}
		data, err := json.Marshal(evs[0])
		if err != nil {
			tb.Fatal(err)
		}
		typ := evs[0].EventType()
		env := events.Envelope{
			Seq: uint64(i + 1), ID: "evt_" + events.NewMeetingID(now)[4:], Type: typ, Schema: events.SchemaOf(typ),
			AggregateType: events.AggregateTypeOf(id), AggregateID: id, Version: benchVersion(st) + 1,
			RecordedAt: now, Actor: "bench", Data: data,
		}
		if err := st.Evolve(env); err != nil {
			tb.Fatalf("event %d: %v", i, err)
		}
		if env.AggregateType == events.MeetingAggregate {
			states[id] = st
		}
		emit(env, st)
	}
}

func benchVersion(st state) int {
	switch st := st.(type) {
	case *meetingState:
		return st.Version
	case *visitState:
		return st.Version
	}
	return 0
}

// benchBatchOf precomputes, with the projector's own row code, every value
// the projector binds for one batch.
func benchBatchOf(tb testing.TB, states map[string]state, touched map[string]uint64, pos uint64) benchBatch {
	ids := make([]string, 0, len(touched))
	for id := range touched {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := benchBatch{pos: strconv.FormatUint(pos, 10)}
	for _, id := range ids {
		r, err := states[id].row(touched[id])
		if err != nil {
			tb.Fatal(err)
		}
		out.rows = append(out.rows, benchRow{upsert: []any{r.id, r.typ, r.version, r.kind, r.status, r.country,
			r.startUTC.UTC().Format(utcLayout), r.endUTC.UTC().Format(utcLayout), r.startDate, r.endDate,
			int64(r.seq), string(r.doc), r.peopleFolded, r.peopleCountries}})
	}
	return out
}

var benchStreamCache = map[int]*benchStream{}

func benchStreamOf(tb testing.TB, n int) *benchStream {
	if s, ok := benchStreamCache[n]; ok {
		return s
	}
	s := genBenchStream(tb, n)
	benchStreamCache[n] = s
	return s
}

// openBenchDB opens a fresh read model (schema by Open, as in production).
func openBenchDB(tb testing.TB) (*DB, func()) {
	tb.Helper()
	dir, err := os.MkdirTemp(tb.TempDir(), "rm")
	if err != nil {
		tb.Fatal(err)
	}
	db, err := Open(context.Background(), filepath.Join(dir, "chancery.db"))
	if err != nil {
		tb.Fatal(err)
	}
	return db, func() {
		db.Close()
		os.RemoveAll(dir)
	}
}

// project applies s through the projector, maxBatch events per Apply.
func (s *benchStream) project(ctx context.Context, db *DB) error {
	p, err := NewProjector(ctx, db, nil, "", nil)
	if err != nil {
		return err
	}
	for i := 0; i < len(s.envs); i += maxBatch {
		if err := p.Apply(ctx, s.envs[i:min(i+maxBatch, len(s.envs))]); err != nil {
			return err
		}
	}
	return nil
}

// rawInsert writes the precomputed rows of s on the projector's own writer
// connection (same file, pragmas and transaction mode), one transaction per
// batch, with prepared statements: the SQL work of projecting s without
// decoding, folding or encoding anything.
func (s *benchStream) rawInsert(ctx context.Context, db *DB) error {
	for _, bt := range s.batches {
		if err := func() error {
			tx, err := db.write.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			upsert, err := tx.PrepareContext(ctx, upsertSQL)
			if err != nil {
				return err
			}
			defer upsert.Close()
			for _, r := range bt.rows {
				if _, err := upsert.ExecContext(ctx, r.upsert...); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, checkpointSQL, bt.pos); err != nil {
				return err
			}
			return tx.Commit()
		}(); err != nil {
			return err
		}
	}
	return nil
}

func BenchmarkProjector(b *testing.B) { benchWrite(b, (*benchStream).project) }

func BenchmarkRawInsert(b *testing.B) { benchWrite(b, (*benchStream).rawInsert) }

// benchWrite times write of the whole bench stream into a fresh read model
// each round, the opening and closing of the file not counted.
func benchWrite(b *testing.B, write func(*benchStream, context.Context, *DB) error) {
	ctx := context.Background()
	s := benchStreamOf(b, benchEvents)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		db, done := openBenchDB(b)
		b.StartTimer()
		if err := write(s, ctx, db); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		done()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N)*float64(len(s.envs))/b.Elapsed().Seconds(), "events/s")
}

// TestBenchRawInsertMatchesProjector keeps the baseline honest: on a
// stream of two batches, with reschedules within and across batches, it
// must leave the read model exactly as the projector does.
func TestBenchRawInsertMatchesProjector(t *testing.T) {
	ctx := context.Background()
	s := genBenchStream(t, maxBatch+maxBatch/2)
	for _, typ := range []string{events.MeetingScheduledType, events.MeetingRescheduledType, events.VisitAnnouncedType} {
		if s.counts[typ] == 0 {
			t.Fatalf("the stream has no %s: %v", typ, s.counts)
		}
	}
	first := map[string]uint64{} // aggregate → seq of its first event
	crossBatch := 0
	for _, env := range s.envs {
		if _, ok := first[env.AggregateID]; !ok {
			first[env.AggregateID] = env.Seq
		} else if (first[env.AggregateID]-1)/maxBatch != (env.Seq-1)/maxBatch {
			crossBatch++
		}
	}
	if crossBatch == 0 {
		t.Fatal("no event changes an aggregate created in an earlier batch")
	}
	digest := func(write func(context.Context, *DB) error) map[string]string {
		db, done := openBenchDB(t)
		defer done()
		if err := write(ctx, db); err != nil {
			t.Fatal(err)
		}
		d, err := db.Digest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	projected, raw := digest(s.project), digest(s.rawInsert)
	for table := range projected {
		if projected[table] != raw[table] {
			t.Errorf("table %s: the raw insert wrote other rows than the projector", table)
		}
	}
	if strings.Join(sortedKeys(projected), ",") != strings.Join(sortedKeys(raw), ",") {
		t.Errorf("tables differ: %v vs %v", sortedKeys(projected), sortedKeys(raw))
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
