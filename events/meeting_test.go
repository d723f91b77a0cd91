package events

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// releaseDay is when the 2022-08-19 press release was published.
var releaseDay = time.Date(2022, 8, 19, 9, 0, 0, 0, time.UTC)

// envelopeFor wraps an event the way the log records it, for Evolve.
func envelopeFor(t testing.TB, aggType, id string, version int, at time.Time, ev Event) Envelope {
	t.Helper()
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("marshal %s: %v", ev.EventType(), err)
	}
	return Envelope{
		ID: newID(eventPrefix, at), Type: ev.EventType(), Schema: SchemaOf(ev.EventType()),
		AggregateType: aggType, AggregateID: id, Version: version, RecordedAt: at,
		Actor: "test", Data: data,
	}
}

// wantCode fails the test unless err is an *Error with the given code.
func wantCode(t testing.TB, err error, code string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want an *Error with code %q", err, err, code)
	}
	if e.Code != code {
		t.Fatalf("error code = %q (%v), want %q", e.Code, err, code)
	}
	return e
}

// wantFields fails the test unless err is EINVALID naming exactly fields.
func wantFields(t testing.TB, err error, fields ...string) {
	t.Helper()
	e := wantCode(t, err, EINVALID)
	if got := fieldNames(e.Fields); !slices.Equal(got, fields) {
		t.Fatalf("invalid fields = %q, want %q (%v)", got, fields, err)
	}
}

// decideMeeting decides cmd against m at now and, when it succeeds, evolves
// m with the events as the log would record them at now.
func decideMeeting(t testing.TB, m *Meeting, id string, cmd any, now time.Time) ([]Event, error) {
	t.Helper()
	return decideAndEvolve(t, m, MeetingAggregate, id, func() int { return m.Version }, cmd, now)
}

// lavrovVulin is the talks of the press release: all day, no hour given.
func lavrovVulin() *ScheduleMeeting {
	return &ScheduleMeeting{
		Kind:     "talks",
		Title:    "Talks between Sergey Lavrov and Aleksandar Vulin",
		Start:    "2022-08-22",
		Location: Location{City: "Moscow", Country: "RU"},
		Participants: []Participant{
			{Name: "Sergey Lavrov", Office: "Minister of Foreign Affairs", Country: "RU"},
			{Name: "Aleksandar Vulin", Office: "Minister of Internal Affairs", Country: "RS"},
		},
		Description: "Current matters of bilateral cooperation;\ninternational and regional issues.",
		Source:      &Source{URL: "https://example.org/release", Published: "2022-08-19"},
	}
}

// scheduledMeeting returns the folded state of the Lavrov–Vulin talks.
func scheduledMeeting(t testing.TB) (*Meeting, string) {
	t.Helper()
	id := NewMeetingID(releaseDay)
	m := &Meeting{ID: id}
	if _, err := decideMeeting(t, m, id, lavrovVulin(), releaseDay); err != nil {
		t.Fatalf("schedule: %v", err)
	}
	return m, id
}

func TestScheduleMeetingRecordsTheAnnouncement(t *testing.T) {
	t.Parallel()
	id := NewMeetingID(releaseDay)
	m := &Meeting{ID: id}
	cmd := lavrovVulin()
	cmd.Title = "  " + cmd.Title + "  "
	evs, err := decideMeeting(t, m, id, cmd, releaseDay)
	if err != nil {
		t.Fatalf("Decide(schedule) = %v", err)
	}
	if len(evs) != 1 {
		t.Fatalf("Decide(schedule) yielded %d events, want 1", len(evs))
	}
	got, ok := evs[0].(*MeetingScheduled)
	if !ok {
		t.Fatalf("event = %T, want *MeetingScheduled", evs[0])
	}
	want := &MeetingScheduled{
		Kind:         "talks",
		Title:        "Talks between Sergey Lavrov and Aleksandar Vulin",
		Span:         Span{Start: "2022-08-22", End: "2022-08-22", Timezone: "Europe/Moscow"},
		Location:     Location{City: "Moscow", Country: "RU"},
		Participants: lavrovVulin().Participants,
		Description:  "Current matters of bilateral cooperation;\ninternational and regional issues.",
		Source:       &Source{URL: "https://example.org/release", Published: "2022-08-19"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("event = %+v\nwant    %+v", got, want)
	}

	wantState := Meeting{
		ID: id, Version: 1, Kind: "talks", Title: want.Title, Status: StatusScheduled,
		Start: "2022-08-22", End: "2022-08-22", Timezone: "Europe/Moscow", AllDay: true,
		StartUTC: mustUTC(t, "2022-08-21T21:00:00Z"), EndUTC: mustUTC(t, "2022-08-22T21:00:00Z"),
		Location: want.Location, Participants: want.Participants, Description: want.Description,
		Source: want.Source, CreatedAt: releaseDay, UpdatedAt: releaseDay,
	}
	if !reflect.DeepEqual(*m, wantState) {
		t.Errorf("state = %+v\nwant    %+v", *m, wantState)
	}
}

func TestMeetingScheduledEventKeepsSpanFieldsAtTopLevel(t *testing.T) {
	t.Parallel()
	evs, err := (&Meeting{}).Decide(lavrovVulin(), releaseDay)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(evs[0])
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"start": "2022-08-22", "end": "2022-08-22", "timezone": "Europe/Moscow", "kind": "talks"} {
		if got[key] != want {
			t.Errorf("event JSON %s = %v, want %q (JSON %s)", key, got[key], want, data)
		}
	}
}

func TestScheduleMeetingRejectsInvalidFieldsNamingEach(t *testing.T) {
	t.Parallel()
	tests := []invalidInput[*ScheduleMeeting]{
		{"unknown kind", func(c *ScheduleMeeting) { c.Kind = "dinner" }, []string{"kind"}},
		{"missing kind", func(c *ScheduleMeeting) { c.Kind = " " }, []string{"kind"}},
		{"kind in capitals", func(c *ScheduleMeeting) { c.Kind = "Talks" }, []string{"kind"}},
		{"empty title", func(c *ScheduleMeeting) { c.Title = "" }, []string{"title"}},
		{"blank title", func(c *ScheduleMeeting) { c.Title = " \t " }, []string{"title"}},
		{"title with a newline", func(c *ScheduleMeeting) { c.Title = "Talks\nBCC: everyone" }, []string{"title"}},
		{"title with a bell", func(c *ScheduleMeeting) { c.Title = "Talks\a" }, []string{"title"}},
		{"title with a carriage return", func(c *ScheduleMeeting) { c.Title = "Talks\rX" }, []string{"title"}},
		{"title too long", func(c *ScheduleMeeting) { c.Title = strings.Repeat("ž", maxLine+1) }, []string{"title"}},
		{"title with a right-to-left override", func(c *ScheduleMeeting) { c.Title = "Talks \u202eseivoL" }, []string{"title"}},
		{"title with a left-to-right embedding", func(c *ScheduleMeeting) { c.Title = "Talks \u202aX" }, []string{"title"}},
		{"title with a first-strong isolate", func(c *ScheduleMeeting) { c.Title = "Talks \u2068X\u2069" }, []string{"title"}},
		{"title with a line separator", func(c *ScheduleMeeting) { c.Title = "Talks\u2028BCC: everyone" }, []string{"title"}},
		{"participant name with a paragraph separator", func(c *ScheduleMeeting) { c.Participants[0].Name = "Sergey\u2029Lavrov" }, []string{"participants[0].name"}},
		{"office with a pop directional isolate", func(c *ScheduleMeeting) { c.Participants[1].Office = "Minister\u2069" }, []string{"participants[1].office"}},
		{"venue with a right-to-left embedding", func(c *ScheduleMeeting) { c.Location.Venue = "\u202bHall" }, []string{"location.venue"}},
		{"country spelled out", func(c *ScheduleMeeting) { c.Location.Country = "Serbia" }, []string{"location.country"}},
		{"country in lowercase", func(c *ScheduleMeeting) { c.Location.Country = "rs" }, []string{"location.country"}},
		{"country unassigned", func(c *ScheduleMeeting) { c.Location.Country = "XX" }, []string{"location.country"}},
		{"country missing", func(c *ScheduleMeeting) { c.Location.Country = "" }, []string{"location.country"}},
		{"city with control character", func(c *ScheduleMeeting) { c.Location.City = "Moscow\x00" }, []string{"location.city"}},
		{"participant without name", func(c *ScheduleMeeting) { c.Participants[1].Name = "" }, []string{"participants[1].name"}},
		{"participant with bad country", func(c *ScheduleMeeting) { c.Participants[0].Country = "Russia" }, []string{"participants[0].country"}},
		{"participant listed twice under another spelling", func(c *ScheduleMeeting) { c.Participants[1].Name = "SERGEY  LAVROV" }, []string{"participants[1].name"}},
		{"description with a NUL", func(c *ScheduleMeeting) { c.Description = "a\x00b" }, []string{"description"}},
		{"source url without scheme", func(c *ScheduleMeeting) { c.Source.URL = "example.org/release" }, []string{"source.url"}},
		{"source url javascript", func(c *ScheduleMeeting) { c.Source.URL = "javascript:alert(1)" }, []string{"source.url"}},
		{"source url ftp", func(c *ScheduleMeeting) { c.Source.URL = "ftp://example.org/release" }, []string{"source.url"}},
		{"source url without host", func(c *ScheduleMeeting) { c.Source.URL = "https:///release" }, []string{"source.url"}},
		{"source published in prose", func(c *ScheduleMeeting) { c.Source.Published = "19 August 2022" }, []string{"source.published"}},
		{"source published with a time", func(c *ScheduleMeeting) { c.Source.Published = "2022-08-19T10:00" }, []string{"source.published"}},
		{"missing start", func(c *ScheduleMeeting) { c.Start = "" }, []string{"start"}},
		{"timed start without zone", func(c *ScheduleMeeting) { c.Start = "2022-08-22T11:00" }, []string{"timezone"}},
		{"mixed start and end", func(c *ScheduleMeeting) { c.End = "2022-08-22T12:00" }, []string{"end"}},
		{"unknown zone", func(c *ScheduleMeeting) { c.Timezone = "Moscow" }, []string{"timezone"}},
		{
			"several fields at once, in input order",
			func(c *ScheduleMeeting) {
				c.Kind = "x"
				c.Title = ""
				c.Location.Country = "Serbia"
				c.Source.URL = "nope"
			},
			[]string{"kind", "title", "location.country", "source.url"},
		},
	}
	runInvalidInputs(t, tests, lavrovVulin, func(cmd *ScheduleMeeting) ([]Event, error) {
		return (&Meeting{ID: NewMeetingID(releaseDay)}).Decide(cmd, releaseDay)
	})
}

func TestScheduleMeetingDefaultsTimezoneToCapitalOfLocationCountry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		country  string
		start    string
		timezone string
		want     string
	}{
		{"Russia", "RU", "2022-08-22", "", "Europe/Moscow"},
		{"Serbia", "RS", "2019-12-01", "", "Europe/Belgrade"},
		{"country with trailing space", "RS ", "2019-12-01", "", "Europe/Belgrade"},
		{"Antarctica has no capital zone", "AQ", "2022-08-22", "", "UTC"},
		{"explicit zone wins", "RU", "2022-08-22", "Asia/Vladivostok", "Asia/Vladivostok"},
		{"timed with explicit zone", "RS", "2022-08-22T11:00", "Europe/Belgrade", "Europe/Belgrade"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := lavrovVulin()
			cmd.Location = Location{City: "Somewhere", Country: tt.country}
			cmd.Start, cmd.Timezone = tt.start, tt.timezone
			evs, err := (&Meeting{}).Decide(cmd, releaseDay)
			if err != nil {
				t.Fatalf("Decide = %v", err)
			}
			if got := evs[0].(*MeetingScheduled).Timezone; got != tt.want {
				t.Errorf("timezone = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEveryCountryCapitalZoneResolves(t *testing.T) {
	t.Parallel()
	if !ValidCountry("RS") || ValidCountry("rs") || ValidCountry("Serbia") || ValidCountry("") {
		t.Fatal("ValidCountry does not accept exactly the alpha-2 codes")
	}
	if got := CountryName("RS"); got != "Serbia" {
		t.Errorf("CountryName(RS) = %q, want Serbia", got)
	}
	for code, c := range countries {
		if len(code) != 2 || strings.ToUpper(code) != code {
			t.Errorf("country code %q is not two capital letters", code)
		}
		if c.zone != "" && !ValidZone(c.zone) {
			t.Errorf("CapitalZone(%s) = %q, which does not resolve", code, c.zone)
		}
	}
}

func TestScheduleExistingMeetingIsAConflict(t *testing.T) {
	t.Parallel()
	m, _ := scheduledMeeting(t)
	_, err := m.Decide(lavrovVulin(), releaseDay)
	wantCode(t, err, ECONFLICT)
}

func TestCommandOnUnscheduledMeetingIsNotFound(t *testing.T) {
	t.Parallel()
	cmds := []any{
		&RescheduleMeeting{Start: "2022-08-23"},
		&RelocateMeeting{Location: Location{Country: "RS"}},
		&ChangeParticipants{Participants: []Participant{{Name: "Ivica Dačić"}}},
		&PostponeMeeting{},
		&CancelMeeting{},
		&MarkMeetingHeld{},
	}
	for _, cmd := range cmds {
		_, err := (&Meeting{ID: "mtg_x"}).Decide(cmd, releaseDay)
		if got := ErrorCode(err); got != ENOTFOUND {
			t.Errorf("Decide(%T) on a meeting never scheduled: code %q (%v), want %q", cmd, got, err, ENOTFOUND)
		}
	}
}

func TestMeetingDecideUnknownCommandFails(t *testing.T) {
	t.Parallel()
	m, _ := scheduledMeeting(t)
	if _, err := m.Decide(&CancelVisit{}, releaseDay); err == nil {
		t.Error("Decide(CancelVisit) on a meeting = nil error, want an error")
	}
}

func TestMeetingTransitions(t *testing.T) {
	t.Parallel()
	talksStart := mustUTC(t, "2022-08-21T21:00:00Z") // local midnight in Moscow, 22 August
	after := talksStart.Add(12 * time.Hour)
	tests := []transition[Meeting]{
		{
			name: "reschedule sets status rescheduled and previous start",
			cmd:  &RescheduleMeeting{Start: "2022-08-23T10:00", Timezone: "Europe/Moscow", Reason: "request of the Serbian side"},
			check: func(t *testing.T, evs []Event, m *Meeting) {
				e := evs[0].(*MeetingRescheduled)
				wantEv := MeetingRescheduled{
					Span:     Span{Start: "2022-08-23T10:00:00", End: "2022-08-23T11:00:00", Timezone: "Europe/Moscow"},
					Previous: Span{Start: "2022-08-22", End: "2022-08-22", Timezone: "Europe/Moscow"},
					Reason:   "request of the Serbian side",
				}
				if *e != wantEv {
					t.Errorf("event = %+v, want %+v", *e, wantEv)
				}
				if m.Status != StatusRescheduled || m.PreviousStart != "2022-08-22" || m.Start != "2022-08-23T10:00:00" {
					t.Errorf("status, previous start, start = %q, %q, %q; want rescheduled, 2022-08-22, 2022-08-23T10:00:00", m.Status, m.PreviousStart, m.Start)
				}
				if m.AllDay {
					t.Error("AllDay = true after rescheduling to a time, want false")
				}
				if want := mustUTC(t, "2022-08-23T07:00:00Z"); !m.StartUTC.Equal(want) {
					t.Errorf("StartUTC = %s, want %s", m.StartUTC, want)
				}
				if m.StatusReason != "request of the Serbian side" {
					t.Errorf("StatusReason = %q", m.StatusReason)
				}
			},
		},
		{
			name: "reschedule without zone keeps the meeting's zone for dates",
			cmd:  &RescheduleMeeting{Start: "2022-08-24"},
			check: func(t *testing.T, evs []Event, m *Meeting) {
				if m.Timezone != "Europe/Moscow" || m.Start != "2022-08-24" {
					t.Errorf("start, zone = %q, %q; want 2022-08-24, Europe/Moscow", m.Start, m.Timezone)
				}
			},
		},
		{
			name:     "unchanged reschedule",
			cmd:      &RescheduleMeeting{Start: "2022-08-22", End: "2022-08-22", Timezone: "Europe/Moscow"},
			wantCode: EUNCHANGED,
		},
		{
			name:     "unchanged reschedule with the zone left out",
			cmd:      &RescheduleMeeting{Start: "2022-08-22"},
			wantCode: EUNCHANGED,
		},
		{
			name:     "reschedule to the same day in another zone is a change",
			cmd:      &RescheduleMeeting{Start: "2022-08-22", Timezone: "Europe/Belgrade"},
			wantCode: "",
		},
		{
			name:     "reschedule with end before start",
			cmd:      &RescheduleMeeting{Start: "2022-08-24", End: "2022-08-23"},
			wantCode: EINVALID, want: []string{"end"},
		},
		{
			name:     "reschedule with control characters in reason",
			cmd:      &RescheduleMeeting{Start: "2022-08-24", Reason: "x\x1by"},
			wantCode: EINVALID, want: []string{"reason"},
		},
		{
			name:   "postpone then reschedule to the same dates gives the meeting its date back",
			before: []step{{&PostponeMeeting{Reason: "illness"}, releaseDay}},
			cmd:    &RescheduleMeeting{Start: "2022-08-22"},
			check: func(t *testing.T, evs []Event, m *Meeting) {
				if m.Status != StatusRescheduled {
					t.Errorf("status = %q, want %q", m.Status, StatusRescheduled)
				}
			},
		},
		{
			name:   "postpone records status and reason",
			cmd:    &PostponeMeeting{Reason: "illness"},
			before: nil,
			check: func(t *testing.T, evs []Event, m *Meeting) {
				if m.Status != StatusPostponed || m.StatusReason != "illness" {
					t.Errorf("status, reason = %q, %q; want postponed, illness", m.Status, m.StatusReason)
				}
				if m.Start != "2022-08-22" {
					t.Errorf("postponing changed start to %q", m.Start)
				}
			},
		},
		{
			name:     "postpone twice",
			before:   []step{{&PostponeMeeting{}, releaseDay}},
			cmd:      &PostponeMeeting{},
			wantCode: EUNCHANGED,
		},
		{
			name: "cancel records status and reason",
			cmd:  &CancelMeeting{Reason: "called off"},
			check: func(t *testing.T, evs []Event, m *Meeting) {
				if m.Status != StatusCancelled || m.StatusReason != "called off" {
					t.Errorf("status, reason = %q, %q; want cancelled, called off", m.Status, m.StatusReason)
				}
			},
		},
		{
			name:   "cancel a postponed meeting",
			before: []step{{&PostponeMeeting{}, releaseDay}},
			cmd:    &CancelMeeting{},
		},
		{
			name:     "cancel then reschedule",
			before:   []step{{&CancelMeeting{}, releaseDay}},
			cmd:      &RescheduleMeeting{Start: "2022-08-23"},
			wantCode: ETRANSITION,
		},
		{
			name:     "cancel twice",
			before:   []step{{&CancelMeeting{}, releaseDay}},
			cmd:      &CancelMeeting{},
			wantCode: ETRANSITION,
		},
		{
			name:     "cancel then relocate",
			before:   []step{{&CancelMeeting{}, releaseDay}},
			cmd:      &RelocateMeeting{Location: Location{City: "Belgrade", Country: "RS"}},
			wantCode: ETRANSITION,
		},
		{
			name:     "cancel then change participants",
			before:   []step{{&CancelMeeting{}, releaseDay}},
			cmd:      &ChangeParticipants{Participants: []Participant{{Name: "Ivica Dačić"}}},
			wantCode: ETRANSITION,
		},
		{
			name:     "cancel then postpone",
			before:   []step{{&CancelMeeting{}, releaseDay}},
			cmd:      &PostponeMeeting{},
			wantCode: ETRANSITION,
		},
		{
			name:     "cancel then held",
			before:   []step{{&CancelMeeting{}, releaseDay}},
			cmd:      &MarkMeetingHeld{},
			now:      after,
			wantCode: ETRANSITION,
		},
		{
			name:     "held before start",
			cmd:      &MarkMeetingHeld{Outcome: "agreed"},
			now:      talksStart.Add(-time.Second),
			wantCode: ETRANSITION,
		},
		{
			name: "held at start",
			cmd:  &MarkMeetingHeld{Outcome: "Agreed on consultations.\nJoint statement."},
			now:  talksStart,
			check: func(t *testing.T, evs []Event, m *Meeting) {
				if m.Status != StatusHeld || m.Outcome != "Agreed on consultations.\nJoint statement." {
					t.Errorf("status, outcome = %q, %q", m.Status, m.Outcome)
				}
			},
		},
		{
			name:     "held twice",
			before:   []step{{&MarkMeetingHeld{}, after}},
			cmd:      &MarkMeetingHeld{},
			now:      after,
			wantCode: ETRANSITION,
		},
		{
			name:     "held then reschedule",
			before:   []step{{&MarkMeetingHeld{}, after}},
			cmd:      &RescheduleMeeting{Start: "2022-08-23"},
			now:      after,
			wantCode: ETRANSITION,
		},
		{
			name:     "held while postponed",
			before:   []step{{&PostponeMeeting{}, releaseDay}},
			cmd:      &MarkMeetingHeld{},
			now:      after,
			wantCode: ETRANSITION,
		},
		{
			name:     "held with control characters in outcome",
			cmd:      &MarkMeetingHeld{Outcome: "ok\x7f"},
			now:      after,
			wantCode: EINVALID, want: []string{"outcome"},
		},
		{
			name:     "held after rescheduling uses the new start",
			before:   []step{{&RescheduleMeeting{Start: "2022-08-25"}, releaseDay}},
			cmd:      &MarkMeetingHeld{},
			now:      after, // after the original day, before the new one
			wantCode: ETRANSITION,
		},
		{
			name: "relocate records the previous location",
			cmd:  &RelocateMeeting{Location: Location{City: " Belgrade ", Country: "RS", Venue: "Palace of Serbia"}, Reason: "security"},
			check: func(t *testing.T, evs []Event, m *Meeting) {
				e := evs[0].(*MeetingRelocated)
				wantEv := MeetingRelocated{
					Location: Location{City: "Belgrade", Country: "RS", Venue: "Palace of Serbia"},
					Previous: Location{City: "Moscow", Country: "RU"},
					Reason:   "security",
				}
				if *e != wantEv {
					t.Errorf("event = %+v, want %+v", *e, wantEv)
				}
				if m.Location != wantEv.Location {
					t.Errorf("location = %+v, want %+v", m.Location, wantEv.Location)
				}
				if m.Status != StatusScheduled {
					t.Errorf("status = %q after relocating, want %q", m.Status, StatusScheduled)
				}
			},
		},
		{
			name:     "relocate to the same place",
			cmd:      &RelocateMeeting{Location: Location{City: "Moscow", Country: "RU"}},
			wantCode: EUNCHANGED,
		},
		{
			name:     "relocate to a country by name",
			cmd:      &RelocateMeeting{Location: Location{City: "Belgrade", Country: "Serbia"}},
			wantCode: EINVALID, want: []string{"location.country"},
		},
		{
			name: "change participants records the previous list",
			cmd: &ChangeParticipants{Participants: []Participant{
				{Name: "Sergey Lavrov", Office: "Minister of Foreign Affairs", Country: "RU"},
				{Name: "Ivica Dačić", Office: "First Deputy Prime Minister", Country: "RS"},
			}},
			check: func(t *testing.T, evs []Event, m *Meeting) {
				e := evs[0].(*MeetingParticipantsChanged)
				if !reflect.DeepEqual(e.Previous, lavrovVulin().Participants) {
					t.Errorf("previous = %+v, want %+v", e.Previous, lavrovVulin().Participants)
				}
				if len(m.Participants) != 2 || m.Participants[1].Name != "Ivica Dačić" {
					t.Errorf("participants = %+v, want Lavrov and Dačić", m.Participants)
				}
			},
		},
		{
			name:     "change participants to the same list",
			cmd:      &ChangeParticipants{Participants: lavrovVulin().Participants},
			wantCode: EUNCHANGED,
		},
		{
			name:     "change participants to nobody",
			cmd:      &ChangeParticipants{},
			wantCode: EINVALID, want: []string{"participants"},
		},
		{
			name:     "change participants listing one person twice",
			cmd:      &ChangeParticipants{Participants: []Participant{{Name: "Ivica Dačić"}, {Name: "Ivica Dacic"}}},
			wantCode: EINVALID, want: []string{"participants[1].name"},
		},
	}
	runTransitions(t, tests, scheduledMeeting, decideMeeting, releaseDay, func(m *Meeting) int { return m.Version })
}

func TestMeetingDecideDoesNotChangeState(t *testing.T) {
	t.Parallel()
	m, _ := scheduledMeeting(t)
	before := *m
	before.Participants = slices.Clone(m.Participants)
	for _, cmd := range []any{
		&RescheduleMeeting{Start: "2022-08-23"},
		&RelocateMeeting{Location: Location{Country: "RS"}},
		&ChangeParticipants{Participants: []Participant{{Name: "Ivica Dačić"}}},
		&PostponeMeeting{}, &CancelMeeting{}, &MarkMeetingHeld{},
	} {
		if _, err := m.Decide(cmd, releaseDay.AddDate(0, 0, 5)); err != nil {
			t.Fatalf("Decide(%T) = %v", cmd, err)
		}
		if !reflect.DeepEqual(*m, before) {
			t.Fatalf("Decide(%T) changed the state:\n got %+v\nwant %+v", cmd, *m, before)
		}
	}
}

func TestMeetingEvolveRejectsOutOfOrderVersion(t *testing.T) {
	t.Parallel()
	id := NewMeetingID(releaseDay)
	sched, err := (&Meeting{}).Decide(lavrovVulin(), releaseDay)
	if err != nil {
		t.Fatal(err)
	}
	resched := &MeetingRescheduled{Span: Span{Start: "2022-08-23", End: "2022-08-23", Timezone: "Europe/Moscow"}}

	t.Run("first event must be version 1", func(t *testing.T) {
		t.Parallel()
		m := &Meeting{}
		if err := m.Evolve(envelopeFor(t, MeetingAggregate, id, 2, releaseDay, sched[0])); err == nil {
			t.Fatal("Evolve(scheduled v2) on an empty meeting = nil, want an error")
		}
		if m.Exists() {
			t.Errorf("meeting exists after a refused event: %+v", m)
		}
	})
	for _, version := range []int{1, 3, 0} {
		t.Run("second event with version "+itoa(version), func(t *testing.T) {
			t.Parallel()
			m := &Meeting{}
			if err := m.Evolve(envelopeFor(t, MeetingAggregate, id, 1, releaseDay, sched[0])); err != nil {
				t.Fatal(err)
			}
			before := *m
			if err := m.Evolve(envelopeFor(t, MeetingAggregate, id, version, releaseDay, resched)); err == nil {
				t.Fatalf("Evolve(rescheduled v%d) at version 1 = nil, want an error", version)
			}
			if !reflect.DeepEqual(*m, before) {
				t.Errorf("a refused event changed the state:\n got %+v\nwant %+v", *m, before)
			}
		})
	}
	t.Run("in order", func(t *testing.T) {
		t.Parallel()
		m := &Meeting{}
		for v, ev := range []Event{sched[0], resched} {
			if err := m.Evolve(envelopeFor(t, MeetingAggregate, id, v+1, releaseDay, ev)); err != nil {
				t.Fatalf("Evolve v%d: %v", v+1, err)
			}
		}
		if m.Version != 2 || m.Start != "2022-08-23" {
			t.Errorf("version, start = %d, %q; want 2, 2022-08-23", m.Version, m.Start)
		}
	})
}

func TestMeetingEvolveRejectsForeignAndUnreadableEvents(t *testing.T) {
	t.Parallel()
	m, id := scheduledMeeting(t)
	before := *m
	visitEv := envelopeFor(t, VisitAggregate, id, 2, releaseDay, &VisitCancelled{})
	unknown := envelopeFor(t, MeetingAggregate, id, 2, releaseDay, &MeetingCancelled{})
	unknown.Type = "meeting.exploded"
	newer := envelopeFor(t, MeetingAggregate, id, 2, releaseDay, &MeetingCancelled{})
	newer.Schema = SchemaOf(MeetingCancelledType) + 1
	noUpcaster := envelopeFor(t, MeetingAggregate, id, 2, releaseDay, &MeetingCancelled{})
	noUpcaster.Schema = 0
	garbage := envelopeFor(t, MeetingAggregate, id, 2, releaseDay, &MeetingCancelled{})
	garbage.Data = json.RawMessage(`{"reason": 7}`)
	for name, env := range map[string]Envelope{
		"visit event": visitEv, "unknown type": unknown, "schema newer than the build": newer,
		"schema without upcaster": noUpcaster, "data of the wrong shape": garbage,
	} {
		if err := m.Evolve(env); err == nil {
			t.Errorf("Evolve(%s) = nil, want an error", name)
		}
		if !reflect.DeepEqual(*m, before) {
			t.Fatalf("Evolve(%s) changed the state", name)
		}
	}
}

func TestMeetingEvolveStampsCreatedAndUpdated(t *testing.T) {
	t.Parallel()
	m, id := scheduledMeeting(t)
	later := releaseDay.Add(3 * time.Hour)
	if _, err := decideMeeting(t, m, id, &PostponeMeeting{}, later); err != nil {
		t.Fatal(err)
	}
	if !m.CreatedAt.Equal(releaseDay) || !m.UpdatedAt.Equal(later) {
		t.Errorf("created, updated = %s, %s; want %s, %s", m.CreatedAt, m.UpdatedAt, releaseDay, later)
	}
	if m.ID != id {
		t.Errorf("ID = %q, want %q", m.ID, id)
	}
}

func TestUpcasterRunsForOlderSchema(t *testing.T) {
	// Not parallel: it registers an upcaster on a copy of the registry entry.
	orig := registry[MeetingCancelledType]
	t.Cleanup(func() { registry[MeetingCancelledType] = orig })
	cp := *orig
	cp.schema = 2
	cp.upcaster = map[int]Upcaster{1: func(data json.RawMessage) (json.RawMessage, error) {
		var v1 struct {
			Why string `json:"why"`
		}
		if err := json.Unmarshal(data, &v1); err != nil {
			return nil, err
		}
		return json.Marshal(MeetingCancelled{Reason: v1.Why})
	}}
	registry[MeetingCancelledType] = &cp

	env := Envelope{ID: "evt_1", Type: MeetingCancelledType, Schema: 1, Data: json.RawMessage(`{"why":"war"}`)}
	ev, err := Decode(env)
	if err != nil {
		t.Fatalf("Decode(schema 1) = %v", err)
	}
	if got := ev.(*MeetingCancelled).Reason; got != "war" {
		t.Errorf("upcast reason = %q, want %q", got, "war")
	}
}

// scheduledMeetingWith returns the folded state of the Lavrov–Vulin talks
// scheduled with change applied to the command (nil for none).
func scheduledMeetingWith(t testing.TB, change func(c *ScheduleMeeting)) (*Meeting, string) {
	t.Helper()
	id := NewMeetingID(releaseDay)
	m := &Meeting{ID: id}
	sc := lavrovVulin()
	if change != nil {
		change(sc)
	}
	if _, err := decideMeeting(t, m, id, sc, releaseDay); err != nil {
		t.Fatalf("schedule: %v", err)
	}
	return m, id
}

// TestRescheduleMeetingKeepsWhatItIsNotTold moves meetings of each form with
// parts of the span left out: the event must carry the complete new span
// (zone and end filled in from the meeting), and the fold must show it.
func TestRescheduleMeetingKeepsWhatItIsNotTold(t *testing.T) {
	t.Parallel()
	timed := func(c *ScheduleMeeting) {
		c.Start, c.End, c.Timezone = "2022-08-22T10:00", "2022-08-22T12:30", "Europe/Belgrade"
	}
	days := func(c *ScheduleMeeting) { c.Start, c.End = "2022-08-22", "2022-08-24" }
	tests := []struct {
		name     string
		schedule func(c *ScheduleMeeting)
		cmd      RescheduleMeeting
		want     Span
	}{
		{"timed keeps zone and length", timed, RescheduleMeeting{Start: "2022-08-23T15:00"},
			Span{Start: "2022-08-23T15:00:00", End: "2022-08-23T17:30:00", Timezone: "Europe/Belgrade"}},
		{"timed keeps its length on the clock across summer time", timed, RescheduleMeeting{Start: "2022-10-30T01:00"},
			Span{Start: "2022-10-30T01:00:00", End: "2022-10-30T03:30:00", Timezone: "Europe/Belgrade"}},
		{"timed given an end keeps only the zone", timed, RescheduleMeeting{Start: "2022-08-23T15:00", End: "2022-08-23T16:00"},
			Span{Start: "2022-08-23T15:00:00", End: "2022-08-23T16:00:00", Timezone: "Europe/Belgrade"}},
		{"timed given a zone keeps the length", timed, RescheduleMeeting{Start: "2022-08-23T15:00", Timezone: "Europe/Moscow"},
			Span{Start: "2022-08-23T15:00:00", End: "2022-08-23T17:30:00", Timezone: "Europe/Moscow"}},
		{"timed given a date covers one day", timed, RescheduleMeeting{Start: "2022-08-25"},
			Span{Start: "2022-08-25", End: "2022-08-25", Timezone: "Europe/Belgrade"}},
		{"timed to midnight given a date covers one day", func(c *ScheduleMeeting) {
			c.Start, c.End, c.Timezone = "2022-08-22T22:00", "2022-08-23T00:00", "Europe/Belgrade"
		}, RescheduleMeeting{Start: "2022-08-25"},
			Span{Start: "2022-08-25", End: "2022-08-25", Timezone: "Europe/Belgrade"}},
		{"days keep their number", days, RescheduleMeeting{Start: "2022-09-01"},
			Span{Start: "2022-09-01", End: "2022-09-03", Timezone: "Europe/Moscow"}},
		{"one day given a time lasts an hour in the meeting's zone", nil, RescheduleMeeting{Start: "2022-08-23T10:00"},
			Span{Start: "2022-08-23T10:00:00", End: "2022-08-23T11:00:00", Timezone: "Europe/Moscow"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, id := scheduledMeetingWith(t, tt.schedule)
			before := m.Span()
			cmd := tt.cmd
			evs, err := decideMeeting(t, m, id, &cmd, releaseDay)
			if err != nil {
				t.Fatalf("reschedule: %v", err)
			}
			e := evs[0].(*MeetingRescheduled)
			if e.Span != tt.want || e.Previous != before {
				t.Errorf("event span, previous = %+v, %+v; want %+v, %+v", e.Span, e.Previous, tt.want, before)
			}
			if m.Span() != tt.want || m.AllDay != tt.want.AllDay() {
				t.Errorf("folded span = %+v (all day %v), want %+v", m.Span(), m.AllDay, tt.want)
			}
		})
	}
}

// TestRescheduleMeetingRefusesWhatItCannotKeep: a zone or an end that the
// meeting cannot supply is a 400 naming the field, and nothing is decided.
func TestRescheduleMeetingRefusesWhatItCannotKeep(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		schedule func(c *ScheduleMeeting)
		cmd      RescheduleMeeting
		want     string
	}{
		// Antarctica has no capital zone: the meeting's UTC is a fallback.
		{"a time for a meeting with no place zone", func(c *ScheduleMeeting) { c.Location = Location{City: "Vostok Station", Country: "AQ"} },
			RescheduleMeeting{Start: "2022-08-23T10:00"}, "timezone"},
		{"a time for several days", func(c *ScheduleMeeting) { c.End = "2022-08-23" },
			RescheduleMeeting{Start: "2022-08-25T10:00"}, "end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, _ := scheduledMeetingWith(t, tt.schedule)
			cmd := tt.cmd
			evs, err := m.Decide(&cmd, releaseDay)
			if evs != nil {
				t.Errorf("Decide yielded %d events", len(evs))
			}
			wantFields(t, err, tt.want)
		})
	}
}

// TestRelocateMeetingKeepsWhatItIsNotTold: omitted parts of the place are
// kept while the coarser parts stay; the event carries the whole new place.
func TestRelocateMeetingKeepsWhatItIsNotTold(t *testing.T) {
	t.Parallel()
	now := Location{City: "Moscow", Country: "RU", Venue: "Osobnyak"}
	tests := []struct {
		name string
		to   Location
		want Location
	}{
		{"venue only", Location{Venue: "Kremlin"}, Location{City: "Moscow", Country: "RU", Venue: "Kremlin"}},
		{"city in the same country drops the venue", Location{City: "Sochi"}, Location{City: "Sochi", Country: "RU"}},
		{"country given as now keeps city and venue", Location{Country: "RU", Venue: "Kremlin"}, Location{City: "Moscow", Country: "RU", Venue: "Kremlin"}},
		{"another country keeps nothing", Location{Country: "RS", City: "Belgrade"}, Location{City: "Belgrade", Country: "RS"}},
		{"another country alone", Location{Country: "RS"}, Location{Country: "RS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, id := scheduledMeetingWith(t, func(c *ScheduleMeeting) { c.Location = now })
			evs, err := decideMeeting(t, m, id, &RelocateMeeting{Location: tt.to}, releaseDay)
			if err != nil {
				t.Fatalf("relocate: %v", err)
			}
			e := evs[0].(*MeetingRelocated)
			if e.Location != tt.want || e.Previous != now {
				t.Errorf("event location, previous = %+v, %+v; want %+v, %+v", e.Location, e.Previous, tt.want, now)
			}
			if m.Location != tt.want {
				t.Errorf("folded location = %+v, want %+v", m.Location, tt.want)
			}
		})
	}
}
