package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

// TestAnnouncedAsOfShowsWhatTheReleaseHadToldByThen records the seed years
// after the release of 19 August 2022, as a desk typing it in would: as_of
// that day shows nothing (nothing was recorded yet), announced_as_of shows
// the talks and the past visit as the release told them.
func TestAnnouncedAsOfShowsWhatTheReleaseHadToldByThen(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	release := map[string]any{"url": "https://example.org/release", "published": "2022-08-19"}
	lavrov := a.Do("POST", "/api/v1/meetings", talks()).Must(t, http.StatusCreated).Str("id")
	visit := a.Do("POST", "/api/v1/visits", map[string]any{
		"visitor":     map[string]any{"name": "Vladimir Putin", "office": "President", "country": "RU"},
		"destination": map[string]any{"city": "Belgrade", "country": "RS"},
		"start":       "2019-01-19", "purpose": "official visit", "source": release,
	}).Must(t, http.StatusCreated).Str("id")
	// Told first-hand today, with no source: announced today.
	unsourced := talks()
	delete(unsourced, "source")
	later := a.Do("POST", "/api/v1/meetings", unsourced).Must(t, http.StatusCreated).Str("id")
	// A change of plan recorded today, with no source either.
	a.Do("POST", "/api/v1/meetings/"+lavrov+"/reschedule", map[string]any{"start": "2022-08-23", "reason": "schedules"}).Must(t, http.StatusOK)
	now := url.QueryEscape(time.Now().Add(time.Minute).UTC().Format(time.RFC3339))
	today := time.Now().UTC().Format("2006-01-02")
	last := fmt.Sprint(a.lastSeq())

	ids := func(r []map[string]any) []string {
		var out []string
		for _, m := range r {
			out = append(out, fmt.Sprint(m["id"], " ", m["start"]))
		}
		return out
	}
	for _, tc := range []struct {
		query  string
		plural string
		want   []string
	}{
		{"as_of=2022-08-20T00:00:00Z", "meetings", nil},
		{"announced_as_of=2022-08-20", "meetings", []string{lavrov + " 2022-08-22"}},
		{"announced_as_of=2022-08-20", "visits", []string{visit + " 2019-01-19"}},
		{"announced_as_of=2022-08-18", "visits", nil},
		{"announced_as_of=" + today, "meetings", []string{lavrov + " 2022-08-23", later + " 2022-08-22"}},
		{"as_of=2022-08-20T00:00:00Z&announced_as_of=2022-08-20", "meetings", nil},
		{"as_of=" + now + "&announced_as_of=2022-08-20", "meetings", []string{lavrov + " 2022-08-22"}},
	} {
		r := a.Do("GET", "/api/v1/"+tc.plural+"?min_position="+last+"&"+tc.query, nil).Must(t, http.StatusOK)
		got := ids(r.List(tc.plural))
		slices.Sort(got)
		slices.Sort(tc.want)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s?%s: %v, want %v", tc.plural, tc.query, got, tc.want)
		}
		if q, _ := url.ParseQuery(tc.query); q.Has("announced_as_of") && r.Str("announced_as_of") != q.Get("announced_as_of") {
			t.Errorf("%s?%s: the answer does not say which day it is as of: %s", tc.plural, tc.query, r.Raw)
		}
	}

	one := a.Do("GET", "/api/v1/meetings/"+lavrov+"?announced_as_of=2022-08-20", nil).Must(t, http.StatusOK)
	if one.Str("start") != "2022-08-22" || one.Header.Get("ETag") != `"1"` {
		t.Errorf("the talks announced by 20 August: %s (ETag %s), want the start of the release, version 1", one.Raw, one.Header.Get("ETag"))
	}
	both := a.Do("GET", "/api/v1/meetings/"+lavrov+"?as_of="+now+"&announced_as_of="+today, nil).Must(t, http.StatusOK)
	if both.Str("start") != "2022-08-23" {
		t.Errorf("the talks recorded by now and announced by today: %s, want the new start", both.Raw)
	}
	a.Do("GET", "/api/v1/meetings/"+lavrov+"?as_of=2022-08-20T00:00:00Z&announced_as_of=2022-08-20", nil).Must(t, http.StatusNotFound)
	a.Do("GET", "/api/v1/meetings/"+later+"?announced_as_of=2022-08-20", nil).Must(t, http.StatusNotFound)
	a.Do("GET", "/api/v1/visits/"+visit+"?announced_as_of=2022-08-19", nil).Must(t, http.StatusOK)

	for _, path := range []string{
		"/api/v1/meetings?announced_as_of=20-08-2022",
		"/api/v1/visits?announced_as_of=2022-08-20T00:00:00Z",
		"/api/v1/meetings/" + lavrov + "?announced_as_of=yesterday",
		"/api/v1/meetings/" + lavrov + "?announced_as_of=",
		"/api/v1/meetings?announced_as_of=2022-08-20&announced_as_of=2022-08-21",
	} {
		r := a.Do("GET", path, nil).Must(t, http.StatusBadRequest)
		if !slices.Contains(r.FieldErrors(), "announced_as_of") {
			t.Errorf("GET %s: the problem does not name announced_as_of: %s", path, r.Raw)
		}
	}
}
