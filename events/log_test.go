package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/chancery/chancery/internal/clock"
	"github.com/chancery/chancery/internal/natstest"
)

// testLog is an event log on a fresh embedded JetStream server.
type testLog struct {
	*Log
	srv   *natstest.Server
	clock *clock.Clock
	ctx   context.Context
}

func openTestLog(t *testing.T) *testLog {
	t.Helper()
	srv := natstest.Start(t, "")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	c := clock.New(releaseDay)
	l, err := OpenLog(ctx, srv.JS, LogConfig{Now: c.Now})
	if err != nil {
		t.Fatalf("OpenLog: %v", err)
	}
	return &testLog{Log: l, srv: srv, clock: c, ctx: ctx}
}

func (tl *testLog) stream(t *testing.T) jetstream.Stream {
	t.Helper()
	s, err := tl.srv.JS.Stream(tl.ctx, DefaultStream)
	if err != nil {
		t.Fatalf("stream %s: %v", DefaultStream, err)
	}
	return s
}

func (tl *testLog) lastSeq(t *testing.T) uint64 {
	t.Helper()
	seq, err := tl.LastSeq(tl.ctx)
	if err != nil {
		t.Fatalf("LastSeq: %v", err)
	}
	return seq
}

// meeting executes cmd on meeting id and fails the test on error.
func (tl *testLog) meeting(t *testing.T, id string, cmd any, meta Meta) (*Meeting, Result) {
	t.Helper()
	m, res, err := Execute[Meeting](tl.ctx, tl.Log, id, cmd, meta)
	if err != nil {
		t.Fatalf("Execute(%T) on %s: %v", cmd, id, err)
	}
	return m, res
}

// logWithTalks opens a test log and schedules the Lavrov–Vulin talks in it,
// as the first event; it returns the log and the meeting's id.
func logWithTalks(t *testing.T) (*testLog, string) {
	t.Helper()
	tl := openTestLog(t)
	id := NewMeetingID(releaseDay)
	tl.meeting(t, id, lavrovVulin(), Meta{})
	return tl, id
}

func (tl *testLog) load(t *testing.T, id string) []Stored {
	t.Helper()
	hist, err := tl.Load(tl.ctx, AggregateTypeOf(id), id)
	if err != nil {
		t.Fatalf("Load(%s): %v", id, err)
	}
	return hist
}

type seqVersion struct {
	Seq     uint64
	Version int
	Type    string
}

func seqVersions(hist []Stored) []seqVersion {
	out := make([]seqVersion, len(hist))
	for i, st := range hist {
		out[i] = seqVersion{st.Seq, st.Version, st.Type}
	}
	return out
}

func rescheduledTo(start string) *MeetingRescheduled {
	return &MeetingRescheduled{Span: Span{Start: start, End: start, Timezone: "Europe/Moscow"}}
}

func TestOpenLogCreatesAnImmutableFileStream(t *testing.T) {
	tl := openTestLog(t)
	info, err := tl.stream(t).Info(tl.ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := info.Config
	checks := []struct {
		name      string
		got, want any
	}{
		{"DenyDelete", cfg.DenyDelete, true},
		{"DenyPurge", cfg.DenyPurge, true},
		{"AllowDirect", cfg.AllowDirect, true},
		{"AllowAtomicPublish", cfg.AllowAtomicPublish, true},
		{"Storage", cfg.Storage, jetstream.FileStorage},
		{"Subjects", fmt.Sprint(cfg.Subjects), fmt.Sprint([]string{"chancery.events.>"})},
		{"Duplicates", cfg.Duplicates, DuplicateWindow},
		{"Replicas", cfg.Replicas, 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("stream config %s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if tl.Stream() != DefaultStream {
		t.Errorf("Stream() = %q, want %q", tl.Stream(), DefaultStream)
	}

	// A second OpenLog on the same server (a restarted replica) opens the
	// same stream and sees what the first one wrote.
	id := NewMeetingID(releaseDay)
	tl.meeting(t, id, lavrovVulin(), Meta{})
	again, err := OpenLog(tl.ctx, tl.srv.JS, LogConfig{})
	if err != nil {
		t.Fatalf("second OpenLog: %v", err)
	}
	hist, err := again.Load(tl.ctx, MeetingAggregate, id)
	if err != nil || len(hist) != 1 {
		t.Fatalf("second log Load = %d events, %v; want 1 event", len(hist), err)
	}
}

func TestOpenLogChecksAStreamThatExists(t *testing.T) {
	srv := natstest.Start(t, "")
	ctx := t.Context()
	good := jetstream.StreamConfig{
		Subjects: []string{SubjectPrefix + ".>"}, Storage: jetstream.FileStorage,
		DenyDelete: true, DenyPurge: true,
	}
	refused := []struct {
		name  string
		tweak func(*jetstream.StreamConfig)
	}{
		{"allows deletes and purges", func(c *jetstream.StreamConfig) { c.DenyDelete, c.DenyPurge = false, false }},
		{"other subjects", func(c *jetstream.StreamConfig) { c.Subjects = []string{"elsewhere.>"} }},
		{"in memory", func(c *jetstream.StreamConfig) { c.Storage = jetstream.MemoryStorage }},
		{"drops old events", func(c *jetstream.StreamConfig) { c.MaxAge = 24 * time.Hour }},
		{"keeps one per subject", func(c *jetstream.StreamConfig) { c.MaxMsgsPerSubject = 1 }},
	}
	// Deleting the only stream makes the server remove its account's
	// directory in the background, racing the next create's mkdir. A stream
	// kept for the whole test keeps that directory in place.
	if _, err := srv.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "KEEP", Subjects: []string{"kept.>"}}); err != nil {
		t.Fatal(err)
	}
	for i, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			cfg.Name = fmt.Sprintf("BAD%d", i) // a new store each time: deleting one is not instant
			tc.tweak(&cfg)
			if _, err := srv.JS.CreateStream(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			defer srv.JS.DeleteStream(ctx, cfg.Name) // subjects may not overlap the next one's
			if _, err := OpenLog(ctx, srv.JS, LogConfig{Stream: cfg.Name}); err == nil {
				t.Fatalf("OpenLog on a stream that %s = nil error, want an error", tc.name)
			}
		})
	}
	t.Run("safe settings are switched on", func(t *testing.T) {
		cfg := good
		cfg.Name = DefaultStream
		cfg.Duplicates = time.Minute
		if _, err := srv.JS.CreateStream(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		l, err := OpenLog(ctx, srv.JS, LogConfig{})
		if err != nil {
			t.Fatal(err)
		}
		have := l.stream.CachedInfo().Config
		if !have.AllowDirect || !have.AllowAtomicPublish || have.Duplicates != DuplicateWindow {
			t.Errorf("after OpenLog: direct %v, atomic %v, duplicates %v; want true, true, %v", have.AllowDirect, have.AllowAtomicPublish, have.Duplicates, DuplicateWindow)
		}
	})
}

func TestEventsCannotBeDeletedOrPurged(t *testing.T) {
	tl, id := logWithTalks(t)
	s := tl.stream(t)
	if err := s.DeleteMsg(tl.ctx, 1); err == nil {
		t.Error("DeleteMsg(1) = nil error, want the stream to refuse")
	}
	if err := s.SecureDeleteMsg(tl.ctx, 1); err == nil {
		t.Error("SecureDeleteMsg(1) = nil error, want the stream to refuse")
	}
	if err := s.Purge(tl.ctx); err == nil {
		t.Error("Purge = nil error, want the stream to refuse")
	}
	if got := len(tl.load(t, id)); got != 1 {
		t.Errorf("after delete and purge attempts the meeting has %d events, want 1", got)
	}
}

func TestEventsSurviveAServerRestart(t *testing.T) {
	dir := t.TempDir()
	srv := natstest.Start(t, dir)
	l, err := OpenLog(t.Context(), srv.JS, LogConfig{})
	if err != nil {
		t.Fatal(err)
	}
	id := NewMeetingID(releaseDay)
	if _, _, err := Execute[Meeting](t.Context(), l, id, lavrovVulin(), Meta{}); err != nil {
		t.Fatal(err)
	}
	srv.Stop()

	srv2 := natstest.Start(t, dir)
	l2, err := OpenLog(t.Context(), srv2.JS, LogConfig{})
	if err != nil {
		t.Fatalf("OpenLog after restart: %v", err)
	}
	m, err := FoldUntil[Meeting](t.Context(), l2, id, func(Envelope) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != 1 || m.Title != lavrovVulin().Title {
		t.Errorf("after restart: version %d, title %q; want 1, %q", m.Version, m.Title, lavrovVulin().Title)
	}
}

func TestExecuteScheduleThenRescheduleStoresVersionsOnAggregateSubjects(t *testing.T) {
	tl := openTestLog(t)
	id := NewMeetingID(releaseDay)
	_, res1 := tl.meeting(t, id, lavrovVulin(), Meta{Actor: "protocol-office", CorrelationID: "corr-1"})
	later := releaseDay.Add(2 * time.Hour)
	tl.clock.Set(later)
	m, res2 := tl.meeting(t, id, &RescheduleMeeting{Start: "2022-08-23T11:00", Timezone: "Europe/Moscow"}, Meta{Actor: "protocol-office"})

	if res1.Version != 1 || res1.Position != 1 || res1.Duplicate {
		t.Errorf("schedule result = version %d, position %d, duplicate %v; want 1, 1, false", res1.Version, res1.Position, res1.Duplicate)
	}
	if res2.Version != 2 || res2.Position != 2 || res2.Duplicate {
		t.Errorf("reschedule result = version %d, position %d, duplicate %v; want 2, 2, false", res2.Version, res2.Position, res2.Duplicate)
	}
	if len(res2.Events) != 1 || res2.Events[0].Seq != 2 || res2.Events[0].Version != 2 {
		t.Errorf("reschedule result events = %+v, want one event at seq 2, version 2", res2.Events)
	}
	if m.Version != 2 || m.Status != StatusRescheduled || m.PreviousStart != "2022-08-22" || !m.UpdatedAt.Equal(later) || !m.CreatedAt.Equal(releaseDay) {
		t.Errorf("state = version %d, status %q, previous %q, created %s, updated %s",
			m.Version, m.Status, m.PreviousStart, m.CreatedAt, m.UpdatedAt)
	}

	hist := tl.load(t, id)
	want := []seqVersion{{1, 1, MeetingScheduledType}, {2, 2, MeetingRescheduledType}}
	if got := seqVersions(hist); !slices.Equal(got, want) {
		t.Fatalf("Load = %+v, want %+v", got, want)
	}
	first := hist[0]
	if first.AggregateType != MeetingAggregate || first.AggregateID != id || first.Actor != "protocol-office" ||
		first.CorrelationID != "corr-1" || first.Schema != SchemaOf(MeetingScheduledType) || !first.RecordedAt.Equal(releaseDay) || AggregateTypeOf(first.ID) != "" || first.ID[:4] != "evt_" {
		t.Errorf("first stored envelope = %+v", first.Envelope)
	}
	if !hist[1].RecordedAt.Equal(later) {
		t.Errorf("second event recorded at %s, want the log clock %s", hist[1].RecordedAt, later)
	}

	s := tl.stream(t)
	for i, suffix := range []string{"scheduled", "rescheduled"} {
		raw, err := s.GetMsg(tl.ctx, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if want := "chancery.events.meeting." + id + "." + suffix; raw.Subject != want {
			t.Errorf("seq %d subject = %q, want %q", i+1, raw.Subject, want)
		}
		if got, want := raw.Header.Get("Chancery-Event-Type"), "meeting."+suffix; got != want {
			t.Errorf("seq %d Chancery-Event-Type = %q, want %q", i+1, got, want)
		}
	}

	at, err := tl.At(tl.ctx, 2)
	if err != nil || at.Type != MeetingRescheduledType || at.Seq != 2 {
		t.Errorf("At(2) = %+v, %v; want the rescheduled event", at.Envelope, err)
	}
}

func TestLoadOfUnknownAggregateIsEmpty(t *testing.T) {
	tl := openTestLog(t)
	tl.meeting(t, NewMeetingID(releaseDay), lavrovVulin(), Meta{})
	if hist := tl.load(t, NewMeetingID(releaseDay)); len(hist) != 0 {
		t.Errorf("Load of a meeting never scheduled = %d events, want 0", len(hist))
	}
}

func TestLoadKeepsAggregatesApart(t *testing.T) {
	tl := openTestLog(t)
	a, b := NewMeetingID(releaseDay), NewMeetingID(releaseDay)
	tl.meeting(t, a, lavrovVulin(), Meta{})
	tl.meeting(t, b, lavrovVulin(), Meta{})
	tl.meeting(t, a, &PostponeMeeting{}, Meta{})
	tl.meeting(t, b, &CancelMeeting{}, Meta{})
	tl.meeting(t, a, &RescheduleMeeting{Start: "2022-09-01"}, Meta{})
	want := []seqVersion{{1, 1, MeetingScheduledType}, {3, 2, MeetingPostponedType}, {5, 3, MeetingRescheduledType}}
	if got := seqVersions(tl.load(t, a)); !slices.Equal(got, want) {
		t.Errorf("Load(a) = %+v, want %+v", got, want)
	}
	want = []seqVersion{{2, 1, MeetingScheduledType}, {4, 2, MeetingCancelledType}}
	if got := seqVersions(tl.load(t, b)); !slices.Equal(got, want) {
		t.Errorf("Load(b) = %+v, want %+v", got, want)
	}
}

func TestAppendWithStaleExpectedSeqIsAConflictAndStoresNothing(t *testing.T) {
	tl, id := logWithTalks(t)
	tl.meeting(t, id, &PostponeMeeting{}, Meta{})

	env := envelopeFor(t, MeetingAggregate, id, 3, releaseDay, rescheduledTo("2022-09-01"))
	for _, expected := range []uint64{0, 1, 3} {
		last, dup, err := tl.Append(tl.ctx, []Envelope{env}, AppendOptions{ExpectedSeq: expected})
		var e *Error
		if !errors.As(err, &e) || e.Code != ECONFLICT {
			t.Fatalf("Append with ExpectedSeq %d = %d, %v, %v; want an *Error with code %q", expected, last, dup, err, ECONFLICT)
		}
	}
	if got := tl.lastSeq(t); got != 2 {
		t.Errorf("LastSeq after refused appends = %d, want 2", got)
	}

	// The right sequence goes through.
	last, dup, err := tl.Append(tl.ctx, []Envelope{env}, AppendOptions{ExpectedSeq: 2})
	if err != nil || last != 3 || dup {
		t.Errorf("Append with ExpectedSeq 2 = %d, %v, %v; want 3, false, nil", last, dup, err)
	}
}

func TestAppendToNewAggregateThatExistsIsAConflict(t *testing.T) {
	tl, id := logWithTalks(t)
	evs, err := (&Meeting{}).Decide(lavrovVulin(), releaseDay)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = tl.Append(tl.ctx, []Envelope{envelopeFor(t, MeetingAggregate, id, 1, releaseDay, evs[0])}, AppendOptions{ExpectedSeq: 0})
	wantCode(t, err, ECONFLICT)
	if got := tl.lastSeq(t); got != 1 {
		t.Errorf("LastSeq = %d, want 1", got)
	}
}

func TestAppendOfTwoEnvelopesLandsAsOneAtomicBatch(t *testing.T) {
	tl := openTestLog(t)
	id, other := NewMeetingID(releaseDay), NewMeetingID(releaseDay)
	tl.meeting(t, id, lavrovVulin(), Meta{})    // seq 1
	tl.meeting(t, other, lavrovVulin(), Meta{}) // seq 2: another aggregate's event in between

	envs := []Envelope{
		envelopeFor(t, MeetingAggregate, id, 2, releaseDay, rescheduledTo("2022-08-23")),
		envelopeFor(t, MeetingAggregate, id, 3, releaseDay, rescheduledTo("2022-08-24")),
	}
	last, dup, err := tl.Append(tl.ctx, envs, AppendOptions{ExpectedSeq: 1})
	if err != nil {
		t.Fatalf("Append of two events = %v", err)
	}
	if last != 4 || dup {
		t.Errorf("Append of two events = last %d, duplicate %v; want 4, false", last, dup)
	}
	want := []seqVersion{{1, 1, MeetingScheduledType}, {3, 2, MeetingRescheduledType}, {4, 3, MeetingRescheduledType}}
	if got := seqVersions(tl.load(t, id)); !slices.Equal(got, want) {
		t.Errorf("Load = %+v, want %+v", got, want)
	}
	m, err := FoldUntil[Meeting](tl.ctx, tl.Log, id, func(Envelope) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != 3 || m.Start != "2022-08-24" || m.PreviousStart != "2022-08-23" {
		t.Errorf("folded = version %d, start %q, previous %q; want 3, 2022-08-24, 2022-08-23", m.Version, m.Start, m.PreviousStart)
	}

	// The next single append must expect the batch's last sequence.
	next := envelopeFor(t, MeetingAggregate, id, 4, releaseDay, &MeetingCancelled{})
	if _, _, err := tl.Append(tl.ctx, []Envelope{next}, AppendOptions{ExpectedSeq: 3}); ErrorCode(err) != ECONFLICT {
		t.Errorf("Append expecting the batch's first seq = %v, want %s", err, ECONFLICT)
	}
	if last, _, err := tl.Append(tl.ctx, []Envelope{next}, AppendOptions{ExpectedSeq: 4}); err != nil || last != 5 {
		t.Errorf("Append expecting the batch's last seq = %d, %v; want 5, nil", last, err)
	}
}

func TestAppendOfTwoEnvelopesWithStaleExpectedSeqStoresNeither(t *testing.T) {
	tl, id := logWithTalks(t)
	tl.meeting(t, id, &PostponeMeeting{}, Meta{}) // seq 2: a concurrent writer got there first

	envs := []Envelope{
		envelopeFor(t, MeetingAggregate, id, 2, releaseDay, rescheduledTo("2022-08-23")),
		envelopeFor(t, MeetingAggregate, id, 3, releaseDay, rescheduledTo("2022-08-24")),
	}
	_, _, err := tl.Append(tl.ctx, envs, AppendOptions{ExpectedSeq: 1})
	wantCode(t, err, ECONFLICT)
	if got := tl.lastSeq(t); got != 2 {
		t.Errorf("LastSeq after a refused batch = %d, want 2", got)
	}
	want := []seqVersion{{1, 1, MeetingScheduledType}, {2, 2, MeetingPostponedType}}
	if got := seqVersions(tl.load(t, id)); !slices.Equal(got, want) {
		t.Errorf("Load = %+v, want %+v", got, want)
	}

	// The refused batch left nothing half-open: a batch with the right
	// expectation lands whole.
	envs[0].Version, envs[1].Version = 3, 4
	last, _, err := tl.Append(tl.ctx, envs, AppendOptions{ExpectedSeq: 2})
	if err != nil || last != 4 {
		t.Fatalf("Append of the corrected batch = %d, %v; want 4, nil", last, err)
	}
	if got := len(tl.load(t, id)); got != 4 {
		t.Errorf("after the corrected batch the meeting has %d events, want 4", got)
	}
}

// A retried multi-event command carries the same Nats-Msg-Id. JetStream
// refuses such an atomic batch with err_code 10201 ("atomic publish batch
// contains duplicate message id") instead of acknowledging a duplicate, so
// Append must translate it, as it does for a single event.
func TestAppendRetriedBatchWithSameMsgIDIsADuplicate(t *testing.T) {
	tl, id := logWithTalks(t)
	envs := []Envelope{
		envelopeFor(t, MeetingAggregate, id, 2, releaseDay, rescheduledTo("2022-08-23")),
		envelopeFor(t, MeetingAggregate, id, 3, releaseDay, rescheduledTo("2022-08-24")),
	}
	last, _, err := tl.Append(tl.ctx, envs, AppendOptions{ExpectedSeq: 1, MsgID: "batch-1"})
	if err != nil {
		t.Fatal(err)
	}
	again, dup, err := tl.Append(tl.ctx, envs, AppendOptions{ExpectedSeq: 1, MsgID: "batch-1"})
	if err != nil || !dup || again != last {
		t.Errorf("retried batch = %d, duplicate %v, %v; want %d, true, nil", again, dup, err, last)
	}
	if got := tl.lastSeq(t); got != 3 {
		t.Errorf("LastSeq = %d, want 3", got)
	}

	// A later event, then a retry decided to more events: the answer is
	// still the stored batch's last event, not counted by the retry.
	later := envelopeFor(t, MeetingAggregate, id, 4, releaseDay, rescheduledTo("2022-08-25"))
	if _, _, err := tl.Append(tl.ctx, []Envelope{later}, AppendOptions{ExpectedSeq: 3}); err != nil {
		t.Fatal(err)
	}
	longer := append(envs, envelopeFor(t, MeetingAggregate, id, 4, releaseDay, rescheduledTo("2022-08-26")))
	again, dup, err = tl.Append(tl.ctx, longer, AppendOptions{ExpectedSeq: 1, MsgID: "batch-1"})
	if err != nil || !dup || again != last {
		t.Errorf("retried batch of 3 = %d, duplicate %v, %v; want %d, true, nil", again, dup, err, last)
	}
	if got := tl.lastSeq(t); got != 4 {
		t.Errorf("LastSeq = %d, want 4", got)
	}
}

func TestAppendRefusesEmptyAndMixedBatches(t *testing.T) {
	tl := openTestLog(t)
	a, b := NewMeetingID(releaseDay), NewMeetingID(releaseDay)
	if _, _, err := tl.Append(tl.ctx, nil, AppendOptions{}); err == nil {
		t.Error("Append of no events = nil error")
	}
	evs, _ := (&Meeting{}).Decide(lavrovVulin(), releaseDay)
	mixed := []Envelope{
		envelopeFor(t, MeetingAggregate, a, 1, releaseDay, evs[0]),
		envelopeFor(t, MeetingAggregate, b, 1, releaseDay, evs[0]),
	}
	if _, _, err := tl.Append(tl.ctx, mixed, AppendOptions{}); err == nil {
		t.Error("Append of events of two aggregates = nil error")
	}
	if got := tl.lastSeq(t); got != 0 {
		t.Errorf("LastSeq = %d, want 0", got)
	}
}

func TestExecuteWithSameMsgIDTwiceIsADuplicate(t *testing.T) {
	tl := openTestLog(t)
	id := NewMeetingID(releaseDay)
	key := IdempotencyKey("protocol-office", "request-1")
	m1, res1 := tl.meeting(t, id, lavrovVulin(), Meta{MsgID: key})
	tl.clock.Set(releaseDay.Add(time.Minute))
	m2, res2 := tl.meeting(t, id, lavrovVulin(), Meta{MsgID: key})

	if res1.Duplicate || !res2.Duplicate {
		t.Errorf("Duplicate = %v then %v, want false then true", res1.Duplicate, res2.Duplicate)
	}
	if res2.Position != res1.Position || res2.Version != res1.Version {
		t.Errorf("retry answered position %d, version %d; want %d, %d", res2.Position, res2.Version, res1.Position, res1.Version)
	}
	if len(res2.Events) != 1 || res2.Events[0].ID != res1.Events[0].ID {
		t.Errorf("retry answered events %+v, want the first event %s", res2.Events, res1.Events[0].ID)
	}
	if m2.Version != m1.Version || m2.Title != m1.Title {
		t.Errorf("retry answered state version %d %q, want %d %q", m2.Version, m2.Title, m1.Version, m1.Title)
	}
	hist := tl.load(t, id)
	if len(hist) != 1 {
		t.Fatalf("stored %d events, want 1", len(hist))
	}
	if hist[0].MsgID != key {
		t.Errorf("stored MsgID = %q, want %q", hist[0].MsgID, key)
	}

	// A later command with its own key still runs, and its retry is a
	// duplicate too, even though the aggregate moved on.
	_, res3 := tl.meeting(t, id, &PostponeMeeting{}, Meta{MsgID: "k-postpone"})
	_, res4 := tl.meeting(t, id, &PostponeMeeting{}, Meta{MsgID: "k-postpone"})
	if res3.Duplicate || !res4.Duplicate || res4.Position != res3.Position || res4.Version != 2 {
		t.Errorf("postpone then retry = %+v then %+v", res3, res4)
	}
	if got := tl.lastSeq(t); got != 2 {
		t.Errorf("LastSeq = %d, want 2", got)
	}
}

func TestExecuteRetriedCreateUnderANewIDAnswersTheFirstMeeting(t *testing.T) {
	tl := openTestLog(t)
	first, second := NewMeetingID(releaseDay), NewMeetingID(releaseDay)
	key := IdempotencyKey("protocol-office", "create-1")
	_, res1 := tl.meeting(t, first, lavrovVulin(), Meta{MsgID: key})
	m, res2 := tl.meeting(t, second, lavrovVulin(), Meta{MsgID: key})
	if !res2.Duplicate || res2.Position != res1.Position {
		t.Fatalf("retry = duplicate %v at %d, want duplicate at %d", res2.Duplicate, res2.Position, res1.Position)
	}
	if m.ID != first || res2.Events[0].AggregateID != first {
		t.Errorf("retry answered meeting %s (event of %s), want %s", m.ID, res2.Events[0].AggregateID, first)
	}
	if n := len(tl.load(t, second)); n != 0 {
		t.Errorf("the retry stored %d events under the new id, want 0", n)
	}
	if got := tl.lastSeq(t); got != 1 {
		t.Errorf("LastSeq = %d, want 1", got)
	}
}

func TestExecuteWithStaleIfMatchIsAPreconditionFailure(t *testing.T) {
	tl, id := logWithTalks(t)
	tl.meeting(t, id, &RescheduleMeeting{Start: "2022-08-23"}, Meta{IfMatch: 1})

	for _, stale := range []int{1, 3} {
		_, _, err := Execute[Meeting](tl.ctx, tl.Log, id, &CancelMeeting{}, Meta{IfMatch: stale})
		wantCode(t, err, EPRECONDITION)
	}
	if got := tl.lastSeq(t); got != 2 {
		t.Errorf("LastSeq after refused commands = %d, want 2", got)
	}
	if m, _ := tl.meeting(t, id, &CancelMeeting{}, Meta{IfMatch: 2}); m.Status != StatusCancelled {
		t.Errorf("status with current If-Match = %q, want cancelled", m.Status)
	}
}

func TestExecuteRefusedCommandStoresNothing(t *testing.T) {
	tl, id := logWithTalks(t)
	tl.meeting(t, id, &CancelMeeting{}, Meta{})

	_, _, err := Execute[Meeting](tl.ctx, tl.Log, id, &RescheduleMeeting{Start: "2022-08-23"}, Meta{})
	wantCode(t, err, ETRANSITION)
	_, _, err = Execute[Meeting](tl.ctx, tl.Log, NewMeetingID(releaseDay), &CancelMeeting{}, Meta{})
	wantCode(t, err, ENOTFOUND)
	_, _, err = Execute[Meeting](tl.ctx, tl.Log, NewMeetingID(releaseDay), &ScheduleMeeting{}, Meta{})
	wantCode(t, err, EINVALID)
	for _, bad := range []string{"a.>", "*", "mtg_"} {
		_, _, err = Execute[Meeting](tl.ctx, tl.Log, bad, lavrovVulin(), Meta{})
		wantFields(t, err, "id")
	}
	if got := tl.lastSeq(t); got != 2 {
		t.Errorf("LastSeq = %d, want 2", got)
	}
}

func TestExecuteHeldUsesTheLogClock(t *testing.T) {
	tl, id := logWithTalks(t)
	tl.clock.Set(mustUTC(t, "2022-08-21T20:59:59Z")) // a second before midnight in Moscow
	_, _, err := Execute[Meeting](tl.ctx, tl.Log, id, &MarkMeetingHeld{}, Meta{})
	wantCode(t, err, ETRANSITION)
	tl.clock.Set(mustUTC(t, "2022-08-22T15:00:00Z"))
	if m, _ := tl.meeting(t, id, &MarkMeetingHeld{Outcome: "done"}, Meta{}); m.Status != StatusHeld {
		t.Errorf("status = %q, want held", m.Status)
	}
}

func TestConcurrentExecutesNeverOverwriteEachOther(t *testing.T) {
	tl, id := logWithTalks(t)

	const writers = 8
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := fmt.Sprintf("2022-09-%02d", i+1)
			_, _, errs[i] = Execute[Meeting](tl.ctx, tl.Log, id, &RescheduleMeeting{Start: start}, Meta{})
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch ErrorCode(err) {
		case "":
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
			won++
		case ECONFLICT:
		default:
			t.Errorf("writer %d: %v, want success or %s", i, err, ECONFLICT)
		}
	}
	hist := tl.load(t, id)
	if len(hist) != 1+won {
		t.Errorf("stored %d events with %d winners, want %d", len(hist), won, 1+won)
	}
	for i, st := range hist {
		if st.Version != i+1 {
			t.Errorf("event %d has version %d, want %d", i, st.Version, i+1)
		}
	}
	if won == 0 {
		t.Error("no writer won")
	}
}

// A command that loses the race to append is decided again against the
// new state: without If-Match every one of ExecuteAttempts concurrent
// commands is applied, in some order; with If-Match one wins and the
// others are told the version moved on. Concurrent retries of one
// idempotent command store it once.
func TestExecuteDecidesAgainAfterLosingARace(t *testing.T) {
	tl, id := logWithTalks(t)

	race := func(meta func(i int) Meta, day func(i int) int) []error {
		errs := make([]error, ExecuteAttempts)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range ExecuteAttempts {
			wg.Go(func() {
				<-start
				cmd := &RescheduleMeeting{Start: fmt.Sprintf("2022-09-%02d", day(i))}
				_, _, errs[i] = Execute[Meeting](tl.ctx, tl.Log, id, cmd, meta(i))
			})
		}
		close(start)
		wg.Wait()
		return errs
	}

	each := func(i int) int { return i + 1 }
	for i, err := range race(func(int) Meta { return Meta{} }, each) {
		if err != nil {
			t.Errorf("writer %d without If-Match: %v, want it decided again and applied", i, err)
		}
	}
	hist := tl.load(t, id)
	if len(hist) != 1+ExecuteAttempts {
		t.Fatalf("stored %d events, want %d", len(hist), 1+ExecuteAttempts)
	}
	for i, st := range hist {
		if st.Version != i+1 {
			t.Errorf("event %d has version %d, want %d", i, st.Version, i+1)
		}
	}

	version := len(hist)
	won := 0
	for i, err := range race(func(int) Meta { return Meta{IfMatch: version} }, func(i int) int { return i + 11 }) {
		switch ErrorCode(err) {
		case "":
			won++
		case EPRECONDITION:
		default:
			t.Errorf("writer %d with If-Match: %v, want success or %s", i, err, EPRECONDITION)
		}
	}
	if won != 1 {
		t.Errorf("%d writers with If-Match %d won, want 1", won, version)
	}

	key := IdempotencyKey("protocol-office", "retried")
	for i, err := range race(func(int) Meta { return Meta{MsgID: key} }, func(int) int { return 30 }) {
		if err != nil {
			t.Errorf("retry %d of one idempotent command: %v", i, err)
		}
	}
	stored := 0
	for _, st := range tl.load(t, id) {
		if st.MsgID == key {
			stored++
		}
	}
	if stored != 1 {
		t.Errorf("the idempotent command is stored %d times, want once", stored)
	}
}

func TestScanFiltersByTypeAndAggregateInStreamOrder(t *testing.T) {
	tl := openTestLog(t)
	a, b := NewMeetingID(releaseDay), NewMeetingID(releaseDay)
	v := NewVisitID(releaseDay)
	tl.meeting(t, a, lavrovVulin(), Meta{})                                                  // 1
	tl.meeting(t, b, lavrovVulin(), Meta{})                                                  // 2
	tl.meeting(t, a, &RescheduleMeeting{Start: "2022-08-23"}, Meta{})                        // 3
	if _, _, err := Execute[Visit](tl.ctx, tl.Log, v, vucicToMoscow(), Meta{}); err != nil { // 4
		t.Fatal(err)
	}
	tl.meeting(t, b, &RescheduleMeeting{Start: "2022-08-24"}, Meta{}) // 5
	tl.meeting(t, a, &CancelMeeting{}, Meta{})                        // 6

	scan := func(t *testing.T, after uint64, f ReadFilter) []uint64 {
		t.Helper()
		ctx, cancel := context.WithTimeout(tl.ctx, 10*time.Second)
		defer cancel()
		var seqs []uint64
		err := tl.Scan(ctx, after, f, func(st Stored) error {
			if f.Type != "" && st.Type != f.Type {
				t.Errorf("Scan(%+v) gave a %s event", f, st.Type)
			}
			if f.AggregateID != "" && st.AggregateID != f.AggregateID {
				t.Errorf("Scan(%+v) gave an event of %s", f, st.AggregateID)
			}
			seqs = append(seqs, st.Seq)
			return nil
		})
		if err != nil {
			t.Fatalf("Scan(%d, %+v) = %v", after, f, err)
		}
		return seqs
	}
	tests := []struct {
		name   string
		after  uint64
		filter ReadFilter
		want   []uint64
	}{
		{"everything", 0, ReadFilter{}, []uint64{1, 2, 3, 4, 5, 6}},
		{"everything after 4", 4, ReadFilter{}, []uint64{5, 6}},
		{"after the end", 6, ReadFilter{}, nil},
		{"far after the end", 100, ReadFilter{}, nil},
		{"one type", 0, ReadFilter{Type: MeetingRescheduledType}, []uint64{3, 5}},
		{"one type after its first event", 3, ReadFilter{Type: MeetingRescheduledType}, []uint64{5}},
		{"one aggregate", 0, ReadFilter{AggregateID: a}, []uint64{1, 3, 6}},
		{"one visit", 0, ReadFilter{AggregateID: v}, []uint64{4}},
		{"visit type", 0, ReadFilter{Type: VisitAnnouncedType}, []uint64{4}},
		{"type and aggregate", 0, ReadFilter{Type: MeetingRescheduledType, AggregateID: b}, []uint64{5}},
		{"type that never happened", 0, ReadFilter{Type: MeetingHeldType}, nil},
		{"aggregate never seen", 0, ReadFilter{AggregateID: NewMeetingID(releaseDay)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scan(t, tt.after, tt.filter); !slices.Equal(got, tt.want) {
				t.Errorf("Scan(%d, %+v) seqs = %v, want %v", tt.after, tt.filter, got, tt.want)
			}
		})
	}

	t.Run("ErrStopScan ends early without error", func(t *testing.T) {
		var seqs []uint64
		err := tl.Scan(tl.ctx, 0, ReadFilter{}, func(st Stored) error {
			seqs = append(seqs, st.Seq)
			if len(seqs) == 2 {
				return ErrStopScan
			}
			return nil
		})
		if err != nil || !slices.Equal(seqs, []uint64{1, 2}) {
			t.Errorf("Scan stopped after two = %v, %v; want [1 2], nil", seqs, err)
		}
	})
	t.Run("a callback error is returned", func(t *testing.T) {
		boom := errors.New("boom")
		if err := tl.Scan(tl.ctx, 0, ReadFilter{}, func(Stored) error { return boom }); !errors.Is(err, boom) {
			t.Errorf("Scan = %v, want %v", err, boom)
		}
	})
	t.Run("no consumer is left behind", func(t *testing.T) {
		info, err := tl.Log.stream.Info(tl.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Consumers != 0 {
			t.Errorf("after %d scans the stream has %d consumers, want 0", len(tests)+3, info.State.Consumers)
		}
	})
	t.Run("invalid filter is refused before reading", func(t *testing.T) {
		called := false
		err := tl.Scan(tl.ctx, 0, ReadFilter{AggregateID: "a.>"}, func(Stored) error { called = true; return nil })
		wantFields(t, err, "aggregate")
		if called {
			t.Error("callback ran for an invalid filter")
		}
	})
}

func TestReadFilterSubject(t *testing.T) {
	t.Parallel()
	mtg, vis := NewMeetingID(releaseDay), NewVisitID(releaseDay)
	valid := []struct {
		filter ReadFilter
		want   string
	}{
		{ReadFilter{}, "chancery.events.*.*.*"},
		{ReadFilter{Type: MeetingRescheduledType}, "chancery.events.meeting.*.rescheduled"},
		{ReadFilter{Type: MeetingParticipantsChangedType}, "chancery.events.meeting.*.participants_changed"},
		{ReadFilter{Type: VisitCompletedType}, "chancery.events.visit.*.completed"},
		{ReadFilter{AggregateID: mtg}, "chancery.events.meeting." + mtg + ".*"},
		{ReadFilter{AggregateID: vis}, "chancery.events.visit." + vis + ".*"},
		{ReadFilter{Type: MeetingHeldType, AggregateID: mtg}, "chancery.events.meeting." + mtg + ".held"},
	}
	for _, tt := range valid {
		got, err := tt.filter.Subject()
		if err != nil || got != tt.want {
			t.Errorf("%+v.Subject() = %q, %v; want %q", tt.filter, got, err, tt.want)
		}
	}
	invalid := []struct {
		filter ReadFilter
		field  string
	}{
		{ReadFilter{Type: "meeting.exploded"}, "type"},
		{ReadFilter{Type: "meeting"}, "type"},
		{ReadFilter{Type: "meeting.*"}, "type"},
		{ReadFilter{Type: ">"}, "type"},
		{ReadFilter{Type: "Meeting.Rescheduled"}, "type"},
		{ReadFilter{Type: MeetingRescheduledType, AggregateID: vis}, "type"},
		{ReadFilter{Type: VisitAnnouncedType, AggregateID: mtg}, "type"},
		{ReadFilter{AggregateID: "a.>"}, "aggregate"},
		{ReadFilter{AggregateID: "*"}, "aggregate"},
		{ReadFilter{AggregateID: ">"}, "aggregate"},
		{ReadFilter{AggregateID: "mtg_"}, "aggregate"},
		{ReadFilter{AggregateID: "mtg_" + mtg[4:29] + "."}, "aggregate"},
		{ReadFilter{AggregateID: "evt_" + mtg[4:]}, "aggregate"},
		{ReadFilter{AggregateID: "mtg_x", Type: "meeting.exploded"}, "aggregate"},
	}
	for _, tt := range invalid {
		got, err := tt.filter.Subject()
		if got != "" {
			t.Errorf("%+v.Subject() = %q, want \"\"", tt.filter, got)
		}
		if e := (*Error)(nil); !errors.As(err, &e) || e.Code != EINVALID || len(e.Fields) != 1 || e.Fields[0].Field != tt.field {
			t.Errorf("%+v.Subject() error = %v, want %s naming field %q", tt.filter, err, EINVALID, tt.field)
		}
	}
}

func TestFoldUntilRecordedAtGivesTheMeetingAsItStood(t *testing.T) {
	tl := openTestLog(t)
	id := NewMeetingID(releaseDay)
	t1 := releaseDay                     // scheduled for 22 August
	t2 := releaseDay.Add(26 * time.Hour) // moved to 23 August
	t3 := releaseDay.Add(50 * time.Hour) // cancelled
	tl.clock.Set(t1)
	tl.meeting(t, id, lavrovVulin(), Meta{})
	tl.clock.Set(t2)
	tl.meeting(t, id, &RescheduleMeeting{Start: "2022-08-23"}, Meta{})
	tl.clock.Set(t3)
	tl.meeting(t, id, &CancelMeeting{Reason: "called off"}, Meta{})

	tests := []struct {
		name        string
		asOf        time.Time
		wantVersion int
		wantStatus  string
		wantStart   string
	}{
		{"before it was announced", t1.Add(-time.Second), 0, "", ""},
		{"when it was announced", t1, 1, StatusScheduled, "2022-08-22"},
		{"between announcement and move", t2.Add(-time.Nanosecond), 1, StatusScheduled, "2022-08-22"},
		{"after the move", t2.Add(time.Hour), 2, StatusRescheduled, "2022-08-23"},
		{"after the cancellation", t3.Add(24 * time.Hour), 3, StatusCancelled, "2022-08-23"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := FoldUntil[Meeting](tl.ctx, tl.Log, id, func(e Envelope) bool { return !e.RecordedAt.After(tt.asOf) })
			if err != nil {
				t.Fatal(err)
			}
			if m.Version != tt.wantVersion || m.Status != tt.wantStatus || m.Start != tt.wantStart {
				t.Errorf("as of %s: version %d, status %q, start %q; want %d, %q, %q",
					tt.asOf.Format(time.RFC3339), m.Version, m.Status, m.Start, tt.wantVersion, tt.wantStatus, tt.wantStart)
			}
			if m.Exists() != (tt.wantVersion > 0) {
				t.Errorf("Exists() = %v", m.Exists())
			}
		})
	}

	m, err := FoldUntil[Meeting](tl.ctx, tl.Log, id, func(e Envelope) bool { return e.Version <= 2 })
	if err != nil || m.Version != 2 || m.Status != StatusRescheduled {
		t.Errorf("FoldUntil version <= 2 = %+v, %v", m, err)
	}
	if _, err := FoldUntil[Meeting](tl.ctx, tl.Log, "a.>", func(Envelope) bool { return true }); ErrorCode(err) != EINVALID {
		t.Errorf("FoldUntil of a malformed id = %v, want %s", err, EINVALID)
	}
}

func TestVisitLifecycleThroughTheLog(t *testing.T) {
	tl := openTestLog(t)
	id := NewVisitID(releaseDay)
	tl.clock.Set(mustUTC(t, "2021-11-01T08:00:00Z"))
	if _, _, err := Execute[Visit](tl.ctx, tl.Log, id, vucicToMoscow(), Meta{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Execute[Visit](tl.ctx, tl.Log, id, &RescheduleVisit{Start: "2021-11-25", End: "2021-11-26"}, Meta{}); err != nil {
		t.Fatal(err)
	}
	tl.clock.Set(mustUTC(t, "2021-11-25T12:00:00Z"))
	v, res, err := Execute[Visit](tl.ctx, tl.Log, id, &CompleteVisit{}, Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != StatusCompleted || v.Version != 3 || res.Position != 3 || v.PreviousStart != "2021-11-24" {
		t.Errorf("visit = status %q, version %d, position %d, previous %q", v.Status, v.Version, res.Position, v.PreviousStart)
	}
	raw, err := tl.stream(t).GetMsg(tl.ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := "chancery.events.visit." + id + ".completed"; raw.Subject != want {
		t.Errorf("subject = %q, want %q", raw.Subject, want)
	}
}

func TestIdempotencyClaimCompleteRelease(t *testing.T) {
	srv := natstest.Start(t, "")
	ctx := t.Context()
	store, err := OpenIdempotency(ctx, srv.JS, 1)
	if err != nil {
		t.Fatal(err)
	}
	key := IdempotencyKey("protocol-office", "request-1")
	started := releaseDay
	claim := IdempotencyRecord{Fingerprint: "sha256:abc", AggregateID: "mtg_1", StartedAt: started}

	prev, claimRev, err := store.Claim(ctx, key, claim)
	if err != nil || prev != nil || claimRev == 0 {
		t.Fatalf("first Claim = %+v, %d, %v; want nil, its revision, nil", prev, claimRev, err)
	}

	other := IdempotencyRecord{Fingerprint: "sha256:other", AggregateID: "mtg_2", StartedAt: started.Add(time.Minute)}
	prev, rev, err := store.Claim(ctx, key, other)
	if err != nil || prev == nil {
		t.Fatalf("second Claim = %+v, %d, %v; want the stored record", prev, rev, err)
	}
	if prev.Fingerprint != claim.Fingerprint || prev.AggregateID != claim.AggregateID || prev.Status != 0 || !prev.StartedAt.Equal(started) {
		t.Errorf("second Claim returned %+v, want the first claim %+v", *prev, claim)
	}
	if rev != claimRev {
		t.Errorf("second Claim returned revision %d, want the claim's %d", rev, claimRev)
	}

	// Taking over with a stale revision fails; with the current one it works.
	if _, err := store.TakeOver(ctx, key, rev+1, other); err == nil {
		t.Error("TakeOver with a wrong revision = nil error")
	}

	done := claim
	done.Status, done.Version, done.Position = 201, 1, 7
	if err := store.Complete(ctx, key, done); err != nil {
		t.Fatal(err)
	}
	prev, _, err = store.Claim(ctx, key, other)
	if err != nil || prev == nil {
		t.Fatalf("Claim after Complete = %+v, %v; want the completed record", prev, err)
	}
	if prev.Status != 201 || prev.Version != 1 || prev.Position != 7 || prev.Fingerprint != claim.Fingerprint {
		t.Errorf("Claim after Complete returned %+v, want %+v", *prev, done)
	}

	// Release by the revision of a claim that is no longer the current one
	// (it was completed, or taken over) leaves the record alone.
	if err := store.Release(ctx, key, claimRev); err != nil {
		t.Fatal(err)
	}
	prev, rev, err = store.Claim(ctx, key, other)
	if err != nil || prev == nil || prev.Status != 201 {
		t.Fatalf("Claim after a stale Release = %+v, %v; want the completed record", prev, err)
	}
	if err := store.Release(ctx, key, rev); err != nil {
		t.Fatal(err)
	}
	if err := store.Release(ctx, key, rev); err != nil {
		t.Errorf("second Release = %v, want nil", err)
	}
	prev, _, err = store.Claim(ctx, key, other)
	if err != nil || prev != nil {
		t.Errorf("Claim after Release = %+v, %v; want nil, nil (the key is free)", prev, err)
	}
	prev, rev, err = store.Claim(ctx, key, claim)
	if err != nil || prev == nil || prev.Fingerprint != other.Fingerprint {
		t.Fatalf("Claim after re-claim = %+v, %v; want the re-claimed record", prev, err)
	}
	if newRev, err := store.TakeOver(ctx, key, rev, claim); err != nil || newRev <= rev {
		t.Errorf("TakeOver with the current revision = %d, %v; want a newer revision than %d", newRev, err, rev)
	}

	// A second OpenIdempotency sees the same bucket.
	again, err := OpenIdempotency(ctx, srv.JS, 0)
	if err != nil {
		t.Fatal(err)
	}
	if prev, _, err := again.Claim(ctx, key, other); err != nil || prev == nil || prev.Fingerprint != claim.Fingerprint {
		t.Errorf("Claim through a second store = %+v, %v; want the taken-over record", prev, err)
	}
}

func TestIdempotencyKeyIsScopedToTheActor(t *testing.T) {
	t.Parallel()
	a, b := IdempotencyKey("desk-a", "1"), IdempotencyKey("desk-b", "1")
	if a == b {
		t.Error("two actors sending the same key share one record")
	}
	if IdempotencyKey("desk-a", "1") != a {
		t.Error("IdempotencyKey is not deterministic")
	}
	if IdempotencyKey("desk-a1", "") == IdempotencyKey("desk-a", "1") {
		t.Error("actor and key run together")
	}
	for _, k := range []string{a, IdempotencyKey("", "a.b>*"), IdempotencyKey("x", "with space\n")} {
		for _, r := range k {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				t.Errorf("IdempotencyKey = %q, has %q, not safe as a KV key", k, r)
				break
			}
		}
	}
}
