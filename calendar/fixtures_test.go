package calendar

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/icalcheck"
	"github.com/chancery/chancery/projections"
)

// step is one command, decided and recorded at a time.
type step struct {
	at  time.Time
	cmd any
}

// fold records steps for the meeting or visit id as the service does: each
// command is decided against the folded state, each resulting event is
// encoded into an envelope stamped with the step's time and folded back in
// with Evolve, and the state is shown as the read model's view of it.
func fold(tb testing.TB, id string, steps ...step) projections.Engagement {
	tb.Helper()
	typ := events.AggregateTypeOf(id)
	var agg events.Aggregate
	switch typ {
	case events.MeetingAggregate:
		agg = &events.Meeting{ID: id}
	case events.VisitAggregate:
		agg = &events.Visit{ID: id}
	default:
		tb.Fatalf("fold: %q is not a meeting or visit id", id)
	}
	version := 0
	for _, s := range steps {
		version += len(decide(tb, agg, id, version, s))
	}
	if m, ok := agg.(*events.Meeting); ok {
		return *projections.MeetingView(m)
	}
	return *projections.VisitView(agg.(*events.Visit))
}

// decide decides s.cmd against agg, the state of id at version, and folds
// the resulting events back in with Evolve. It returns their envelopes.
func decide(tb testing.TB, agg events.Aggregate, id string, version int, s step) []events.Envelope {
	tb.Helper()
	evs, err := agg.Decide(s.cmd, s.at)
	if err != nil {
		tb.Fatalf("%s: %T: %v", id, s.cmd, err)
	}
	envs := make([]events.Envelope, len(evs))
	for i, ev := range evs {
		data, err := json.Marshal(ev)
		if err != nil {
			tb.Fatal(err)
		}
		version++
		envs[i] = events.Envelope{
			ID: fmt.Sprintf("evt_%s%d", id[4:], version), Type: ev.EventType(), Schema: events.SchemaOf(ev.EventType()),
			AggregateType: events.AggregateTypeOf(id), AggregateID: id, Version: version, RecordedAt: s.at, Actor: "test", Data: data,
		}
		if err := agg.Evolve(envs[i]); err != nil {
			tb.Fatalf("%s: %v", id, err)
		}
	}
	return envs
}

// render renders items with the options the golden files use.
func render(tb testing.TB, items []projections.Engagement, opts Options) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, items, opts); err != nil {
		tb.Fatalf("Render: %v", err)
	}
	return buf.Bytes()
}

// The seed: what a press release of 19 August 2022 says of Russian–Serbian
// contacts. Offices are the ones held at the time.
const seedSource = "https://example.org/press/2022-08-19-lavrov-vulin"

var (
	lavrov  = events.Participant{Name: "Sergey Lavrov", Office: "Minister of Foreign Affairs", Country: "RU"}
	vulin   = events.Participant{Name: "Aleksandar Vulin", Office: "Minister of Internal Affairs", Country: "RS"}
	vucic   = events.Participant{Name: "Aleksandar Vučić", Office: "President of the Republic of Serbia", Country: "RS"}
	source  = &events.Source{URL: seedSource, Published: "2022-08-19"}
	release = time.Date(2022, 8, 19, 9, 30, 0, 0, time.UTC) // when the seed was recorded
)

// Fixed ids, so that golden files do not change from run to run.
const (
	talksID     = "mtg_01gav00000000000000000tk01"
	timedID     = "mtg_01gav00000000000000000tm01"
	sochiID     = "vis_01gav00000000000000000sc01"
	cancelledID = "mtg_01gav00000000000000000cc01"
)

func scheduleTalks() *events.ScheduleMeeting {
	return &events.ScheduleMeeting{
		Kind: "talks", Title: "Lavrov–Vulin talks", Start: "2022-08-22", Timezone: "Europe/Moscow",
		Location:     events.Location{City: "Moscow", Country: "RU"},
		Participants: []events.Participant{lavrov, vulin},
		Description:  "Bilateral cooperation agenda; international and regional questions.",
		Source:       source,
	}
}

func announceSochi() *events.AnnounceVisit {
	return &events.AnnounceVisit{
		Visitor: vucic, Destination: events.Destination{City: "Sochi", Country: "RU"},
		Start: "2021-11-24", End: "2021-11-25", Source: source,
	}
}

// scheduleTimed is a timed meeting in a zone with summer time, so its
// VTIMEZONE has a rule pair.
func scheduleTimed(start, end string) *events.ScheduleMeeting {
	return &events.ScheduleMeeting{
		Kind: "meeting", Title: "Consultations of the foreign ministries, Belgrade", Start: start, End: end,
		Timezone:     "Europe/Belgrade",
		Location:     events.Location{City: "Belgrade", Country: "RS", Venue: "Palace of Serbia"},
		Participants: []events.Participant{lavrov, vulin},
	}
}

// wantTimed is what a calendar must show of a meeting recorded with
// scheduleTimed: id's event from start to end.
func wantTimed(id string, start, end time.Time) icalcheck.Event {
	return icalcheck.Event{
		UID: id + "@chancery.test", Summary: "Consultations of the foreign ministries, Belgrade", Status: "CONFIRMED",
		Start: start, End: end, Location: "Palace of Serbia, Belgrade, Serbia", Description: talksParticipants,
	}
}

// The descriptions the seed's engagements must carry, as a reader of the
// calendar sees them.
const (
	talksParticipants = "Participants:\n" +
		"- Sergey Lavrov, Minister of Foreign Affairs (Russian Federation)\n" +
		"- Aleksandar Vulin, Minister of Internal Affairs (Serbia)"
	talksDescription = talksParticipants + "\n\n" +
		"Bilateral cooperation agenda; international and regional questions.\n\n" +
		"Source: " + seedSource + " (published 2022-08-19)"
	sochiDescription = "Visitor: Aleksandar Vučić, President of the Republic of Serbia (Serbia)\n\n" +
		"Source: " + seedSource + " (published 2022-08-19)"
)

// allDay is an expected all-day event's date as icalcheck wants it.
func allDay(date string) time.Time {
	d, err := time.Parse(events.DateLayout, date)
	if err != nil {
		panic(err)
	}
	return d
}
