package calendar

import (
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"

	"github.com/chancery/chancery/events"
)

// The encoder writes content lines straight into a byte slice, folded as it
// goes, in the order go-ical's encoder uses (properties by name, parameters
// by name): a feed of thousands of events is rendered without building a
// property map per event. FoldingWriter and go-ical's encoder remain the
// reference the tests hold it to.

// appendLine appends one content line, folded at 75 octets (a fold never
// splits a UTF-8 sequence; a continuation starts with a space), and CRLF.
// The line holds no CR or LF: values are escaped before they get here.
func appendLine(b []byte, line string) []byte {
	if len(line) <= foldLimit {
		b = append(b, line...)
		return append(b, '\r', '\n')
	}
	col := 0
	for i := 0; i < len(line); {
		size := 1
		if c := line[i]; c >= utf8.RuneSelf {
			_, size = utf8.DecodeRuneInString(line[i:])
		}
		if col+size > foldLimit {
			b = append(b, '\r', '\n', ' ')
			col = 1
		}
		b = append(b, line[i:i+size]...)
		col += size
		i += size
	}
	return append(b, '\r', '\n')
}

// appendProp appends the content line name+value, folded, without building
// the line first.
func appendProp(b []byte, name, value string) []byte {
	if len(name)+len(value) <= foldLimit {
		b = append(b, name...)
		b = append(b, value...)
		return append(b, '\r', '\n')
	}
	l := lineWriter{b: b}
	l.str(name)
	l.str(value)
	return append(l.b, '\r', '\n')
}

// appendTextProp appends name followed by raw escaped as a TEXT value
// (escapeText's rules), folded, in one pass.
func appendTextProp(b []byte, name, raw string) []byte {
	l := lineWriter{b: b}
	l.str(name)
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '\\':
			l.units('\\', '\\')
		case c == ';':
			l.units('\\', ';')
		case c == ',':
			l.units('\\', ',')
		case c == '\r':
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			l.units('\\', 'n')
		case c == '\n':
			l.units('\\', 'n')
		case c == '\t':
			l.units(c)
		case c < 0x20 || c == 0x7f:
			// not allowed in TEXT
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(raw[i:])
			if r == utf8.RuneError && size == 1 {
				l.unit(string(utf8.RuneError))
				continue
			}
			l.unit(raw[i : i+size])
			i += size - 1
		default:
			l.units(c)
		}
	}
	return append(l.b, '\r', '\n')
}

// lineWriter appends one content line, folding it as FoldingWriter does:
// a unit (a rune, or an ASCII byte) that would pass 75 octets starts a
// continuation line.
type lineWriter struct {
	b   []byte
	col int
}

func (l *lineWriter) unit(u string) {
	if l.col+len(u) > foldLimit {
		l.b = append(l.b, '\r', '\n', ' ')
		l.col = 1
	}
	l.b = append(l.b, u...)
	l.col += len(u)
}

func (l *lineWriter) units(cs ...byte) {
	for _, c := range cs {
		if l.col+1 > foldLimit {
			l.b = append(l.b, '\r', '\n', ' ')
			l.col = 1
		}
		l.b = append(l.b, c)
		l.col++
	}
}

func (l *lineWriter) str(s string) {
	if l.col+len(s) <= foldLimit {
		l.b = append(l.b, s...)
		l.col += len(s)
		return
	}
	for i := 0; i < len(s); {
		size := 1
		if s[i] >= utf8.RuneSelf {
			_, size = utf8.DecodeRuneInString(s[i:])
		}
		l.unit(s[i : i+size])
		i += size
	}
}

// paramValue quotes a parameter value the way go-ical does.
func paramValue(v string) string {
	if strings.ContainsAny(v, ";:,") {
		return `"` + v + `"`
	}
	return v
}

// appendComponent appends a go-ical component (a VTIMEZONE) as go-ical's
// encoder would write it, folded.
func appendComponent(b []byte, c *ical.Component) []byte {
	b = appendLine(b, "BEGIN:"+c.Name)
	names := make([]string, 0, len(c.Props))
	for n := range c.Props {
		names = append(names, n)
	}
	sort.Strings(names)
	var line strings.Builder
	for _, n := range names {
		for _, p := range c.Props[n] {
			line.Reset()
			line.WriteString(p.Name)
			params := make([]string, 0, len(p.Params))
			for k := range p.Params {
				params = append(params, k)
			}
			sort.Strings(params)
			for _, k := range params {
				line.WriteString(";" + k + "=")
				for i, v := range p.Params[k] {
					if i > 0 {
						line.WriteByte(',')
					}
					line.WriteString(paramValue(v))
				}
			}
			line.WriteString(":" + p.Value)
			b = appendLine(b, line.String())
		}
	}
	for _, child := range c.Children {
		b = appendComponent(b, child)
	}
	return appendLine(b, "END:"+c.Name)
}

// appendHeader appends BEGIN:VCALENDAR and the calendar's properties.
func appendHeader(b []byte, opts Options) []byte {
	b = appendLine(b, "BEGIN:VCALENDAR")
	b = appendLine(b, "CALSCALE:GREGORIAN")
	b = appendLine(b, "METHOD:"+opts.Method)
	publish := opts.Method == "PUBLISH" // a feed; an invitation is not polled
	if publish {
		b = appendLine(b, "NAME:"+escapeText(opts.Name))
	}
	b = appendLine(b, "PRODID:"+prodID)
	refresh := duration(opts.Refresh)
	if publish {
		b = appendLine(b, "REFRESH-INTERVAL;VALUE=DURATION:"+refresh)
	}
	b = appendLine(b, "VERSION:2.0")
	if publish {
		b = appendLine(b, "X-PUBLISHED-TTL:"+refresh)
		b = appendLine(b, "X-WR-CALNAME:"+escapeText(opts.Name))
	}
	return b
}

// appendEvent appends one VEVENT, its properties in name order.
func appendEvent(b []byte, e entry, opts Options) []byte {
	b = appendLine(b, "BEGIN:VEVENT")
	if opts.Attendee != "" {
		// An observer who is told, not asked: no reply expected.
		b = appendLine(b, "ATTENDEE;PARTSTAT=NEEDS-ACTION;ROLE=NON-PARTICIPANT;RSVP=FALSE:mailto:"+opts.Attendee)
	}
	b = appendTextProp(b, "CATEGORIES:", e.kind)
	b = appendProp(b, "CREATED:", utc(e.created))
	if e.description != "" {
		b = appendTextProp(b, "DESCRIPTION:", e.description)
	}
	var start, end string
	switch {
	case e.span.AllDay():
		s, _ := time.Parse(events.DateLayout, e.span.Start)
		x, _ := time.Parse(events.DateLayout, e.span.End)
		start = ";VALUE=DATE:" + s.Format("20060102")
		end = ";VALUE=DATE:" + x.AddDate(0, 0, 1).Format("20060102") // exclusive
	case e.inUTC:
		a, z := e.span.UTC()
		start, end = ":"+utc(a), ":"+utc(z)
	default:
		tzid := ";TZID=" + paramValue(e.span.Timezone) + ":"
		start, end = tzid+wall(e.span.Start), tzid+wall(e.span.End)
	}
	b = appendLine(b, "DTEND"+end)
	// DTSTAMP is the last change, not the time of rendering: the same read
	// model must give the same bytes, or ETags would lie.
	b = appendProp(b, "DTSTAMP:", utc(e.updated))
	b = appendLine(b, "DTSTART"+start)
	b = appendProp(b, "LAST-MODIFIED:", utc(e.updated))
	if e.location != "" {
		b = appendTextProp(b, "LOCATION:", e.location)
	}
	organizer := "calendar@" + opts.UIDHost
	if opts.Organizer != "" {
		organizer = opts.Organizer
	}
	b = appendLine(b, "ORGANIZER;CN=Chancery:mailto:"+organizer)
	b = appendProp(b, "SEQUENCE:", strconv.Itoa(e.sequence))
	summary, status := e.summary, "CONFIRMED"
	switch e.status {
	case events.StatusCancelled:
		status, summary = "CANCELLED", "Cancelled: "+summary
	case events.StatusPostponed:
		status, summary = "TENTATIVE", "Postponed: "+summary
	}
	b = appendProp(b, "STATUS:", status)
	b = appendTextProp(b, "SUMMARY:", summary)
	// Subscribers follow these meetings; they do not attend them.
	b = appendLine(b, "TRANSP:TRANSPARENT")
	b = appendProp(b, "UID:", e.id+"@"+opts.UIDHost)
	if opts.BaseURL != "" {
		b = appendProp(b, "URL:", strings.TrimRight(opts.BaseURL, "/")+e.path)
	}
	for _, a := range opts.Alarms {
		b = appendLine(b, "BEGIN:VALARM")
		b = appendLine(b, "ACTION:DISPLAY")
		b = appendTextProp(b, "DESCRIPTION:", summary)
		b = appendProp(b, "TRIGGER:", a.Trigger)
		b = appendLine(b, "END:VALARM")
	}
	return appendLine(b, "END:VEVENT")
}

// wall writes a local date-time (events.DateTimeLayout, 2006-01-02T15:04:05)
// as iCalendar does (20060102T150405).
func wall(local string) string {
	if len(local) != len(events.DateTimeLayout) {
		t, _ := time.Parse(events.DateTimeLayout, local)
		return t.Format("20060102T150405")
	}
	var b [15]byte
	copy(b[0:4], local[0:4])
	copy(b[4:6], local[5:7])
	copy(b[6:8], local[8:10])
	b[8] = 'T'
	copy(b[9:11], local[11:13])
	copy(b[11:13], local[14:16])
	copy(b[13:15], local[17:19])
	return string(b[:])
}
