package calendar

import (
	"fmt"
	"strconv"
	"time"
	_ "time/tzdata" // the zone data VTimezone reads must not depend on the host

	"github.com/emersion/go-ical"
)

// tzMaxTransitions bounds the walk through a zone's transitions; the
// busiest IANA zones have a few hundred in all of history.
const tzMaxTransitions = 5000

// tzTrans is one change of a zone's offset, abbreviation or DST flag.
type tzTrans struct {
	at       time.Time // the instant of the change, UTC
	local    time.Time // wall clock just before it, in the old offset (fields only)
	from, to int       // UTC offsets in seconds, before and after
	name     string    // abbreviation after
	dst      bool      // IsDST after
	prevDST  bool      // IsDST before
}

// tzByDay is the set of BYDAY week numbers a transition date satisfies:
// nth (1..4, 0 for none) and whether it is the last such weekday.
type tzByDay struct {
	nth  int
	last bool
}

func (b tzByDay) empty() bool { return b.nth == 0 && !b.last }

func (b tzByDay) and(o tzByDay) tzByDay {
	if b.nth != o.nth {
		b.nth = 0
	}
	b.last = b.last && o.last
	return b
}

// week prefers "last" when both fit: real rules say "lastSun", and
// "4th Sunday" rules are rare.
func (b tzByDay) week() int {
	if b.last {
		return -1
	}
	return b.nth
}

// VTimezone returns a VTIMEZONE for loc, TZID loc.String(), built from Go's
// zone data and correct for every instant from one year before from to one
// year after to (the range is widened to whole calendar years, so events in
// the same years give the same bytes).
//
// Transitions are found with time.Time.ZoneBounds. A run of transitions
// that repeats yearly (same month, weekday, nth or last week, local time,
// offsets and abbreviation, alternating between two such rules) becomes a
// STANDARD/DAYLIGHT pair with RRULE FREQ=YEARLY;BYMONTH=m;BYDAY=nDD, with
// UNTIL when the zone leaves the pattern inside the range; DTSTART is its
// first transition, which may be the last one before the range. Other
// transitions are single observances. A zone with no transition in the
// range gets one STANDARD observance starting at the range start with
// TZOFFSETFROM equal to TZOFFSETTO. DTSTART is the wall-clock time in the
// offset before the change (TZOFFSETFROM), as RFC 5545 requires.
//
// DAYLIGHT marks the summer offset: time.Time.IsDST, except that in zones
// whose data flag the smaller offset as DST (Europe/Dublin, Africa/Casablanca)
// the larger one is DAYLIGHT, as Windows and Outlook expect. A nil loc means
// UTC. Past the range the output promises nothing: its last rules repeat
// without end and its last observance stays in force.
func VTimezone(loc *time.Location, from, to time.Time) *ical.Component {
	if loc == nil {
		loc = time.UTC
	}
	if to.Before(from) {
		from, to = to, from
	}
	start := time.Date(from.In(loc).Year()-1, time.January, 1, 0, 0, 0, 0, loc)
	end := time.Date(to.In(loc).Year()+2, time.January, 1, 0, 0, 0, 0, loc)

	var trs []tzTrans
	t := start
	for n := 0; n < tzMaxTransitions; n++ {
		next := tzNext(t)
		if next.IsZero() || !next.Before(end) {
			break
		}
		if tr, ok := tzTransAt(next); ok {
			trs = append(trs, tr)
		}
		t = next
	}

	tz := ical.NewComponent(ical.CompTimezone)
	tzSet(tz, ical.PropTimezoneID, loc.String())

	name, off := start.Zone()
	if len(trs) == 0 {
		tz.Children = append(tz.Children, tzObservance(false, tzLocal(start, off), off, off, name, ""))
		return tz
	}
	if prev, ok := tzTransBefore(start); ok {
		trs = append([]tzTrans{prev}, trs...)
	} else {
		tz.Children = append(tz.Children, tzObservance(start.IsDST(), tzLocal(start, off), off, off, name, ""))
	}

	for i := 0; i < len(trs); {
		if j, a, b, ok := tzRun(trs, i); ok {
			ta, tb := trs[i], trs[i+1]
			untilA, untilB := "", ""
			if j < len(trs) { // the zone leaves the pattern inside the range
				untilA = tzUntil(trs, i, j)
				untilB = tzUntil(trs, i+1, j)
			}
			tz.Children = append(tz.Children,
				tzObservance(tzDaylight(ta), ta.local, ta.from, ta.to, ta.name, tzRule(ta, a, untilA)),
				tzObservance(tzDaylight(tb), tb.local, tb.from, tb.to, tb.name, tzRule(tb, b, untilB)))
			i = j
			continue
		}
		tr := trs[i]
		tz.Children = append(tz.Children, tzObservance(tzDaylight(tr), tr.local, tr.from, tr.to, tr.name, ""))
		i++
	}
	return tz
}

// tzNext is the end of the zone period holding t: the next instant at which
// the zone may change, or zero when it never does.
//
// Past the last transition listed in the zone data (2037 for most zones),
// Go computes periods from the zone's POSIX rule, year by year, and ends the
// last period of a year 365 days after the year's start (UTC), also in leap
// years: from December 31 on, ZoneBounds returns an end that is not after
// t, and a walk would stop there and lose every later transition. The
// period then really ends with the year, since the rule changes nothing
// between its last transition and January 1.
func tzNext(t time.Time) time.Time {
	_, next := t.ZoneBounds()
	if !next.IsZero() && !next.After(t) {
		y := t.UTC().Year() + 1
		next = time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC).In(t.Location())
	}
	return next
}

// tzTransAt describes the zone change at instant at; ok is false when
// nothing observable (offset, abbreviation, DST flag) changes there.
func tzTransAt(at time.Time) (tzTrans, bool) {
	before := at.Add(-time.Second)
	oldName, oldOff := before.Zone()
	name, off := at.Zone()
	if oldName == name && oldOff == off && before.IsDST() == at.IsDST() {
		return tzTrans{}, false
	}
	return tzTrans{
		at:      at.UTC(),
		local:   tzLocal(at, oldOff),
		from:    oldOff,
		to:      off,
		name:    name,
		dst:     at.IsDST(),
		prevDST: before.IsDST(),
	}, true
}

// tzDaylight tells whether tr starts a DAYLIGHT observance: the one with
// the summer offset. That is IsDST, except in zones whose data flag the
// smaller offset as DST (Europe/Dublin's winter GMT, Morocco's Ramadan +00):
// where the flag flips along with the offset, the larger offset is DAYLIGHT,
// as Windows, Outlook and the usual published VTIMEZONEs have it.
func tzDaylight(tr tzTrans) bool {
	if tr.dst != tr.prevDST && tr.to != tr.from {
		return tr.to > tr.from
	}
	return tr.dst
}

// tzTransBefore returns the last real change at or before t, if any.
func tzTransBefore(t time.Time) (tzTrans, bool) {
	for n := 0; n < tzMaxTransitions; n++ {
		s, _ := t.ZoneBounds()
		if s.IsZero() {
			return tzTrans{}, false
		}
		if tr, ok := tzTransAt(s); ok {
			return tr, true
		}
		t = s.Add(-time.Second)
	}
	return tzTrans{}, false
}

// tzLocal is the wall clock of t in a zone offset seconds east of UTC, as a
// time whose fields are those of the wall clock.
func tzLocal(t time.Time, offset int) time.Time {
	return t.UTC().Add(time.Duration(offset) * time.Second)
}

func tzWeeks(d time.Time) tzByDay {
	var b tzByDay
	if n := (d.Day()-1)/7 + 1; n <= 4 {
		b.nth = n
	}
	daysInMonth := time.Date(d.Year(), d.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
	b.last = d.Day()+7 > daysInMonth
	return b
}

// tzSameRule reports whether b could be a's transition one year later:
// same month, weekday, time of day, offsets, abbreviation and DST flags.
func tzSameRule(a, b tzTrans) bool {
	ah, am, as := a.local.Clock()
	bh, bm, bs := b.local.Clock()
	return b.local.Year() == a.local.Year()+1 &&
		a.local.Month() == b.local.Month() &&
		a.local.Weekday() == b.local.Weekday() &&
		ah == bh && am == bm && as == bs &&
		a.from == b.from && a.to == b.to && a.name == b.name &&
		a.dst == b.dst && a.prevDST == b.prevDST
}

// tzRun looks for a yearly pair of rules starting at trs[i]: trs[i] and
// trs[i+1] repeat every year, alternating, up to trs[j-1]. It wants at least
// two years of each rule, so a coincidence does not become a rule.
func tzRun(trs []tzTrans, i int) (j int, a, b tzByDay, ok bool) {
	if i+3 >= len(trs) {
		return 0, a, b, false
	}
	ta, tb := trs[i], trs[i+1]
	if dy := tb.local.Year() - ta.local.Year(); dy != 0 && dy != 1 {
		return 0, a, b, false
	}
	if ta.local.Month() == tb.local.Month() {
		return 0, a, b, false
	}
	weeks := [2]tzByDay{tzWeeks(ta.local), tzWeeks(tb.local)}
	if weeks[0].empty() || weeks[1].empty() {
		return 0, a, b, false
	}
	j = i + 2
	for ; j < len(trs); j++ {
		if !tzSameRule(trs[j-2], trs[j]) {
			break
		}
		w := weeks[(j-i)%2].and(tzWeeks(trs[j].local))
		if w.empty() {
			break
		}
		weeks[(j-i)%2] = w
	}
	if j-i < 4 {
		return 0, a, b, false
	}
	return j, weeks[0], weeks[1], true
}

// tzUntil is the UNTIL of the rule starting at trs[k] in the run ending
// before trs[j]: its last occurrence, in UTC as RFC 5545 requires here.
func tzUntil(trs []tzTrans, k, j int) string {
	last := k
	for m := k; m < j; m += 2 {
		last = m
	}
	return trs[last].at.Format("20060102T150405Z")
}

var tzDays = [...]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

func tzRule(tr tzTrans, w tzByDay, until string) string {
	r := "FREQ=YEARLY;BYMONTH=" + strconv.Itoa(int(tr.local.Month())) +
		";BYDAY=" + strconv.Itoa(w.week()) + tzDays[tr.local.Weekday()]
	if until != "" {
		r += ";UNTIL=" + until
	}
	return r
}

func tzObservance(daylight bool, local time.Time, from, to int, name, rrule string) *ical.Component {
	component := ical.CompTimezoneStandard
	if daylight {
		component = ical.CompTimezoneDaylight
	}
	c := ical.NewComponent(component)
	// Not SetDateTime: it would add TZID=Local or TZID=UTC.
	tzSet(c, ical.PropDateTimeStart, local.Format("20060102T150405"))
	tzSet(c, ical.PropTimezoneOffsetFrom, tzOffset(from))
	tzSet(c, ical.PropTimezoneOffsetTo, tzOffset(to))
	if name != "" {
		tzSet(c, ical.PropTimezoneName, name)
	}
	if rrule != "" {
		tzSet(c, ical.PropRecurrenceRule, rrule)
	}
	return c
}

func tzSet(c *ical.Component, name, value string) {
	p := ical.NewProp(name)
	p.Value = value
	c.Props.Set(p)
}

// tzOffset formats a UTC offset as +HHMM, or +HHMMSS when it has seconds.
func tzOffset(sec int) string {
	sign := '+'
	if sec < 0 {
		sign, sec = '-', -sec
	}
	h, m, s := sec/3600, sec/60%60, sec%60
	if s != 0 {
		return fmt.Sprintf("%c%02d%02d%02d", sign, h, m, s)
	}
	return fmt.Sprintf("%c%02d%02d", sign, h, m)
}
