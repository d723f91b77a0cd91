package calendar

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/icalcheck"
	"github.com/chancery/chancery/projections"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenOptions are the calendar options of every golden file.
var goldenOptions = Options{Name: "Chancery", UIDHost: "chancery.test", BaseURL: "https://chancery.test"}

const rescheduleReason = "moved by a day at the request of the Serbian side"

// talksRescheduled is the seed's talks, moved from a whole day to a time on
// the next day.
func talksRescheduled(tb testing.TB) projections.Engagement {
	return fold(tb, talksID,
		step{release, scheduleTalks()},
		step{release.Add(27 * time.Hour), &events.RescheduleMeeting{
			Start: "2022-08-23T11:00", End: "2022-08-23T12:30", Timezone: "Europe/Moscow", Reason: rescheduleReason,
		}})
}

// goldenCases are the engagements every calendar client must show right,
// each with what two independent parsers must read back.
func goldenCases(tb testing.TB) []struct {
	name  string
	items []projections.Engagement
	want  []icalcheck.Event
} {
	moscow, belgrade := time.FixedZone("MSK", 3*3600), time.FixedZone("CEST", 2*3600)
	return []struct {
		name  string
		items []projections.Engagement
		want  []icalcheck.Event
	}{{
		// Announced for a date with no hour: all day, in Moscow.
		name:  "seed-talks",
		items: []projections.Engagement{fold(tb, talksID, step{release, scheduleTalks()})},
		want: []icalcheck.Event{{
			UID: talksID + "@chancery.test", Summary: "Lavrov–Vulin talks", Status: "CONFIRMED",
			AllDay: true, Start: allDay("2022-08-22"), End: allDay("2022-08-23"),
			Location: "Moscow, Russian Federation", Description: talksDescription,
		}},
	}, {
		name: "timed-meeting",
		items: []projections.Engagement{fold(tb, timedID,
			step{time.Date(2022, 9, 1, 8, 0, 0, 0, time.UTC), scheduleTimed("2022-09-15T10:00", "2022-09-15T11:30")})},
		want: []icalcheck.Event{wantTimed(timedID, time.Date(2022, 9, 15, 10, 0, 0, 0, belgrade), time.Date(2022, 9, 15, 11, 30, 0, 0, belgrade))},
	}, {
		// Two days, 24–25 November 2021: the exclusive DTEND is the 26th.
		name:  "sochi-visit",
		items: []projections.Engagement{fold(tb, sochiID, step{release, announceSochi()})},
		want: []icalcheck.Event{{
			UID: sochiID + "@chancery.test", Summary: "Aleksandar Vučić visits Sochi", Status: "CONFIRMED",
			AllDay: true, Start: allDay("2021-11-24"), End: allDay("2021-11-26"),
			Location: "Sochi, Russian Federation", Description: sochiDescription,
		}},
	}, {
		name:  "rescheduled-meeting",
		items: []projections.Engagement{talksRescheduled(tb)},
		want: []icalcheck.Event{{
			UID: talksID + "@chancery.test", Summary: "Lavrov–Vulin talks", Status: "CONFIRMED", Sequence: 1,
			Start: time.Date(2022, 8, 23, 11, 0, 0, 0, moscow), End: time.Date(2022, 8, 23, 12, 30, 0, 0, moscow),
			Location: "Moscow, Russian Federation",
			Description: talksParticipants + "\n\nBilateral cooperation agenda; international and regional questions.\n\n" +
				"Status: rescheduled (" + rescheduleReason + ")\n\nSource: " + seedSource + " (published 2022-08-19)",
		}},
	}, {
		name: "cancelled-meeting",
		items: []projections.Engagement{fold(tb, cancelledID,
			step{release, &events.ScheduleMeeting{
				Kind: "call", Title: "Lavrov–Vulin telephone call", Start: "2022-08-29T15:00", Timezone: "Europe/Moscow",
				Location: events.Location{City: "Moscow", Country: "RU"}, Participants: []events.Participant{lavrov, vulin},
			}},
			step{time.Date(2022, 8, 26, 14, 0, 0, 0, time.UTC), &events.CancelMeeting{Reason: "no longer needed after the talks"}})},
		want: []icalcheck.Event{{
			UID: cancelledID + "@chancery.test", Summary: "Cancelled: Lavrov–Vulin telephone call", Status: "CANCELLED", Sequence: 1,
			Start: time.Date(2022, 8, 29, 15, 0, 0, 0, moscow), End: time.Date(2022, 8, 29, 16, 0, 0, 0, moscow),
			Location:    "Moscow, Russian Federation",
			Description: talksParticipants + "\n\nStatus: cancelled (no longer needed after the talks)",
		}},
	}}
}

// TestGolden renders each case and compares it with its golden file
// (go test ./calendar -run Golden -update rewrites them); two independent
// parsers must read each one back as the expected events.
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			got := render(t, tc.items, goldenOptions)
			if again := render(t, tc.items, goldenOptions); !bytes.Equal(got, again) {
				t.Fatal("two renders of the same items differ")
			}
			path := filepath.Join("testdata", "golden", tc.name+".ics")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./calendar -run Golden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the rendering (rerun with -update if the change is meant):\n%s", path, lineDiff(string(want), string(got)))
			}
			icalcheck.Check(t, got, tc.want)
		})
	}
}

// lineDiff names the first line where two renderings differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\r\n"), strings.Split(got, "\r\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n golden: %q\n    got: %q", i+1, a, b)
		}
	}
	return "(same lines, different line ends)"
}

// decodeEvents parses a calendar with go-ical and returns its VEVENTs.
func decodeEvents(t *testing.T, ics []byte) []*ical.Component {
	t.Helper()
	cal, err := ical.NewDecoder(bytes.NewReader(ics)).Decode()
	if err != nil {
		t.Fatalf("go-ical cannot read the calendar: %v", err)
	}
	var out []*ical.Component
	for _, c := range cal.Children {
		if c.Name == ical.CompEvent {
			out = append(out, c)
		}
	}
	return out
}

func propValue(c *ical.Component, name string) string {
	if p := c.Props.Get(name); p != nil {
		return p.Value
	}
	return ""
}

// A calendar client recognises a moved meeting as the same event (same
// UID) and takes the new version over the old one (higher SEQUENCE).
func TestRescheduledMeetingKeepsUIDAndRaisesSequence(t *testing.T) {
	before := decodeEvents(t, render(t, []projections.Engagement{fold(t, talksID, step{release, scheduleTalks()})}, goldenOptions))
	after := decodeEvents(t, render(t, []projections.Engagement{talksRescheduled(t)}, goldenOptions))
	if len(before) != 1 || len(after) != 1 {
		t.Fatalf("%d and %d events, want one each", len(before), len(after))
	}
	b, a := before[0], after[0]
	if propValue(a, ical.PropUID) != propValue(b, ical.PropUID) {
		t.Errorf("UID changed from %q to %q", propValue(b, ical.PropUID), propValue(a, ical.PropUID))
	}
	sb, _ := strconv.Atoi(propValue(b, ical.PropSequence))
	sa, err := strconv.Atoi(propValue(a, ical.PropSequence))
	if err != nil || sa <= sb {
		t.Errorf("SEQUENCE went from %d to %q, want higher", sb, propValue(a, ical.PropSequence))
	}
	if ds, dsb := propValue(a, ical.PropDateTimeStamp), propValue(b, ical.PropDateTimeStamp); !(ds > dsb) {
		t.Errorf("DTSTAMP went from %s to %s, want later", dsb, ds)
	}
	if propValue(a, ical.PropCreated) != propValue(b, ical.PropCreated) {
		t.Errorf("CREATED changed from %s to %s", propValue(b, ical.PropCreated), propValue(a, ical.PropCreated))
	}
}
