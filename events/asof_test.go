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
