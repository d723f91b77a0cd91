package calendar

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

func tzLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func tzYears(t *testing.T, name string, y1, y2 int) (*time.Location, time.Time, time.Time) {
	loc := tzLoad(t, name)
	return loc, time.Date(y1, 1, 1, 9, 0, 0, 0, loc), time.Date(y2, 12, 31, 18, 0, 0, 0, loc)
}

// tzEncode encodes a calendar holding tz and returns its bytes, folded.
func tzEncode(t *testing.T, tz *ical.Component) []byte {
	t.Helper()
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropProductID, "-//Chancery//vtimezone test//EN")
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Children = append(cal.Children, tz)
	var buf bytes.Buffer
	fw := NewFoldingWriter(&buf)
	if err := ical.NewEncoder(fw).Encode(cal); err != nil {
		t.Fatalf("encode: %v", err)
	}
	if err := fw.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tzRoundTrip encodes tz and decodes it back with go-ical.
func tzRoundTrip(t *testing.T, tz *ical.Component) *ical.Component {
	t.Helper()
	cal, err := ical.NewDecoder(bytes.NewReader(tzEncode(t, tz))).Decode()
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(cal.Children) != 1 || cal.Children[0].Name != ical.CompTimezone {
		t.Fatalf("decoded %d children", len(cal.Children))
	}
	return cal.Children[0]
}

func tzProp(c *ical.Component, name string) string {
	if p := c.Props.Get(name); p != nil {
		return p.Value
	}
	return ""
}

func tzDump(c *ical.Component) string {
	var sb strings.Builder
	for _, o := range c.Children {
		fmt.Fprintf(&sb, "%s %s %s→%s %s %s\n", o.Name, tzProp(o, "DTSTART"),
			tzProp(o, "TZOFFSETFROM"), tzProp(o, "TZOFFSETTO"), tzProp(o, "TZNAME"), tzProp(o, "RRULE"))
	}
	return sb.String()
}

// tzParseOffset parses ±HHMM[SS].
func tzParseOffset(t *testing.T, s string) int {
	t.Helper()
	if len(s) != 5 && len(s) != 7 || (s[0] != '+' && s[0] != '-') {
		t.Fatalf("bad UTC offset %q", s)
	}
	n := 0
	for k, mul := range []int{3600, 60, 1} {
		if 1+2*k+2 > len(s) {
			break
		}
		v, err := strconv.Atoi(s[1+2*k : 3+2*k])
		if err != nil {
			t.Fatalf("bad UTC offset %q", s)
		}
		n += v * mul
	}
	if s[0] == '-' {
		if n == 0 {
			t.Fatalf("-0000 is not allowed")
		}
		n = -n
	}
	return n
}

type tzOnset struct {
	at     time.Time
	offset int
	obs    *ical.Component
}

// tzNthWeekday is the date of the nth (or, for -1, the last) weekday wd of
// a month, at the clock of wall.
func tzNthWeekday(year int, month time.Month, n int, wd time.Weekday, wall time.Time) time.Time {
	h, m, s := wall.Clock()
	if n > 0 {
		first := time.Date(year, month, 1, h, m, s, 0, time.UTC)
		return first.AddDate(0, 0, (int(wd)-int(first.Weekday())+7)%7+7*(n-1))
	}
	last := time.Date(year, month+1, 0, h, m, s, 0, time.UTC)
	return last.AddDate(0, 0, -((int(last.Weekday()) - int(wd) + 7) % 7))
}

// tzOnsets is an independent reading of a VTIMEZONE: every onset of every
// observance up to maxYear, from DTSTART (wall clock in TZOFFSETFROM) and
// the RRULE forms VTimezone writes (FREQ=YEARLY;BYMONTH;BYDAY;UNTIL).
func tzOnsets(t *testing.T, tz *ical.Component, maxYear int) []tzOnset {
	t.Helper()
	days := map[string]time.Weekday{"SU": 0, "MO": 1, "TU": 2, "WE": 3, "TH": 4, "FR": 5, "SA": 6}
	var out []tzOnset
	for _, o := range tz.Children {
		if o.Name != ical.CompTimezoneStandard && o.Name != ical.CompTimezoneDaylight {
			t.Fatalf("unexpected %s in VTIMEZONE", o.Name)
		}
		dt := o.Props.Get(ical.PropDateTimeStart)
		if dt == nil || len(dt.Params) != 0 {
			t.Fatalf("DTSTART missing or with parameters: %+v", dt)
		}
		wall, err := time.Parse("20060102T150405", dt.Value)
		if err != nil {
			t.Fatalf("DTSTART %q: %v", dt.Value, err)
		}
		from := tzParseOffset(t, tzProp(o, ical.PropTimezoneOffsetFrom))
		to := tzParseOffset(t, tzProp(o, ical.PropTimezoneOffsetTo))
		onset := func(w time.Time) time.Time { return w.Add(-time.Duration(from) * time.Second) }
		first := onset(wall)
		out = append(out, tzOnset{first, to, o})
		rule := tzProp(o, ical.PropRecurrenceRule)
		if rule == "" {
			continue
		}
		parts := map[string]string{}
		for _, kv := range strings.Split(rule, ";") {
			k, v, _ := strings.Cut(kv, "=")
			parts[k] = v
		}
		if parts["FREQ"] != "YEARLY" || len(parts) > 4 {
			t.Fatalf("unexpected RRULE %q", rule)
		}
		month, err := strconv.Atoi(parts["BYMONTH"])
		if err != nil || month != int(wall.Month()) {
			t.Fatalf("RRULE %q: BYMONTH does not match DTSTART %s", rule, dt.Value)
		}
		byday := parts["BYDAY"]
		n, err := strconv.Atoi(byday[:len(byday)-2])
		wd, okDay := days[byday[len(byday)-2:]]
		if err != nil || !okDay || !(n == -1 || n >= 1 && n <= 4) {
			t.Fatalf("RRULE %q: bad BYDAY", rule)
		}
		var until time.Time
		if u, ok := parts["UNTIL"]; ok {
			if until, err = time.Parse("20060102T150405Z", u); err != nil {
				t.Fatalf("RRULE %q: UNTIL must be UTC: %v", rule, err)
			}
		}
		if d := tzNthWeekday(wall.Year(), wall.Month(), n, wd, wall); !d.Equal(wall) {
			t.Fatalf("DTSTART %s is not an occurrence of %q (%s)", dt.Value, rule, d)
		}
		for y := wall.Year() + 1; y <= maxYear; y++ {
			at := onset(tzNthWeekday(y, wall.Month(), n, wd, wall))
			if !until.IsZero() && at.After(until) {
				break
			}
			out = append(out, tzOnset{at, to, o})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

// tzOffsetAt is the offset the onsets give at instant x.
func tzOffsetAt(onsets []tzOnset, x time.Time) (int, bool) {
	i := sort.Search(len(onsets), func(i int) bool { return onsets[i].at.After(x) })
	if i == 0 {
		return 0, false
	}
	return onsets[i-1].offset, true
}

// tzGoTransitions lists Go's offset changes in [a, b).
func tzGoTransitions(a, b time.Time) []time.Time {
	var out []time.Time
	for t := a; ; {
		_, e := t.ZoneBounds()
		if !e.IsZero() && !e.After(t) {
			// Past 2037 Go ends the last period of a leap year on December
			// 31: step over the day rather than trust that end.
			t = t.Add(time.Hour)
			continue
		}
		if e.IsZero() || !e.Before(b) {
			return out
		}
		out = append(out, e)
		t = e
	}
}

func TestVTimezoneBelgradeRulePair(t *testing.T) {
	loc, from, to := tzYears(t, "Europe/Belgrade", 2021, 2023)
	tz := tzRoundTrip(t, VTimezone(loc, from, to))
	if got := tzProp(tz, ical.PropTimezoneID); got != "Europe/Belgrade" {
		t.Fatalf("TZID = %q", got)
	}
	got := tzDump(tz)
	want := "STANDARD 20191027T030000 +0200→+0100 CET FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\n" +
		"DAYLIGHT 20200329T020000 +0100→+0200 CEST FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestVTimezoneNewYork(t *testing.T) {
	wantRules(t, "America/New_York", 2021, 2023,
		"STANDARD 20191103T020000 -0400→-0500 EST FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\n"+
			"DAYLIGHT 20200308T020000 -0500→-0400 EDT FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\n")
}

func TestVTimezoneSouthernAndOddOffsets(t *testing.T) {
	wantRules(t, "Pacific/Chatham", 2022, 2022,
		"DAYLIGHT 20200927T024500 +1245→+1345 +1345 FREQ=YEARLY;BYMONTH=9;BYDAY=-1SU\n"+
			"STANDARD 20210404T034500 +1345→+1245 +1245 FREQ=YEARLY;BYMONTH=4;BYDAY=1SU\n")
}

// Zones whose data mark winter as DST still get summer as DAYLIGHT in a
// rule pair, as Windows and Outlook model them.
func TestVTimezoneDublinSummerIsDaylight(t *testing.T) {
	loc, from, to := tzYears(t, "Europe/Dublin", 2022, 2022)
	tz := VTimezone(loc, from, to)
	if len(tz.Children) != 2 {
		t.Fatalf("want a rule pair, got\n%s", tzDump(tz))
	}
	for _, o := range tz.Children {
		summer := tzProp(o, ical.PropTimezoneOffsetTo) == "+0100"
		if summer != (o.Name == ical.CompTimezoneDaylight) {
			t.Fatalf("summer time must be DAYLIGHT:\n%s", tzDump(tz))
		}
	}
}

func TestVTimezoneNoDST(t *testing.T) {
	tests := []struct {
		zone   string
		y1, y2 int
		want   string
	}{
		{"Europe/Moscow", 2019, 2022, "STANDARD 20180101T000000 +0300→+0300 MSK \n"},
		{"Asia/Tokyo", 2022, 2022, "STANDARD 20210101T000000 +0900→+0900 JST \n"},
		{"Asia/Kolkata", 2022, 2023, "STANDARD 20210101T000000 +0530→+0530 IST \n"},
		{"UTC", 2022, 2022, "STANDARD 20210101T000000 +0000→+0000 UTC \n"},
	}
	for _, tc := range tests {
		loc, from, to := tzYears(t, tc.zone, tc.y1, tc.y2)
		tz := tzRoundTrip(t, VTimezone(loc, from, to))
		if got := tzDump(tz); got != tc.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tc.zone, got, tc.want)
		}
	}
	// nil means UTC; a fixed zone has no transitions either.
	if got := tzProp(VTimezone(nil, time.Time{}, time.Time{}), ical.PropTimezoneID); got != "UTC" {
		t.Errorf("nil location: TZID %q", got)
	}
	fixed := VTimezone(time.FixedZone("X", -(3*3600+30*60)), time.Now(), time.Now())
	if len(fixed.Children) != 1 || tzProp(fixed.Children[0], ical.PropTimezoneOffsetTo) != "-0330" {
		t.Errorf("fixed zone:\n%s", tzDump(fixed))
	}
}

// Irregular zones: every one of Go's transitions in the range has an
// observance starting there with Go's offsets, and no rule claims more.
func TestVTimezoneIrregular(t *testing.T) {
	tests := []struct {
		zone    string
		y1, y2  int
		rules   int // RRULEs expected
		wantSub string
	}{
		// Ramadan moves 11 days a year: no yearly pattern.
		{"Africa/Casablanca", 2019, 2021, 0, "STANDARD 20200419T030000 +0100→+0000 +00 \n"},
		// Moscow kept DST to 2010, moved to +04 for good in March 2011.
		{"Europe/Moscow", 2010, 2012, 2, "STANDARD 20110327T020000 +0300→+0400 MSK \n"},
		// Chile moved its dates and 00:00 falls on "Sun>=2", not a week number.
		{"America/Santiago", 2015, 2019, -1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.zone, func(t *testing.T) {
			loc, from, to := tzYears(t, tc.zone, tc.y1, tc.y2)
			tz := tzRoundTrip(t, VTimezone(loc, from, to))
			dump := tzDump(tz)
			if tc.wantSub != "" && !strings.Contains(dump, tc.wantSub) {
				t.Fatalf("missing %q in\n%s", tc.wantSub, dump)
			}
			rules := strings.Count(dump, "FREQ=YEARLY")
			if tc.rules >= 0 && rules != tc.rules {
				t.Fatalf("%d rules, want %d:\n%s", rules, tc.rules, dump)
			}
			if tc.zone == "Europe/Moscow" && !strings.Contains(dump, "UNTIL=20101030T230000Z") {
				t.Fatalf("the 2010 rules must end with UNTIL:\n%s", dump)
			}
			byStart := map[string]*ical.Component{}
			for _, o := range tz.Children {
				if tzProp(o, ical.PropRecurrenceRule) == "" {
					byStart[tzProp(o, ical.PropDateTimeStart)] = o
				}
			}
			onsets := tzOnsets(t, tz, tc.y2+2)
			a := time.Date(tc.y1-1, 1, 1, 0, 0, 0, 0, loc)
			b := time.Date(tc.y2+2, 1, 1, 0, 0, 0, 0, loc)
			trs := tzGoTransitions(a, b)
			if len(trs) < 4 {
				t.Fatalf("only %d transitions in range", len(trs))
			}
			for _, tr := range trs {
				_, oldOff := tr.Add(-time.Second).Zone()
				name, off := tr.Zone()
				var hit *tzOnset
				for k := range onsets {
					if onsets[k].at.Equal(tr) {
						hit = &onsets[k]
					}
				}
				if hit == nil {
					t.Fatalf("no observance starts at %s:\n%s", tr.UTC(), dump)
				}
				o := hit.obs
				if g, w := tzProp(o, ical.PropTimezoneOffsetFrom), tzOffset(oldOff); g != w {
					t.Errorf("%s: TZOFFSETFROM %s, Go %s", tr.UTC(), g, w)
				}
				if g, w := tzProp(o, ical.PropTimezoneOffsetTo), tzOffset(off); g != w {
					t.Errorf("%s: TZOFFSETTO %s, Go %s", tr.UTC(), g, w)
				}
				if g := tzProp(o, ical.PropTimezoneName); g != name {
					t.Errorf("%s: TZNAME %s, Go %s", tr.UTC(), g, name)
				}
				if tzProp(o, ical.PropRecurrenceRule) == "" {
					local := tr.UTC().Add(time.Duration(oldOff) * time.Second).Format("20060102T150405")
					if byStart[local] != o {
						t.Errorf("%s: individual observance DTSTART %s, want %s", tr.UTC(), tzProp(o, "DTSTART"), local)
					}
				}
			}
			// Every onset in the range is one of Go's transitions.
			goAt := map[time.Time]bool{}
			for _, tr := range trs {
				goAt[tr.UTC()] = true
			}
			for _, on := range onsets {
				if !on.at.Before(a) && on.at.Before(b) && !goAt[on.at.UTC()] {
					t.Errorf("onset at %s is not a transition of %s", on.at, tc.zone)
				}
			}
		})
	}
}

// The VTIMEZONE, read back by an independent evaluator, gives Go's offset
// at every sampled instant of the covered range.
func TestVTimezoneMatchesGo(t *testing.T) {
	tests := []struct {
		zone   string
		y1, y2 int
	}{
		{"Europe/Belgrade", 2021, 2023},
		{"Europe/Moscow", 2019, 2022},
		{"Europe/Moscow", 2009, 2015},
		{"America/New_York", 2005, 2009}, // the 2007 US rule change
		{"America/New_York", 2024, 2026},
		{"Australia/Sydney", 2006, 2010}, // 2008 rule change
		{"Asia/Kolkata", 2020, 2022},
		{"Pacific/Chatham", 2020, 2023},
		{"America/Santiago", 2010, 2024},
		{"Africa/Casablanca", 2017, 2020},
		{"Europe/Dublin", 2021, 2022},
		{"Africa/Monrovia", 1971, 1973}, // -0:44:30 until 1972
		// Past 2037 Go computes transitions from the zone's rule.
		// and ends leap years early: the year after one is the test.
		{"Europe/Berlin", 2041, 2042},
		{"Australia/Sydney", 2045, 2046},
		{"America/New_York", 2037, 2041},
		{"UTC", 2022, 2022},
	}
	for _, tc := range tests {
		loc, from, to := tzYears(t, tc.zone, tc.y1, tc.y2)
		tz := tzRoundTrip(t, VTimezone(loc, from, to))
		onsets := tzOnsets(t, tz, tc.y2+3)
		a := time.Date(tc.y1-1, 1, 1, 0, 0, 0, 0, loc)
		b := time.Date(tc.y2+2, 1, 1, 0, 0, 0, 0, loc)
		var samples []time.Time
		for x := a; x.Before(b); x = x.Add(5*time.Hour + 7*time.Minute) {
			samples = append(samples, x)
		}
		for _, tr := range tzGoTransitions(a, b) {
			samples = append(samples, tr.Add(-time.Second), tr, tr.Add(time.Second))
		}
		bad := 0
		for _, x := range samples {
			_, want := x.In(loc).Zone()
			got, ok := tzOffsetAt(onsets, x)
			if !ok || got != want {
				bad++
				if bad <= 3 {
					t.Errorf("%s %d–%d at %s: VTIMEZONE gives %d (defined %v), Go %d",
						tc.zone, tc.y1, tc.y2, x.UTC(), got, ok, want)
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d samples wrong; VTIMEZONE:\n%s", tc.zone, bad, len(samples), tzDump(tz))
		}
	}
}

func TestVTimezoneDeterministic(t *testing.T) {
	for _, zone := range []string{"Europe/Belgrade", "America/Santiago", "Africa/Casablanca", "Europe/Moscow"} {
		loc, from, to := tzYears(t, zone, 2010, 2022)
		a := tzEncode(t, VTimezone(loc, from, to))
		b := tzEncode(t, VTimezone(loc, from, to))
		if !bytes.Equal(a, b) {
			t.Fatalf("%s: two calls differ", zone)
		}
		// Same years, other instants and argument order: same bytes.
		c := tzEncode(t, VTimezone(loc, to.AddDate(0, -3, 0), from.AddDate(0, 5, 0)))
		if !bytes.Equal(a, c) {
			t.Fatalf("%s: output depends on more than the years", zone)
		}
	}
}

func TestVTimezoneEncodes(t *testing.T) {
	loc, from, to := tzYears(t, "Europe/Belgrade", 2022, 2022)
	out := string(tzEncode(t, VTimezone(loc, from, to)))
	for _, want := range []string{
		"BEGIN:VTIMEZONE\r\nTZID:Europe/Belgrade\r\n",
		"BEGIN:DAYLIGHT\r\nDTSTART:20210328T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n" +
			"TZNAME:CEST\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\n",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "TZID=") {
		t.Fatalf("DTSTART must carry no TZID parameter:\n%s", out)
	}
}

func TestVTimezoneOffsetFormat(t *testing.T) {
	for sec, want := range map[int]string{
		0: "+0000", 3600: "+0100", -18000: "-0500", 19800: "+0530", 45900: "+1245",
		-(44*60 + 30): "-004430", 1172: "+001932", 49500: "+1345",
	} {
		if got := tzOffset(sec); got != want {
			t.Errorf("tzOffset(%d) = %q, want %q", sec, got, want)
		}
	}
}

// Past the zone data's last listed transition (2037), Go's ZoneBounds ends
// leap years on December 31; the VTIMEZONE must still have every later
// transition: a rule pair that does not stop in the leap year.
func TestVTimezoneAfter2037KeepsTheRules(t *testing.T) {
	for _, y := range []int{2038, 2040, 2041, 2045, 2049} {
		loc, from, to := tzYears(t, "Europe/Berlin", y, y)
		got := tzDump(VTimezone(loc, from, to))
		if strings.Count(got, "FREQ=YEARLY;BYMONTH=") != 2 || strings.Contains(got, "UNTIL") || strings.Count(got, "\n") != 2 {
			t.Errorf("Europe/Berlin in %d: want an endless rule pair, got\n%s", y, got)
		}
	}
}

// wantRules checks zone's VTIMEZONE for the years from–to, as tzDump
// writes it.
func wantRules(t *testing.T, zone string, from, to int, want string) {
	t.Helper()
	loc, start, end := tzYears(t, zone, from, to)
	if got := tzDump(VTimezone(loc, start, end)); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
