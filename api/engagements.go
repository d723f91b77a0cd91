package api

import (
	"context"
	"time"

	"github.com/chancery/chancery/events"
)

// engagementType describes one aggregate type as the API serves it: meetings and
// visits share every handler and differ only here.
type engagementType struct {
	aggType  string
	plural   string // path segment and list key
	person   string // list filter naming a person
	newID    func(time.Time) string
	create   func() any
	commands map[string]func() any
	execute  func(ctx context.Context, l events.CommandLog, id string, cmd any, meta events.Meta) (any, events.Result, error)
	fold     func(ctx context.Context, l events.History, id string, keep func(events.Envelope) bool) (any, int, error)
	// foldVersion folds through a version known to exist (events.FoldVersion).
	foldVersion func(ctx context.Context, l events.History, id string, v int) (any, error)
}

var meetings = &engagementType{
	aggType: events.MeetingAggregate, plural: "meetings", person: "participant",
	newID:  events.NewMeetingID,
	create: func() any { return &events.ScheduleMeeting{} },
	commands: map[string]func() any{
		"reschedule":   func() any { return &events.RescheduleMeeting{} },
		"relocate":     func() any { return &events.RelocateMeeting{} },
		"participants": func() any { return &events.ChangeParticipants{} },
		"postpone":     func() any { return &events.PostponeMeeting{} },
		"cancel":       func() any { return &events.CancelMeeting{} },
		"held":         func() any { return &events.MarkMeetingHeld{} },
	},
	execute:     executeAs[events.Meeting],
	fold:        foldAs(func(m *events.Meeting) int { return m.Version }),
	foldVersion: foldVersionAs[events.Meeting],
}

var visits = &engagementType{
	aggType: events.VisitAggregate, plural: "visits", person: "visitor",
	newID:  events.NewVisitID,
	create: func() any { return &events.AnnounceVisit{} },
	commands: map[string]func() any{
		"reschedule": func() any { return &events.RescheduleVisit{} },
		"cancel":     func() any { return &events.CancelVisit{} },
		"complete":   func() any { return &events.CompleteVisit{} },
	},
	execute:     executeAs[events.Visit],
	fold:        foldAs(func(v *events.Visit) int { return v.Version }),
	foldVersion: foldVersionAs[events.Visit],
}

// pathID returns the {id} of a request if it is a well-formed id of et's type.
func (et *engagementType) pathID(raw string) (string, error) {
	if events.AggregateTypeOf(raw) != et.aggType {
		return "", invalid("id", "is not a "+et.aggType+" id")
	}
	return raw, nil
}

// aggregate is the pointer to an aggregate's state that events' generic
// functions take.
type aggregate[A any] interface {
	*A
	events.Aggregate
}

// executeAs is engagementType.execute for aggregate A. A refused command
// answers a nil any, not a nil *A inside one.
func executeAs[A any, PA aggregate[A]](ctx context.Context, l events.CommandLog, id string, cmd any, meta events.Meta) (any, events.Result, error) {
	a, res, err := events.Execute[A, PA](ctx, l, id, cmd, meta)
	if err != nil {
		return nil, res, err
	}
	return a, res, nil
}

// foldAs is engagementType.fold for the aggregate whose version version reads.
func foldAs[A any, PA aggregate[A]](version func(PA) int) func(context.Context, events.History, string, func(events.Envelope) bool) (any, int, error) {
	return func(ctx context.Context, l events.History, id string, keep func(events.Envelope) bool) (any, int, error) {
		a, err := events.FoldUntil[A, PA](ctx, l, id, keep)
		if err != nil {
			return nil, 0, err
		}
		return a, version(a), nil
	}
}

// foldVersionAs is engagementType.foldVersion for aggregate A.
func foldVersionAs[A any, PA aggregate[A]](ctx context.Context, l events.History, id string, v int) (any, error) {
	return events.FoldVersion[A, PA](ctx, l, id, v)
}
