package calendar

import (
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/icalcheck"
	"github.com/chancery/chancery/projections"
)

// timedMeeting folds a meeting from start to end (local) in zone.
func timedMeeting(tb testing.TB, id, zone, start, end string) projections.Engagement {
	tb.Helper()
	cmd := scheduleTimed(start, end)
	cmd.Timezone = zone
	return fold(tb, id, step{release, cmd})
}

// A local time that falls in a DST gap does not exist, and one in the hour
// repeated when summer time ends exists twice: calendar clients resolve
// them differently, so such events are written in UTC, at the instant the
// read model means (the first occurrence; the offset before the gap).
func TestTimedEventInDSTGapOrRepeatedHourIsWrittenInUTC(t *testing.T) {
	tests := []struct {
		name, zone, start, end string
		wantStart, wantEnd     time.Time // UTC
		inUTC                  bool
	}{
		{"Berlin spring gap", "Europe/Berlin", "2021-03-28T02:30", "2021-03-28T04:00",
			time.Date(2021, 3, 28, 1, 30, 0, 0, time.UTC), time.Date(2021, 3, 28, 2, 0, 0, 0, time.UTC), true},
		{"Berlin end in the gap", "Europe/Berlin", "2021-03-28T01:30", "2021-03-28T02:15",
			time.Date(2021, 3, 28, 0, 30, 0, 0, time.UTC), time.Date(2021, 3, 28, 1, 15, 0, 0, time.UTC), true},
		{"Berlin repeated hour", "Europe/Berlin", "2021-10-31T02:30", "2021-10-31T03:30",
			time.Date(2021, 10, 31, 0, 30, 0, 0, time.UTC), time.Date(2021, 10, 31, 2, 30, 0, 0, time.UTC), true},
		{"Moscow 2011 gap", "Europe/Moscow", "2011-03-27T02:30", "2011-03-27T04:00",
			time.Date(2011, 3, 26, 23, 30, 0, 0, time.UTC), time.Date(2011, 3, 27, 0, 0, 0, 0, time.UTC), true},
		{"Moscow 2014 repeated hour", "Europe/Moscow", "2014-10-26T01:30", "2014-10-26T03:00",
			time.Date(2014, 10, 25, 21, 30, 0, 0, time.UTC), time.Date(2014, 10, 26, 0, 0, 0, 0, time.UTC), true},
		// The same days, outside the gap and the repeated hour: local time.
		{"Berlin after the gap", "Europe/Berlin", "2021-03-28T04:00", "2021-03-28T05:00",
			time.Date(2021, 3, 28, 2, 0, 0, 0, time.UTC), time.Date(2021, 3, 28, 3, 0, 0, 0, time.UTC), false},
		{"Berlin after the repeated hour", "Europe/Berlin", "2021-10-31T03:00", "2021-10-31T04:00",
			time.Date(2021, 10, 31, 2, 0, 0, 0, time.UTC), time.Date(2021, 10, 31, 3, 0, 0, 0, time.UTC), false},
	}
	var items []projections.Engagement
	var want []icalcheck.Event
	for i, tc := range tests {
		id := events.NewMeetingID(release)
		item := timedMeeting(t, id, tc.zone, tc.start, tc.end)
		items = append(items, item)
		want = append(want, wantTimed(id, tc.wantStart, tc.wantEnd))

		evs := decodeEvents(t, render(t, []projections.Engagement{item}, goldenOptions))
		if len(evs) != 1 {
			t.Fatalf("%s: %d events", tc.name, len(evs))
		}
		for _, p := range []struct {
			name string
			want time.Time
		}{{ical.PropDateTimeStart, tc.wantStart}, {ical.PropDateTimeEnd, tc.wantEnd}} {
			prop := evs[0].Props.Get(p.name)
			tzid := prop.Params.Get(ical.ParamTimezoneID)
			if tc.inUTC && (tzid != "" || prop.Value != p.want.Format("20060102T150405Z")) {
				t.Errorf("%s (%d): %s;TZID=%s:%s, want %s in UTC", tc.name, i, p.name, tzid, prop.Value, p.want.Format("20060102T150405Z"))
			}
			if !tc.inUTC && tzid != tc.zone {
				t.Errorf("%s (%d): %s;TZID=%s:%s, want local time in %s", tc.name, i, p.name, tzid, prop.Value, tc.zone)
			}
		}
	}
	// Both strict parsers reject local times in a gap or a repeated hour,
	// and read every instant back.
	icalcheck.Check(t, render(t, items, goldenOptions), want)
}

// Events after 2037, when Go computes a zone's transitions from its rule,
// get a VTIMEZONE that gives their right offsets, summer and winter.
func TestFeedAfter2037HasTheRightOffsets(t *testing.T) {
	cet, cest := time.FixedZone("CET", 3600), time.FixedZone("CEST", 2*3600)
	tests := []struct {
		start, end         string
		wantStart, wantEnd time.Time
	}{
		{"2040-07-02T10:00", "2040-07-02T11:00", time.Date(2040, 7, 2, 10, 0, 0, 0, cest), time.Date(2040, 7, 2, 11, 0, 0, 0, cest)},
		{"2040-12-31T10:00", "2040-12-31T11:00", time.Date(2040, 12, 31, 10, 0, 0, 0, cet), time.Date(2040, 12, 31, 11, 0, 0, 0, cet)},
		{"2041-07-01T10:00", "2041-07-01T11:00", time.Date(2041, 7, 1, 10, 0, 0, 0, cest), time.Date(2041, 7, 1, 11, 0, 0, 0, cest)},
		{"2041-11-05T10:00", "2041-11-05T11:00", time.Date(2041, 11, 5, 10, 0, 0, 0, cet), time.Date(2041, 11, 5, 11, 0, 0, 0, cet)},
	}
	var items []projections.Engagement
	var want []icalcheck.Event
	for _, tc := range tests {
		id := events.NewMeetingID(release)
		items = append(items, timedMeeting(t, id, "Europe/Berlin", tc.start, tc.end))
		want = append(want, wantTimed(id, tc.wantStart, tc.wantEnd))
	}
	// Each event alone (its VTIMEZONE covers only its years), then all.
	for i := range items {
		icalcheck.Check(t, render(t, items[i:i+1], goldenOptions), want[i:i+1])
	}
	icalcheck.Check(t, render(t, items, goldenOptions), want)
}
