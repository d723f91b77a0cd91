package projections

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/chancery/chancery/events"
)

// project applies envs to a fresh read model and returns the view of id
// as Engagement, Feed and FeedChanged give it, after checking that all
// three agree.
func project(t *testing.T, id string, envs ...events.Envelope) *Engagement {
	t.Helper()
	ctx := context.Background()
	db, p := openTestDB(t)
	if err := p.Apply(ctx, envs); err != nil {
		t.Fatal(err)
	}
	e, pos, err := db.Engagement(ctx, events.AggregateTypeOf(id), id)
	if err != nil || pos != envs[len(envs)-1].Seq {
		t.Fatalf("Engagement: position %d, %v", pos, err)
	}
	list, _, err := db.Feed(ctx, Query{})
	if err != nil || len(list) != 1 || !reflect.DeepEqual(&list[0], e) {
		t.Fatalf("Feed = %+v, %v; want the one view %+v", list, err, e)
	}
	items, _, changed, err := db.FeedChanged(ctx, Query{}, func(string, uint64) bool { return true })
	if err != nil || len(items) != 1 || items[0].ID != id || items[0].Seq != pos || !reflect.DeepEqual(items[0].Engagement, e) {
		t.Fatalf("FeedChanged = %+v, %v; want the one view %+v", items, err, e)
	}
	if !changed.Equal(e.UpdatedAt) {
		t.Errorf("FeedChanged: changed %s, want the engagement's updated_at %s", changed, e.UpdatedAt)
	}
	return e
}

func TestEngagementOfADateOnlyMeeting(t *testing.T) {
	id := events.NewMeetingID(time.Now())
	ev := talks()
	ev.Description = "Bilateral cooperation."
	ev.Source = &events.Source{URL: "https://example.org/release", Published: "2022-08-19"}
	scheduled := envelope(t, 1, id, 1, ev)
	got := project(t, id, scheduled)
	want := &Engagement{
		Type: events.MeetingAggregate, ID: id, Title: "Lavrov–Vulin talks", Kind: "talks", Status: events.StatusScheduled,
		Start: "2022-08-22", End: "2022-08-22", Timezone: "Europe/Moscow", AllDay: true,
		StartUTC: time.Date(2022, 8, 21, 21, 0, 0, 0, time.UTC), EndUTC: time.Date(2022, 8, 22, 21, 0, 0, 0, time.UTC),
		Place: "Moscow, Russian Federation", Country: "RU", People: ev.Participants,
		Version: 1, Details: "Bilateral cooperation.", Source: ev.Source,
		CreatedAt: scheduled.RecordedAt, UpdatedAt: scheduled.RecordedAt,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("view of the talks =\n%+v\nwant\n%+v", got, want)
	}
	if p := got.Path(); p != "/api/v1/meetings/"+id {
		t.Errorf("Path = %q", p)
	}
}

func TestEngagementOfATimedVisit(t *testing.T) {
	id := events.NewVisitID(time.Now())
	vucic := events.Participant{Name: "Aleksandar Vučić", Office: "President of the Republic of Serbia", Country: "RS"}
	announced := envelope(t, 1, id, 1, &events.VisitAnnounced{
		Visitor: vucic, Destination: events.Destination{City: "Sochi", Country: "RU"},
		Span:    events.Span{Start: "2021-11-25T10:00:00", End: "2021-11-25T16:00:00", Timezone: "Europe/Moscow"},
		Purpose: "Talks with the President of Russia.",
	})
	cancelled := envelope(t, 2, id, 2, &events.VisitCancelled{Reason: "weather"})
	got := project(t, id, announced, cancelled)
	want := &Engagement{
		Type: events.VisitAggregate, ID: id, Title: "Aleksandar Vučić visits Sochi", Kind: VisitKind, Status: events.StatusCancelled,
		Start: "2021-11-25T10:00:00", End: "2021-11-25T16:00:00", Timezone: "Europe/Moscow",
		StartUTC: time.Date(2021, 11, 25, 7, 0, 0, 0, time.UTC), EndUTC: time.Date(2021, 11, 25, 13, 0, 0, 0, time.UTC),
		Place: "Sochi, Russian Federation", Country: "RU", People: []events.Participant{vucic}, Reason: "weather",
		Version: 2, Sequence: 1, Details: "Talks with the President of Russia.",
		CreatedAt: announced.RecordedAt, UpdatedAt: cancelled.RecordedAt,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("view of the visit =\n%+v\nwant\n%+v", got, want)
	}
	if p := got.Path(); p != "/api/v1/visits/"+id {
		t.Errorf("Path = %q", p)
	}
	if got.Active() {
		t.Error("a cancelled visit is Active")
	}
	if c := got.Countries(); !reflect.DeepEqual(c, []string{"RU", "RS"}) {
		t.Errorf("Countries = %v, want the destination's, then the visitor's", c)
	}
}

// A meeting.scheduled of schema 1, whose source was a bare URL, is read
// through its upcaster: the view has the URL as its source.
func TestEngagementOfASchema1EventReadsItsUpcastSource(t *testing.T) {
	id := events.NewMeetingID(time.Now())
	scheduled := envelope(t, 1, id, 1, talks())
	scheduled.Schema = 1
	scheduled.Data = json.RawMessage(`{"kind":"talks","title":"Lavrov–Vulin talks","start":"2022-08-22","end":"2022-08-22",` +
		`"timezone":"Europe/Moscow","location":{"city":"Moscow","country":"RU"},` +
		`"participants":[{"name":"Sergey Lavrov","country":"RU"}],"source":"https://example.org/press/2022-08-19"}`)
	got := project(t, id, scheduled)
	if got.Source == nil || *got.Source != (events.Source{URL: "https://example.org/press/2022-08-19"}) {
		t.Errorf("source = %+v, want the bare URL as its url", got.Source)
	}
	if got.Title != "Lavrov–Vulin talks" || got.Place != "Moscow, Russian Federation" || len(got.People) != 1 {
		t.Errorf("view of a schema-1 meeting = %+v", got)
	}
}

// A feed reads and decodes only the documents its caller says it lacks.
func TestFeedChangedDecodesOnlyWhatIsNeeded(t *testing.T) {
	ctx := context.Background()
	db, p := openTestDB(t)
	a, b := events.NewMeetingID(time.Now()), events.NewMeetingID(time.Now())
	if err := p.Apply(ctx, []events.Envelope{envelope(t, 1, a, 1, talks()), envelope(t, 2, b, 1, talks())}); err != nil {
		t.Fatal(err)
	}
	items, _, _, err := db.FeedChanged(ctx, Query{}, func(id string, _ uint64) bool { return id == b })
	if err != nil || len(items) != 2 {
		t.Fatalf("FeedChanged = %+v, %v", items, err)
	}
	for _, it := range items {
		if (it.Engagement != nil) != (it.ID == b) || (it.Engagement != nil && it.Engagement.ID != it.ID) {
			t.Errorf("item %s: view %+v; want one only for %s", it.ID, it.Engagement, b)
		}
	}
}

// The view's JSON form is an alert's data.engagement: these keys, and no
// others.
func TestEngagementJSONIsTheAlertsEngagement(t *testing.T) {
	t.Parallel()
	m := &events.Meeting{ID: "mtg_1", Title: "Talks", Description: "not in an alert", Source: &events.Source{URL: "https://example.org"}}
	b, err := json.Marshal(MeetingView(m))
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	want := []string{"all_day", "country", "end", "end_utc", "id", "kind", "people", "place", "sequence", "start", "start_utc", "status", "timezone", "title", "type", "version"}
	if got := slices.Sorted(maps.Keys(keys)); !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
}
