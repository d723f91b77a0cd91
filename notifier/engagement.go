package notifier

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/projections"
)

// Engagement is a meeting or a visit as alerts speak of it.
type Engagement struct {
	Type     string               `json:"type"` // events.MeetingAggregate or events.VisitAggregate
	ID       string               `json:"id"`
	Title    string               `json:"title"`
	Kind     string               `json:"kind"` // the meeting's kind; "visit" for visits
	Status   string               `json:"status"`
	Start    string               `json:"start"` // local date or date-time, as recorded
	End      string               `json:"end"`
	Timezone string               `json:"timezone"` // the venue's IANA zone
	AllDay   bool                 `json:"all_day"`
	StartUTC time.Time            `json:"start_utc"`
	EndUTC   time.Time            `json:"end_utc"`
	Place    string               `json:"place"`   // venue, city, country name
	Country  string               `json:"country"` // the place's ISO code
	People   []events.Participant `json:"people"`
	Reason   string               `json:"reason,omitempty"` // why it was postponed or cancelled
	Version  int                  `json:"version"`
	Sequence int                  `json:"sequence"` // calendar SEQUENCE: bumps when time, place or status change

	item projections.Item // the read-model document, for invitations
}

// Path is the engagement's resource path in the API.
func (e *Engagement) Path() string { return "/api/v1/" + e.Type + "s/" + e.ID }

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

// engagementOf decodes a read-model item.
func engagementOf(it projections.Item) (*Engagement, error) {
	switch it.Type {
	case events.MeetingAggregate:
		var m events.Meeting
		if err := json.Unmarshal(it.Doc, &m); err != nil {
			return nil, fmt.Errorf("decode meeting: %w", err)
		}
		e := fromMeeting(&m)
		e.item = it
		return e, nil
	case events.VisitAggregate:
		var v events.Visit
		if err := json.Unmarshal(it.Doc, &v); err != nil {
			return nil, fmt.Errorf("decode visit: %w", err)
		}
		e := fromVisit(&v)
		e.item = it
		return e, nil
	}
	return nil, fmt.Errorf("unknown engagement type %q", it.Type)
}

func fromMeeting(m *events.Meeting) *Engagement {
	doc, _ := json.Marshal(m)
	return &Engagement{
		item: projections.Item{Type: events.MeetingAggregate, Doc: doc},
		Type: events.MeetingAggregate, ID: m.ID, Title: m.Title, Kind: m.Kind, Status: m.Status,
		Start: m.Start, End: m.End, Timezone: m.Timezone, AllDay: m.AllDay, StartUTC: m.StartUTC, EndUTC: m.EndUTC,
		Place:   events.PlaceLabel(m.Location.Venue, m.Location.City, m.Location.Country),
		Country: m.Location.Country, People: m.Participants, Reason: m.StatusReason,
		Version: m.Version, Sequence: m.Sequence,
	}
}

func fromVisit(v *events.Visit) *Engagement {
	doc, _ := json.Marshal(v)
	return &Engagement{
		item: projections.Item{Type: events.VisitAggregate, Doc: doc},
		Type: events.VisitAggregate, ID: v.ID, Title: v.Visitor.Name + " visits " + v.Destination.City, Kind: "visit",
		Status: v.Status, Start: v.Start, End: v.End, Timezone: v.Timezone, AllDay: v.AllDay,
		StartUTC: v.StartUTC, EndUTC: v.EndUTC,
		Place:   events.PlaceLabel("", v.Destination.City, v.Destination.Country),
		Country: v.Destination.Country, People: []events.Participant{v.Visitor}, Reason: v.StatusReason,
		Version: v.Version, Sequence: v.Sequence,
	}
}
