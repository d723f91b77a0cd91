package audit

import (
	"context"
	"testing"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/natstest"
	"github.com/chancery/chancery/projections"
)

// record is a real event log on an embedded nats-server, stamped with the
// time the test sets in at.
type record struct {
	srv *natstest.Server
	log *events.Log
	ctx context.Context
	at  time.Time
}

func newRecord(t *testing.T) *record {
	t.Helper()
	r := &record{srv: natstest.Start(t, ""), ctx: t.Context(), at: day(19, 9)}
	l, err := events.OpenLog(r.ctx, r.srv.JS, events.LogConfig{Now: func() time.Time { return r.at }})
	if err != nil {
		t.Fatal(err)
	}
	r.log = l
	return r
}

// readModel opens the read model at path read-only, as the audit commands
// read one; the caller closes it.
func (r *record) readModel(t *testing.T, path string) *projections.DB {
	t.Helper()
	db, err := projections.OpenReadOnly(r.ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// day is a time in August 2022, UTC.
func day(d, hour int) time.Time { return time.Date(2022, 8, d, hour, 0, 0, 0, time.UTC) }

// do executes a command on the meeting or visit id as actor at the record's
// time; msgID, when given, makes it idempotent (a Nats-Msg-Id).
func (r *record) do(t *testing.T, id string, cmd any, actor string, msgID ...string) {
	t.Helper()
	meta := events.Meta{Actor: actor}
	if len(msgID) > 0 {
		meta.MsgID = msgID[0]
	}
	var err error
	if events.AggregateTypeOf(id) == events.VisitAggregate {
		_, _, err = events.Execute[events.Visit](r.ctx, r.log, id, cmd, meta)
	} else {
		_, _, err = events.Execute[events.Meeting](r.ctx, r.log, id, cmd, meta)
	}
	if err != nil {
		t.Fatalf("%T on %s: %v", cmd, id, err)
	}
}

var (
	lavrov = events.Participant{Name: "Sergey Lavrov", Office: "Minister of Foreign Affairs", Country: "RU"}
	vulin  = events.Participant{Name: "Aleksandar Vulin", Office: "Minister of the Interior", Country: "RS"}
	dacic  = events.Participant{Name: "Ivica Dačić", Office: "First Deputy Prime Minister", Country: "RS"}
)

const pressRelease = "https://example.org/press/2022-08-19"

// talksStory records the talks of 19 August and their changes over the
// following days, and a visit beside them: seq 1 the talks are scheduled,
// 2 the visit announced, 3 the talks rescheduled (by the embassy, with a
// Nats-Msg-Id), 4 relocated, 5 their participants changed, 6 cancelled.
func talksStory(t *testing.T, r *record) (talks, visit string) {
	t.Helper()
	talks, visit = events.NewMeetingID(r.at), events.NewVisitID(r.at)
	r.do(t, talks, &events.ScheduleMeeting{
		Kind: "talks", Title: "Lavrov–Vulin talks", Start: "2022-08-22",
		Location: events.Location{City: "Moscow", Country: "RU"}, Participants: []events.Participant{lavrov, vulin},
		Source: &events.Source{URL: pressRelease, Published: "2022-08-19"},
	}, "press-office")
	r.do(t, visit, &events.AnnounceVisit{Visitor: vulin, Destination: events.Destination{City: "Sochi", Country: "RU"}, Start: "2022-08-24", End: "2022-08-25"}, "press-office")
	r.at = day(20, 9)
	r.do(t, talks, &events.RescheduleMeeting{Start: "2022-08-23", Reason: "schedules"}, "embassy-belgrade", "reschedule-talks-1")
	r.at = day(21, 9)
	r.do(t, talks, &events.RelocateMeeting{Location: events.Location{City: "Sochi", Country: "RU"}, Reason: "host's request"}, "press-office")
	r.do(t, talks, &events.ChangeParticipants{Participants: []events.Participant{lavrov, dacic}}, "press-office")
	r.at = day(22, 9)
	r.do(t, talks, &events.CancelMeeting{Reason: "called off"}, "press-office")
	return talks, visit
}
