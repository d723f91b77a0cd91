package events

import (
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // zones must resolve on machines without a zoneinfo database
)

// Layouts of the two forms a start or end may take.
const (
	DateLayout     = "2006-01-02"
	DateTimeLayout = "2006-01-02T15:04:05"
)

// Span is when an engagement takes place: either whole days (dates, end
// inclusive — press releases often give no hour) or local date-times in the
// IANA zone of the place. The local values and the zone are what was
// announced; UTC is derived from them, never stored in their place.
type Span struct {
	Start    string `json:"start"`
	End      string `json:"end"`
	Timezone string `json:"timezone"`
}

// AllDay reports whether the span is given in whole days.
func (s Span) AllDay() bool { return len(s.Start) == len(DateLayout) }

// Location returns the span's zone. It falls back to UTC only for spans that
// were never validated.
func (s Span) Location() *time.Location {
	loc, err := loadZone(s.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// UTC returns the span as an instant range, end exclusive: an all-day span
// runs from local midnight of its first day to local midnight after its last.
func (s Span) UTC() (start, end time.Time) {
	loc := s.Location()
	if s.AllDay() {
		a, _ := time.ParseInLocation(DateLayout, s.Start, loc)
		b, _ := time.ParseInLocation(DateLayout, s.End, loc)
		return a.UTC(), b.AddDate(0, 0, 1).UTC()
	}
	return wallClock(s.Start, loc).UTC(), wallClock(s.End, loc).UTC()
}

// wallClock resolves a local date-time in loc. A time that occurs twice (the
// hour repeated when summer time ends) is the first occurrence, as RFC 5545
// says and calendar apps do; Go's own choice is the second. A time in the
// gap of spring-forward moves forward, as both agree.
func wallClock(v string, loc *time.Location) time.Time {
	t, err := time.ParseInLocation(DateTimeLayout, v, loc)
	if err != nil {
		return t
	}
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return t
	}
	_, before := start.Add(-time.Second).Zone()
	_, now := t.Zone()
	if before > now { // summer time ended at start: the hour before it repeats
		earlier := t.Add(-time.Duration(before-now) * time.Second)
		if earlier.Before(start) && earlier.Format(DateTimeLayout) == t.Format(DateTimeLayout) {
			return earlier
		}
	}
	return t
}

// Dates returns the local calendar dates of the span's first and last day.
func (s Span) Dates() (first, last string) {
	return s.Start[:len(DateLayout)], s.End[:len(DateLayout)]
}

// SpanInput is a span as a client sends it: any field may be empty.
type SpanInput struct {
	Start    string
	End      string
	Timezone string
}

// ParseSpan validates and normalises a span. defaultZone is used for all-day
// spans that name no zone (the zone of the place, or UTC). prefix is put in
// front of field names, for spans nested in a larger input.
func ParseSpan(in SpanInput, defaultZone string, prefix string) (Span, Fields) {
	var errs Fields
	start, startTimed, ok := parseLocal(in.Start)
	switch {
	case strings.TrimSpace(in.Start) == "":
		errs.Add(prefix+"start", "is required: a date (YYYY-MM-DD) or a local date-time (YYYY-MM-DDTHH:MM[:SS])")
	case !ok:
		errs.Add(prefix+"start", "%q is not a date (YYYY-MM-DD) or a local date-time (YYYY-MM-DDTHH:MM[:SS]) without offset", in.Start)
	}
	zone := strings.TrimSpace(in.Timezone)
	if zone == "" {
		if ok && startTimed {
			errs.Add(prefix+"timezone", "is required for a timed start: the IANA zone of the place, such as Europe/Moscow")
		}
		zone = defaultZone
		if zone == "" {
			zone = "UTC"
		}
	}
	loc, zerr := loadZone(zone)
	if zerr != nil {
		errs.Add(prefix+"timezone", "%q is not an IANA time zone name", in.Timezone)
	}
	if !ok || zerr != nil {
		if in.End != "" {
			if _, _, eok := parseLocal(in.End); !eok {
				errs.Add(prefix+"end", "%q is not a date or a local date-time", in.End)
			}
		}
		return Span{}, errs
	}

	var end time.Time
	if strings.TrimSpace(in.End) == "" {
		end = start
		if startTimed {
			end = start.Add(time.Hour)
		}
	} else {
		e, endTimed, eok := parseLocal(in.End)
		switch {
		case !eok:
			errs.Add(prefix+"end", "%q is not a date (YYYY-MM-DD) or a local date-time (YYYY-MM-DDTHH:MM[:SS]) without offset", in.End)
		case endTimed != startTimed:
			errs.Add(prefix+"end", "must have the same form as start: both dates or both local date-times")
		default:
			end = e
		}
	}
	if len(errs) > 0 {
		return Span{}, errs
	}
	span := Span{Timezone: zone}
	var a, b time.Time // the span in UTC, end exclusive
	if startTimed {
		span.Start, span.End = start.Format(DateTimeLayout), end.Format(DateTimeLayout)
		if a, b = wallClock(span.Start, loc), wallClock(span.End, loc); !b.After(a) {
			errs.Add(prefix+"end", "must be after start")
		}
	} else {
		span.Start, span.End = start.Format(DateLayout), end.Format(DateLayout)
		if end.Before(start) {
			errs.Add(prefix+"end", "must not be before start")
		}
		a, b = span.UTC()
	}
	if !errs.empty() {
		return Span{}, errs
	}
	if b.Sub(a) > 366*24*time.Hour {
		errs.Add(prefix+"end", "is more than a year after start")
		return Span{}, errs
	}
	return span, nil
}

func (f Fields) empty() bool { return len(f) == 0 }

// parseLocal parses a date or a local date-time (seconds optional) as a
// wall-clock value in UTC. It rejects offsets: the zone is given separately.
func parseLocal(v string) (t time.Time, timed bool, ok bool) {
	v = strings.TrimSpace(v)
	if len(v) == len(DateLayout) {
		t, err := time.Parse(DateLayout, v)
		return t, false, err == nil && yearOK(t)
	}
	for _, layout := range []string{DateTimeLayout, "2006-01-02T15:04"} {
		if len(v) == len(layout) {
			t, err := time.Parse(layout, v)
			return t, true, err == nil && yearOK(t)
		}
	}
	return time.Time{}, false, false
}

func yearOK(t time.Time) bool { return t.Year() >= 1800 && t.Year() <= 2200 }

// loadZone resolves an IANA zone name. "Local" and the empty name are not
// places and are refused.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, Errorf(EINVALID, "not an IANA zone")
	}
	if loc, ok := zoneCache.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zoneCache.Store(name, loc)
	return loc, nil
}

// LoadZone is time.LoadLocation for IANA names only, cached.
func LoadZone(name string) (*time.Location, error) { return loadZone(name) }

// zoneCache holds every zone loaded so far: time.LoadLocation reads and
// parses the zone file on every call.
var zoneCache sync.Map

// ValidZone reports whether name is an IANA time zone name.
func ValidZone(name string) bool {
	_, err := loadZone(name)
	return err == nil
}

// keep fills in what a reschedule leaves out from cur, the span the
// engagement has now, so that a desk need not repeat it:
//
//   - an omitted timezone is cur's zone; except that a timed start on an
//     all-day span in UTC (the fallback for a place whose zone is not known)
//     still needs one, for UTC is then no place's zone;
//   - an omitted end keeps cur's length in the form of the new start: a
//     timed span its length on the clock, a span of dates its number of
//     days. A timed span given a date covers the days it touched (an end
//     at midnight touches none of its day); a one-day span given a time
//     lasts an hour, as on creation; a span of several days given a time
//     needs an end, for days do not say how many hours.
//
// The result goes through ParseSpan, so the recorded event carries complete
// values and replay does not depend on this rule.
func (in SpanInput) keep(cur Span) (SpanInput, Fields) {
	if cur.Start == "" {
		return in, nil
	}
	start, startTimed, ok := parseLocal(in.Start)
	if strings.TrimSpace(in.Timezone) == "" && (!ok || !startTimed || !cur.AllDay() || placeZone(cur.Timezone)) {
		in.Timezone = cur.Timezone
	}
	if !ok || strings.TrimSpace(in.End) != "" {
		return in, nil
	}
	curStart, _, _ := parseLocal(cur.Start)
	curEnd, _, _ := parseLocal(cur.End)
	switch {
	case startTimed && !cur.AllDay():
		in.End = start.Add(curEnd.Sub(curStart)).Format(DateTimeLayout)
	case !startTimed:
		first, last := cur.Dates()
		if !cur.AllDay() { // an end at midnight touches no part of its day
			last = curEnd.Add(-time.Second).Format(DateLayout)
		}
		a, _, _ := parseLocal(first)
		b, _, _ := parseLocal(last)
		in.End = start.Add(b.Sub(a)).Format(DateLayout)
	case cur.Start != cur.End: // several days given a time
		var f Fields
		f.Add("end", "is required: the engagement runs %s to %s, and a start with a time does not say when it ends", cur.Start, cur.End)
		return in, f
	}
	return in, nil
}

// placeZone reports whether an all-day span's zone names a place rather than
// the UTC fallback.
func placeZone(zone string) bool { return zone != "" && zone != "UTC" }

// RescheduleSpan validates the span a reschedule gives, keeping from cur
// what it leaves out (see keep).
func RescheduleSpan(in SpanInput, cur Span) (Span, Fields) {
	in, f := in.keep(cur)
	span, errs := ParseSpan(in, cur.Timezone, "")
	if len(f) > 0 {
		return Span{}, append(f, errs...)
	}
	return span, errs
}
