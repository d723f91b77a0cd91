package notifier

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/chancery/chancery/calendar"
	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/projections"
)

// An alert and the calendar feed show an engagement alike: a venue with
// nothing visible in it (an event loaded as recorded can carry one) is
// left out of the place by both, where the alert once showed "   , Moscow".
func TestAlertAndFeedShowTheSamePlace(t *testing.T) {
	t.Parallel()
	m := &events.Meeting{
		ID: "mtg_01gav00000000000000000tk01", Version: 1, Kind: "talks", Title: "Lavrov–Vulin talks", Status: events.StatusScheduled,
		Start: "2022-08-22", End: "2022-08-22", Timezone: "Europe/Moscow", AllDay: true,
		Location:     events.Location{City: "Moscow", Country: "RU", Venue: "   "},
		Participants: []events.Participant{{Name: "Sergey Lavrov", Office: "Minister of Foreign Affairs", Country: "RU"}},
	}
	m.StartUTC, m.EndUTC = m.Span().UTC()
	e := projections.MeetingView(m)
	v := engagementView(e, &Subscriber{Zone: time.UTC}, "https://chancery.example.org")
	if want := "Moscow, Russian Federation"; v.Place != want {
		t.Errorf("the alert's place = %q, want %q", v.Place, want)
	}
	var b bytes.Buffer
	if err := calendar.Render(&b, []projections.Engagement{*e}, calendar.Options{}); err != nil {
		t.Fatal(err)
	}
	if want := "\r\nLOCATION:Moscow\\, Russian Federation\r\n"; !strings.Contains(b.String(), want) {
		t.Errorf("the feed lacks %q:\n%s", want, b.String())
	}
}
