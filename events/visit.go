package events

import (
	"fmt"
	"time"
)

// Visit event types.
const (
	VisitAnnouncedType   = "visit.announced"
	VisitRescheduledType = "visit.rescheduled"
	VisitCancelledType   = "visit.cancelled"
	VisitCompletedType   = "visit.completed"
)

// VisitAnnounced records an official visit: who goes where, when.
type VisitAnnounced struct {
	Visitor     Participant `json:"visitor"`
	Destination Destination `json:"destination"`
	Span
	Purpose string  `json:"purpose,omitempty"`
	Source  *Source `json:"source,omitempty"`
}

// VisitRescheduled moves a visit.
type VisitRescheduled struct {
	Span
	Previous Span   `json:"previous"`
	Reason   string `json:"reason,omitempty"`
}

// VisitCancelled calls a visit off.
type VisitCancelled struct {
	Reason string `json:"reason,omitempty"`
}

// VisitCompleted records that a visit took place.
type VisitCompleted struct {
	Outcome string `json:"outcome,omitempty"`
}

func (VisitAnnounced) EventType() string   { return VisitAnnouncedType }
func (VisitRescheduled) EventType() string { return VisitRescheduledType }
func (VisitCancelled) EventType() string   { return VisitCancelledType }
func (VisitCompleted) EventType() string   { return VisitCompletedType }

func init() {
	register(2, func() Event { return &VisitAnnounced{} })
	registerUpcaster(VisitAnnouncedType, 1, upcastSource)
	register(1, func() Event { return &VisitRescheduled{} })
	register(1, func() Event { return &VisitCancelled{} })
	register(1, func() Event { return &VisitCompleted{} })
}

// Visit is the folded state of one visit, and the resource the API returns.
type Visit struct {
	ID            string      `json:"id"`
	Version       int         `json:"version"`
	Status        string      `json:"status"`
	Visitor       Participant `json:"visitor"`
	Destination   Destination `json:"destination"`
	Start         string      `json:"start"`
	End           string      `json:"end"`
	Timezone      string      `json:"timezone"`
	AllDay        bool        `json:"all_day"`
	StartUTC      time.Time   `json:"start_utc"`
	EndUTC        time.Time   `json:"end_utc"`
	Purpose       string      `json:"purpose"`
	Source        *Source     `json:"source,omitempty"`
	PreviousStart string      `json:"previous_start,omitempty"`
	StatusReason  string      `json:"status_reason,omitempty"`
	Outcome       string      `json:"outcome,omitempty"`
	Sequence      int         `json:"sequence"` // changes that matter to a calendar: see Meeting.Sequence
	CreatedAt     time.Time   `json:"created_at"`
	UpdatedAt     time.Time   `json:"updated_at"`
}

// Span returns when the visit takes place.
func (v *Visit) Span() Span { return Span{Start: v.Start, End: v.End, Timezone: v.Timezone} }

func (v *Visit) setSpan(s Span) {
	v.Start, v.End, v.Timezone, v.AllDay = s.Start, s.End, s.Timezone, s.AllDay()
	v.StartUTC, v.EndUTC = s.UTC()
}

// Exists reports whether the visit has been announced.
func (v *Visit) Exists() bool { return v.Version > 0 }

// Evolve applies one recorded event to the state.
func (v *Visit) Evolve(env Envelope) error {
	ev, err := Decode(env)
	if err != nil {
		return err
	}
	return v.Apply(env, ev)
}

// Apply applies an event already decoded from env.
func (v *Visit) Apply(env Envelope, ev Event) error {
	if env.Version != v.Version+1 {
		return fmt.Errorf("visit %s: event %s has version %d, state is at %d", env.AggregateID, env.ID, env.Version, v.Version)
	}
	switch e := ev.(type) {
	case *VisitAnnounced:
		*v = Visit{
			ID: env.AggregateID, Status: StatusScheduled, Visitor: e.Visitor,
			Destination: e.Destination, Purpose: e.Purpose, Source: e.Source, CreatedAt: env.RecordedAt,
		}
		v.setSpan(e.Span)
	case *VisitRescheduled:
		v.PreviousStart = v.Start
		v.setSpan(e.Span)
		v.Status, v.StatusReason = StatusRescheduled, e.Reason
		v.Sequence++
	case *VisitCancelled:
		v.Status, v.StatusReason = StatusCancelled, e.Reason
		v.Sequence++
	case *VisitCompleted:
		v.Status, v.Outcome = StatusCompleted, e.Outcome
	default:
		return fmt.Errorf("visit %s: event %s of type %s does not apply to a visit", env.AggregateID, env.ID, env.Type)
	}
	v.Version = env.Version
	v.UpdatedAt = env.RecordedAt
	return nil
}

// AnnounceVisit is the command that records a visit.
type AnnounceVisit struct {
	Visitor     Participant `json:"visitor"`
	Destination Destination `json:"destination"`
	Start       string      `json:"start"`
	End         string      `json:"end"`
	Timezone    string      `json:"timezone"`
	Purpose     string      `json:"purpose"`
	Source      *Source     `json:"source"`
}

// RescheduleVisit moves a visit.
type RescheduleVisit struct {
	Start    string `json:"start"`
	End      string `json:"end"`
	Timezone string `json:"timezone"`
	Reason   string `json:"reason"`
}

// CancelVisit calls a visit off.
type CancelVisit struct {
	Reason string `json:"reason"`
}

// CompleteVisit records that a visit took place.
type CompleteVisit struct {
	Outcome string `json:"outcome"`
}

// Decide validates a command against the current state and returns the
// events it yields.
func (v *Visit) Decide(cmd any, now time.Time) ([]Event, error) {
	if _, ok := cmd.(*AnnounceVisit); !ok && !v.Exists() {
		return nil, Errorf(ENOTFOUND, "visit %s not found", v.ID)
	}
	var f Fields
	switch c := cmd.(type) {
	case *AnnounceVisit:
		if v.Exists() {
			return nil, Errorf(ECONFLICT, "visit %s already exists", v.ID)
		}
		e := &VisitAnnounced{
			Visitor: Participant{
				Name:    f.line("visitor.name", c.Visitor.Name, true),
				Office:  f.line("visitor.office", c.Visitor.Office, false),
				Country: f.country("visitor.country", c.Visitor.Country, true),
			},
			Destination: Destination{
				City:    f.line("destination.city", c.Destination.City, true),
				Country: f.country("destination.country", c.Destination.Country, true),
			},
		}
		span, errs := ParseSpan(SpanInput{Start: c.Start, End: c.End, Timezone: c.Timezone}, CapitalZone(e.Destination.Country), "")
		f = append(f, errs...)
		e.Span = span
		e.Purpose = f.text("purpose", c.Purpose)
		e.Source = f.source("source", c.Source)
		if err := f.Err(); err != nil {
			return nil, err
		}
		return []Event{e}, nil
	case *RescheduleVisit:
		if err := v.active("reschedule"); err != nil {
			return nil, err
		}
		span, errs := RescheduleSpan(SpanInput{Start: c.Start, End: c.End, Timezone: c.Timezone}, v.Span())
		f = append(f, errs...)
		reason := f.text("reason", c.Reason)
		if err := f.Err(); err != nil {
			return nil, err
		}
		if span == v.Span() {
			return nil, Errorf(EUNCHANGED, "visit %s already takes place at that time", v.ID)
		}
		return []Event{&VisitRescheduled{Span: span, Previous: v.Span(), Reason: reason}}, nil
	case *CancelVisit:
		if err := v.active("cancel"); err != nil {
			return nil, err
		}
		reason := f.text("reason", c.Reason)
		if err := f.Err(); err != nil {
			return nil, err
		}
		return []Event{&VisitCancelled{Reason: reason}}, nil
	case *CompleteVisit:
		if err := v.active("complete"); err != nil {
			return nil, err
		}
		if now.Before(v.StartUTC) {
			return nil, Errorf(ETRANSITION, "visit %s has not started yet (starts %s)", v.ID, v.StartUTC.Format(time.RFC3339))
		}
		outcome := f.text("outcome", c.Outcome)
		if err := f.Err(); err != nil {
			return nil, err
		}
		return []Event{&VisitCompleted{Outcome: outcome}}, nil
	}
	return nil, fmt.Errorf("visit: unknown command %T", cmd)
}

func (v *Visit) active(action string) error {
	switch v.Status {
	case StatusCancelled, StatusCompleted:
		return Errorf(ETRANSITION, "cannot %s visit %s: it is %s", action, v.ID, v.Status)
	}
	return nil
}
