package events

import (
	"testing"
	"time"
)

func TestAnEventIsNeverStampedBeforeItsAggregatesLast(t *testing.T) {
	tl := openTestLog(t)
	id := NewMeetingID(releaseDay)
	tl.meeting(t, id, lavrovVulin(), Meta{Fresh: true})
	// Another replica, its clock an hour behind, reschedules the talks.
	tl.clock.Set(releaseDay.Add(-time.Hour))
	tl.meeting(t, id, &RescheduleMeeting{Start: "2022-08-23", Reason: "schedules"}, Meta{})
	hist := tl.load(t, id)
	if !hist[1].RecordedAt.Equal(hist[0].RecordedAt) {
		t.Fatalf("the reschedule is recorded at %s, before the event it was decided against (%s)", hist[1].RecordedAt, hist[0].RecordedAt)
	}
	// As of just before that, neither is known; at it, both are.
	for at, want := range map[time.Time]Moment{
		releaseDay.Add(-time.Second): {},
		releaseDay:                   {Last: 2},
	} {
		got, err := tl.MomentAt(tl.ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		if got.Key() != want.Key() {
			t.Errorf("as of %s: %+v, want %+v", at, got, want)
		}
	}
}

func TestMomentsOfRacedWritersAreNotPrefixes(t *testing.T) {
	// Record times by sequence as two racing writers leave them.
	at := []int64{1, 3, 2, 5, 4, 6}
	for _, tc := range []struct {
		t    int64
		want Moment
	}{
		{0, Moment{}},
		{1, Moment{Last: 1}},
		{2, Moment{Last: 3, Later: []uint64{2}}},
		{4, Moment{Last: 5, Later: []uint64{4}}},
		{6, Moment{Last: 6}},
	} {
		got := momentIn(at, tc.t)
		if got.Key() != tc.want.Key() || got.Last != tc.want.Last || len(got.Later) != len(tc.want.Later) {
			t.Errorf("at %d: %+v, want %+v", tc.t, got, tc.want)
		}
		for seq := uint64(1); seq <= 6; seq++ {
			if in := got.Includes(seq); in != (at[seq-1] <= tc.t) {
				t.Errorf("at %d: Includes(%d) = %v", tc.t, seq, in)
			}
		}
	}
	two, four := momentIn(at, 2), momentIn(at, 4)
	if !four.Extends(momentIn(at, 1)) || four.Extends(two) || !four.Extends(momentIn(at, 3)) {
		t.Error("a moment extends a snapshot only when that holds exactly its events up to the snapshot's last")
	}
	if two.Key() == (Moment{Last: 3}).Key() {
		t.Error("a moment with an event left out has the key of the prefix")
	}
}

func TestAnnouncedAsOfCountsSourcesAndTheRecordDayOfTheRest(t *testing.T) {
	tl := openTestLog(t)
	typed := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tl.clock.Set(typed) // the seed typed in years after the release
	talks, other := NewMeetingID(typed), NewMeetingID(typed)
	tl.meeting(t, talks, lavrovVulin(), Meta{Fresh: true}) // seq 1: published 2022-08-19
	noSource := lavrovVulin()
	noSource.Source = nil
	tl.meeting(t, other, noSource, Meta{Fresh: true}) // seq 2: announced the day it was recorded
	// Seq 3 cites a release older than the talks' own; seq 4 a later one.
	for i, published := range []string{"2022-08-01", "2022-09-01"} {
		env := Envelope{
			ID: newID(eventPrefix, typed), Type: MeetingPostponedType, Schema: SchemaOf(MeetingPostponedType),
			AggregateType: MeetingAggregate, AggregateID: talks, Version: 2 + i, RecordedAt: typed, Actor: "test",
			Data: []byte(`{"reason":"schedules","source":{"url":"https://example.org/r","published":"` + published + `"}}`),
		}
		if _, _, err := tl.Append(tl.ctx, []Envelope{env}, AppendOptions{ExpectedSeq: uint64(1 + 2*i)}); err != nil {
			t.Fatal(err)
		}
	}
	day := func(s string) time.Time {
		d, err := time.Parse(DateLayout, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	timeline := NewTimeline(tl.Log)
	for _, tc := range []struct {
		name string
		b    Bound
		want Moment
	}{
		{"before the release", Bound{Announced: day("2022-08-18")}, Moment{}},
		// The postponement citing 1 August was not announced before the
		// talks it postpones: it counts from 19 August, with them.
		{"the release's day", Bound{Announced: day("2022-08-19")}, Moment{Last: 3, Later: []uint64{2}}},
		{"the day after", Bound{Announced: day("2022-08-20")}, Moment{Last: 3, Later: []uint64{2}}},
		{"the later release", Bound{Announced: day("2022-09-01")}, Moment{Last: 4, Later: []uint64{2}}},
		{"the day it was typed", Bound{Announced: day("2026-03-02")}, Moment{Last: 4}},
		{"recorded the day before", Bound{Recorded: typed.Add(-24 * time.Hour), Announced: day("2026-03-02")}, Moment{}},
		{"recorded and announced", Bound{Recorded: typed, Announced: day("2022-08-20")}, Moment{Last: 3, Later: []uint64{2}}},
		{"no bound", Bound{}, Moment{Last: 4}},
	} {
		got, err := timeline.MomentOf(tl.ctx, tc.b)
		if err != nil {
			t.Fatal(err)
		}
		if got.Key() != tc.want.Key() {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	// Folding one aggregate until the first event out of bounds keeps the
	// same prefix.
	var kept []uint64
	for _, st := range tl.load(t, talks) {
		if !(Bound{Announced: day("2022-08-20")}).Holds(st.Envelope) {
			break
		}
		kept = append(kept, st.Seq)
	}
	if len(kept) != 2 || kept[0] != 1 || kept[1] != 3 {
		t.Errorf("the talks announced by 20 August fold events %v, want [1 3]", kept)
	}
}

func TestAnEventWithoutAPublishedSourceIsAnnouncedOnItsRecordDay(t *testing.T) {
	at := time.Date(2026, 3, 2, 23, 30, 0, 0, time.FixedZone("", -2*3600)) // 3 March in UTC
	for _, tc := range []struct {
		data string
		want string
	}{
		{`{"source":{"url":"https://example.org/r","published":"2022-08-19"}}`, "2022-08-19"},
		{`{"source":{"url":"https://example.org/r"}}`, "2026-03-03"},
		{`{"source":"https://example.org/r"}`, "2026-03-03"}, // schema 1: a bare URL
		{`{"reason":"x","published":"2022-08-19"}`, "2026-03-03"},
		{`{"reason":"x"}`, "2026-03-03"},
	} {
		got := Envelope{RecordedAt: at, Data: []byte(tc.data)}.AnnouncedOn()
		if got.Format(time.RFC3339) != tc.want+"T00:00:00Z" {
			t.Errorf("%s: announced on %s, want %s", tc.data, got.Format(time.RFC3339), tc.want)
		}
	}
}
