package audit

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/chancery/chancery/events"
)

// logOf writes the audit log the query selects in format.
func logOf(t *testing.T, r *record, q Query, format string) string {
	t.Helper()
	var b bytes.Buffer
	out, err := NewLogWriter(format, &b)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteLog(r.ctx, r.log, q, out); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteLogSelectsByAggregateActorTimeAndType(t *testing.T) {
	r := newRecord(t)
	talks, visit := talksStory(t, r)
	for _, tc := range []struct {
		aggregate, actor, typ, since, until string
		seqs                                []uint64
	}{
		{seqs: []uint64{1, 2, 3, 4, 5, 6}},
		{aggregate: visit, seqs: []uint64{2}},
		{aggregate: talks, typ: "meeting.cancelled", seqs: []uint64{6}},
		{actor: "Embassy-Belgrade", seqs: []uint64{3}},
		{since: "2022-08-21", seqs: []uint64{4, 5, 6}},
		{until: "2022-08-20", seqs: []uint64{1, 2, 3}},
		{since: "2022-08-20T09:00:00Z", until: "2022-08-21T12:00:00+03:00", seqs: []uint64{3, 4, 5}},
		{typ: "visit.cancelled"},
	} {
		q, err := NewQuery(tc.aggregate, tc.actor, tc.typ, tc.since, tc.until)
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		var entries []Entry
		if err := json.Unmarshal([]byte(logOf(t, r, q, "json")), &entries); err != nil {
			t.Fatal(err)
		}
		var seqs []uint64
		for _, e := range entries {
			seqs = append(seqs, e.Seq)
		}
		if !slices.Equal(seqs, tc.seqs) {
			t.Errorf("%+v selected seq %v, want %v", tc, seqs, tc.seqs)
		}
	}
}

func TestLogEntriesSummariseEachChange(t *testing.T) {
	r := newRecord(t)
	talksStory(t, r)
	rows, err := csv.NewReader(strings.NewReader(logOf(t, r, Query{}, "csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ actor, typ, summary, source string }{
		{"press-office", "meeting.scheduled", `talks "Lavrov–Vulin talks", 2022-08-22, Moscow, Russian Federation`, pressRelease},
		{"press-office", "visit.announced", "Aleksandar Vulin, Minister of the Interior (Serbia) to Sochi, Russian Federation, 2022-08-24–2022-08-25", ""},
		{"embassy-belgrade", "meeting.rescheduled", "2022-08-22 → 2022-08-23: schedules", ""},
		{"press-office", "meeting.relocated", "Moscow, Russian Federation → Sochi, Russian Federation: host's request", ""},
		{"press-office", "meeting.participants_changed", "participants +Ivica Dačić, First Deputy Prime Minister (Serbia); −Aleksandar Vulin, Minister of the Interior (Serbia)", ""},
		{"press-office", "meeting.cancelled", "cancelled: called off", ""},
	}
	if len(rows) != len(want)+1 || rows[0][7] != "summary" {
		t.Fatalf("csv has %d rows, want a header and %d:\n%q", len(rows), len(want), rows)
	}
	for i, w := range want {
		row := rows[i+1]
		if row[2] != w.actor || row[3] != w.typ || row[7] != w.summary || row[8] != w.source || !strings.HasPrefix(row[9], "evt_") {
			t.Errorf("row %d = %q, want %+v and an event id", i+1, row, w)
		}
	}

	table := strings.Split(strings.TrimSuffix(logOf(t, r, Query{}, "table"), "\n"), "\n")
	if len(table) != 7 || !strings.HasPrefix(table[0], "SEQ") || strings.Index(table[3], "meeting.rescheduled") != strings.Index(table[0], "TYPE") {
		t.Errorf("table not aligned under its header:\n%s", strings.Join(table, "\n"))
	}
	if got := logOf(t, r, Query{Filter: events.ReadFilter{Type: "visit.cancelled"}}, "json"); got != "[]\n" {
		t.Errorf("an empty log as json = %q, want []", got)
	}
}

func TestNewQueryNamesTheFieldAtFault(t *testing.T) {
	talks := events.NewMeetingID(day(19, 9))
	for _, tc := range []struct {
		aggregate, typ, since, until string
		field                        string
	}{
		{aggregate: "Robert'); DROP TABLE", field: "aggregate"},
		{typ: "meeting.exploded", field: "type"},
		{aggregate: talks, typ: "visit.completed", field: "type"},
		{since: "yesterday", field: "since"},
		{until: "2022-13-01", field: "until"},
		{since: "2022-08-21", until: "2022-08-20", field: "until"},
	} {
		_, err := NewQuery(tc.aggregate, "", tc.typ, tc.since, tc.until)
		var e *events.Error
		if !errors.As(err, &e) || e.Code != events.EINVALID || len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
			t.Errorf("%+v: %v; want invalid input naming %s", tc, err, tc.field)
		}
	}
	if _, err := NewLogWriter("xml", &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "format: \"xml\" is not table, json or csv") {
		t.Errorf("an unknown format: %v", err)
	}
}
