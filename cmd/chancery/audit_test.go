package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chancery/chancery/audit"
	"github.com/chancery/chancery/events"
)

const embassyToken = "embassy-token-0123456789"

// recordAuditedStory records the seed on 19 August, has the Belgrade embassy
// reschedule the talks on the 20th and the protocol office (the env token)
// cancel them on the 21st.
func recordAuditedStory(t *testing.T, dir string) (s *service, talksID string) {
	t.Helper()
	cfg := writeConfig(t, dir, "api_tokens:\n  - {name: embassy-belgrade, token: \""+embassyToken+"\", scope: write}\n")
	clk := newClock(time.Date(2022, 8, 19, 9, 0, 0, 0, time.UTC))
	s = startService(t, dir, func(o *testServe) { o.now, o.config = clk.Now, cfg })
	talksID, _ = recordSeed(t, s)
	clk.Set(time.Date(2022, 8, 20, 9, 0, 0, 0, time.UTC))
	s.Do("POST", "/api/v1/meetings/"+talksID+"/reschedule", map[string]any{"start": "2022-08-23", "reason": "schedules"},
		"Authorization", "Bearer "+embassyToken).Must(t, 200)
	clk.Set(time.Date(2022, 8, 21, 9, 0, 0, 0, time.UTC))
	s.Do("POST", "/api/v1/meetings/"+talksID+"/cancel", map[string]any{"reason": "called off"}).Must(t, 200)
	return s, talksID
}

func TestAuditLogFiltersAndWritesTableJSONAndCSV(t *testing.T) {
	dir := t.TempDir()
	s, talksID := recordAuditedStory(t, dir)
	s.stop() // the tool opens the store itself
	ctx := context.Background()
	auditLog := func(args ...string) (int, string, string) {
		return runCLI(t, ctx, nil, append([]string{"audit", "log", "--data", dir}, args...)...)
	}

	for _, tc := range []struct {
		args  []string
		types []string
	}{
		{nil, []string{"meeting.scheduled", "visit.announced", "visit.announced", "visit.announced", "visit.announced", "visit.announced", "visit.announced", "meeting.rescheduled", "meeting.cancelled"}},
		{[]string{"--aggregate", talksID}, []string{"meeting.scheduled", "meeting.rescheduled", "meeting.cancelled"}},
		{[]string{"--actor", "Embassy-Belgrade"}, []string{"meeting.rescheduled"}},
		{[]string{"--since", "2022-08-20"}, []string{"meeting.rescheduled", "meeting.cancelled"}},
		{[]string{"--until", "2022-08-20"}, []string{"meeting.scheduled", "visit.announced", "visit.announced", "visit.announced", "visit.announced", "visit.announced", "visit.announced", "meeting.rescheduled"}},
		{[]string{"--since", "2022-08-20T09:00:00Z", "--until", "2022-08-20T12:00:00+03:00"}, []string{"meeting.rescheduled"}},
		{[]string{"--type", "meeting.cancelled"}, []string{"meeting.cancelled"}},
		{[]string{"--type", "meeting.cancelled", "--actor", "embassy-belgrade"}, nil},
	} {
		code, out, errOut := auditLog(append(tc.args, "--format", "json")...)
		if code != 0 {
			t.Fatalf("audit log %v: exit %d: %s", tc.args, code, errOut)
		}
		var entries []audit.Entry
		if err := json.Unmarshal([]byte(out), &entries); err != nil {
			t.Fatalf("audit log %v --format json: %v\n%s", tc.args, err, out)
		}
		var types []string
		for i, e := range entries {
			types = append(types, e.Type)
			if i > 0 && e.Seq <= entries[i-1].Seq {
				t.Errorf("audit log %v: seq %d after %d", tc.args, e.Seq, entries[i-1].Seq)
			}
		}
		if !slices.Equal(types, tc.types) {
			t.Errorf("audit log %v = %v, want %v", tc.args, types, tc.types)
		}
	}

	// csv, read back with encoding/csv.
	_, out, _ := auditLog("--aggregate", talksID, "--format", "csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, out)
	}
	want := [][]string{
		{"seq", "recorded_at", "actor", "type", "aggregate_type", "aggregate_id", "version", "summary", "source", "event_id"},
		{"1", "2022-08-19T09:00:00Z", "env", "meeting.scheduled", "meeting", talksID, "1", `talks "Lavrov–Vulin talks", 2022-08-22, Moscow, Russian Federation`, seedSource},
		{"8", "2022-08-20T09:00:00Z", "embassy-belgrade", "meeting.rescheduled", "meeting", talksID, "2", "2022-08-22 → 2022-08-23: schedules", ""},
		{"9", "2022-08-21T09:00:00Z", "env", "meeting.cancelled", "meeting", talksID, "3", "cancelled: called off", ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("csv has %d rows, want %d:\n%s", len(rows), len(want), out)
	}
	for i, row := range rows {
		if len(row) != 10 || !slices.Equal(row[:len(want[i])], want[i]) || (i > 0 && !strings.HasPrefix(row[9], "evt_")) {
			t.Errorf("csv row %d = %q, want %q and an event id", i, row, want[i])
		}
	}

	// table: aligned columns, one row per event under a header.
	_, out, _ = auditLog("--aggregate", talksID)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "SEQ") {
		t.Fatalf("table:\n%s", out)
	}
	for _, col := range []struct{ header, value string }{{"TYPE", "meeting."}, {"AGGREGATE", talksID}} {
		at := strings.Index(lines[0], col.header)
		for _, l := range lines[1:] {
			if strings.Index(l, col.value) != at {
				t.Errorf("column %s not aligned:\n%s", col.header, out)
			}
		}
	}
	if !strings.Contains(lines[1], seedSource) || !strings.Contains(lines[2], "embassy-belgrade") || !strings.Contains(lines[2], "2022-08-22 → 2022-08-23: schedules") {
		t.Errorf("table lacks the source, actor or change:\n%s", out)
	}

	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--since", "yesterday"}, "--since"},
		{[]string{"--until", "2022-13-01"}, "--until"},
		{[]string{"--since", "2022-08-21", "--until", "2022-08-20"}, "--until"},
		{[]string{"--type", "meeting.exploded"}, "--type"},
		{[]string{"--type", "visit.completed", "--aggregate", talksID}, "--type"},
		{[]string{"--aggregate", "Robert'); DROP TABLE"}, "--aggregate"},
		{[]string{"--format", "xml"}, "--format"},
		{[]string{"surplus"}, "surplus"},
	} {
		if code, _, errOut := auditLog(tc.args...); code != 2 || !strings.Contains(errOut, tc.flag) {
			t.Errorf("audit log %v: exit %d, %q; want exit 2 naming %s", tc.args, code, errOut, tc.flag)
		}
	}
}

func TestAuditShowDiffsARescheduleThenACancel(t *testing.T) {
	dir := t.TempDir()
	_, talksID := recordAuditedStory(t, dir) // running: the tool goes through nats.url
	ctx := context.Background()

	code, out, errOut := runCLI(t, ctx, nil, "audit", "show", talksID, "--data", dir)
	if code != 0 {
		t.Fatalf("audit show: exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"meeting " + talksID + ": 3 events",
		"seq 1  v1  2022-08-19T09:00:00Z  meeting.scheduled  by env  source " + seedSource,
		`    title: "Lavrov–Vulin talks"`,
		"seq 8  v2  2022-08-20T09:00:00Z  meeting.rescheduled  by embassy-belgrade\n",
		`    status: "scheduled" → "rescheduled"`,
		`    start: "2022-08-22" → "2022-08-23"`,
		`    start_utc: "2022-08-21T21:00:00Z" → "2022-08-22T21:00:00Z"`,
		"seq 9  v3  2022-08-21T09:00:00Z  meeting.cancelled  by env\n",
		`    status: "rescheduled" → "cancelled"`,
		`    status_reason: "schedules" → "called off"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("audit show lacks %q:\n%s", want, out)
		}
	}
	for _, noise := range []string{"version:", "updated_at:", "sequence:"} {
		if strings.Contains(out, noise) {
			t.Errorf("audit show lists bookkeeping %q:\n%s", noise, out)
		}
	}

	code, out, errOut = runCLI(t, ctx, nil, "audit", "show", "--format", "json", "--data", dir, talksID)
	var story struct {
		Events []audit.Step `json:"events"`
	}
	if err := json.Unmarshal([]byte(out), &story); code != 0 || err != nil || len(story.Events) != 3 {
		t.Fatalf("audit show --format json: exit %d, %v: %s%s", code, err, out, errOut)
	}
	fields := func(s audit.Step) (out []string) {
		for _, c := range s.Changes {
			out = append(out, c.Field)
		}
		return out
	}
	if got, want := fields(story.Events[1]), []string{"status", "start", "end", "start_utc", "end_utc", "previous_start", "status_reason"}; !slices.Equal(got, want) {
		t.Errorf("reschedule changed %v, want %v", got, want)
	}
	if got, want := fields(story.Events[2]), []string{"status", "status_reason"}; !slices.Equal(got, want) {
		t.Errorf("cancel changed %v, want %v", got, want)
	}
	if c := story.Events[0].Changes[0]; c.Old != nil {
		t.Errorf("the scheduling event shows an old value: %+v", c)
	}

	unknown := events.NewMeetingID(time.Now())
	if code, _, errOut := runCLI(t, ctx, nil, "audit", "show", unknown, "--data", dir); code != 1 || !strings.Contains(errOut, "no meeting "+unknown) {
		t.Errorf("audit show of an unknown id: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, ctx, nil, "audit", "show", "talks", "--data", dir); code != 2 || !strings.Contains(errOut, `"talks" is not a meeting or visit id`) {
		t.Errorf("audit show of a malformed id: exit %d, %q", code, errOut)
	}
}

func TestAuditExportAndImportUsageAndHelp(t *testing.T) {
	runCLICases(t, []cliCase{
		{[]string{"audit", "--help"}, 0, "check-export FILE"},
		{[]string{"audit", "log", "--help"}, 0, "Usage: chancery audit log"},
		{[]string{"audit", "show", "--help"}, 0, "Usage: chancery audit show ID"},
		{[]string{"audit", "check-export", "--help"}, 0, "Usage: chancery audit check-export FILE"},
		{[]string{"export", "--help"}, 0, "Usage: chancery export"},
		{[]string{"import-events", "--help"}, 0, "Usage: chancery import-events FILE"},
		{[]string{"audit"}, 2, "no command"},
		{[]string{"audit", "replay"}, 2, `unknown command "replay"`},
		{[]string{"audit", "show"}, 2, "usage: chancery audit show ID"},
		{[]string{"audit", "check-export"}, 2, "usage"},
		{[]string{"audit", "check-export", filepath.Join(t.TempDir(), "missing.ndjson")}, 2, "missing.ndjson"},
		{[]string{"export", "--until-seq", "3", "--until-time", "2022-08-20T00:00:00Z"}, 2, "not both"},
		{[]string{"export", "--until-time", "yesterday"}, 2, "--until-time"},
		{[]string{"export", "trail.ndjson"}, 2, "unexpected argument"},
		{[]string{"import-events"}, 2, "usage"},
		{[]string{"import-events", "a", "b"}, 2, "usage"},
		{[]string{"import-events", "-", "--replicas", "0"}, 2, "--replicas"},
	})
}
