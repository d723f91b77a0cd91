package events

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Participant is a person taking part, with the office and country they held
// on the day of the engagement. Offices belong to the participation, not to
// the person: ministers change portfolios, the record must not.
type Participant struct {
	Name    string `json:"name"`
	Office  string `json:"office"`
	Country string `json:"country"`
}

// Location is where a meeting takes place.
type Location struct {
	City    string `json:"city"`
	Country string `json:"country"`
	Venue   string `json:"venue"`
}

// Destination is where a visit goes.
type Destination struct {
	City    string `json:"city"`
	Country string `json:"country"`
}

// Source is the public document an engagement was recorded from.
type Source struct {
	URL       string `json:"url"`
	Published string `json:"published"`
}

// Limits on text fields, generous for real names and titles, small enough
// that no single field can bloat a feed or an email.
const (
	maxLine = 300
	maxText = 10000
)

// CountryName returns the English short name of an ISO 3166-1 alpha-2 code.
func CountryName(code string) string { return countries[code].name }

// CapitalZone returns the IANA zone of a country's capital, or "".
func CapitalZone(code string) string { return countries[code].zone }

// ValidCountry reports whether code is an assigned ISO 3166-1 alpha-2 code.
func ValidCountry(code string) bool {
	_, ok := countries[code]
	return ok
}

func (f *Fields) country(field, v string, required bool) string {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			f.Add(field, "is required: an ISO 3166-1 alpha-2 code such as RS")
		}
		return ""
	}
	if !ValidCountry(v) {
		f.Add(field, "%s", UnknownCountry(v))
	}
	return v
}

// line validates a single-line text field: trimmed, no control characters,
// no line or paragraph separator (U+2028, U+2029: a line break to many
// readers, in JavaScript and in mail), and no bidirectional embedding,
// override or isolate (U+202A–U+202E, U+2066–U+2069), which make a name
// display as another text than it is in calendars and alerts. It is
// part of deciding a command, so it holds whichever way a command came in.
func (f *Fields) line(field, v string, required bool) string {
	v = strings.TrimSpace(v)
	switch {
	case v == "" && required:
		f.Add(field, "is required")
	case utf8.RuneCountInString(v) > maxLine:
		f.Add(field, "is longer than %d characters", maxLine)
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		f.Add(field, "must be one line without control characters")
	case strings.IndexFunc(v, lineBreaking) >= 0:
		r, _ := utf8.DecodeRuneInString(v[strings.IndexFunc(v, lineBreaking):])
		f.Add(field, "must be one line without line separators or bidirectional controls (has U+%04X)", r)
	}
	return v
}

// lineBreaking reports a character that breaks a line or reorders the
// text around it: the separators and bidirectional formatting characters
// that line refuses.
func lineBreaking(r rune) bool {
	return r == '\u2028' || r == '\u2029' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}

// text validates a free-text field that may span lines.
func (f *Fields) text(field, v string) string {
	v = strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
	if utf8.RuneCountInString(v) > maxText {
		f.Add(field, "is longer than %d characters", maxText)
	}
	if strings.IndexFunc(v, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0 {
		f.Add(field, "must not contain control characters other than newlines and tabs")
	}
	return v
}

func (f *Fields) participants(field string, ps []Participant, required bool) []Participant {
	if len(ps) == 0 && required {
		f.Add(field, "needs at least one participant")
	}
	if len(ps) > 100 {
		f.Add(field, "has more than 100 participants")
		return nil
	}
	out := make([]Participant, len(ps))
	seen := map[string]bool{}
	for i, p := range ps {
		pre := field + "[" + itoa(i) + "]."
		out[i] = Participant{
			Name:    f.line(pre+"name", p.Name, true),
			Office:  f.line(pre+"office", p.Office, false),
			Country: f.country(pre+"country", p.Country, false),
		}
		key := FoldName(out[i].Name)
		if key != "" && seen[key] {
			f.Add(pre+"name", "%q is listed twice", out[i].Name)
		}
		seen[key] = true
	}
	return out
}

func (f *Fields) location(field string, l Location) Location {
	return Location{
		City:    f.line(field+".city", l.City, false),
		Country: f.country(field+".country", l.Country, true),
		Venue:   f.line(field+".venue", l.Venue, false),
	}
}

func (f *Fields) source(field string, s *Source) *Source {
	if s == nil || (s.URL == "" && s.Published == "") {
		return nil
	}
	out := &Source{URL: strings.TrimSpace(s.URL), Published: strings.TrimSpace(s.Published)}
	if out.URL != "" {
		u, err := url.Parse(out.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(out.URL) > 2000 {
			f.Add(field+".url", "must be an absolute http or https URL")
		}
	}
	if out.Published != "" {
		if t, timed, ok := parseLocal(out.Published); !ok || timed {
			f.Add(field+".published", "%q is not a date (YYYY-MM-DD)", out.Published)
		} else {
			out.Published = t.Format(DateLayout)
		}
	}
	return out
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
