package events

import (
	"strings"
	"unicode"
)

// The labels below are how every reader (calendar feeds, alerts, the audit
// story) shows a person, a place and a visit: built here once, so that an
// email and a feed cannot show the same engagement differently.

// PersonLabel writes "Name, Office (Country)" with whatever of it is known,
// the way calendars and alerts show a participant.
func PersonLabel(p Participant) string {
	s := p.Name
	if p.Office != "" {
		s += ", " + p.Office
	}
	if p.Country != "" {
		s += " (" + CountryName(p.Country) + ")"
	}
	return s
}

// PlaceLabel writes "Venue, City, Country name" with whatever of it shows:
// a part with nothing visible in it is left out with its comma. Validation
// trims what commands bring, but an event loaded as recorded (import-events)
// is folded as it is, and a label must never read " , Moscow".
func PlaceLabel(venue, city, country string) string {
	var parts []string
	for _, p := range []string{venue, city, CountryName(country)} {
		if strings.TrimFunc(p, invisible) != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

func invisible(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

// VisitTitle writes the title a visit is shown under: "Visitor visits City".
// A visit has no title of its own; the visitor and the destination are it.
func VisitTitle(visitor Participant, city string) string {
	return visitor.Name + " visits " + city
}
