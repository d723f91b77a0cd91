package calendar

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-ical"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/projections"
)

// textValue is what a TEXT value must read back as: every line break (CRLF,
// CR or LF) one newline, tabs kept, other control characters dropped, and
// invalid UTF-8 replaced as the read model's JSON replaces it.
func textValue(s string) string {
	sane := jsonText(s)
	sane = strings.ReplaceAll(sane, "\r\n", "\n")
	sane = strings.ReplaceAll(sane, "\r", "\n")
	return strings.Map(func(r rune) rune {
		if r != '\n' && r != '\t' && (r < 0x20 || r == 0x7f) {
			return -1
		}
		return r
	}, sane)
}

// jsonText is s as the read model gives it back: JSON replaces each byte of
// invalid UTF-8 with U+FFFD.
func jsonText(s string) string {
	var out string
	if b, err := json.Marshal(s); err == nil {
		json.Unmarshal(b, &out)
	}
	return out
}

// FuzzEscapeFold puts arbitrary text in a meeting's title and venue and in
// the calendar's name, and reads the rendered feed back: the bytes are
// well-formed RFC 5545 lines (CRLF ends, at most 75 octets, valid UTF-8 on
// every physical line, so no fold splits a character), go-ical's decoder
// unfolds and unescapes each value back to the input, and no input can end
// its content line: the feed holds exactly one VEVENT whatever the title.
// The seed corpus is in testdata/fuzz/FuzzEscapeFold.
func FuzzEscapeFold(f *testing.F) {
	f.Fuzz(func(t *testing.T, text string) {
		m := events.Meeting{
			ID: talksID, Version: 1, Kind: "talks", Title: text, Status: events.StatusScheduled,
			Start: "2022-08-22T10:00:00", End: "2022-08-22T11:00:00", Timezone: "Europe/Moscow",
			Location:  events.Location{City: "Moscow", Country: "RU", Venue: text},
			CreatedAt: release, UpdatedAt: release,
		}
		var out bytes.Buffer
		opts := Options{Name: "Chancery: " + text, UIDHost: "chancery.test", Alarms: []Alarm{{Trigger: "-PT1H"}}}
		if err := Render(&out, []projections.Engagement{*projections.MeetingView(&m)}, opts); err != nil {
			t.Fatalf("Render: %v", err)
		}
		ics := out.String()

		if !strings.HasSuffix(ics, "\r\n") {
			t.Fatalf("the calendar does not end with CRLF: %q", ics[max(0, len(ics)-20):])
		}
		vevents := 0
		for i, line := range strings.Split(strings.TrimSuffix(ics, "\r\n"), "\r\n") {
			switch {
			case len(line) > foldLimit:
				t.Fatalf("line %d is %d octets: %q", i+1, len(line), line)
			case strings.ContainsAny(line, "\r\n"):
				t.Fatalf("line %d has a bare CR or LF: %q", i+1, line)
			case !utf8.ValidString(line):
				t.Fatalf("line %d is not valid UTF-8 (a fold inside a character?): %q", i+1, line)
			case line == "":
				t.Fatalf("line %d is empty", i+1)
			case line == "BEGIN:VEVENT":
				vevents++
			}
		}
		if vevents != 1 {
			t.Fatalf("%d lines BEGIN:VEVENT, want 1:\n%s", vevents, ics)
		}

		cal, err := ical.NewDecoder(strings.NewReader(ics)).Decode()
		if err != nil {
			t.Fatalf("go-ical cannot read the calendar back: %v\n%s", err, ics)
		}
		evs := cal.Events()
		if len(evs) != 1 {
			t.Fatalf("go-ical reads %d events, want 1", len(evs))
		}
		alarms := 0
		for _, c := range evs[0].Children {
			if c.Name == ical.CompAlarm {
				alarms++
			}
		}
		if alarms != 1 {
			t.Fatalf("%d VALARMs, want 1", alarms)
		}
		want := textValue(text)
		// A venue with nothing visible in it is left out.
		venue := "Moscow, Russian Federation"
		if strings.TrimFunc(jsonText(text), func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) != "" {
			venue = want + ", " + venue
		}
		for _, c := range []struct {
			props      ical.Props
			name, want string
		}{
			{evs[0].Props, ical.PropSummary, want},
			{evs[0].Props, ical.PropLocation, venue},
			{cal.Props, ical.PropName, "Chancery: " + want},
			{cal.Props, "X-WR-CALNAME", "Chancery: " + want},
		} {
			p := c.props.Get(c.name)
			if p == nil {
				t.Fatalf("no %s", c.name)
			}
			// One value: a comma in the text must be escaped, or a
			// reader takes it for a list separator.
			got, err := p.TextList()
			if err != nil || len(got) != 1 || got[0] != c.want {
				t.Fatalf("%s reads back as %q (%v), want %q; raw %q", c.name, got, err, c.want, p.Value)
			}
		}
	})
}
