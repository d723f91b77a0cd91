package calendar

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chancery/chancery/projections"
)

// TestFeedAnnouncedAsOfShowsWhatTheReleaseHadToldByThen: the talks of the
// release of 19 August 2022, typed in years later, are in the feed as
// announced by 20 August 2022, on /calendar.ics and on a named feed, while
// the feed as recorded by then is empty; a meeting told first-hand today is
// not announced yet on the 20th.
func TestFeedAnnouncedAsOfShowsWhatTheReleaseHadToldByThen(t *testing.T) {
	s := newStore(t, time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	s.record(t, "", scheduleTalks()) // source published 2022-08-19
	unsourced := scheduleTimed("2026-03-10T10:00", "2026-03-10T11:00")
	unsourced.Source = nil
	s.record(t, "", unsourced)
	snaps, err := projections.NewSnapshots(t.TempDir(), s.events, projections.SnapshotLimits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(snaps.Close)
	_, base := s.serve(t, Config{Snapshots: snaps, Feeds: []Feed{{Name: "russia", Filter: Filter{Countries: []string{"RU"}}}}})
	for _, tc := range []struct {
		path         string
		talks, other bool
	}{
		{"/calendar.ics?as_of=2022-08-20T00:00:00Z", false, false},
		{"/calendar.ics?announced_as_of=2022-08-20", true, false},
		{"/feeds/russia.ics?announced_as_of=2022-08-20", true, false},
		{"/calendar.ics?announced_as_of=2022-08-18", false, false},
		{"/calendar.ics?as_of=2026-03-02T10:00:00Z&announced_as_of=2022-08-20", true, false},
		{"/calendar.ics?as_of=2026-03-01T00:00:00Z&announced_as_of=2022-08-20", false, false},
		{"/calendar.ics?announced_as_of=2026-03-02", false, true}, // the talks are past the window by then
	} {
		res, body := get(t, base+tc.path)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", tc.path, res.StatusCode, body)
		}
		if got := strings.Contains(string(body), "Lavrov–Vulin talks"); got != tc.talks {
			t.Errorf("GET %s: the talks in it: %v, want %v", tc.path, got, tc.talks)
		}
		if got := strings.Contains(string(body), "Consultations"); got != tc.other {
			t.Errorf("GET %s: the unsourced meeting in it: %v, want %v", tc.path, got, tc.other)
		}
	}
	for _, path := range []string{"/calendar.ics?announced_as_of=20.08.2022", "/feeds/russia.ics?announced_as_of=2022-08-20T00:00:00Z"} {
		res, body := get(t, base+path)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"announced_as_of"`) {
			t.Errorf("GET %s: %d %s, want 400 naming announced_as_of", path, res.StatusCode, body)
		}
	}
}
