// Package icalcheck validates iCalendar (RFC 5545) feeds in tests with
// independent, strict parsers that are not ours: Mozilla's ical.js (the
// parser in Thunderbird, run by node) and Debian's python3-icalendar (run by
// /usr/bin/python3). Each reads the feed, applies strictness checks that the
// libraries themselves are lenient about, and reports the events it read,
// which Check compares with what the test expects.
//
// Use it on every feed a test produces:
//
//	var buf bytes.Buffer
//	if err := calendar.Render(&buf, items, opts); err != nil { ... }
//	icalcheck.Check(t, buf.Bytes(), []icalcheck.Event{{
//		UID: "01J...@chancery", Summary: "Talks", Status: "CONFIRMED",
//		Start: time.Date(2022, 8, 22, 8, 0, 0, 0, time.UTC),
//		End:   time.Date(2022, 8, 22, 9, 30, 0, 0, time.UTC),
//	}})
//
// Both scripts (check.mjs, check.py) reject, besides what their library
// rejects: lines over 75 octets, line ends other than CRLF, empty lines,
// invalid UTF-8 (so a fold inside a character), a TZID without a VTIMEZONE
// in the file, a DATE with TZID, floating DATE-TIMEs, DTEND not after
// DTSTART, DTEND and DTSTART of different types, a missing UID, DTSTAMP
// (in UTC) or DTSTART, repeated single-valued properties, and local times
// that fall in a DST gap or a repeated hour (clients resolve those
// differently: write them in UTC). Every TZID is resolved through the
// file's own VTIMEZONE, never a built-in zone database.
//
// Install both parsers with .ci/install-ical-parsers. Without them, Check
// follows internal/tooltest: under CI=true a missing parser fails the test;
// elsewhere it skips the test, and says so once on the terminal.
package icalcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chancery/chancery/internal/tooltest"
)

// Event is what a parser must read back from a VEVENT.
type Event struct {
	UID         string
	Summary     string
	Start       time.Time // for all-day events: midnight UTC of the date
	End         time.Time // exclusive; same convention
	AllDay      bool
	Status      string // CONFIRMED, TENTATIVE, CANCELLED
	Sequence    int
	Location    string
	Description string
}

// InstallHint is how to install the parsers, from the repository root.
const InstallHint = "run .ci/install-ical-parsers (apt-get install -y --no-install-recommends python3-icalendar; npm ci --prefix internal/icalcheck)"

// parseTimeout bounds one parser run.
const parseTimeout = 2 * time.Minute

// parserTZ is the local time zone the parsers run in: an odd one, with a
// half-hour offset and DST, so that a time wrongly read as the machine's
// local time shows up as a wrong instant.
const parserTZ = "America/St_Johns"

// pyPath is Debian's python, the one that sees Debian's python3-icalendar.
const pyPath = "/usr/bin/python3"

// parser is one independent iCalendar parser.
type parser struct {
	name    string                        // as named in messages
	install string                        // how to install just this one
	command func(file string) []string    // argv that checks file
	probe   func() error                  // nil when installed
	hint    func(want, got string) string // optional note on a text mismatch
}

// dir is this package's source directory: the scripts live there, and tests
// run with their own package directory as working directory.
// Under -trimpath the recorded path is not a real one; then it is found from
// the working directory, which go test sets inside the module.
var dir = func() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		d := filepath.Dir(file)
		if _, err := os.Stat(filepath.Join(d, "check.mjs")); err == nil {
			return d
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "internal", "icalcheck")
		}
		if filepath.Dir(d) == d {
			return wd
		}
	}
}()

var parsers = []*parser{
	{
		name:    "ical.js",
		install: "npm ci --prefix internal/icalcheck",
		command: func(file string) []string {
			return []string{"node", filepath.Join(dir, "check.mjs"), file}
		},
		probe: func() error {
			if _, err := exec.LookPath("node"); err != nil {
				return fmt.Errorf("node not found: %w", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "node_modules", "ical.js", "package.json")); err != nil {
				return fmt.Errorf("ical.js not installed in %s/node_modules", dir)
			}
			return nil
		},
	},
	{
		name:    "python3-icalendar",
		install: "apt-get install -y --no-install-recommends python3-icalendar",
		command: func(file string) []string {
			return []string{pyPath, filepath.Join(dir, "check.py"), file}
		},
		probe: func() error {
			ctx, cancel := context.WithTimeout(context.Background(), parseTimeout)
			defer cancel()
			out, err := exec.CommandContext(ctx, pyPath, "-c", "import icalendar, pytz, dateutil.tz").CombinedOutput()
			if err != nil {
				return fmt.Errorf("%s cannot import icalendar: %v: %s", pyPath, err, bytes.TrimSpace(out))
			}
			return nil
		},
		hint: func(want, got string) string {
			if got != want && got == pyReadsText(want) {
				return " (this is how python3-icalendar 4.x misreads the correctly escaped text: it decodes %2C %3A %3B %5C and drops or mangles a backslash before n, N, comma, semicolon or backslash; avoid such text in fixtures)"
			}
			return ""
		},
	},
}

// pyReadsText is what python3-icalendar 4.x (Debian bookworm's 4.0.3) reads
// back from TEXT written with RFC 5545 escaping: Contentline.parts() turns
// \, \: \; \\ into %2C %3A %3B %5C and back into , : ; \ (decoding any
// such percent sequence of the text too), and vText.from_ical() then
// unescapes once more.
func pyReadsText(text string) string {
	v := strings.NewReplacer(`\`, `\\`, `;`, `\;`, `,`, `\,`, "\n", `\n`).Replace(text)
	for _, step := range [][2]string{
		{`\,`, "%2C"}, {`\:`, "%3A"}, {`\;`, "%3B"}, {`\\`, "%5C"}, // escape_string
		{"%2C", ","}, {"%3A", ":"}, {"%3B", ";"}, {"%5C", `\`}, // unescape_string
		{`\N`, `\n`}, {"\r\n", "\n"}, {`\n`, "\n"}, {`\,`, ","}, {`\;`, ";"}, {`\\`, `\`}, // unescape_char
	} {
		v = strings.ReplaceAll(v, step[0], step[1])
	}
	return v
}

var (
	probeOnce sync.Once
	probeErr  map[*parser]error
)

// probe reports, once per process, why each parser is unavailable (nil when
// it is installed).
func probe() map[*parser]error {
	probeOnce.Do(func() {
		probeErr = make(map[*parser]error, len(parsers))
		for _, p := range parsers {
			probeErr[p] = p.probe()
		}
	})
	return probeErr
}

// Available reports whether ical.js (via node) and python3-icalendar (via
// /usr/bin/python3) are installed.
func Available() (jsOK, pyOK bool) {
	errs := probe()
	return errs[parsers[0]] == nil, errs[parsers[1]] == nil
}

// Check parses ics with every available independent parser and fails t on
// any parse error or any event whose values differ from want (matched by
// UID; timed starts/ends compared as UTC instants, all-day as dates; text
// compared exactly after the parser's unescaping). It also fails if any UID
// in want is missing or any extra VEVENT appears.
//
// A want event's all-day Start and End are compared by their calendar date
// in their own location (midnight UTC of the date is the convention). If a
// parser is not installed, Check runs the others and then skips t, or fails
// it under CI=true (internal/tooltest).
func Check(t testing.TB, ics []byte, want []Event) {
	t.Helper()
	if err := validWant(want); err != nil {
		t.Fatalf("icalcheck: %v", err)
	}
	rejected := false
	for _, o := range runAll(ics, want) {
		switch {
		case o.unavailable != nil:
			// told below, once the others have run
		case o.err != nil:
			t.Errorf("icalcheck: %v", o.err)
			rejected = true
		default:
			for _, msg := range o.mismatches {
				t.Errorf("icalcheck: %s", msg)
			}
		}
	}
	if rejected {
		t.Log(excerpt(ics))
	}
	requireAll(t)
}

// requireAll applies tooltest's rule to the parsers that are not installed:
// under CI=true it fails t, elsewhere it skips it.
func requireAll(t testing.TB) {
	t.Helper()
	var names, why []string
	for _, p := range parsers {
		if err := probe()[p]; err != nil {
			names = append(names, p.name)
			why = append(why, fmt.Sprintf("%v (install: %s)", err, p.install))
		}
	}
	if len(names) > 0 {
		tooltest.Missing(t, strings.Join(names, " and "), errors.New(strings.Join(why, "; ")), InstallHint)
	}
}

// validWant rejects a want list that cannot be matched by UID.
func validWant(want []Event) error {
	seen := make(map[string]bool, len(want))
	for i, w := range want {
		if w.UID == "" {
			return fmt.Errorf("want[%d] has no UID", i)
		}
		if seen[w.UID] {
			return fmt.Errorf("want has UID %q twice", w.UID)
		}
		seen[w.UID] = true
	}
	return nil
}

// parsedEvent is one event as a parser script prints it.
type parsedEvent struct {
	UID         string `json:"uid"`
	Summary     string `json:"summary"`
	Start       string `json:"start"`
	End         string `json:"end"`
	AllDay      bool   `json:"all_day"`
	Status      string `json:"status"`
	Sequence    int    `json:"sequence"`
	Location    string `json:"location"`
	Description string `json:"description"`
}

// runParser writes ics to a temporary file and reads it with p. The error
// names the parser and carries everything it reported.
func runParser(p *parser, ics []byte) ([]parsedEvent, error) {
	f, err := os.CreateTemp("", "icalcheck-*.ics")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.name, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(ics); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", p.name, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("%s: %w", p.name, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), parseTimeout)
	defer cancel()
	argv := p.command(f.Name())
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TZ="+parserTZ, "NODE_PATH=", "PYTHONPATH=", "PYTHONNOUSERSITE=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = "(no message)"
		}
		return nil, fmt.Errorf("%s rejects the calendar (%v):\n%s", p.name, err, indent(msg))
	}
	var out struct {
		Events []parsedEvent `json:"events"`
	}
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("%s: reading its output: %w (stderr: %s)", p.name, err, strings.TrimSpace(stderr.String()))
	}
	if out.Events == nil {
		return nil, fmt.Errorf("%s: output has no events list", p.name)
	}
	return out.Events, nil
}

// check runs every available parser on ics and returns all problems found,
// parse failures and mismatches alike; it is Check without a testing.TB.
// Parsers that are not installed are skipped.
func check(ics []byte, want []Event) []error {
	if err := validWant(want); err != nil {
		return []error{err}
	}
	var out []error
	for _, o := range runAll(ics, want) {
		if o.err != nil {
			out = append(out, o.err)
		}
		for _, msg := range o.mismatches {
			out = append(out, errors.New(msg))
		}
	}
	return out
}

// outcome is what one parser made of a calendar.
type outcome struct {
	p           *parser
	unavailable error    // why the parser could not run
	err         error    // the parser rejected the calendar
	mismatches  []string // what it read that differs from want
}

// runAll runs the parsers concurrently, and returns their outcomes in the
// order of parsers.
func runAll(ics []byte, want []Event) []outcome {
	errs := probe()
	out := make([]outcome, len(parsers))
	var wg sync.WaitGroup
	for i, p := range parsers {
		out[i].p = p
		if errs[p] != nil {
			out[i].unavailable = errs[p]
			continue
		}
		wg.Go(func() {
			got, err := runParser(p, ics)
			if err != nil {
				out[i].err = err
				return
			}
			out[i].mismatches = compare(p, got, want)
		})
	}
	wg.Wait()
	return out
}

// compare matches got against want by UID and describes every difference,
// each message naming the parser, the UID and the field.
func compare(p *parser, got []parsedEvent, want []Event) []string {
	var msgs []string
	bad := func(uid, format string, args ...any) {
		msgs = append(msgs, fmt.Sprintf("%s: UID %q: ", p.name, uid)+fmt.Sprintf(format, args...))
	}
	byUID := make(map[string]parsedEvent, len(got))
	for _, g := range got {
		if _, dup := byUID[g.UID]; dup {
			bad(g.UID, "VEVENT appears more than once")
			continue
		}
		byUID[g.UID] = g
	}
	wanted := make(map[string]bool, len(want))
	for _, w := range want {
		wanted[w.UID] = true
		g, ok := byUID[w.UID]
		if !ok {
			bad(w.UID, "missing: no VEVENT with this UID (parser read %d events)", len(got))
			continue
		}
		if g.AllDay != w.AllDay {
			bad(w.UID, "all-day: got %v, want %v", g.AllDay, w.AllDay)
		} else {
			for _, f := range []struct {
				name string
				got  string
				want time.Time
			}{{"DTSTART", g.Start, w.Start}, {"DTEND (exclusive end)", g.End, w.End}} {
				if msg := compareTime(f.got, f.want, w.AllDay); msg != "" {
					bad(w.UID, "%s: %s", f.name, msg)
				}
			}
		}
		for _, f := range []struct{ name, got, want string }{
			{"SUMMARY", g.Summary, w.Summary},
			{"STATUS", g.Status, w.Status},
			{"LOCATION", g.Location, w.Location},
			{"DESCRIPTION", g.Description, w.Description},
		} {
			if f.got != f.want {
				hint := ""
				if p.hint != nil {
					hint = p.hint(f.want, f.got)
				}
				bad(w.UID, "%s: got %q, want %q%s", f.name, f.got, f.want, hint)
			}
		}
		if g.Sequence != w.Sequence {
			bad(w.UID, "SEQUENCE: got %d, want %d", g.Sequence, w.Sequence)
		}
	}
	for _, g := range got {
		if !wanted[g.UID] {
			bad(g.UID, "unexpected VEVENT (not in want): %q from %s to %s", g.Summary, g.Start, g.End)
		}
	}
	return msgs
}

// compareTime compares a parser's start or end with the wanted time: as a
// date for all-day events, as a UTC instant otherwise. It returns "" when
// they match.
func compareTime(got string, want time.Time, allDay bool) string {
	if allDay {
		if _, err := time.Parse(time.DateOnly, got); err != nil {
			return fmt.Sprintf("got %q, not a date", got)
		}
		if w := want.Format(time.DateOnly); got != w {
			return fmt.Sprintf("got %s, want %s", got, w)
		}
		return ""
	}
	g, err := time.Parse(time.RFC3339, got)
	if err != nil {
		return fmt.Sprintf("got %q, not an RFC 3339 time", got)
	}
	if !g.Equal(want) {
		return fmt.Sprintf("got %s, want %s (%s)", g.UTC().Format(time.RFC3339), want.UTC().Format(time.RFC3339), want.Format(time.RFC3339))
	}
	return ""
}

// excerpt shows the start of a rejected calendar with numbered lines, so a
// parser's line numbers can be followed.
func excerpt(ics []byte) string {
	const maxLines = 60
	lines := strings.SplitAfter(string(ics), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var b strings.Builder
	b.WriteString("icalcheck: the calendar (line number, octets, line without its CRLF):\n")
	for i, l := range lines {
		if i == maxLines {
			fmt.Fprintf(&b, "  ... (%d more lines)\n", len(lines)-maxLines)
			break
		}
		text, end := l, ""
		switch {
		case strings.HasSuffix(l, "\r\n"):
			text = l[:len(l)-2]
		case strings.HasSuffix(l, "\n"):
			text, end = l[:len(l)-1], "  <- LF without CR"
		default:
			end = "  <- no line end"
		}
		fmt.Fprintf(&b, "  %3d %3d %s%s\n", i+1, len(text), strconv.Quote(text), end)
	}
	return b.String()
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
