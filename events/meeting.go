package events

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Meeting event types.
const (
	MeetingScheduledType           = "meeting.scheduled"
	MeetingRescheduledType         = "meeting.rescheduled"
	MeetingRelocatedType           = "meeting.relocated"
	MeetingParticipantsChangedType = "meeting.participants_changed"
	MeetingPostponedType           = "meeting.postponed"
	MeetingCancelledType           = "meeting.cancelled"
	MeetingHeldType                = "meeting.held"
)

// Kinds of meeting.
var Kinds = []string{"talks", "meeting", "call", "summit", "ceremony", "other"}

// Statuses an engagement moves through (schema.org EventStatus, plus held
// and, for visits, completed).
const (
	StatusScheduled   = "scheduled"
	StatusRescheduled = "rescheduled"
	StatusPostponed   = "postponed"
	StatusCancelled   = "cancelled"
	StatusHeld        = "held"
	StatusCompleted   = "completed"
)

// MeetingScheduled announces a meeting.
type MeetingScheduled struct {
	Kind         string        `json:"kind"`
	Title        string        `json:"title"`
	Span                       // start, end, timezone
	Location     Location      `json:"location"`
	Participants []Participant `json:"participants"`
	Description  string        `json:"description,omitempty"`
	Source       *Source       `json:"source,omitempty"`
}

// MeetingRescheduled moves a meeting (or gives a postponed one a new date).
type MeetingRescheduled struct {
	Span
	Previous Span   `json:"previous"`
	Reason   string `json:"reason,omitempty"`
}

// MeetingRelocated moves a meeting to another place.
type MeetingRelocated struct {
	Location Location `json:"location"`
	Previous Location `json:"previous"`
	Reason   string   `json:"reason,omitempty"`
}

// MeetingParticipantsChanged replaces the list of participants.
type MeetingParticipantsChanged struct {
	Participants []Participant `json:"participants"`
	Previous     []Participant `json:"previous"`
}

// MeetingPostponed puts a meeting off with no new date yet.
type MeetingPostponed struct {
	Reason string `json:"reason,omitempty"`
}

// MeetingCancelled calls a meeting off.
type MeetingCancelled struct {
	Reason string `json:"reason,omitempty"`
}

// MeetingHeld records that a meeting took place.
type MeetingHeld struct {
	Outcome string `json:"outcome,omitempty"`
}

func (MeetingScheduled) EventType() string           { return MeetingScheduledType }
func (MeetingRescheduled) EventType() string         { return MeetingRescheduledType }
func (MeetingRelocated) EventType() string           { return MeetingRelocatedType }
func (MeetingParticipantsChanged) EventType() string { return MeetingParticipantsChangedType }
func (MeetingPostponed) EventType() string           { return MeetingPostponedType }
func (MeetingCancelled) EventType() string           { return MeetingCancelledType }
func (MeetingHeld) EventType() string                { return MeetingHeldType }

func init() {
	register(2, func() Event { return &MeetingScheduled{} })
	registerUpcaster(MeetingScheduledType, 1, upcastSource)
	register(1, func() Event { return &MeetingRescheduled{} })
	register(1, func() Event { return &MeetingRelocated{} })
	register(1, func() Event { return &MeetingParticipantsChanged{} })
	register(1, func() Event { return &MeetingPostponed{} })
	register(1, func() Event { return &MeetingCancelled{} })
	register(1, func() Event { return &MeetingHeld{} })
}

// Meeting is the folded state of one meeting, and the resource the API
// returns for it.
type Meeting struct {
	ID            string        `json:"id"`
	Version       int           `json:"version"`
	Kind          string        `json:"kind"`
	Title         string        `json:"title"`
	Status        string        `json:"status"`
	Start         string        `json:"start"`
	End           string        `json:"end"`
	Timezone      string        `json:"timezone"`
	AllDay        bool          `json:"all_day"`
	StartUTC      time.Time     `json:"start_utc"`
	EndUTC        time.Time     `json:"end_utc"`
	Location      Location      `json:"location"`
	Participants  []Participant `json:"participants"`
	Description   string        `json:"description"`
	Source        *Source       `json:"source,omitempty"`
	PreviousStart string        `json:"previous_start,omitempty"`
	StatusReason  string        `json:"status_reason,omitempty"`
	Outcome       string        `json:"outcome,omitempty"`
	// Sequence counts the changes that matter to someone who has the
	// meeting in a calendar (time, place, postponement, cancellation): the
	// iCalendar SEQUENCE.
	Sequence  int       `json:"sequence"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Span returns when the meeting takes place.
func (m *Meeting) Span() Span { return Span{Start: m.Start, End: m.End, Timezone: m.Timezone} }

func (m *Meeting) setSpan(s Span) {
	m.Start, m.End, m.Timezone, m.AllDay = s.Start, s.End, s.Timezone, s.AllDay()
	m.StartUTC, m.EndUTC = s.UTC()
}

// Evolve applies one recorded event to the state.
func (m *Meeting) Evolve(env Envelope) error {
	ev, err := Decode(env)
	if err != nil {
		return err
	}
	return m.Apply(env, ev)
}

// Apply applies an event already decoded from env.
func (m *Meeting) Apply(env Envelope, ev Event) error {
	if env.Version != m.Version+1 {
		return fmt.Errorf("meeting %s: event %s has version %d, state is at %d", env.AggregateID, env.ID, env.Version, m.Version)
	}
	switch e := ev.(type) {
	case *MeetingScheduled:
		*m = Meeting{
			ID: env.AggregateID, Kind: e.Kind, Title: e.Title, Status: StatusScheduled,
			Location: e.Location, Participants: e.Participants, Description: e.Description,
			Source: e.Source, CreatedAt: env.RecordedAt,
		}
		m.setSpan(e.Span)
	case *MeetingRescheduled:
		m.PreviousStart = m.Start
		m.setSpan(e.Span)
		m.Status, m.StatusReason = StatusRescheduled, e.Reason
		m.Sequence++
	case *MeetingRelocated:
		m.Location = e.Location
		m.Sequence++
	case *MeetingParticipantsChanged:
		m.Participants = e.Participants
	case *MeetingPostponed:
		m.Status, m.StatusReason = StatusPostponed, e.Reason
		m.Sequence++
	case *MeetingCancelled:
		m.Status, m.StatusReason = StatusCancelled, e.Reason
		m.Sequence++
	case *MeetingHeld:
		m.Status, m.Outcome = StatusHeld, e.Outcome
	default:
		return fmt.Errorf("meeting %s: event %s of type %s does not apply to a meeting", env.AggregateID, env.ID, env.Type)
	}
	if m.Participants == nil {
		m.Participants = []Participant{}
	}
	m.Version = env.Version
	m.UpdatedAt = env.RecordedAt
	return nil
}

// Exists reports whether the meeting has been scheduled.
func (m *Meeting) Exists() bool { return m.Version > 0 }

// ScheduleMeeting is the command that announces a meeting.
type ScheduleMeeting struct {
	Kind         string        `json:"kind"`
	Title        string        `json:"title"`
	Start        string        `json:"start"`
	End          string        `json:"end"`
	Timezone     string        `json:"timezone"`
	Location     Location      `json:"location"`
	Participants []Participant `json:"participants"`
	Description  string        `json:"description"`
	Source       *Source       `json:"source"`
}

// RescheduleMeeting moves a meeting.
type RescheduleMeeting struct {
	Start    string `json:"start"`
	End      string `json:"end"`
	Timezone string `json:"timezone"`
	Reason   string `json:"reason"`
}

// RelocateMeeting moves a meeting to another place.
type RelocateMeeting struct {
	Location Location `json:"location"`
	Reason   string   `json:"reason"`
}

// ChangeParticipants replaces the participants of a meeting.
type ChangeParticipants struct {
	Participants []Participant `json:"participants"`
}

// PostponeMeeting puts a meeting off without a new date.
type PostponeMeeting struct {
	Reason string `json:"reason"`
}

// CancelMeeting calls a meeting off.
type CancelMeeting struct {
	Reason string `json:"reason"`
}

// MarkMeetingHeld records that a meeting took place.
type MarkMeetingHeld struct {
	Outcome string `json:"outcome"`
}

// Decide validates a command against the current state and returns the
// events it yields. It is pure: now is the only clock it sees.
func (m *Meeting) Decide(cmd any, now time.Time) ([]Event, error) {
	if _, ok := cmd.(*ScheduleMeeting); !ok && !m.Exists() {
		return nil, Errorf(ENOTFOUND, "meeting %s not found", m.ID)
	}
	switch c := cmd.(type) {
	case *ScheduleMeeting:
		if m.Exists() {
			return nil, Errorf(ECONFLICT, "meeting %s already exists", m.ID)
		}
		return decideSchedule(c)
	case *RescheduleMeeting:
		if err := m.active("reschedule"); err != nil {
			return nil, err
		}
		var f Fields
		span, errs := RescheduleSpan(c.span(), m.Span())
		f = append(f, errs...)
		reason := f.text("reason", c.Reason)
		if err := f.Err(); err != nil {
			return nil, err
		}
		if span == m.Span() && m.Status != StatusPostponed {
			return nil, Errorf(EUNCHANGED, "meeting %s already takes place at that time", m.ID)
		}
		return []Event{&MeetingRescheduled{Span: span, Previous: m.Span(), Reason: reason}}, nil
	case *RelocateMeeting:
		if err := m.active("relocate"); err != nil {
			return nil, err
		}
		var f Fields
		loc := f.location("location", c.Location.keep(m.Location))
		reason := f.text("reason", c.Reason)
		if err := f.Err(); err != nil {
			return nil, err
		}
		if loc == m.Location {
			return nil, Errorf(EUNCHANGED, "meeting %s already takes place there", m.ID)
		}
		return []Event{&MeetingRelocated{Location: loc, Previous: m.Location, Reason: reason}}, nil
	case *ChangeParticipants:
		if err := m.active("change the participants of"); err != nil {
			return nil, err
		}
		var f Fields
		ps := f.participants("participants", c.Participants, true)
		if err := f.Err(); err != nil {
			return nil, err
		}
		if slices.Equal(ps, m.Participants) {
			return nil, Errorf(EUNCHANGED, "meeting %s already has these participants", m.ID)
		}
		return []Event{&MeetingParticipantsChanged{Participants: ps, Previous: m.Participants}}, nil
	case *PostponeMeeting:
		if err := m.active("postpone"); err != nil {
			return nil, err
		}
		if m.Status == StatusPostponed {
			return nil, Errorf(EUNCHANGED, "meeting %s is already postponed", m.ID)
		}
		var f Fields
		reason := f.text("reason", c.Reason)
		if err := f.Err(); err != nil {
			return nil, err
		}
		return []Event{&MeetingPostponed{Reason: reason}}, nil
	case *CancelMeeting:
		if err := m.active("cancel"); err != nil {
			return nil, err
		}
		var f Fields
		reason := f.text("reason", c.Reason)
		if err := f.Err(); err != nil {
			return nil, err
		}
		return []Event{&MeetingCancelled{Reason: reason}}, nil
	case *MarkMeetingHeld:
		if err := m.active("mark as held"); err != nil {
			return nil, err
		}
		if m.Status == StatusPostponed {
			return nil, Errorf(ETRANSITION, "meeting %s is postponed: reschedule it before marking it held", m.ID)
		}
		if now.Before(m.StartUTC) {
			return nil, Errorf(ETRANSITION, "meeting %s has not started yet (starts %s)", m.ID, m.StartUTC.Format(time.RFC3339))
		}
		var f Fields
		outcome := f.text("outcome", c.Outcome)
		if err := f.Err(); err != nil {
			return nil, err
		}
		return []Event{&MeetingHeld{Outcome: outcome}}, nil
	}
	return nil, fmt.Errorf("meeting: unknown command %T", cmd)
}

// active refuses commands on meetings that are over.
func (m *Meeting) active(action string) error {
	switch m.Status {
	case StatusCancelled, StatusHeld:
		return Errorf(ETRANSITION, "cannot %s meeting %s: it is %s", action, m.ID, m.Status)
	}
	return nil
}

func (c RescheduleMeeting) span() SpanInput {
	return SpanInput{Start: c.Start, End: c.End, Timezone: c.Timezone}
}

func decideSchedule(c *ScheduleMeeting) ([]Event, error) {
	var f Fields
	e := &MeetingScheduled{}
	e.Kind = strings.TrimSpace(c.Kind)
	if e.Kind == "" {
		f.Add("kind", "is required: one of %s", strings.Join(Kinds, ", "))
	} else if !slices.Contains(Kinds, e.Kind) {
		f.Add("kind", "%q is not one of %s", c.Kind, strings.Join(Kinds, ", "))
	}
	e.Title = f.line("title", c.Title, true)
	e.Location = f.location("location", c.Location)
	span, errs := ParseSpan(SpanInput{Start: c.Start, End: c.End, Timezone: c.Timezone}, CapitalZone(e.Location.Country), "")
	f = append(f, errs...)
	e.Span = span
	e.Participants = f.participants("participants", c.Participants, false)
	e.Description = f.text("description", c.Description)
	e.Source = f.source("source", c.Source)
	if err := f.Err(); err != nil {
		return nil, err
	}
	return []Event{e}, nil
}

// keep fills in the parts of a relocation's place that were left out from
// cur, the place now: an omitted country is cur's country, an omitted city
// is cur's city while the country stays, and an omitted venue is cur's venue
// while the city stays too — a venue or city belongs to its place and does
// not follow a meeting to another. The event records the whole new place.
func (l Location) keep(cur Location) Location {
	if strings.TrimSpace(l.Country) == "" {
		l.Country = cur.Country
	}
	if !strings.EqualFold(strings.TrimSpace(l.Country), cur.Country) {
		return l
	}
	if strings.TrimSpace(l.City) == "" {
		l.City = cur.City
	}
	if strings.TrimSpace(l.Venue) == "" && strings.TrimSpace(l.City) == cur.City {
		l.Venue = cur.Venue
	}
	return l
}
