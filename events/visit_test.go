package events

import (
	"reflect"
	"testing"
	"time"
)

// decideVisit decides cmd against v at now and, when it succeeds, evolves v
// with the events as the log would record them at now.
func decideVisit(t testing.TB, v *Visit, id string, cmd any, now time.Time) ([]Event, error) {
	t.Helper()
	return decideAndEvolve(t, v, VisitAggregate, id, func() int { return v.Version }, cmd, now)
}

// vucicToMoscow is one of the past visits of the press release: a date range.
func vucicToMoscow() *AnnounceVisit {
	return &AnnounceVisit{
		Visitor:     Participant{Name: "Aleksandar Vučić", Office: "President of Serbia", Country: "RS"},
		Destination: Destination{City: "Moscow", Country: "RU"},
		Start:       "2021-11-24",
		End:         "2021-11-25",
		Purpose:     "Official visit",
		Source:      &Source{URL: "https://example.org/release", Published: "2022-08-19"},
	}
}

var visitAnnounced = time.Date(2021, 11, 1, 8, 0, 0, 0, time.UTC)

func announcedVisit(t testing.TB) (*Visit, string) {
	t.Helper()
	id := NewVisitID(visitAnnounced)
	v := &Visit{ID: id}
	if _, err := decideVisit(t, v, id, vucicToMoscow(), visitAnnounced); err != nil {
		t.Fatalf("announce: %v", err)
	}
	return v, id
}

func TestAnnounceVisitRecordsDateRangeInDestinationZone(t *testing.T) {
	t.Parallel()
	v, id := announcedVisit(t)
	want := Visit{
		ID: id, Version: 1, Status: StatusScheduled,
		Visitor:     Participant{Name: "Aleksandar Vučić", Office: "President of Serbia", Country: "RS"},
		Destination: Destination{City: "Moscow", Country: "RU"},
		Start:       "2021-11-24", End: "2021-11-25", Timezone: "Europe/Moscow", AllDay: true,
		StartUTC: mustUTC(t, "2021-11-23T21:00:00Z"), EndUTC: mustUTC(t, "2021-11-25T21:00:00Z"),
		Purpose: "Official visit", Source: &Source{URL: "https://example.org/release", Published: "2022-08-19"},
		CreatedAt: visitAnnounced, UpdatedAt: visitAnnounced,
	}
	if !reflect.DeepEqual(*v, want) {
		t.Errorf("state = %+v\nwant    %+v", *v, want)
	}
}

func TestAnnounceVisitRejectsInvalidFieldsNamingEach(t *testing.T) {
	t.Parallel()
	tests := []invalidInput[*AnnounceVisit]{
		{"visitor name missing", func(c *AnnounceVisit) { c.Visitor.Name = " " }, []string{"visitor.name"}},
		{"visitor name with newline", func(c *AnnounceVisit) { c.Visitor.Name = "A\nB" }, []string{"visitor.name"}},
		{"visitor office with control character", func(c *AnnounceVisit) { c.Visitor.Office = "President\x00" }, []string{"visitor.office"}},
		{"visitor country missing", func(c *AnnounceVisit) { c.Visitor.Country = "" }, []string{"visitor.country"}},
		{"visitor country spelled out", func(c *AnnounceVisit) { c.Visitor.Country = "Serbia" }, []string{"visitor.country"}},
		{"visitor country lowercase", func(c *AnnounceVisit) { c.Visitor.Country = "rs" }, []string{"visitor.country"}},
		{"destination city missing", func(c *AnnounceVisit) { c.Destination.City = "" }, []string{"destination.city"}},
		{"destination country missing", func(c *AnnounceVisit) { c.Destination.Country = "" }, []string{"destination.country"}},
		{"destination country alpha-3", func(c *AnnounceVisit) { c.Destination.Country = "RUS" }, []string{"destination.country"}},
		{"end before start", func(c *AnnounceVisit) { c.End = "2021-11-23" }, []string{"end"}},
		{"missing start", func(c *AnnounceVisit) { c.Start, c.End = "", "" }, []string{"start"}},
		{"timed without zone", func(c *AnnounceVisit) { c.Start, c.End = "2021-11-24T10:00", "" }, []string{"timezone"}},
		{"purpose with control character", func(c *AnnounceVisit) { c.Purpose = "visit\x1b[31m" }, []string{"purpose"}},
		{"source url not http", func(c *AnnounceVisit) { c.Source.URL = "file:///etc/passwd" }, []string{"source.url"}},
		{
			"everything required missing",
			func(c *AnnounceVisit) { *c = AnnounceVisit{} },
			[]string{"visitor.name", "visitor.country", "destination.city", "destination.country", "start"},
		},
	}
	runInvalidInputs(t, tests, vucicToMoscow, func(cmd *AnnounceVisit) ([]Event, error) {
		return (&Visit{}).Decide(cmd, visitAnnounced)
	})
}

func TestAnnounceVisitDefaultsTimezoneToDestinationCapital(t *testing.T) {
	t.Parallel()
	tests := []struct {
		country, timezone, want string
	}{
		{"RU", "", "Europe/Moscow"},
		{"RS", "", "Europe/Belgrade"},
		{"RS", "Europe/Moscow", "Europe/Moscow"},
	}
	for _, tt := range tests {
		cmd := vucicToMoscow()
		cmd.Destination.Country, cmd.Timezone = tt.country, tt.timezone
		evs, err := (&Visit{}).Decide(cmd, visitAnnounced)
		if err != nil {
			t.Fatalf("Decide(%s, %q) = %v", tt.country, tt.timezone, err)
		}
		if got := evs[0].(*VisitAnnounced).Timezone; got != tt.want {
			t.Errorf("destination %s, timezone %q: got %q, want %q", tt.country, tt.timezone, got, tt.want)
		}
	}
}

func TestAnnounceExistingVisitIsAConflict(t *testing.T) {
	t.Parallel()
	v, _ := announcedVisit(t)
	_, err := v.Decide(vucicToMoscow(), visitAnnounced)
	wantCode(t, err, ECONFLICT)
}

func TestCommandOnUnannouncedVisitIsNotFound(t *testing.T) {
	t.Parallel()
	for _, cmd := range []any{&RescheduleVisit{Start: "2021-11-26"}, &CancelVisit{}, &CompleteVisit{}} {
		_, err := (&Visit{ID: "vis_x"}).Decide(cmd, visitAnnounced)
		if got := ErrorCode(err); got != ENOTFOUND {
			t.Errorf("Decide(%T) on a visit never announced: code %q (%v), want %q", cmd, got, err, ENOTFOUND)
		}
	}
}

func TestVisitTransitions(t *testing.T) {
	t.Parallel()
	visitStart := mustUTC(t, "2021-11-23T21:00:00Z")
	during := visitStart.Add(20 * time.Hour)
	tests := []transition[Visit]{
		{
			name: "reschedule records previous span and start",
			cmd:  &RescheduleVisit{Start: "2021-11-30", End: "2021-12-02", Reason: "agenda"},
			check: func(t *testing.T, evs []Event, v *Visit) {
				e := evs[0].(*VisitRescheduled)
				wantEv := VisitRescheduled{
					Span:     Span{Start: "2021-11-30", End: "2021-12-02", Timezone: "Europe/Moscow"},
					Previous: Span{Start: "2021-11-24", End: "2021-11-25", Timezone: "Europe/Moscow"},
					Reason:   "agenda",
				}
				if *e != wantEv {
					t.Errorf("event = %+v, want %+v", *e, wantEv)
				}
				if v.Status != StatusRescheduled || v.PreviousStart != "2021-11-24" || v.StatusReason != "agenda" {
					t.Errorf("status, previous start, reason = %q, %q, %q", v.Status, v.PreviousStart, v.StatusReason)
				}
				if want := mustUTC(t, "2021-12-02T21:00:00Z"); !v.EndUTC.Equal(want) {
					t.Errorf("EndUTC = %s, want %s", v.EndUTC, want)
				}
			},
		},
		{
			name:     "unchanged reschedule",
			cmd:      &RescheduleVisit{Start: "2021-11-24", End: "2021-11-25"},
			wantCode: EUNCHANGED,
		},
		{
			name:     "reschedule with mixed forms",
			cmd:      &RescheduleVisit{Start: "2021-11-24", End: "2021-11-25T10:00"},
			wantCode: EINVALID, want: []string{"end"},
		},
		{
			name: "cancel",
			cmd:  &CancelVisit{Reason: "pandemic"},
			check: func(t *testing.T, evs []Event, v *Visit) {
				if v.Status != StatusCancelled || v.StatusReason != "pandemic" {
					t.Errorf("status, reason = %q, %q", v.Status, v.StatusReason)
				}
			},
		},
		{
			name:     "cancel twice",
			before:   []step{{&CancelVisit{}, visitAnnounced}},
			cmd:      &CancelVisit{},
			wantCode: ETRANSITION,
		},
		{
			name:     "cancel then reschedule",
			before:   []step{{&CancelVisit{}, visitAnnounced}},
			cmd:      &RescheduleVisit{Start: "2021-12-01"},
			wantCode: ETRANSITION,
		},
		{
			name:     "cancel then complete",
			before:   []step{{&CancelVisit{}, visitAnnounced}},
			cmd:      &CompleteVisit{},
			now:      during,
			wantCode: ETRANSITION,
		},
		{
			name:     "complete before start",
			cmd:      &CompleteVisit{},
			now:      visitStart.Add(-time.Minute),
			wantCode: ETRANSITION,
		},
		{
			name: "complete once started",
			cmd:  &CompleteVisit{Outcome: "Fourteen agreements signed."},
			now:  during,
			check: func(t *testing.T, evs []Event, v *Visit) {
				if v.Status != StatusCompleted || v.Outcome != "Fourteen agreements signed." {
					t.Errorf("status, outcome = %q, %q", v.Status, v.Outcome)
				}
				if !v.UpdatedAt.Equal(during) {
					t.Errorf("UpdatedAt = %s, want %s", v.UpdatedAt, during)
				}
			},
		},
		{
			name:     "complete twice",
			before:   []step{{&CompleteVisit{}, during}},
			cmd:      &CompleteVisit{},
			now:      during,
			wantCode: ETRANSITION,
		},
		{
			name:     "complete then reschedule",
			before:   []step{{&CompleteVisit{}, during}},
			cmd:      &RescheduleVisit{Start: "2021-12-01"},
			now:      during,
			wantCode: ETRANSITION,
		},
		{
			name:     "complete then cancel",
			before:   []step{{&CompleteVisit{}, during}},
			cmd:      &CancelVisit{},
			now:      during,
			wantCode: ETRANSITION,
		},
	}
	runTransitions(t, tests, announcedVisit, decideVisit, visitAnnounced, func(v *Visit) int { return v.Version })
}

func TestVisitEvolveRejectsOutOfOrderVersionAndMeetingEvents(t *testing.T) {
	t.Parallel()
	v, id := announcedVisit(t)
	before := *v
	for name, env := range map[string]Envelope{
		"version skipped":  envelopeFor(t, VisitAggregate, id, 3, visitAnnounced, &VisitCancelled{}),
		"version repeated": envelopeFor(t, VisitAggregate, id, 1, visitAnnounced, &VisitCancelled{}),
		"meeting event":    envelopeFor(t, VisitAggregate, id, 2, visitAnnounced, &MeetingCancelled{}),
	} {
		if err := v.Evolve(env); err == nil {
			t.Errorf("Evolve(%s) = nil, want an error", name)
		}
		if !reflect.DeepEqual(*v, before) {
			t.Fatalf("Evolve(%s) changed the state", name)
		}
	}
	if err := v.Evolve(envelopeFor(t, VisitAggregate, id, 2, visitAnnounced, &VisitCancelled{})); err != nil {
		t.Fatalf("Evolve(cancelled v2) = %v", err)
	}
	if v.Version != 2 || v.Status != StatusCancelled {
		t.Errorf("version, status = %d, %q; want 2, cancelled", v.Version, v.Status)
	}
}

// TestRescheduleVisitKeepsWhatItIsNotTold: a visit moved with only a start
// keeps its zone and its number of days (or its length, when timed), and the
// event carries the complete new span.
func TestRescheduleVisitKeepsWhatItIsNotTold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		announce func(c *AnnounceVisit)
		cmd      RescheduleVisit
		want     Span
		wantErr  string
	}{
		{"date range keeps its days", nil, RescheduleVisit{Start: "2021-12-01"},
			Span{Start: "2021-12-01", End: "2021-12-02", Timezone: "Europe/Moscow"}, ""},
		{"date range given an end", nil, RescheduleVisit{Start: "2021-12-01", End: "2021-12-05"},
			Span{Start: "2021-12-01", End: "2021-12-05", Timezone: "Europe/Moscow"}, ""},
		{"timed keeps zone and length", func(c *AnnounceVisit) {
			c.Start, c.End, c.Timezone = "2021-11-24T09:00", "2021-11-25T18:00", "Europe/Moscow"
		}, RescheduleVisit{Start: "2021-12-01T14:00"},
			Span{Start: "2021-12-01T14:00:00", End: "2021-12-02T23:00:00", Timezone: "Europe/Moscow"}, ""},
		{"timed given a date covers the days it touched", func(c *AnnounceVisit) {
			c.Start, c.End, c.Timezone = "2021-11-24T09:00", "2021-11-25T18:00", "Europe/Moscow"
		}, RescheduleVisit{Start: "2021-12-01"},
			Span{Start: "2021-12-01", End: "2021-12-02", Timezone: "Europe/Moscow"}, ""},
		{"date range given a time needs an end", nil, RescheduleVisit{Start: "2021-12-01T10:00"}, Span{}, "end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id := NewVisitID(visitAnnounced)
			v := &Visit{ID: id}
			ac := vucicToMoscow()
			if tt.announce != nil {
				tt.announce(ac)
			}
			if _, err := decideVisit(t, v, id, ac, visitAnnounced); err != nil {
				t.Fatalf("announce: %v", err)
			}
			before := v.Span()
			cmd := tt.cmd
			evs, err := decideVisit(t, v, id, &cmd, visitAnnounced)
			if tt.wantErr != "" {
				if evs != nil {
					t.Errorf("Decide yielded %d events", len(evs))
				}
				wantFields(t, err, tt.wantErr)
				if v.Span() != before {
					t.Errorf("span = %+v after a refused reschedule, want %+v", v.Span(), before)
				}
				return
			}
			if err != nil {
				t.Fatalf("reschedule: %v", err)
			}
			e := evs[0].(*VisitRescheduled)
			if e.Span != tt.want || e.Previous != before {
				t.Errorf("event span, previous = %+v, %+v; want %+v, %+v", e.Span, e.Previous, tt.want, before)
			}
			if v.Span() != tt.want || v.AllDay != tt.want.AllDay() {
				t.Errorf("folded span = %+v (all day %v), want %+v", v.Span(), v.AllDay, tt.want)
			}
		})
	}
}
