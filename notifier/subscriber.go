package notifier

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chancery/chancery/events"
)

// Alert categories, as subscribers list them in alerts:.
const (
	CategoryReminder = "reminder"
	CategoryDigest   = "digest"
	CategoryChange   = "change"
)

// Subscriber is someone who receives alerts.
type Subscriber struct {
	Target
	Zone   *time.Location
	Alerts []string // reminder, digest, change; empty means all three
	Filter Filter
	Quiet  *QuietHours // nil: none
}

// Wants reports whether the subscriber takes alerts of category.
func (s *Subscriber) Wants(category string) bool {
	return len(s.Alerts) == 0 || slices.Contains(s.Alerts, category)
}

// Filter selects the engagements a subscriber follows. Empty lists do not
// filter; the lists combine with AND, the values in a list with OR.
type Filter struct {
	Countries    []string // the place's country or any person's
	Participants []string // whole words of a name, without case or diacritics
	Kinds        []string // meeting kinds, or "visit"
}

// Matches reports whether the filter selects e.
func (f *Filter) Matches(e *Engagement) bool {
	if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, e.Kind) {
		return false
	}
	if len(f.Countries) > 0 && !slices.ContainsFunc(e.Countries(), func(c string) bool { return slices.Contains(f.Countries, c) }) {
		return false
	}
	if len(f.Participants) > 0 {
		return slices.ContainsFunc(f.Participants, func(want string) bool {
			w := " " + events.FoldName(want) + " "
			return strings.TrimSpace(w) != "" && slices.ContainsFunc(e.People, func(p events.Participant) bool {
				return strings.Contains(" "+events.FoldName(p.Name)+" ", w)
			})
		})
	}
	return true
}

// QuietHours is a daily span of local time in which reminders and digests
// wait; it may wrap midnight ("22:00-07:00").
type QuietHours struct {
	From, To ClockTime
}

// ParseQuietHours parses "HH:MM-HH:MM".
func ParseQuietHours(s string) (*QuietHours, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return nil, fmt.Errorf("%q is not HH:MM-HH:MM", s)
	}
	from, err := ParseClock(strings.TrimSpace(a))
	if err != nil {
		return nil, err
	}
	to, err := ParseClock(strings.TrimSpace(b))
	if err != nil {
		return nil, err
	}
	if from == to {
		return nil, fmt.Errorf("%q is an empty span", s)
	}
	return &QuietHours{From: from, To: to}, nil
}

// Release returns t, or the end of the quiet hours that t falls in.
func (q *QuietHours) Release(t time.Time, loc *time.Location) time.Time {
	if q == nil {
		return t
	}
	l := t.In(loc)
	now := ClockTime(l.Hour()*60 + l.Minute())
	var inside bool
	if q.From < q.To {
		inside = now >= q.From && now < q.To
	} else {
		inside = now >= q.From || now < q.To
	}
	if !inside {
		return t
	}
	day := l
	if q.From > q.To && now >= q.From {
		day = l.AddDate(0, 0, 1) // wraps midnight: it ends tomorrow
	}
	end := q.To.On(day.Year(), day.Month(), day.Day(), loc)
	if end.Before(t) {
		return t
	}
	return end
}

// ClockTime is a local time of day in minutes after midnight.
type ClockTime int

// ParseClock parses "HH:MM" (24-hour).
func ParseClock(s string) (ClockTime, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return ClockTime(t.Hour()*60 + t.Minute()), nil
}

func (c ClockTime) String() string { return fmt.Sprintf("%02d:%02d", c/60, c%60) }

// On returns the instant the local clock shows c on the given day. A time
// the clock skips (spring forward) is the instant it skips at; a time that
// occurs twice (fall back) is its first occurrence.
func (c ClockTime) On(year int, month time.Month, day int, loc *time.Location) time.Time {
	return localTime(year, month, day, int(c)/60, int(c)%60, loc)
}

// localTime is time.Date with the DST rules of On spelled out, since
// time.Date does not promise which of two readings it picks.
func localTime(year int, month time.Month, day, hour, min int, loc *time.Location) time.Time {
	t := time.Date(year, month, day, hour, min, 0, 0, loc)
	if t.Hour() != hour || t.Minute() != min {
		// In a gap: Go moved t into the zone period before or after the
		// transition; the transition is the bound nearest to t.
		start, end := t.ZoneBounds()
		if t.Sub(start).Abs() < end.Sub(t).Abs() {
			return start
		}
		return end
	}
	// A repeated hour: prefer the earlier reading.
	for _, back := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
		if e := t.Add(-back).In(loc); e.Hour() == hour && e.Minute() == min && e.Day() == day {
			return e.In(t.Location())
		}
	}
	return t
}
