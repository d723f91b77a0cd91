package calendar

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"
)

// TestFeedUnknownOrRepeatedParameterIs400NamingIt: a misspelt filter
// (?participants=) would serve the whole calendar as if it were the one
// asked for, to a calendar app that shows no error but a wrong schedule.
func TestFeedUnknownOrRepeatedParameterIs400NamingIt(t *testing.T) {
	s := newStore(t, time.Date(2022, 8, 19, 9, 0, 0, 0, time.UTC))
	_, base := s.serve(t, Config{Feeds: []Feed{{Name: "serbia", Filter: Filter{Countries: []string{"RS"}}}}})
	for _, tc := range []struct{ path, field string }{
		{"/calendar.ics?participants=lavrov", "participants"},
		{"/calendar.ics?q=", "q"},
		{"/calendar.ics?colour=red&country=RS", "colour"},
		{"/calendar.ics?token=x", "token"}, // only a named feed has one
		{"/calendar.ics?from=2022-01-01&from=2023-01-01", "from"},
		{"/feeds/serbia.ics?colour=red", "colour"},
		{"/feeds/serbia.ics?as_of=2022-08-19T10:00:00Z&as_of=2022-08-19T11:00:00Z", "as_of"},
	} {
		res, body := get(t, base+tc.path)
		var p struct {
			Errors []struct{ Field string } `json:"errors"`
		}
		json.Unmarshal(body, &p)
		var named []string
		for _, e := range p.Errors {
			named = append(named, e.Field)
		}
		if res.StatusCode != http.StatusBadRequest || !slices.Contains(named, tc.field) {
			t.Errorf("GET %s: %d %s, want 400 naming %q", tc.path, res.StatusCode, body, tc.field)
		}
	}
	for _, path := range []string{
		"/calendar.ics?country=RS&country=RU&participant=lavrov&kind=talks&status=held&from=2022-01-01&to=2023-01-01&alarm=-PT1H&min_position=0",
		"/feeds/serbia.ics?token=&status=held&country=DE", // its own filter replaces country
	} {
		if res, body := get(t, base+path); res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d %s, want 200", path, res.StatusCode, body)
		}
	}
}
