package notifier

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chancery/chancery/events"
)

// Rules say when reminders fall due.
type Rules struct {
	Reminders      []time.Duration // lead times before a timed engagement
	AllDayReminder ClockTime       // date-only engagements: the day before, at this time of the subscriber's
}

// reminder is one reminder that falls due at At.
type reminder struct {
	Rule string // "24h", "1h", "day-before"
	At   time.Time
}

// reminders returns the reminders of e for sub, in the order they fall due.
func (r *Rules) reminders(e *Engagement, sub *Subscriber) []reminder {
	if e.AllDay {
		first, err := time.Parse(events.DateLayout, e.Start[:len(events.DateLayout)])
		if err != nil {
			return nil
		}
		eve := first.AddDate(0, 0, -1)
		return []reminder{{Rule: dayBefore, At: r.AllDayReminder.On(eve.Year(), eve.Month(), eve.Day(), sub.Zone)}}
	}
	out := make([]reminder, 0, len(r.Reminders))
	for _, lead := range r.Reminders {
		out = append(out, reminder{Rule: leadName(lead), At: e.StartUTC.Add(-lead)})
	}
	slices.SortFunc(out, func(a, b reminder) int { return a.At.Compare(b.At) })
	return out
}

// dayBefore is the rule of the reminder of a date-only engagement.
const dayBefore = "day-before"

// names are the names of every reminder rule.
func (r *Rules) names() []string {
	out := []string{dayBefore}
	for _, lead := range r.Reminders {
		out = append(out, leadName(lead))
	}
	return out
}

// horizon is how far ahead of now an engagement can start and still have a
// reminder due now.
func (r *Rules) horizon() time.Duration {
	h := 48 * time.Hour // the day before, in any zone
	for _, lead := range r.Reminders {
		h = max(h, lead+time.Hour)
	}
	return h
}

// leadName writes a lead time the way the config does: 24h, 90m, 1h30m.
func leadName(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	return strings.TrimSuffix(s, "0m")
}

// alertID derives an alert's id from what makes it one alert: the same
// parts give the same id on every replica and after every restart.
func alertID(parts ...any) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%v\x00", p)
	}
	return "alt_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Change is one field of an engagement that a change altered.
type Change struct {
	Field string `json:"field"` // "when", "place", "status", "participants"
	Old   string `json:"old"`
	New   string `json:"new"`
}

// changeRules are the events that subscribers hear of at once.
var changeRules = map[string]string{
	events.MeetingRescheduledType:         "rescheduled",
	events.MeetingRelocatedType:           "relocated",
	events.MeetingPostponedType:           "postponed",
	events.MeetingCancelledType:           "cancelled",
	events.MeetingParticipantsChangedType: "participants_changed",
	events.VisitRescheduledType:           "rescheduled",
	events.VisitCancelledType:             "cancelled",
}

// diff lists what changed from before to after, old → new.
func diff(before, after *Engagement) []Change {
	var out []Change
	if w0, w1 := when(before, before.Zone()), when(after, after.Zone()); w0 != w1 {
		out = append(out, Change{Field: "when", Old: w0, New: w1})
	}
	if before.Place != after.Place {
		out = append(out, Change{Field: "place", Old: before.Place, New: after.Place})
	}
	// A new time is news enough; "rescheduled" as a status adds nothing.
	if before.Status != after.Status && (after.Status != events.StatusRescheduled || before.Status == events.StatusPostponed) {
		s := after.Status
		if after.Reason != "" {
			s += " (" + after.Reason + ")"
		}
		out = append(out, Change{Field: "status", Old: before.Status, New: s})
	}
	if p0, p1 := people(before.People), people(after.People); p0 != p1 {
		out = append(out, Change{Field: "participants", Old: p0, New: p1})
	}
	return out
}

func people(ps []events.Participant) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = events.PersonLabel(p)
	}
	return strings.Join(names, "; ")
}

// when writes when e takes place as read in loc: dates for all-day
// engagements (the dates are the venue's), local times otherwise.
func when(e *Engagement, loc *time.Location) string {
	if e.AllDay {
		first, last := e.Start[:10], e.End[:10]
		a, _ := time.Parse(events.DateLayout, first)
		if first == last {
			return a.Format("Mon 2 Jan 2006") + " (all day)"
		}
		b, _ := time.Parse(events.DateLayout, last)
		return a.Format("Mon 2 Jan 2006") + " – " + b.Format("Mon 2 Jan 2006")
	}
	s, t := e.StartUTC.In(loc), e.EndUTC.In(loc)
	out := s.Format("Mon 2 Jan 2006 15:04")
	if t.After(s) {
		if t.YearDay() == s.YearDay() && t.Year() == s.Year() {
			out += "–" + t.Format("15:04")
		} else {
			out += " – " + t.Format("Mon 2 Jan 2006 15:04")
		}
	}
	return out + " " + zoneLabel(s, loc)
}

// zoneLabel names a zone for readers: "Europe/Belgrade, CEST".
func zoneLabel(t time.Time, loc *time.Location) string {
	abbr, _ := t.Zone()
	if loc.String() == abbr || strings.HasPrefix(abbr, "+") || strings.HasPrefix(abbr, "-") {
		return "(" + loc.String() + ", UTC" + t.Format("-07:00") + ")"
	}
	return "(" + loc.String() + ", " + abbr + ")"
}
