package icalcheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// validWantEvents is what testdata/valid.ics holds.
var validWantEvents = []Event{
	{
		UID:         "allday@fixture.chancery",
		Summary:     "State visit, Serbia",
		Start:       day("2021-11-24"),
		End:         day("2021-11-26"),
		AllDay:      true,
		Status:      "CONFIRMED",
		Sequence:    0,
		Location:    "Palace of Serbia; Novi Beograd",
		Description: "Two days.\nProgramme to follow. Path C:\\Temp",
	},
	{
		// 11:00 in Moscow (+0300) is 08:00Z.
		UID:         "moscow@fixture.chancery",
		Summary:     "Bilateral talks",
		Start:       utc("2022-08-22T08:00:00Z"),
		End:         utc("2022-08-22T09:30:00Z"),
		Status:      "TENTATIVE",
		Sequence:    2,
		Location:    "Москва, Смоленская-Сенная площадь",
		Description: "Переговоры министров иностранных дел. Повестка дня: двусторонние отношения, торговля, культура и образование.",
	},
	{
		// Summer: CEST, +0200.
		UID:      "belgrade-summer@fixture.chancery",
		Summary:  "Press conference",
		Start:    utc("2022-08-22T12:00:00Z"),
		End:      utc("2022-08-22T13:30:00Z"),
		Status:   "CANCELLED",
		Sequence: 3,
	},
	{
		// Starts in CEST (+0200) and ends in CET (+0100).
		UID:      "belgrade-dst-end@fixture.chancery",
		Summary:  "Overnight working session",
		Start:    utc("2022-10-29T20:00:00Z"),
		End:      utc("2022-10-30T09:00:00Z"),
		Status:   "CONFIRMED",
		Sequence: 1,
	},
}

func TestAvailable(t *testing.T) {
	jsOK, pyOK := Available()
	t.Logf("ical.js: %v, python3-icalendar: %v", jsOK, pyOK)
	for p, err := range probe() {
		if err != nil {
			t.Logf("%s: %v", p.name, err)
		}
	}
	requireAll(t)
}

func TestCheckValid(t *testing.T) {
	Check(t, readFixture(t, "valid.ics"), validWantEvents)
}

// The file's own VTIMEZONE decides, even for a TZID that a zone database
// knows: this fixture's Europe/Moscow is deliberately +0500. The other zone
// is unknown to any database.
func TestCheckFileTimezonesWin(t *testing.T) {
	Check(t, readFixture(t, "file_timezones.ics"), []Event{
		{UID: "redefined@fixture.chancery", Summary: "Redefined",
			Start: utc("2022-08-22T06:00:00Z"), End: utc("2022-08-22T07:00:00Z")},
		{UID: "custom@fixture.chancery", Summary: "Custom",
			Start: utc("2022-08-22T05:30:00Z"), End: utc("2022-08-22T06:30:00Z")},
		{UID: "utc@fixture.chancery", Summary: "UTC with duration",
			Start: utc("2022-08-22T11:00:00Z"), End: utc("2022-08-22T11:45:00Z")},
	})
}

// RFC 5545 wants RRULE UNTIL in UTC inside a VTIMEZONE; python3-icalendar 4.x
// and dateutil both stumble over that, and check.py must read it right. The
// VTIMEZONE is calendar.VTimezone's Asia/Gaza for 2024-2027, whose rules end
// in 2026-2027.
func TestCheckRuleUntilUTC(t *testing.T) {
	Check(t, readFixture(t, "until_utc.ics"), []Event{
		{UID: "gaza-before@fixture.chancery", Summary: "Before the last rule onset", // EEST, +0300
			Start: utc("2026-10-10T09:00:00Z"), End: utc("2026-10-10T10:00:00Z")},
		{UID: "gaza-after@fixture.chancery", Summary: "After the last rule onset", // EET, +0200
			Start: utc("2026-11-15T10:00:00Z"), End: utc("2026-11-15T11:00:00Z")},
		{UID: "gaza-2027@fixture.chancery", Summary: "Summer 2027",
			Start: utc("2027-06-15T09:00:00Z"), End: utc("2027-06-15T10:00:00Z")},
	})
}

// Timed wants may be given in any location: they are compared as instants.
func TestCheckWantInAnyLocation(t *testing.T) {
	moscow := time.FixedZone("MSK", 3*3600)
	want := append([]Event(nil), validWantEvents...)
	want[1].Start = time.Date(2022, 8, 22, 11, 0, 0, 0, moscow)
	want[1].End = time.Date(2022, 8, 22, 12, 30, 0, 0, moscow)
	Check(t, readFixture(t, "valid.ics"), want)
}

// Each broken fixture must be rejected by every parser, for its own reason.
func TestBrokenFixturesRejected(t *testing.T) {
	requireAll(t)
	cases := map[string]map[string]string{ // fixture -> parser -> part of its message
		"no_vtimezone.ics":         {"": "TZID=Europe/Moscow has no VTIMEZONE"},
		"no_end_vcalendar.ics":     {"ical.js": "component began but did not end", "python3-icalendar": "Found no components"},
		"long_line.ics":            {"": "line 10: 80 octets, longer than 75"},
		"lf_only.ics":              {"": "ends in a bare LF, not CRLF"},
		"dtend_before_dtstart.ics": {"": "DTEND 2022-08-22T07:00:00Z is before DTSTART 2022-08-22T08:00:00Z"},
		"dtend_equals_dtstart.ics": {"": "equals DTSTART"},
		"date_with_tzid.ics":       {"": "DATE value carries TZID=Europe/Moscow"},
		"floating.ics":             {"": "is a floating time"},
		"missing_uid.ics":          {"": "missing UID"},
		"missing_dtstamp.ics":      {"": "missing DTSTAMP"},
		"split_utf8.ics":           {"": "not valid UTF-8"},
		"dst_repeated_hour.ics":    {"": "2022-10-30T02:30:00 Europe/Belgrade occurs twice"},
		"dst_gap.ics":              {"": "2022-03-27T02:30:00 Europe/Belgrade does not exist"},
	}
	files, err := filepath.Glob(filepath.Join("testdata", "broken", "*.ics"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(cases) {
		t.Errorf("testdata/broken has %d fixtures, the test knows %d", len(files), len(cases))
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".ics"), func(t *testing.T) {
			t.Parallel()
			expect, ok := cases[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			ics := readFixture(t, filepath.Join("broken", name))
			for _, o := range runAll(ics, nil) {
				if o.err == nil {
					t.Errorf("%s accepted %s", o.p.name, name)
					continue
				}
				part, ok := expect[o.p.name]
				if !ok {
					part = expect[""]
				}
				if !strings.Contains(o.err.Error(), part) {
					t.Errorf("%s rejected %s, but not with %q:\n%v", o.p.name, name, part, o.err)
				}
				if !strings.HasPrefix(o.err.Error(), o.p.name+" ") {
					t.Errorf("error does not name the parser %s: %v", o.p.name, o.err)
				}
			}
		})
	}
}

func TestValidFixturesAccepted(t *testing.T) {
	requireAll(t)
	for _, name := range []string{"valid.ics", "file_timezones.ics", "until_utc.ics"} {
		for _, p := range parsers {
			if _, err := runParser(p, readFixture(t, name)); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}

// Check's comparison must catch every kind of difference, naming the
// parser, the UID and the field.
func TestCompareCatchesWrongValues(t *testing.T) {
	requireAll(t)
	ics := readFixture(t, "valid.ics")
	if errs := check(ics, validWantEvents); len(errs) != 0 {
		t.Fatalf("valid fixture: %v", errs)
	}
	tests := []struct {
		name   string
		change func(w []Event) []Event
		want   string // part of the message, after "<parser>: "
	}{
		{"summary", func(w []Event) []Event {
			w[1].Summary = "Bilateral talk"
			return w
		}, `UID "moscow@fixture.chancery": SUMMARY: got "Bilateral talks", want "Bilateral talk"`},
		{"start instant", func(w []Event) []Event {
			w[1].Start = utc("2022-08-22T11:00:00Z") // the local time read as UTC
			return w
		}, `UID "moscow@fixture.chancery": DTSTART: got 2022-08-22T08:00:00Z, want 2022-08-22T11:00:00Z`},
		{"end date", func(w []Event) []Event {
			w[0].End = day("2021-11-25") // an inclusive end
			return w
		}, `UID "allday@fixture.chancery": DTEND (exclusive end): got 2021-11-26, want 2021-11-25`},
		{"all-day", func(w []Event) []Event {
			w[2].AllDay = true
			return w
		}, `UID "belgrade-summer@fixture.chancery": all-day: got false, want true`},
		{"status", func(w []Event) []Event {
			w[2].Status = "CONFIRMED"
			return w
		}, `STATUS: got "CANCELLED", want "CONFIRMED"`},
		{"sequence", func(w []Event) []Event {
			w[3].Sequence = 2
			return w
		}, `SEQUENCE: got 1, want 2`},
		{"location", func(w []Event) []Event {
			w[0].Location = `Palace of Serbia\; Novi Beograd` // still escaped
			return w
		}, `LOCATION: got "Palace of Serbia; Novi Beograd"`},
		{"description", func(w []Event) []Event {
			w[0].Description = "Two days. Programme to follow. Path C:\\Temp"
			return w
		}, `DESCRIPTION: got "Two days.\nProgramme`},
		{"missing", func(w []Event) []Event {
			return append(w, Event{UID: "ghost@fixture.chancery"})
		}, `UID "ghost@fixture.chancery": missing: no VEVENT with this UID`},
		{"extra", func(w []Event) []Event {
			return w[1:]
		}, `UID "allday@fixture.chancery": unexpected VEVENT (not in want)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := tt.change(append([]Event(nil), validWantEvents...))
			errs := check(ics, want)
			if len(errs) != len(parsers) {
				t.Errorf("got %d problems, want one per parser: %v", len(errs), errs)
			}
			for _, p := range parsers {
				found := false
				for _, err := range errs {
					if strings.HasPrefix(err.Error(), p.name+": ") && strings.Contains(err.Error(), tt.want) {
						found = true
					}
				}
				if !found {
					t.Errorf("no %s problem containing %q in %v", p.name, tt.want, errs)
				}
			}
		})
	}
}

func TestCompareTime(t *testing.T) {
	belgrade := time.FixedZone("CET", 3600)
	tests := []struct {
		got    string
		want   time.Time
		allDay bool
		ok     bool
	}{
		{"2021-11-24", day("2021-11-24"), true, true},
		{"2021-11-24", time.Date(2021, 11, 24, 0, 0, 0, 0, belgrade), true, true}, // the date in its own location
		{"2021-11-24", day("2021-11-25"), true, false},
		{"2021-11-24T00:00:00Z", day("2021-11-24"), true, false},
		{"2022-08-22T08:00:00Z", time.Date(2022, 8, 22, 9, 0, 0, 0, belgrade), false, true},
		{"2022-08-22T08:00:00Z", utc("2022-08-22T08:00:01Z"), false, false},
		{"2022-08-22", day("2022-08-22"), false, false},
	}
	for _, tt := range tests {
		msg := compareTime(tt.got, tt.want, tt.allDay)
		if (msg == "") != tt.ok {
			t.Errorf("compareTime(%q, %v, %v) = %q, want ok=%v", tt.got, tt.want, tt.allDay, msg, tt.ok)
		}
	}
}

func TestWantMustHaveUniqueUIDs(t *testing.T) {
	if err := validWant([]Event{{UID: "a"}, {UID: "a"}}); err == nil {
		t.Error("duplicate UID accepted")
	}
	if err := validWant([]Event{{Summary: "no uid"}}); err == nil {
		t.Error("empty UID accepted")
	}
}

// recorder is a testing.TB that records what Check does to it.
type recorder struct {
	testing.TB
	mu      sync.Mutex
	errors  []string
	fatal   string
	skipped string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.Fatal(fmt.Sprintf(format, args...)) }
func (r *recorder) Fatal(args ...any) {
	r.mu.Lock()
	r.fatal = fmt.Sprint(args...)
	r.mu.Unlock()
	runtime.Goexit()
}
func (r *recorder) Skip(args ...any) {
	r.mu.Lock()
	r.skipped = fmt.Sprint(args...)
	r.mu.Unlock()
	runtime.Goexit()
}

// run calls Check on its own goroutine, as Fatal and Skip end it.
func (r *recorder) run(ics []byte, want []Event) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		Check(r, ics, want)
	}()
	<-done
}

func TestCheckFailsT(t *testing.T) {
	requireAll(t)
	r := &recorder{TB: t}
	r.run(readFixture(t, filepath.Join("broken", "long_line.ics")), nil)
	if len(r.errors) != len(parsers) || r.fatal != "" || r.skipped != "" {
		t.Fatalf("Check on a broken calendar: errors %q, fatal %q, skipped %q", r.errors, r.fatal, r.skipped)
	}
	for i, p := range parsers {
		if !strings.Contains(r.errors[i], p.name) || !strings.Contains(r.errors[i], "80 octets") {
			t.Errorf("error %d does not name %s and the defect: %s", i, p.name, r.errors[i])
		}
	}

	r = &recorder{TB: t}
	want := append([]Event(nil), validWantEvents...)
	want[0].Summary = "Something else"
	r.run(readFixture(t, "valid.ics"), want)
	if len(r.errors) != len(parsers) {
		t.Fatalf("Check with a wrong SUMMARY: errors %q", r.errors)
	}
	for _, e := range r.errors {
		if !strings.Contains(e, `UID "allday@fixture.chancery": SUMMARY: got "State visit, Serbia", want "Something else"`) {
			t.Errorf("unclear message: %s", e)
		}
	}

	r = &recorder{TB: t}
	r.run(readFixture(t, "valid.ics"), validWantEvents)
	if len(r.errors) != 0 || r.fatal != "" || r.skipped != "" {
		t.Fatalf("Check on the valid calendar: errors %q, fatal %q, skipped %q", r.errors, r.fatal, r.skipped)
	}
}

// withParsers replaces the parser list for one test.
func withParsers(t *testing.T, ps []*parser) {
	savedParsers, savedErr := parsers, probe()
	parsers = ps
	probeOnce = sync.Once{}
	t.Cleanup(func() {
		parsers = savedParsers
		probeOnce = sync.Once{}
		probeOnce.Do(func() { probeErr = savedErr })
	})
}

// A missing parser skips the test on a developer's machine and fails it on
// CI; the installed parsers still run first.
func TestMissingParserPolicy(t *testing.T) {
	requireAll(t)
	missing := &parser{
		name:    "absent-parser",
		install: "apt-get install absent",
		command: func(string) []string { return []string{"false"} },
		probe:   func() error { return errors.New("not installed") },
	}
	withParsers(t, []*parser{parsers[0], missing})

	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			r := &recorder{TB: t}
			want := append([]Event(nil), validWantEvents...)
			want[0].Summary = "Something else"
			r.run(readFixture(t, "valid.ics"), want)
			if len(r.errors) != 1 || !strings.Contains(r.errors[0], "ical.js: ") {
				t.Errorf("the installed parser did not report the mismatch: %q", r.errors)
			}
			got := r.skipped
			if ci != "" {
				got = r.fatal
				if r.skipped != "" {
					t.Errorf("skipped on CI: %s", r.skipped)
				}
			} else if r.fatal != "" {
				t.Errorf("fatal without CI: %s", r.fatal)
			}
			if !strings.Contains(got, "absent-parser: not installed (install: apt-get install absent)") ||
				!strings.Contains(got, ".ci/install-ical-parsers") {
				t.Errorf("message does not say what is missing and how to install it: %q", got)
			}
		})
	}
}

// python3-icalendar 4.x misreads some correctly escaped text (see
// pyReadsText); ical.js reads it exactly. Check names the quirk, so that a
// feed test fails with the reason rather than a puzzle.
func TestPythonTextQuirk(t *testing.T) {
	requireAll(t)
	texts := map[string]string{ // UID -> DESCRIPTION as the feed means it
		"plain": "Line one\nLine two; a, b",
		"url":   "See https://example.org/?q=a%3Ab%2Cc",
		"path":  `C:\new\Notes, draft`,
	}
	esc := strings.NewReplacer(`\`, `\\`, `;`, `\;`, `,`, `\,`, "\n", `\n`)
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Chancery//icalcheck test//EN\r\n")
	var want []Event
	for _, uid := range []string{"plain", "url", "path"} {
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20220801T120000Z\r\nDTSTART:20220822T110000Z\r\n"+
			"DTEND:20220822T120000Z\r\nDESCRIPTION:%s\r\nEND:VEVENT\r\n", uid, esc.Replace(texts[uid]))
		want = append(want, Event{UID: uid, Description: texts[uid],
			Start: utc("2022-08-22T11:00:00Z"), End: utc("2022-08-22T12:00:00Z")})
	}
	b.WriteString("END:VCALENDAR\r\n")

	for _, o := range runAll([]byte(b.String()), want) {
		if o.err != nil {
			t.Fatalf("%s: %v", o.p.name, o.err)
		}
		if o.p.name == "ical.js" {
			if len(o.mismatches) != 0 {
				t.Errorf("ical.js misread text: %q", o.mismatches)
			}
			continue
		}
		if len(o.mismatches) == 0 {
			t.Logf("%s now reads such text right; the quirk note in icalcheck.go can go", o.p.name)
			continue
		}
		for _, m := range o.mismatches {
			if strings.Contains(m, `UID "plain"`) || !strings.Contains(m, "misreads the correctly escaped text") {
				t.Errorf("unexpected %s mismatch: %s", o.p.name, m)
			}
		}
		if len(o.mismatches) != 2 {
			t.Errorf("%s: want the url and path texts misread, got %q", o.p.name, o.mismatches)
		}
	}
	for uid, text := range texts {
		if uid == "plain" && pyReadsText(text) != text {
			t.Errorf("pyReadsText(%q) = %q, want it unchanged", text, pyReadsText(text))
		}
	}
}
