package projections

import (
	"fmt"
	"time"

	"github.com/chancery/chancery/events"
)

// VisitKind is the kind a visit is listed, filtered and shown under beside
// the kinds of meeting (events.Kinds).
const VisitKind = "visit"

// Engagement is a meeting or a visit as everything that reads the read
// model shows it: the calendar feeds and the alerts. It is built in
// one place from a meeting or a visit, with its labels from events, so
// that no two readers decode a document or word a label differently.
//
// Its JSON form is the engagement in an alert's machine-readable data (a
// webhook's data.engagement); the fields only a calendar shows stay out of
// it.
type Engagement struct {
	Type     string               `json:"type"` // events.MeetingAggregate or events.VisitAggregate
	ID       string               `json:"id"`
	Title    string               `json:"title"` // a meeting's own; a visit's events.VisitTitle
	Kind     string               `json:"kind"`  // the meeting's kind; VisitKind for visits
	Status   string               `json:"status"`
	Start    string               `json:"start"` // local date or date-time, as recorded
	End      string               `json:"end"`
	Timezone string               `json:"timezone"` // the venue's IANA zone
	AllDay   bool                 `json:"all_day"`
	StartUTC time.Time            `json:"start_utc"`
	EndUTC   time.Time            `json:"end_utc"`
	Place    string               `json:"place"`            // events.PlaceLabel: venue, city, country name
	Country  string               `json:"country"`          // the place's ISO code
	People   []events.Participant `json:"people"`           // a meeting's participants; a visit's visitor
	Reason   string               `json:"reason,omitempty"` // why it was postponed, cancelled or rescheduled
	Version  int                  `json:"version"`
	Sequence int                  `json:"sequence"` // calendar SEQUENCE: bumps when time, place or status change

	Details   string         `json:"-"` // a meeting's description, a visit's purpose
	Outcome   string         `json:"-"`
	Source    *events.Source `json:"-"`
	CreatedAt time.Time      `json:"-"`
	UpdatedAt time.Time      `json:"-"`
}

// MeetingView returns the view of a meeting.
func MeetingView(m *events.Meeting) *Engagement {
	return &Engagement{
		Type: events.MeetingAggregate, ID: m.ID, Title: m.Title, Kind: m.Kind, Status: m.Status,
		Start: m.Start, End: m.End, Timezone: m.Timezone, AllDay: m.AllDay, StartUTC: m.StartUTC, EndUTC: m.EndUTC,
		Place:   events.PlaceLabel(m.Location.Venue, m.Location.City, m.Location.Country),
		Country: m.Location.Country, People: m.Participants, Reason: m.StatusReason,
		Version: m.Version, Sequence: m.Sequence,
		Details: m.Description, Outcome: m.Outcome, Source: m.Source, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
	}
}

// VisitView returns the view of a visit.
func VisitView(v *events.Visit) *Engagement {
	return &Engagement{
		Type: events.VisitAggregate, ID: v.ID, Title: events.VisitTitle(v.Visitor, v.Destination.City), Kind: VisitKind,
		Status: v.Status, Start: v.Start, End: v.End, Timezone: v.Timezone, AllDay: v.AllDay,
		StartUTC: v.StartUTC, EndUTC: v.EndUTC,
		Place:   events.PlaceLabel("", v.Destination.City, v.Destination.Country),
		Country: v.Destination.Country, People: []events.Participant{v.Visitor}, Reason: v.StatusReason,
		Version: v.Version, Sequence: v.Sequence,
		Details: v.Purpose, Outcome: v.Outcome, Source: v.Source, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt,
	}
}

// decodeEngagement returns the view of a stored document of type typ. It
// is the one place the read side decodes a document, and it does so with
// events.UnmarshalJSON, as the projector reads it back.
func decodeEngagement(typ string, doc []byte) (*Engagement, error) {
	switch typ {
	case events.MeetingAggregate:
		var m events.Meeting
		if err := events.UnmarshalJSON(doc, &m); err != nil {
			return nil, fmt.Errorf("decode meeting: %w", err)
		}
		return MeetingView(&m), nil
	case events.VisitAggregate:
		var v events.Visit
		if err := events.UnmarshalJSON(doc, &v); err != nil {
			return nil, fmt.Errorf("decode visit: %w", err)
		}
		return VisitView(&v), nil
	}
	return nil, fmt.Errorf("decode: unknown engagement type %q", typ)
}

// Path returns the API path of the engagement of type typ with id:
// /api/v1/meetings/{id} or /api/v1/visits/{id}.
func Path(typ, id string) string { return "/api/v1/" + typ + "s/" + id }

// Path is the engagement's resource path in the API.
func (e *Engagement) Path() string { return Path(e.Type, e.ID) }

// Span returns when the engagement takes place, as recorded.
func (e *Engagement) Span() events.Span {
	return events.Span{Start: e.Start, End: e.End, Timezone: e.Timezone}
}

// Zone is the venue's zone (UTC if it cannot be loaded).
func (e *Engagement) Zone() *time.Location { return e.Span().Location() }

// Active reports whether the engagement is still going ahead.
func (e *Engagement) Active() bool {
	return e.Status != events.StatusCancelled && e.Status != events.StatusPostponed
}

// Countries lists the place's country and every person's.
func (e *Engagement) Countries() []string {
	out := []string{e.Country}
	for _, p := range e.People {
		out = append(out, p.Country)
	}
	return out
}
