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
	execute: func(ctx context.Context, l events.CommandLog, id string, cmd any, meta events.Meta) (any, events.Result, error) {
		m, res, err := events.Execute[events.Meeting](ctx, l, id, cmd, meta)
		if err != nil {
			return nil, res, err
		}
		return m, res, nil
	},
	fold: func(ctx context.Context, l events.History, id string, keep func(events.Envelope) bool) (any, int, error) {
		m, err := events.FoldUntil[events.Meeting](ctx, l, id, keep)
		if err != nil {
			return nil, 0, err
		}
		return m, m.Version, nil
	},
	foldVersion: func(ctx context.Context, l events.History, id string, v int) (any, error) {
		return events.FoldVersion[events.Meeting](ctx, l, id, v)
	},
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
	execute: func(ctx context.Context, l events.CommandLog, id string, cmd any, meta events.Meta) (any, events.Result, error) {
		v, res, err := events.Execute[events.Visit](ctx, l, id, cmd, meta)
		if err != nil {
			return nil, res, err
		}
		return v, res, nil
	},
	fold: func(ctx context.Context, l events.History, id string, keep func(events.Envelope) bool) (any, int, error) {
		v, err := events.FoldUntil[events.Visit](ctx, l, id, keep)
		if err != nil {
			return nil, 0, err
		}
		return v, v.Version, nil
	},
	foldVersion: func(ctx context.Context, l events.History, id string, v int) (any, error) {
		return events.FoldVersion[events.Visit](ctx, l, id, v)
	},
}

// pathID returns the {id} of a request if it is a well-formed id of et's type.
func (et *engagementType) pathID(raw string) (string, error) {
	if events.AggregateTypeOf(raw) != et.aggType {
		return "", invalid("id", "is not a "+et.aggType+" id")
	}
	return raw, nil
}
