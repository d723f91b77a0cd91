package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/projections"
)

func TestCreatedMeetingIsReadListedByEachFilterAndHasItsHistory(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	w := a.Do("POST", "/api/v1/meetings", talks()).Must(t, http.StatusCreated)
	id := w.Str("id")
	if w.Header.Get("Location") != "/api/v1/meetings/"+id || w.Header.Get("ETag") != `"1"` || w.Header.Get("Chancery-Position") == "" {
		t.Errorf("create: Location %q, ETag %q, Chancery-Position %q", w.Header.Get("Location"), w.Header.Get("ETag"), w.Header.Get("Chancery-Position"))
	}
	pos := fmt.Sprintf("min_position=%d", w.Position(t))

	got := a.Do("GET", "/api/v1/meetings/"+id+"?"+pos, nil, "Authorization", "-").Must(t, http.StatusOK)
	if got.Str("title") != "Talks between Sergey Lavrov and Aleksandar Vulin" || got.Str("status") != "scheduled" || got.Header.Get("ETag") != `"1"` {
		t.Errorf("read: %s", got.Raw)
	}
	for query, want := range map[string]int{
		"":                                     1,
		"country=RU":                           1,
		"country=RS":                           1, // a participant's
		"country=FR":                           0,
		"participant=lavrov":                   1,
		"participant=lavr":                     0, // whole words
		"kind=talks&status=scheduled":          1,
		"kind=call":                            0,
		"from=2022-08-22&to=2022-08-22":        1,
		"from=2022-08-23":                      0,
		"status=cancelled":                     0,
		"participant=Vulin&country=RU&limit=1": 1,
	} {
		l := a.Do("GET", "/api/v1/meetings?"+pos+"&"+query, nil).Must(t, http.StatusOK)
		if n := len(l.List("meetings")); n != want {
			t.Errorf("list ?%s: %d meetings, want %d: %s", query, n, want, l.Raw)
		}
	}
	h := a.Do("GET", "/api/v1/meetings/"+id+"/history", nil).Must(t, http.StatusOK)
	if ev := h.List("events"); len(ev) != 1 || ev[0]["type"] != "meeting.scheduled" {
		t.Errorf("history: %s", h.Raw)
	}
}

func TestStaleIfMatchIs412AndStoresNothing(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	id := a.Do("POST", "/api/v1/meetings", talks()).Must(t, http.StatusCreated).Str("id")
	moved := a.Do("POST", "/api/v1/meetings/"+id+"/reschedule", map[string]any{"start": "2022-08-23", "reason": "travel"}, "If-Match", `"1"`).Must(t, http.StatusOK)
	if moved.Header.Get("ETag") != `"2"` || moved.Str("status") != "rescheduled" {
		t.Fatalf("reschedule: ETag %q: %s", moved.Header.Get("ETag"), moved.Raw)
	}
	before := a.lastSeq()
	stale := a.Do("POST", "/api/v1/meetings/"+id+"/cancel", map[string]any{"reason": "none"}, "If-Match", `"1"`).Must(t, http.StatusPreconditionFailed)
	if stale.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("412 is not a problem: %s", stale.Raw)
	}
	if after := a.lastSeq(); after != before {
		t.Errorf("a stale If-Match stored events: last sequence %d, was %d", after, before)
	}
}

func TestIdempotencyKeyReplaysTheFirstAnswer(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	first := a.Do("POST", "/api/v1/meetings", talks(), "Idempotency-Key", "release-2022-08-19").Must(t, http.StatusCreated)
	before := a.lastSeq()
	again := a.Do("POST", "/api/v1/meetings", talks(), "Idempotency-Key", "release-2022-08-19").Must(t, http.StatusCreated)
	if again.Str("id") != first.Str("id") || again.Header.Get("Idempotent-Replayed") != "true" ||
		again.Header.Get("Location") != first.Header.Get("Location") || again.Header.Get("Chancery-Position") != first.Header.Get("Chancery-Position") {
		t.Errorf("retry answered %s (replayed %q), want the first answer %s", again.Raw, again.Header.Get("Idempotent-Replayed"), first.Raw)
	}
	if after := a.lastSeq(); after != before {
		t.Errorf("the retry stored events: last sequence %d, was %d", after, before)
	}
	changed := talks()
	changed["title"] = "Another meeting"
	a.Do("POST", "/api/v1/meetings", changed, "Idempotency-Key", "release-2022-08-19").Must(t, http.StatusUnprocessableEntity)
}

func TestBadInputIs400NamingTheFieldAndStoresNothing(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	id := a.Do("POST", "/api/v1/meetings", talks()).Must(t, http.StatusCreated).Str("id")
	before := a.lastSeq()
	russia := talks()
	russia["location"] = map[string]any{"city": "Moscow", "country": "Russia"}
	for _, tc := range []struct {
		method, path string
		body         any
		field        string
	}{
		{"POST", "/api/v1/meetings", russia, "location.country"},
		{"POST", "/api/v1/meetings", `{"title": "a", "title": "b"}`, "title"},
		{"POST", "/api/v1/meetings", `{"participants": [{"name": "a"}, {"name": 5}]}`, "participants[1].name"},
		{"POST", "/api/v1/meetings/" + id + "/reschedule", map[string]any{"start": "22.08.2022"}, "start"},
		{"POST", "/api/v1/meetings/not-an-id/cancel", map[string]any{}, "id"},
		{"GET", "/api/v1/meetings?country=Serbia", nil, "country"},
		{"GET", "/api/v1/visits?from=yesterday", nil, "from"},
		{"GET", "/api/v1/meetings?cursor=nonsense", nil, "cursor"},
		{"GET", "/api/v1/meetings/" + id + "?min_position=soon", nil, "min_position"},
		{"GET", "/api/v1/events?type=meeting.exploded", nil, "type"},
	} {
		r := a.Do(tc.method, tc.path, tc.body).Must(t, http.StatusBadRequest)
		if !slices.Contains(r.FieldErrors(), tc.field) {
			t.Errorf("%s %s: the problem names %v, want %q: %s", tc.method, tc.path, r.FieldErrors(), tc.field, r.Raw)
		}
	}
	if after := a.lastSeq(); after != before {
		t.Errorf("bad input stored events: last sequence %d, was %d", after, before)
	}
}

func TestUnknownIdIs404NamingIt(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	const id = "mtg_01j00000000000000000000000"
	for _, path := range []string{"/api/v1/meetings/" + id, "/api/v1/meetings/" + id + "/history", "/api/v1/meetings/" + id + "?as_of=2022-08-20T00:00:00Z"} {
		r := a.Do("GET", path, nil).Must(t, http.StatusNotFound)
		if !strings.Contains(r.Str("detail"), id) {
			t.Errorf("GET %s: the problem does not name the id: %s", path, r.Raw)
		}
	}
	r := a.Do("POST", "/api/v1/meetings/"+id+"/cancel", map[string]any{}).Must(t, http.StatusNotFound)
	if !strings.Contains(r.Str("detail"), id) {
		t.Errorf("cancel: the problem does not name the id: %s", r.Raw)
	}
}

func TestMinPositionNotReachedIs503WithRetryAfter(t *testing.T) {
	t.Parallel()
	a := startAPI(t, func(c *Config) { c.MinPositionWait = 50 * time.Millisecond })
	for _, path := range []string{"/api/v1/meetings?min_position=999", "/api/v1/visits/vis_01j00000000000000000000000?min_position=999", "/calendar.ics?min_position=999"} {
		r := a.Do("GET", path, nil).Must(t, http.StatusServiceUnavailable)
		if r.Header.Get("Retry-After") != "1" || !strings.Contains(r.Str("detail"), "999") {
			t.Errorf("GET %s: Retry-After %q: %s; want 1 and the position", path, r.Header.Get("Retry-After"), r.Raw)
		}
	}
}

// TestAsOfShowsTheMeetingAsItStood reads a rescheduled meeting at the
// moment its first event was recorded, before, and now.
func TestAsOfShowsTheMeetingAsItStood(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	id := a.Do("POST", "/api/v1/meetings", talks()).Must(t, http.StatusCreated).Str("id")
	pos := a.Do("POST", "/api/v1/meetings/"+id+"/reschedule", map[string]any{"start": "2022-08-23"}).Must(t, http.StatusOK).Position(t)
	hist := a.Do("GET", "/api/v1/meetings/"+id+"/history", nil).Must(t, http.StatusOK).List("events")
	first := hist[0]["recorded_at"].(string)

	then := a.Do("GET", "/api/v1/meetings/"+id+"?as_of="+first, nil).Must(t, http.StatusOK)
	if then.Str("start") != "2022-08-22" || then.Header.Get("ETag") != `"1"` {
		t.Errorf("as of the first event: %s (ETag %s), want the start announced, version 1", then.Raw, then.Header.Get("ETag"))
	}
	// The read model answers once it has applied the reschedule.
	now := a.Do("GET", fmt.Sprintf("/api/v1/meetings/%s?min_position=%d", id, pos), nil).Must(t, http.StatusOK)
	if now.Str("start") != "2022-08-23" {
		t.Errorf("now: %s, want the new start", now.Raw)
	}
	a.Do("GET", "/api/v1/meetings/"+id+"?as_of=2022-08-01T00:00:00Z", nil).Must(t, http.StatusNotFound)
	a.Do("GET", "/api/v1/meetings/"+id+"?as_of=yesterday", nil).Must(t, http.StatusBadRequest)
	list := a.Do("GET", "/api/v1/meetings?as_of="+first, nil).Must(t, http.StatusOK)
	if m := list.List("meetings"); len(m) != 1 || m[0]["start"] != "2022-08-22" || list.Str("as_of") != first {
		t.Errorf("list as of the first event: %s", list.Raw)
	}
}

func TestWritesNeedATokenOfWriteScope(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	r := a.Do("POST", "/api/v1/meetings", talks(), "Authorization", "-").Must(t, http.StatusUnauthorized)
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("401 without WWW-Authenticate")
	}
	a.Do("POST", "/api/v1/meetings", talks(), "Authorization", "Bearer "+readToken).Must(t, http.StatusForbidden)
	a.Do("GET", "/api/v1/deliveries", nil, "Authorization", "Bearer "+writeToken).Must(t, http.StatusForbidden)
	a.Do("GET", "/api/v1/deliveries", nil, "Authorization", "Bearer "+adminToken).Must(t, http.StatusOK)
	a.Do("GET", "/api/v1/deliveries/nothing", nil, "Authorization", "Bearer "+adminToken).Must(t, http.StatusNotFound)
	a.Do("GET", "/api/v1/meetings", nil, "Authorization", "-").Must(t, http.StatusOK)
}

// failingReadModel fails every query with its error.
type failingReadModel struct{ err error }

func (f failingReadModel) List(context.Context, projections.Query) (projections.Page, error) {
	return projections.Page{}, f.err
}

func (f failingReadModel) Get(context.Context, string, string) (projections.Resource, uint64, error) {
	return projections.Resource{}, 0, f.err
}

// TestReadModelFailureIs500AndATransientOneIs503: a bug says nothing of
// its cause; a condition that passes asks the client to come back.
func TestReadModelFailureIs500AndATransientOneIs503(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err        error
		status     int
		retryAfter string
	}{
		{errors.New("sql: database is closed"), http.StatusInternalServerError, ""},
		{fmt.Errorf("query: %w", events.Errorf(events.EUNAVAILABLE, "disk full")), http.StatusServiceUnavailable, RetryAfter},
	} {
		a := startAPI(t, func(c *Config) { c.DB = failingReadModel{tc.err} })
		for _, path := range []string{"/api/v1/meetings", "/api/v1/meetings/mtg_01j00000000000000000000000"} {
			r := a.Do("GET", path, nil).Must(t, tc.status)
			if r.Header.Get("Retry-After") != tc.retryAfter || strings.Contains(string(r.Raw), "closed") {
				t.Errorf("%v: GET %s: Retry-After %q: %s", tc.err, path, r.Header.Get("Retry-After"), r.Raw)
			}
		}
	}
}

// TestEveryKindOfAnswerIsAsDocumented walks the routes not walked above,
// each answer checked against openapi.json.
func TestEveryKindOfAnswerIsAsDocumented(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	v := a.Do("POST", "/api/v1/visits", map[string]any{
		"visitor":     map[string]any{"name": "Ana Brnabić", "office": "Prime Minister", "country": "RS"},
		"destination": map[string]any{"city": "Moscow", "country": "RU"},
		"start":       "2021-11-24", "end": "2021-11-25", "purpose": "official visit",
	}).Must(t, http.StatusCreated)
	id := v.Str("id")
	a.Do("POST", "/api/v1/visits/"+id+"/reschedule", map[string]any{"start": "2021-11-25", "end": "2021-11-26"}).Must(t, http.StatusOK)
	a.Do("POST", "/api/v1/visits/"+id+"/complete", map[string]any{"outcome": "agreements signed"}).Must(t, http.StatusOK)
	a.Do("POST", "/api/v1/visits/"+id+"/cancel", map[string]any{}).Must(t, http.StatusUnprocessableEntity)
	pos := a.Do("GET", "/api/v1/visits/"+id+"/history", nil).Must(t, http.StatusOK)
	if len(pos.List("events")) != 3 {
		t.Errorf("visit history: %s", pos.Raw)
	}
	last := fmt.Sprint(a.lastSeq())
	l := a.Do("GET", "/api/v1/visits?visitor=brnabic&status=completed&min_position="+last, nil).Must(t, http.StatusOK)
	if len(l.List("visits")) != 1 {
		t.Errorf("visits by visitor: %s", l.Raw)
	}
	a.Do("GET", "/api/v1/visits/"+id, nil, "If-None-Match", `"3"`).Must(t, http.StatusNotModified)

	page := a.Do("GET", "/api/v1/events?limit=2", nil).Must(t, http.StatusOK)
	if len(page.List("events")) != 2 || page.JSON["next_after"] != float64(2) {
		t.Errorf("events page: %s", page.Raw)
	}
	lines := a.Do("GET", "/api/v1/events?aggregate="+id, nil, "Accept", "application/x-ndjson").Must(t, http.StatusOK)
	if n := strings.Count(string(lines.Raw), "\n"); n != 3 {
		t.Errorf("ndjson: %d lines, want 3: %s", n, lines.Raw)
	}
	ics := a.Do("GET", "/calendar.ics?from=2021-01-01&min_position="+last, nil).Must(t, http.StatusOK)
	if !strings.Contains(string(ics.Raw), "BEGIN:VEVENT") {
		t.Errorf("calendar.ics: %s", ics.Raw)
	}
	a.Do("GET", "/api/v1/visits/"+id+".ics", nil).Must(t, http.StatusOK)
	a.Do("GET", "/feeds/nothing.ics", nil).Must(t, http.StatusNotFound)
	a.Do("GET", "/healthz", nil).Must(t, http.StatusOK)
	a.Do("GET", "/readyz", nil).Must(t, http.StatusOK)
	a.Do("POST", "/api/v1/deliveries/nothing/retry", nil, "Authorization", "Bearer "+adminToken).Must(t, http.StatusNotFound)
}

// TestRescheduleAndRelocateKeepWhatTheyAreNotTold moves a timed meeting by
// its start alone and to another venue by the venue alone: the answer and
// the recorded events carry the complete new values; a part the meeting
// cannot supply is a 400 naming it, and nothing is stored.
func TestRescheduleAndRelocateKeepWhatTheyAreNotTold(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	timed := talks()
	timed["start"], timed["end"], timed["timezone"] = "2022-08-22T10:00", "2022-08-22T12:30", "Europe/Moscow"
	timed["location"] = map[string]any{"city": "Moscow", "country": "RU", "venue": "Osobnyak"}
	id := a.Do("POST", "/api/v1/meetings", timed).Must(t, http.StatusCreated).Str("id")

	moved := a.Do("POST", "/api/v1/meetings/"+id+"/reschedule", map[string]any{"start": "2022-08-23T15:00"}).Must(t, http.StatusOK)
	if moved.Str("start") != "2022-08-23T15:00:00" || moved.Str("end") != "2022-08-23T17:30:00" || moved.Str("timezone") != "Europe/Moscow" {
		t.Errorf("reschedule by start alone: %s; want 15:00 to 17:30 in Europe/Moscow", moved.Raw)
	}
	relocated := a.Do("POST", "/api/v1/meetings/"+id+"/relocate", map[string]any{"location": map[string]any{"venue": "Kremlin"}}).Must(t, http.StatusOK)
	if loc, _ := relocated.JSON["location"].(map[string]any); loc["city"] != "Moscow" || loc["country"] != "RU" || loc["venue"] != "Kremlin" {
		t.Errorf("relocate by venue alone: %s; want the Kremlin in Moscow, RU", relocated.Raw)
	}

	h := a.Do("GET", "/api/v1/meetings/"+id+"/history", nil).Must(t, http.StatusOK).List("events")
	if len(h) != 3 {
		t.Fatalf("history has %d events, want 3", len(h))
	}
	resched, _ := h[1]["data"].(map[string]any)
	if resched["start"] != "2022-08-23T15:00:00" || resched["end"] != "2022-08-23T17:30:00" || resched["timezone"] != "Europe/Moscow" {
		t.Errorf("meeting.rescheduled records %v, want the complete new span", resched)
	}
	reloc, _ := h[2]["data"].(map[string]any)
	if loc, _ := reloc["location"].(map[string]any); loc["city"] != "Moscow" || loc["country"] != "RU" || loc["venue"] != "Kremlin" {
		t.Errorf("meeting.relocated records %v, want the complete new place", reloc)
	}

	// Antarctica has no capital zone: an all-day meeting there is in the UTC
	// fallback, which is no place's zone for a time.
	far := talks()
	delete(far, "timezone")
	far["location"] = map[string]any{"city": "Vostok Station", "country": "AQ"}
	farID := a.Do("POST", "/api/v1/meetings", far).Must(t, http.StatusCreated).Str("id")
	days := talks()
	days["end"] = "2022-08-24"
	daysID := a.Do("POST", "/api/v1/meetings", days).Must(t, http.StatusCreated).Str("id")
	before := a.lastSeq()
	for _, tc := range []struct{ id, field string }{{farID, "timezone"}, {daysID, "end"}} {
		r := a.Do("POST", "/api/v1/meetings/"+tc.id+"/reschedule", map[string]any{"start": "2022-08-25T10:00"}).Must(t, http.StatusBadRequest)
		if !slices.Equal(r.FieldErrors(), []string{tc.field}) {
			t.Errorf("reschedule to a time: the problem names %v, want %q: %s", r.FieldErrors(), tc.field, r.Raw)
		}
	}
	if after := a.lastSeq(); after != before {
		t.Errorf("bad input stored events: last sequence %d, was %d", after, before)
	}
}
