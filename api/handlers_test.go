package api

import (
	"context"
	"encoding/json"
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
	w := a.do("POST", "/api/v1/meetings", talks()).must(t, http.StatusCreated)
	id := w.str("id")
	if w.header.Get("Location") != "/api/v1/meetings/"+id || w.header.Get("ETag") != `"1"` || w.header.Get("Chancery-Position") == "" {
		t.Errorf("create: Location %q, ETag %q, Chancery-Position %q", w.header.Get("Location"), w.header.Get("ETag"), w.header.Get("Chancery-Position"))
	}
	pos := "min_position=" + w.header.Get("Chancery-Position")

	got := a.do("GET", "/api/v1/meetings/"+id+"?"+pos, nil, "Authorization", "-").must(t, http.StatusOK)
	if got.str("title") != "Talks between Sergey Lavrov and Aleksandar Vulin" || got.str("status") != "scheduled" || got.header.Get("ETag") != `"1"` {
		t.Errorf("read: %s", got.raw)
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
		l := a.do("GET", "/api/v1/meetings?"+pos+"&"+query, nil).must(t, http.StatusOK)
		if n := len(l.list("meetings")); n != want {
			t.Errorf("list ?%s: %d meetings, want %d: %s", query, n, want, l.raw)
		}
	}
	h := a.do("GET", "/api/v1/meetings/"+id+"/history", nil).must(t, http.StatusOK)
	if ev := h.list("events"); len(ev) != 1 || ev[0].(map[string]any)["type"] != "meeting.scheduled" {
		t.Errorf("history: %s", h.raw)
	}
}

func TestStaleIfMatchIs412AndStoresNothing(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	id := a.do("POST", "/api/v1/meetings", talks()).must(t, http.StatusCreated).str("id")
	moved := a.do("POST", "/api/v1/meetings/"+id+"/reschedule", map[string]any{"start": "2022-08-23", "reason": "travel"}, "If-Match", `"1"`).must(t, http.StatusOK)
	if moved.header.Get("ETag") != `"2"` || moved.str("status") != "rescheduled" {
		t.Fatalf("reschedule: ETag %q: %s", moved.header.Get("ETag"), moved.raw)
	}
	before := a.lastSeq()
	stale := a.do("POST", "/api/v1/meetings/"+id+"/cancel", map[string]any{"reason": "none"}, "If-Match", `"1"`).must(t, http.StatusPreconditionFailed)
	if stale.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("412 is not a problem: %s", stale.raw)
	}
	if after := a.lastSeq(); after != before {
		t.Errorf("a stale If-Match stored events: last sequence %d, was %d", after, before)
	}
}

func TestIdempotencyKeyReplaysTheFirstAnswer(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	first := a.do("POST", "/api/v1/meetings", talks(), "Idempotency-Key", "release-2022-08-19").must(t, http.StatusCreated)
	before := a.lastSeq()
	again := a.do("POST", "/api/v1/meetings", talks(), "Idempotency-Key", "release-2022-08-19").must(t, http.StatusCreated)
	if again.str("id") != first.str("id") || again.header.Get("Idempotent-Replayed") != "true" ||
		again.header.Get("Location") != first.header.Get("Location") || again.header.Get("Chancery-Position") != first.header.Get("Chancery-Position") {
		t.Errorf("retry answered %s (replayed %q), want the first answer %s", again.raw, again.header.Get("Idempotent-Replayed"), first.raw)
	}
	if after := a.lastSeq(); after != before {
		t.Errorf("the retry stored events: last sequence %d, was %d", after, before)
	}
	changed := talks()
	changed["title"] = "Another meeting"
	a.do("POST", "/api/v1/meetings", changed, "Idempotency-Key", "release-2022-08-19").must(t, http.StatusUnprocessableEntity)
}

func TestBadInputIs400NamingTheFieldAndStoresNothing(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	id := a.do("POST", "/api/v1/meetings", talks()).must(t, http.StatusCreated).str("id")
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
		r := a.do(tc.method, tc.path, tc.body).must(t, http.StatusBadRequest)
		if !slices.Contains(r.fields(), tc.field) {
			t.Errorf("%s %s: the problem names %v, want %q: %s", tc.method, tc.path, r.fields(), tc.field, r.raw)
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
		r := a.do("GET", path, nil).must(t, http.StatusNotFound)
		if !strings.Contains(r.str("detail"), id) {
			t.Errorf("GET %s: the problem does not name the id: %s", path, r.raw)
		}
	}
	r := a.do("POST", "/api/v1/meetings/"+id+"/cancel", map[string]any{}).must(t, http.StatusNotFound)
	if !strings.Contains(r.str("detail"), id) {
		t.Errorf("cancel: the problem does not name the id: %s", r.raw)
	}
}

func TestMinPositionNotReachedIs503WithRetryAfter(t *testing.T) {
	t.Parallel()
	a := startAPI(t, func(c *Config) { c.MinPositionWait = 50 * time.Millisecond })
	for _, path := range []string{"/api/v1/meetings?min_position=999", "/api/v1/visits/vis_01j00000000000000000000000?min_position=999", "/calendar.ics?min_position=999"} {
		r := a.do("GET", path, nil).must(t, http.StatusServiceUnavailable)
		if r.header.Get("Retry-After") != "1" || !strings.Contains(r.str("detail"), "999") {
			t.Errorf("GET %s: Retry-After %q: %s; want 1 and the position", path, r.header.Get("Retry-After"), r.raw)
		}
	}
}

// TestAsOfShowsTheMeetingAsItStood reads a rescheduled meeting at the
// moment its first event was recorded, before, and now.
func TestAsOfShowsTheMeetingAsItStood(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	id := a.do("POST", "/api/v1/meetings", talks()).must(t, http.StatusCreated).str("id")
	a.do("POST", "/api/v1/meetings/"+id+"/reschedule", map[string]any{"start": "2022-08-23"}).must(t, http.StatusOK)
	hist := a.do("GET", "/api/v1/meetings/"+id+"/history", nil).must(t, http.StatusOK).list("events")
	first := hist[0].(map[string]any)["recorded_at"].(string)

	then := a.do("GET", "/api/v1/meetings/"+id+"?as_of="+first, nil).must(t, http.StatusOK)
	if then.str("start") != "2022-08-22" || then.header.Get("ETag") != `"1"` {
		t.Errorf("as of the first event: %s (ETag %s), want the start announced, version 1", then.raw, then.header.Get("ETag"))
	}
	now := a.do("GET", "/api/v1/meetings/"+id, nil).must(t, http.StatusOK)
	if now.str("start") != "2022-08-23" {
		t.Errorf("now: %s, want the new start", now.raw)
	}
	a.do("GET", "/api/v1/meetings/"+id+"?as_of=2022-08-01T00:00:00Z", nil).must(t, http.StatusNotFound)
	a.do("GET", "/api/v1/meetings/"+id+"?as_of=yesterday", nil).must(t, http.StatusBadRequest)
	list := a.do("GET", "/api/v1/meetings?as_of="+first, nil).must(t, http.StatusOK)
	if m := list.list("meetings"); len(m) != 1 || m[0].(map[string]any)["start"] != "2022-08-22" || list.str("as_of") != first {
		t.Errorf("list as of the first event: %s", list.raw)
	}
}

func TestWritesNeedATokenOfWriteScope(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	r := a.do("POST", "/api/v1/meetings", talks(), "Authorization", "-").must(t, http.StatusUnauthorized)
	if r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("401 without WWW-Authenticate")
	}
	a.do("POST", "/api/v1/meetings", talks(), "Authorization", "Bearer "+readToken).must(t, http.StatusForbidden)
	a.do("GET", "/api/v1/deliveries", nil).must(t, http.StatusForbidden)
	a.do("GET", "/api/v1/deliveries", nil, "Authorization", "Bearer "+adminToken).must(t, http.StatusOK)
	a.do("GET", "/api/v1/deliveries/nothing", nil, "Authorization", "Bearer "+adminToken).must(t, http.StatusNotFound)
	a.do("GET", "/api/v1/meetings", nil, "Authorization", "-").must(t, http.StatusOK)
}

// failingReadModel fails every query with its error.
type failingReadModel struct{ err error }

func (f failingReadModel) List(context.Context, projections.Query) (projections.Page, error) {
	return projections.Page{}, f.err
}

func (f failingReadModel) Get(context.Context, string, string) (json.RawMessage, uint64, error) {
	return nil, 0, f.err
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
			r := a.do("GET", path, nil).must(t, tc.status)
			if r.header.Get("Retry-After") != tc.retryAfter || strings.Contains(string(r.raw), "closed") {
				t.Errorf("%v: GET %s: Retry-After %q: %s", tc.err, path, r.header.Get("Retry-After"), r.raw)
			}
		}
	}
}

// TestEveryKindOfAnswerIsAsDocumented walks the routes not walked above,
// each answer checked against openapi.json.
func TestEveryKindOfAnswerIsAsDocumented(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	v := a.do("POST", "/api/v1/visits", map[string]any{
		"visitor":     map[string]any{"name": "Ana Brnabić", "office": "Prime Minister", "country": "RS"},
		"destination": map[string]any{"city": "Moscow", "country": "RU"},
		"start":       "2021-11-24", "end": "2021-11-25", "purpose": "official visit",
	}).must(t, http.StatusCreated)
	id := v.str("id")
	a.do("POST", "/api/v1/visits/"+id+"/reschedule", map[string]any{"start": "2021-11-25", "end": "2021-11-26"}).must(t, http.StatusOK)
	a.do("POST", "/api/v1/visits/"+id+"/complete", map[string]any{"outcome": "agreements signed"}).must(t, http.StatusOK)
	a.do("POST", "/api/v1/visits/"+id+"/cancel", map[string]any{}).must(t, http.StatusUnprocessableEntity)
	pos := a.do("GET", "/api/v1/visits/"+id+"/history", nil).must(t, http.StatusOK)
	if len(pos.list("events")) != 3 {
		t.Errorf("visit history: %s", pos.raw)
	}
	last := fmt.Sprint(a.lastSeq())
	l := a.do("GET", "/api/v1/visits?visitor=brnabic&status=completed&min_position="+last, nil).must(t, http.StatusOK)
	if len(l.list("visits")) != 1 {
		t.Errorf("visits by visitor: %s", l.raw)
	}
	a.do("GET", "/api/v1/visits/"+id, nil, "If-None-Match", `"3"`).must(t, http.StatusNotModified)

	page := a.do("GET", "/api/v1/events?limit=2", nil).must(t, http.StatusOK)
	if len(page.list("events")) != 2 || page.body["next_after"] != float64(2) {
		t.Errorf("events page: %s", page.raw)
	}
	lines := a.do("GET", "/api/v1/events?aggregate="+id, nil, "Accept", "application/x-ndjson").must(t, http.StatusOK)
	if n := strings.Count(string(lines.raw), "\n"); n != 3 {
		t.Errorf("ndjson: %d lines, want 3: %s", n, lines.raw)
	}
	ics := a.do("GET", "/calendar.ics?from=2021-01-01&min_position="+last, nil).must(t, http.StatusOK)
	if !strings.Contains(string(ics.raw), "BEGIN:VEVENT") {
		t.Errorf("calendar.ics: %s", ics.raw)
	}
	a.do("GET", "/api/v1/visits/"+id+".ics", nil).must(t, http.StatusOK)
	a.do("GET", "/feeds/nothing.ics", nil).must(t, http.StatusNotFound)
	a.do("GET", "/healthz", nil).must(t, http.StatusOK)
	a.do("GET", "/readyz", nil).must(t, http.StatusOK)
	a.do("POST", "/api/v1/deliveries/nothing/retry", nil, "Authorization", "Bearer "+adminToken).must(t, http.StatusNotFound)
}
