package api

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestUnknownOrRepeatedQueryParameterIs400NamingIt: a misspelt filter
// (?participants= for ?participant=) or a second value of a filter a list
// reads once would otherwise be dropped, and the unfiltered answer would
// look like the filtered one.
func TestUnknownOrRepeatedQueryParameterIs400NamingIt(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	id := a.Do("POST", "/api/v1/meetings", talks()).Must(t, http.StatusCreated).Str("id")
	for _, tc := range []struct{ path, field string }{
		{"/api/v1/meetings?participants=lavrov", "participants"},
		{"/api/v1/meetings?q=", "q"},
		{"/api/v1/visits?colour=red", "colour"},
		{"/api/v1/visits?participant=putin", "participant"}, // a visit's filter is visitor
		{"/api/v1/meetings?country=RS&country=RU", "country"},
		{"/api/v1/meetings?status=held&status=scheduled", "status"},
		{"/api/v1/meetings/" + id + "?colour=red", "colour"},
		{"/api/v1/meetings/" + id + "?as_of=2022-08-20T00:00:00Z&at=now", "at"},
		{"/api/v1/meetings/" + id + "/history?from=2022-01-01", "from"},
		{"/api/v1/events?aggregate_id=" + id, "aggregate_id"},
		{"/api/v1/deliveries?state=failed", "state"},
		{"/api/v1/deliveries/nothing?verbose=1", "verbose"},
	} {
		r := a.Do("GET", tc.path, nil, "Authorization", "Bearer "+adminToken).Must(t, http.StatusBadRequest)
		if !slices.Contains(r.FieldErrors(), tc.field) {
			t.Errorf("GET %s: the problem names %v, want %q: %s", tc.path, r.FieldErrors(), tc.field, r.Raw)
		}
	}
	for _, path := range []string{
		"/api/v1/meetings?from=2022-01-01&to=2023-01-01&country=RU&participant=lavrov&kind=talks&status=scheduled&limit=5&min_position=0",
		"/api/v1/visits?visitor=putin&country=RS",
		"/api/v1/meetings/" + id + "?min_position=0",
		"/api/v1/meetings/" + id + "/history?min_position=0",
		"/api/v1/events?after=0&limit=5&type=meeting.scheduled&aggregate=" + id,
		"/api/v1/deliveries?status=failed",
	} {
		a.Do("GET", path, nil, "Authorization", "Bearer "+adminToken).Must(t, http.StatusOK)
	}
}

// TestCountryNameIs400SuggestingTheCode: a name where a code belongs is
// refused, naming the field, with the code it means; Kosovo's XK is taken.
func TestCountryNameIs400SuggestingTheCode(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	for _, path := range []string{"/api/v1/meetings?country=Russia", "/api/v1/visits?country=RUS"} {
		r := a.Do("GET", path, nil).Must(t, http.StatusBadRequest)
		errs := r.List("errors")
		if len(errs) != 1 || errs[0]["field"] != "country" || !strings.Contains(errs[0]["detail"].(string), "did you mean RU") {
			t.Errorf("GET %s: %s, want a 400 naming country and suggesting RU", path, r.Raw)
		}
	}
	pristina := talks()
	pristina["location"] = map[string]any{"city": "Pristina", "country": "XK"}
	a.Do("POST", "/api/v1/meetings", pristina).Must(t, http.StatusCreated)
	a.Do("GET", "/api/v1/meetings?country=XK", nil).Must(t, http.StatusOK)
}
