package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chancery/chancery/events"
)

// changes renders a step's changes as field: old → new, with "-" for an
// absent value.
func changes(s Step) []string {
	show := func(v json.RawMessage) string {
		if v == nil {
			return "-"
		}
		return string(v)
	}
	var out []string
	for _, c := range s.Changes {
		out = append(out, c.Field+": "+show(c.Old)+" → "+show(c.New))
	}
	return out
}

func TestStoryShowsEachChangedFieldOldToNew(t *testing.T) {
	r := newRecord(t)
	talks, _ := talksStory(t, r)
	story, err := StoryOf(r.ctx, r.log, talks)
	if err != nil {
		t.Fatal(err)
	}
	if story.AggregateType != events.MeetingAggregate || story.AggregateID != talks || len(story.Events) != 5 {
		t.Fatalf("story of the talks: %s %s with %d events, want the meeting's 5", story.AggregateType, story.AggregateID, len(story.Events))
	}

	scheduled := story.Events[0]
	if scheduled.Seq != 1 || scheduled.Actor != "press-office" || scheduled.Source != pressRelease || scheduled.RecordedAt != day(19, 9) {
		t.Errorf("the scheduling step = %+v", scheduled)
	}
	for _, c := range scheduled.Changes {
		if c.Old != nil || c.New == nil {
			t.Errorf("the scheduling step shows %s as %s → %s; a new meeting has no old values", c.Field, c.Old, c.New)
		}
	}

	for i, want := range [][]string{
		{ // seq 3: rescheduled
			`status: "scheduled" → "rescheduled"`,
			`start: "2022-08-22" → "2022-08-23"`,
			`end: "2022-08-22" → "2022-08-23"`,
			`start_utc: "2022-08-21T21:00:00Z" → "2022-08-22T21:00:00Z"`,
			`end_utc: "2022-08-22T21:00:00Z" → "2022-08-23T21:00:00Z"`,
			`previous_start: - → "2022-08-22"`,
			`status_reason: - → "schedules"`,
		},
		{ // seq 4: relocated
			`location: {"city":"Moscow","country":"RU","venue":""} → {"city":"Sochi","country":"RU","venue":""}`,
		},
		{ // seq 5: participants changed
			`participants: [{"name":"Sergey Lavrov","office":"Minister of Foreign Affairs","country":"RU"},{"name":"Aleksandar Vulin","office":"Minister of the Interior","country":"RS"}] → [{"name":"Sergey Lavrov","office":"Minister of Foreign Affairs","country":"RU"},{"name":"Ivica Dačić","office":"First Deputy Prime Minister","country":"RS"}]`,
		},
		{ // seq 6: cancelled
			`status: "rescheduled" → "cancelled"`,
			`status_reason: "schedules" → "called off"`,
		},
	} {
		step := story.Events[i+1]
		if got := changes(step); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("seq %d %s changed\n%s\nwant\n%s", step.Seq, step.Type, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}

	var text bytes.Buffer
	if err := story.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"meeting " + talks + ": 5 events\n",
		"\nseq 3  v2  2022-08-20T09:00:00Z  meeting.rescheduled  by embassy-belgrade\n",
		`    start: "2022-08-22" → "2022-08-23"` + "\n",
		`    previous_start: "2022-08-22"` + "\n",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the story as text lacks %q:\n%s", want, text.String())
		}
	}
}

func TestDiffShowsAClearedFieldAndLeavesBookkeepingOut(t *testing.T) {
	before := []field{{"id", json.RawMessage(`"mtg_1"`)}, {"version", json.RawMessage(`2`)}, {"status", json.RawMessage(`"postponed"`)}, {"status_reason", json.RawMessage(`"weather"`)}}
	after := []field{{"id", json.RawMessage(`"mtg_1"`)}, {"version", json.RawMessage(`3`)}, {"status", json.RawMessage(`"scheduled"`)}}
	got := changes(Step{Changes: diff(before, after)})
	if want := []string{`status: "postponed" → "scheduled"`, `status_reason: "weather" → -`}; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diff = %q, want %q", got, want)
	}
	var text bytes.Buffer
	s := Story{AggregateType: events.MeetingAggregate, AggregateID: "mtg_1", Events: []Step{{Seq: 9, Type: "meeting.rescheduled", Actor: "a\tb", Changes: diff(before, after)}}}
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if want := `    status_reason: "weather" → (none)` + "\n"; !strings.Contains(text.String(), want) || !strings.Contains(text.String(), "by a b\n") {
		t.Errorf("story text lacks %q or a one-line actor:\n%s", want, text.String())
	}
}

func TestStoryOfAnUnknownOrMalformedID(t *testing.T) {
	r := newRecord(t)
	talksStory(t, r)
	unknown := events.NewVisitID(r.at)
	if _, err := StoryOf(r.ctx, r.log, unknown); events.ErrorCode(err) != events.ENOTFOUND || !strings.Contains(err.Error(), "no visit "+unknown) {
		t.Errorf("story of an unknown visit: %v, want not found naming it", err)
	}
	if _, err := StoryOf(r.ctx, r.log, "talks"); events.ErrorCode(err) != events.EINVALID || !strings.Contains(err.Error(), `"talks" is not a meeting or visit id`) {
		t.Errorf("story of a malformed id: %v, want invalid input naming it", err)
	}
}
