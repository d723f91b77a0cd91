package calendar

import (
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/projections"
)

// Options describe a calendar as a whole.
type Options struct {
	Name    string        // shown by clients (NAME, X-WR-CALNAME)
	UIDHost string        // UIDs are <aggregate id>@UIDHost: stable for the life of a meeting
	BaseURL string        // absolute prefix of the API, for each event's URL; empty omits URL
	Refresh time.Duration // how often clients should poll (REFRESH-INTERVAL, X-PUBLISHED-TTL)
	Alarms  []Alarm       // reminders the subscriber asked for, on every event

	// Method is the iTIP method (RFC 5546): PUBLISH for feeds (the
	// default); REQUEST or CANCEL for an invitation mailed to Attendee.
	Method    string
	Organizer string // the mailbox invitations come from (mailto: without the scheme)
	Attendee  string // the mailbox an invitation is for
}

// DefaultRefresh is the polling interval a feed suggests.
const DefaultRefresh = time.Hour

const prodID = "-//Chancery//Chancery diplomatic calendar//EN"

// entry is one engagement as the calendar shows it.
type entry struct {
	id, status, summary, kind, path string
	span                            events.Span
	location, description           string
	sequence                        int
	created, updated                time.Time
	inUTC                           bool // timed, but written in UTC: see needsUTC
}

// entriesOf turns views into calendar entries, on every core for a large
// feed.
func entriesOf(list []projections.Engagement) []entry {
	out := make([]entry, len(list))
	parallel(len(list), func(i int) { out[i] = entryOf(&list[i]) })
	return out
}

// parallelMin is the smallest job worth spreading over goroutines.
const parallelMin = 256

// parallel calls fn(i) for i in [0, n), split over GOMAXPROCS goroutines
// when n is large enough to pay for them. fn must only touch index i.
func parallel(n int, fn func(i int)) {
	workers := runtime.GOMAXPROCS(0)
	if n < parallelMin || workers < 2 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// entryOf is how the calendar shows an engagement: the view, and the
// description only a calendar writes.
func entryOf(v *projections.Engagement) entry {
	var d strings.Builder
	switch {
	case v.Type == events.VisitAggregate:
		for _, p := range v.People {
			d.WriteString("Visitor: " + events.PersonLabel(p) + "\n")
		}
	case len(v.People) > 0:
		d.WriteString("Participants:\n")
		for _, p := range v.People {
			d.WriteString("- " + events.PersonLabel(p) + "\n")
		}
	}
	if v.Details != "" {
		d.WriteString("\n" + v.Details + "\n")
	}
	if v.Outcome != "" {
		d.WriteString("\nOutcome: " + v.Outcome + "\n")
	}
	span := v.Span()
	return entry{
		id: v.ID, status: v.Status, summary: v.Title, kind: v.Kind, path: v.Path(),
		span: span, location: v.Place, description: finish(&d, v.Status, v.Reason, v.Source),
		sequence: v.Sequence, created: v.CreatedAt, updated: v.UpdatedAt, inUTC: needsUTC(span),
	}
}

func finish(d *strings.Builder, status, reason string, src *events.Source) string {
	switch status {
	case events.StatusCancelled, events.StatusPostponed, events.StatusRescheduled:
		d.WriteString("\nStatus: " + status)
		if reason != "" {
			d.WriteString(" (" + reason + ")")
		}
		d.WriteString("\n")
	}
	if src != nil && src.URL != "" {
		d.WriteString("\nSource: " + src.URL)
		if src.Published != "" {
			d.WriteString(" (published " + src.Published + ")")
		}
		d.WriteString("\n")
	}
	return strings.TrimSpace(d.String())
}

// Render writes engagements as one iCalendar object: every line escaped,
// folded at 75 octets and ended with CRLF, a VTIMEZONE for every zone a
// timed event uses, and the same bytes for the same engagements and options.
func Render(w io.Writer, list []projections.Engagement, opts Options) error {
	entries := entriesOf(list)
	opts = withDefaults(opts)
	evs := make([][]byte, len(entries))
	parallel(len(entries), func(i int) { evs[i] = appendEvent(nil, entries[i], opts) })
	b := encode(entries, opts, func(i int) []byte { return evs[i] })
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("calendar: write: %w", err)
	}
	return nil
}

func withDefaults(opts Options) Options {
	if opts.Refresh <= 0 {
		opts.Refresh = DefaultRefresh
	}
	if opts.UIDHost == "" {
		opts.UIDHost = "chancery"
	}
	if opts.Name == "" {
		opts.Name = "Chancery"
	}
	if opts.Method == "" {
		opts.Method = "PUBLISH"
	}
	return opts
}

// encode writes the calendar; event(i) gives entries[i]'s VEVENT lines.
func encode(entries []entry, opts Options, event func(i int) []byte) []byte {
	b := make([]byte, 0, 1024+900*len(entries))
	b = appendHeader(b, opts)
	for _, tz := range timezones(entries) {
		b = appendComponent(b, tz)
	}
	for i := range entries {
		b = append(b, event(i)...)
	}
	return appendLine(b, "END:VCALENDAR")
}

// timezones returns a VTIMEZONE for each zone used by a timed entry,
// covering the years its entries span. A calendar with no timed entry still
// carries UTC's: RFC 5545 wants at least one component in every calendar.
func timezones(entries []entry) []*ical.Component {
	type yearSpan struct{ from, to time.Time }
	zones := map[string]*yearSpan{}
	for _, e := range entries {
		if e.span.AllDay() || e.inUTC {
			continue
		}
		a, b := e.span.UTC()
		if z, ok := zones[e.span.Timezone]; ok {
			z.from, z.to = minTime(z.from, a), maxTime(z.to, b)
		} else {
			zones[e.span.Timezone] = &yearSpan{a, b}
		}
	}
	if len(entries) == 0 {
		t := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		zones["UTC"] = &yearSpan{t, t}
	}
	names := make([]string, 0, len(zones))
	for n := range zones {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*ical.Component, 0, len(names))
	for _, n := range names {
		z := zones[n]
		out = append(out, VTimezone(events.Span{Timezone: n}.Location(), z.from, z.to))
	}
	return out
}

// needsUTC reports whether a timed span must be written in UTC instead of
// its zone's local time: when its start or end falls in a DST gap (a wall
// clock that never shows) or in a repeated hour (one that shows twice).
// Clients resolve such local times differently (RFC 5545 §3.3.5 says the
// first occurrence and the offset before the gap; ical.js, for one, takes
// the second and the offset after), so only UTC names the instant the read
// model means.
func needsUTC(s events.Span) bool {
	if s.AllDay() {
		return false
	}
	loc := s.Location()
	return !uniqueLocal(s.Start, loc) || !uniqueLocal(s.End, loc)
}

// uniqueLocal reports whether the wall-clock time v (events.DateTimeLayout)
// names exactly one instant in loc.
func uniqueLocal(v string, loc *time.Location) bool {
	wall, err := time.Parse(events.DateTimeLayout, v)
	if err != nil {
		return true
	}
	// The common case first: no transition within two days either side.
	if t, err := time.ParseInLocation(events.DateTimeLayout, v, loc); err == nil {
		start, end := t.ZoneBounds()
		if !start.After(t.Add(-48*time.Hour)) && (end.IsZero() || !end.Before(t.Add(48*time.Hour))) {
			return true
		}
	}
	// Every offset the zone uses from two days before to two days after:
	// an instant with wall clock v has one of them.
	offsets := map[int]bool{}
	t := wall.Add(-48 * time.Hour).In(loc)
	for end := wall.Add(48 * time.Hour); t.Before(end); {
		_, off := t.Zone()
		offsets[off] = true
		next := tzNext(t)
		if next.IsZero() {
			break
		}
		t = next
	}
	n := 0
	for off := range offsets {
		if wall.Add(-time.Duration(off)*time.Second).In(loc).Format(events.DateTimeLayout) == v {
			n++
		}
	}
	return n == 1
}

// utc writes t as an iCalendar UTC date-time, 20060102T150405Z.
func utc(t time.Time) string {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	if y < 0 || y > 9999 {
		return t.Format("20060102T150405Z")
	}
	var b [16]byte
	put := func(at, v, width int) {
		for i := at + width - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, y, 4)
	put(4, int(mo), 2)
	put(6, d, 2)
	b[8] = 'T'
	put(9, h, 2)
	put(11, mi, 2)
	put(13, sec, 2)
	b[15] = 'Z'
	return string(b[:])
}

// escapeText escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon,
// comma, and every line break as \n, so no input can end a content line.
// Other control characters are dropped, and each byte of invalid UTF-8
// becomes U+FFFD, as encoding/json does: iCalendar is UTF-8 throughout.
func escapeText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c == ';':
			b.WriteString(`\;`)
		case c == ',':
			b.WriteString(`\,`)
		case c == '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			b.WriteString(`\n`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			// not allowed in TEXT
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteString(string(utf8.RuneError))
				continue
			}
			b.WriteString(s[i : i+size])
			i += size - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// duration formats a positive duration as an RFC 5545 DURATION.
func duration(d time.Duration) string {
	if d <= 0 {
		return "PT0S"
	}
	s := "P"
	if days := d / (24 * time.Hour); days > 0 && d%(24*time.Hour) == 0 {
		return s + strconv.Itoa(int(days)) + "D"
	}
	s += "T"
	if h := d / time.Hour; h > 0 {
		s += strconv.Itoa(int(h)) + "H"
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		s += strconv.Itoa(int(m)) + "M"
		d -= m * time.Minute
	}
	if sec := d / time.Second; sec > 0 {
		s += strconv.Itoa(int(sec)) + "S"
	}
	return s
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
