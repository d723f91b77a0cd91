package main

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// The facts of a 2022 press release on Russian–Serbian contacts: talks
// announced for a date with no hour, and six earlier visits, two of them
// spanning two days. Offices are the ones held at the time.
const seedSource = "https://example.org/press/2022-08-19-lavrov-vulin"

func seedTalks() map[string]any {
	return map[string]any{
		"kind":     "talks",
		"title":    "Lavrov–Vulin talks",
		"start":    "2022-08-22",
		"location": map[string]any{"city": "Moscow", "country": "RU"},
		"participants": []map[string]any{
			{"name": "Sergey Lavrov", "office": "Minister of Foreign Affairs", "country": "RU"},
			{"name": "Aleksandar Vulin", "office": "Minister of Internal Affairs", "country": "RS"},
		},
		"description": "Bilateral cooperation agenda; international and regional questions.",
		"source":      map[string]any{"url": seedSource, "published": "2022-08-19"},
	}
}

type seedVisit struct {
	name, office, country string
	city, dest            string
	start, end            string
	purpose               string
}

var seedVisits = []seedVisit{
	{"Vladimir Putin", "President of the Russian Federation", "RU", "Belgrade", "RS", "2019-01-19", "", ""},
	{"Ivica Dačić", "First Deputy Prime Minister and Minister of Foreign Affairs", "RS", "Moscow", "RU", "2019-12-20", "", ""},
	{"Aleksandar Vučić", "President of the Republic of Serbia", "RS", "Moscow", "RU", "2020-06-23", "2020-06-24", "Victory Day Parade"},
	{"Sergey Lavrov", "Minister of Foreign Affairs", "RU", "Belgrade", "RS", "2020-12-15", "", ""},
	{"Aleksandar Vučić", "President of the Republic of Serbia", "RS", "Sochi", "RU", "2021-11-24", "2021-11-25", ""},
	{"Ana Brnabić", "Prime Minister", "RS", "Moscow", "RU", "2021-12-10", "", ""},
}

func (v seedVisit) body() map[string]any {
	return map[string]any{
		"visitor":     map[string]any{"name": v.name, "office": v.office, "country": v.country},
		"destination": map[string]any{"city": v.city, "country": v.dest},
		"start":       v.start, "end": v.end, "purpose": v.purpose,
		"source": map[string]any{"url": seedSource, "published": "2022-08-19"},
	}
}

// recordSeed records the talks and the six visits and returns the talks' id
// and the position of the last write.
func recordSeed(t *testing.T, s *service) (talksID string, pos uint64) {
	t.Helper()
	r := s.Do("POST", "/api/v1/meetings", seedTalks()).Must(t, 201)
	talksID = r.Str("id")
	for _, v := range seedVisits {
		pos = s.Do("POST", "/api/v1/visits", v.body()).Must(t, 201).Position(t)
	}
	return talksID, pos
}

func ids(items []map[string]any, key string) []string {
	var out []string
	for _, it := range items {
		switch v := it[key].(type) {
		case string:
			out = append(out, v)
		case map[string]any:
			out = append(out, fmt.Sprint(v["name"], "→", it["destination"].(map[string]any)["city"]))
		}
	}
	return out
}

func TestSeedScenarioIsRecordedAndListedBackWithFilters(t *testing.T) {
	s := startService(t, t.TempDir(), func(o *testServe) {
		o.now = newClock(time.Date(2022, 8, 19, 10, 0, 0, 0, time.UTC)).Now
	})
	talksID, pos := recordSeed(t, s)
	wait := fmt.Sprintf("min_position=%d", pos)

	talks := s.Do("GET", "/api/v1/meetings/"+talksID+"?"+wait, nil).Must(t, 200)
	for key, want := range map[string]string{
		"status": "scheduled", "start": "2022-08-22", "end": "2022-08-22", "timezone": "Europe/Moscow",
		"start_utc": "2022-08-21T21:00:00Z", "end_utc": "2022-08-22T21:00:00Z",
	} {
		if got := talks.Str(key); got != want {
			t.Errorf("talks %s = %q, want %q", key, got, want)
		}
	}
	if talks.JSON["all_day"] != true {
		t.Errorf("talks all_day = %v, want true", talks.JSON["all_day"])
	}

	for _, tc := range []struct {
		query string
		want  []string // visitor → city, in start order
	}{
		{"country=RS", []string{"Vladimir Putin→Belgrade", "Ivica Dačić→Moscow", "Aleksandar Vučić→Moscow", "Sergey Lavrov→Belgrade", "Aleksandar Vučić→Sochi", "Ana Brnabić→Moscow"}},
		{"country=RU&visitor=Vucic", []string{"Aleksandar Vučić→Moscow", "Aleksandar Vučić→Sochi"}},
		{"visitor=dacic", []string{"Ivica Dačić→Moscow"}},
		{"visitor=Lavrov", []string{"Sergey Lavrov→Belgrade"}},
		{"visitor=Lav", nil},
		{"country=FR", nil},
		// Windows select visits that overlap them: the second day of a
		// two-day visit is enough.
		{"from=2021-11-25&to=2021-12-31", []string{"Aleksandar Vučić→Sochi", "Ana Brnabić→Moscow"}},
		{"from=2020-06-24&to=2020-06-24", []string{"Aleksandar Vučić→Moscow"}},
		{"from=2021-11-26&to=2021-12-09", nil},
		{"from=2021-11-25T20:00:00Z&to=2021-11-25T20:30:00Z", []string{"Aleksandar Vučić→Sochi"}},
		{"from=2021-11-25T21:00:00Z&to=2021-11-26T00:00:00Z", nil}, // Sochi is UTC+3: the visit ended at 21:00Z
	} {
		r := s.Do("GET", "/api/v1/visits?"+tc.query+"&"+wait, nil).Must(t, 200)
		if got := ids(r.List("visits"), "visitor"); !slices.Equal(got, tc.want) {
			t.Errorf("visits?%s = %q, want %q", tc.query, got, tc.want)
		}
	}

	sochi := s.Do("GET", "/api/v1/visits?visitor=Vu%C4%8Di%C4%87&from=2021-11-01&"+wait, nil).Must(t, 200).List("visits")
	if len(sochi) != 1 || sochi[0]["start_utc"] != "2021-11-23T21:00:00Z" || sochi[0]["end_utc"] != "2021-11-25T21:00:00Z" {
		t.Errorf("Sochi visit in UTC = %v", sochi)
	}

	for _, tc := range []struct {
		query string
		want  int
	}{
		{"country=RS", 1}, // Vulin's country, not the location's
		{"country=RU", 1}, // the location's
		{"country=HU", 0}, // nobody's
		{"participant=Lavrov", 1},
		{"participant=sergey%20lavrov", 1},
		{"participant=Lav", 0}, // whole words only
		{"participant=Putin", 0},
		{"kind=talks", 1},
		{"kind=summit", 0},
		{"status=scheduled", 1},
		{"from=2022-08-22&to=2022-08-22", 1},
		{"from=2022-08-23", 0},
		{"to=2022-08-21", 0}, // a date window compares local dates, not UTC instants
	} {
		r := s.Do("GET", "/api/v1/meetings?"+tc.query+"&"+wait, nil).Must(t, 200)
		if got := len(r.List("meetings")); got != tc.want {
			t.Errorf("meetings?%s returned %d, want %d", tc.query, got, tc.want)
		}
	}

	// Pages of two walk all six visits in start order.
	var walked []string
	cursor := ""
	for page := 0; page < 5; page++ {
		r := s.Do("GET", "/api/v1/visits?limit=2&cursor="+cursor, nil).Must(t, 200)
		walked = append(walked, ids(r.List("visits"), "visitor")...)
		if cursor = r.Str("next_cursor"); cursor == "" {
			break
		}
	}
	if len(walked) != 6 || walked[0] != "Vladimir Putin→Belgrade" || walked[5] != "Ana Brnabić→Moscow" {
		t.Errorf("paged walk = %q", walked)
	}
	if r := s.Do("GET", "/api/v1/visits?cursor=bogus", nil); r.Status != 400 || !slices.Contains(r.FieldErrors(), "cursor") {
		t.Errorf("bad cursor: %d %s", r.Status, r.Raw)
	}
}
