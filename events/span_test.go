package events

import (
	"slices"
	"testing"
	"time"
)

// fieldNames returns the names of the fields in errs, in order.
func fieldNames(errs []FieldError) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Field
	}
	return out
}

// mustUTC parses an RFC 3339 instant for a want value.
func mustUTC(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad test instant %q: %v", s, err)
	}
	return v.UTC()
}

// mustParseSpan parses a span the test means to be valid, with no field
// prefix, and fails the test if it is not.
func mustParseSpan(t *testing.T, in SpanInput, defaultZone string) Span {
	t.Helper()
	span, errs := ParseSpan(in, defaultZone, "")
	if len(errs) != 0 {
		t.Fatalf("ParseSpan(%+v) errors: %v", in, errs)
	}
	return span
}

func TestParseSpanAcceptsDatesAndLocalDateTimes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		in          SpanInput
		defaultZone string
		want        Span
	}{
		{
			name: "single date, end defaults to the same day",
			in:   SpanInput{Start: "2022-08-22", Timezone: "Europe/Moscow"},
			want: Span{Start: "2022-08-22", End: "2022-08-22", Timezone: "Europe/Moscow"},
		},
		{
			name: "date range with inclusive end",
			in:   SpanInput{Start: "2021-11-24", End: "2021-11-25", Timezone: "Europe/Moscow"},
			want: Span{Start: "2021-11-24", End: "2021-11-25", Timezone: "Europe/Moscow"},
		},
		{
			name: "local date-time without seconds, end defaults to one hour later",
			in:   SpanInput{Start: "2022-08-22T11:00", Timezone: "Europe/Moscow"},
			want: Span{Start: "2022-08-22T11:00:00", End: "2022-08-22T12:00:00", Timezone: "Europe/Moscow"},
		},
		{
			name: "local date-time with seconds and an explicit end",
			in:   SpanInput{Start: "2022-08-22T11:00:30", End: "2022-08-22T13:15:00", Timezone: "Europe/Moscow"},
			want: Span{Start: "2022-08-22T11:00:30", End: "2022-08-22T13:15:00", Timezone: "Europe/Moscow"},
		},
		{
			name: "timed default end crosses midnight",
			in:   SpanInput{Start: "2022-08-22T23:30", Timezone: "Europe/Belgrade"},
			want: Span{Start: "2022-08-22T23:30:00", End: "2022-08-23T00:30:00", Timezone: "Europe/Belgrade"},
		},
		{
			name: "surrounding spaces are trimmed",
			in:   SpanInput{Start: " 2022-08-22 ", End: " 2022-08-23", Timezone: " Europe/Moscow "},
			want: Span{Start: "2022-08-22", End: "2022-08-23", Timezone: "Europe/Moscow"},
		},
		{
			name:        "defaultZone is used for an all-day span without a zone",
			in:          SpanInput{Start: "2022-08-22"},
			defaultZone: "Europe/Belgrade",
			want:        Span{Start: "2022-08-22", End: "2022-08-22", Timezone: "Europe/Belgrade"},
		},
		{
			name:        "an explicit zone wins over defaultZone",
			in:          SpanInput{Start: "2022-08-22", Timezone: "Europe/Moscow"},
			defaultZone: "Europe/Belgrade",
			want:        Span{Start: "2022-08-22", End: "2022-08-22", Timezone: "Europe/Moscow"},
		},
		{
			name: "all-day without any zone falls back to UTC",
			in:   SpanInput{Start: "2022-08-22"},
			want: Span{Start: "2022-08-22", End: "2022-08-22", Timezone: "UTC"},
		},
		{
			name: "a year minus a day is accepted",
			in:   SpanInput{Start: "2022-01-01", End: "2022-12-31", Timezone: "UTC"},
			want: Span{Start: "2022-01-01", End: "2022-12-31", Timezone: "UTC"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := mustParseSpan(t, tt.in, tt.defaultZone)
			if got != tt.want {
				t.Errorf("ParseSpan(%+v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseSpanRejectsInvalidInputNamingTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		in          SpanInput
		defaultZone string
		prefix      string
		want        []string // field names, in order
	}{
		{"missing start", SpanInput{Timezone: "UTC"}, "", "", []string{"start"}},
		{"prose start", SpanInput{Start: "22 August 2022", Timezone: "UTC"}, "", "", []string{"start"}},
		{"impossible date", SpanInput{Start: "2022-02-30", Timezone: "UTC"}, "", "", []string{"start"}},
		{"year out of range", SpanInput{Start: "1700-01-01", Timezone: "UTC"}, "", "", []string{"start"}},
		{"start with Z offset", SpanInput{Start: "2022-08-22T11:00Z", Timezone: "Europe/Moscow"}, "", "", []string{"start"}},
		{"start with Z offset and seconds", SpanInput{Start: "2022-08-22T11:00:00Z", Timezone: "Europe/Moscow"}, "", "", []string{"start"}},
		{"start with numeric offset", SpanInput{Start: "2022-08-22T11:00:00+03:00", Timezone: "Europe/Moscow"}, "", "", []string{"start"}},
		{"start with short numeric offset", SpanInput{Start: "2022-08-22T11:00+03", Timezone: "Europe/Moscow"}, "", "", []string{"start"}},
		{"start with space instead of T", SpanInput{Start: "2022-08-22 11:00", Timezone: "Europe/Moscow"}, "", "", []string{"start"}},
		{"end with offset", SpanInput{Start: "2022-08-22T11:00", End: "2022-08-22T12:00Z", Timezone: "Europe/Moscow"}, "", "", []string{"end"}},
		{"date end before date start", SpanInput{Start: "2022-08-22", End: "2022-08-21", Timezone: "UTC"}, "", "", []string{"end"}},
		{"timed end before timed start", SpanInput{Start: "2022-08-22T11:00", End: "2022-08-22T10:00", Timezone: "Europe/Moscow"}, "", "", []string{"end"}},
		{"timed end equal to timed start", SpanInput{Start: "2022-08-22T11:00", End: "2022-08-22T11:00:00", Timezone: "Europe/Moscow"}, "", "", []string{"end"}},
		{"date start with timed end", SpanInput{Start: "2022-08-22", End: "2022-08-22T12:00", Timezone: "Europe/Moscow"}, "", "", []string{"end"}},
		{"timed start with date end", SpanInput{Start: "2022-08-22T11:00", End: "2022-08-23", Timezone: "Europe/Moscow"}, "", "", []string{"end"}},
		{"longer than a year", SpanInput{Start: "2022-01-01", End: "2023-01-02", Timezone: "UTC"}, "", "", []string{"end"}},
		{"unknown zone", SpanInput{Start: "2022-08-22", Timezone: "Mars/Olympus_Mons"}, "", "", []string{"timezone"}},
		{"Local is not a place", SpanInput{Start: "2022-08-22T11:00", Timezone: "Local"}, "", "", []string{"timezone"}},
		{"Local is not a place even all-day", SpanInput{Start: "2022-08-22", Timezone: "Local"}, "", "", []string{"timezone"}},
		{"path traversal as zone", SpanInput{Start: "2022-08-22", Timezone: "../../etc/passwd"}, "", "", []string{"timezone"}},
		{"offset as zone", SpanInput{Start: "2022-08-22T11:00", Timezone: "+03:00"}, "", "", []string{"timezone"}},
		{"timed without zone", SpanInput{Start: "2022-08-22T11:00"}, "", "", []string{"timezone"}},
		{"timed without zone ignores defaultZone", SpanInput{Start: "2022-08-22T11:00"}, "Europe/Moscow", "", []string{"timezone"}},
		{"unknown zone and bad end", SpanInput{Start: "2022-08-22", End: "tomorrow", Timezone: "Nowhere/Land"}, "", "", []string{"timezone", "end"}},
		{"bad start and bad end", SpanInput{Start: "today", End: "tomorrow", Timezone: "UTC"}, "", "", []string{"start", "end"}},
		{"prefix is put in front of field names", SpanInput{Start: "2022-08-22", End: "2022-08-21", Timezone: "Nowhere/Land"}, "", "visit.", []string{"visit.timezone"}},
		{"prefix on end", SpanInput{Start: "2022-08-22", End: "2022-08-21", Timezone: "UTC"}, "", "visit.", []string{"visit.end"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, errs := ParseSpan(tt.in, tt.defaultZone, tt.prefix)
			if gotFields := fieldNames(errs); !slices.Equal(gotFields, tt.want) {
				t.Errorf("ParseSpan(%+v) fields = %q, want %q (errors: %v)", tt.in, gotFields, tt.want, errs)
			}
			if got != (Span{}) {
				t.Errorf("ParseSpan(%+v) span = %+v, want the zero Span on error", tt.in, got)
			}
			for _, e := range errs {
				if e.Detail == "" {
					t.Errorf("field %s has an empty detail", e.Field)
				}
			}
		})
	}
}

func TestParseSpanErrorsBecomeAnInvalidError(t *testing.T) {
	t.Parallel()
	_, errs := ParseSpan(SpanInput{Start: "2022-08-22T11:00"}, "", "")
	err := errs.Err()
	if got := ErrorCode(err); got != EINVALID {
		t.Fatalf("ErrorCode(%v) = %q, want %q", err, got, EINVALID)
	}
	if _, errs := ParseSpan(SpanInput{Start: "2022-08-22"}, "", ""); errs.Err() != nil {
		t.Errorf("Err() of no field errors = %v, want nil", errs.Err())
	}
}

func TestSpanUTCDerivesInstantsFromLocalValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		in                 SpanInput
		wantStart, wantEnd string
		wantAllDay         bool
	}{
		{
			name:      "all-day talks in Moscow on 22 August 2022",
			in:        SpanInput{Start: "2022-08-22", Timezone: "Europe/Moscow"},
			wantStart: "2022-08-21T21:00:00Z", wantEnd: "2022-08-22T21:00:00Z", wantAllDay: true,
		},
		{
			name:      "two-day visit to Moscow, 24-25 November 2021, ends at local midnight after the 25th",
			in:        SpanInput{Start: "2021-11-24", End: "2021-11-25", Timezone: "Europe/Moscow"},
			wantStart: "2021-11-23T21:00:00Z", wantEnd: "2021-11-25T21:00:00Z", wantAllDay: true,
		},
		{
			name:      "timed talks in Moscow",
			in:        SpanInput{Start: "2022-08-22T11:00", Timezone: "Europe/Moscow"},
			wantStart: "2022-08-22T08:00:00Z", wantEnd: "2022-08-22T09:00:00Z",
		},
		{
			name:      "timed meeting in Belgrade across the autumn change lasts three real hours",
			in:        SpanInput{Start: "2022-10-30T01:30", End: "2022-10-30T03:30", Timezone: "Europe/Belgrade"},
			wantStart: "2022-10-29T23:30:00Z", wantEnd: "2022-10-30T02:30:00Z",
		},
		{
			name:      "timed meeting in Belgrade across the spring change lasts one real hour",
			in:        SpanInput{Start: "2022-03-27T01:30", End: "2022-03-27T03:30", Timezone: "Europe/Belgrade"},
			wantStart: "2022-03-27T00:30:00Z", wantEnd: "2022-03-27T01:30:00Z",
		},
		{
			name:      "all-day in Belgrade on the autumn change day lasts 25 hours",
			in:        SpanInput{Start: "2022-10-30", Timezone: "Europe/Belgrade"},
			wantStart: "2022-10-29T22:00:00Z", wantEnd: "2022-10-30T23:00:00Z", wantAllDay: true,
		},
		{
			name:      "summer all-day in Belgrade is offset by two hours",
			in:        SpanInput{Start: "2022-08-22", Timezone: "Europe/Belgrade"},
			wantStart: "2022-08-21T22:00:00Z", wantEnd: "2022-08-22T22:00:00Z", wantAllDay: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			span := mustParseSpan(t, tt.in, "")
			if got := span.AllDay(); got != tt.wantAllDay {
				t.Errorf("AllDay() = %v, want %v", got, tt.wantAllDay)
			}
			gotStart, gotEnd := span.UTC()
			if want := mustUTC(t, tt.wantStart); !gotStart.Equal(want) {
				t.Errorf("UTC() start = %s, want %s", gotStart.Format(time.RFC3339), tt.wantStart)
			}
			if want := mustUTC(t, tt.wantEnd); !gotEnd.Equal(want) {
				t.Errorf("UTC() end = %s, want %s", gotEnd.Format(time.RFC3339), tt.wantEnd)
			}
			if gotStart.Location() != time.UTC || gotEnd.Location() != time.UTC {
				t.Errorf("UTC() locations = %v, %v, want UTC", gotStart.Location(), gotEnd.Location())
			}
		})
	}
}

// RFC 5545 §3.3.5: a local time that occurs twice (the hour repeated when
// summer time ends) refers to its first occurrence. Calendar apps reading the
// iCal feed (local time + TZID) follow that rule, so start_utc, reminders and
// window filters must follow it too.
func TestSpanUTCResolvesRepeatedHourToFirstOccurrence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		in                 SpanInput
		wantStart, wantEnd string
	}{
		{
			name:      "start in the repeated hour",
			in:        SpanInput{Start: "2022-10-30T02:30", End: "2022-10-30T03:30", Timezone: "Europe/Belgrade"},
			wantStart: "2022-10-30T00:30:00Z", wantEnd: "2022-10-30T02:30:00Z",
		},
		{
			name:      "default end falls in the repeated hour: one real hour",
			in:        SpanInput{Start: "2022-10-30T01:30", Timezone: "Europe/Belgrade"},
			wantStart: "2022-10-29T23:30:00Z", wantEnd: "2022-10-30T00:30:00Z",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			span := mustParseSpan(t, tt.in, "")
			gotStart, gotEnd := span.UTC()
			if want := mustUTC(t, tt.wantStart); !gotStart.Equal(want) {
				t.Errorf("UTC() start = %s, want %s", gotStart.Format(time.RFC3339), tt.wantStart)
			}
			if want := mustUTC(t, tt.wantEnd); !gotEnd.Equal(want) {
				t.Errorf("UTC() end = %s, want %s", gotEnd.Format(time.RFC3339), tt.wantEnd)
			}
		})
	}
}

func TestSpanDatesReturnsLocalFirstAndLastDay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		in              SpanInput
		first, lastDate string
	}{
		{"single day", SpanInput{Start: "2022-08-22", Timezone: "Europe/Moscow"}, "2022-08-22", "2022-08-22"},
		{"two-day visit", SpanInput{Start: "2021-11-24", End: "2021-11-25", Timezone: "Europe/Moscow"}, "2021-11-24", "2021-11-25"},
		{"timed is local, not UTC", SpanInput{Start: "2022-08-22T01:00", End: "2022-08-23T02:00", Timezone: "Europe/Moscow"}, "2022-08-22", "2022-08-23"},
		{"timed default end over midnight", SpanInput{Start: "2022-08-22T23:30", Timezone: "Europe/Moscow"}, "2022-08-22", "2022-08-23"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			span := mustParseSpan(t, tt.in, "")
			gotFirst, gotLast := span.Dates()
			if gotFirst != tt.first || gotLast != tt.lastDate {
				t.Errorf("Dates() = %s, %s, want %s, %s", gotFirst, gotLast, tt.first, tt.lastDate)
			}
		})
	}
}

func TestSpanLocationOfUnvalidatedSpanFallsBackToUTC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		zone string
		want string
	}{
		{"Europe/Belgrade", "Europe/Belgrade"},
		{"", "UTC"},
		{"Local", "UTC"},
		{"Nowhere/Land", "UTC"},
	}
	for _, tt := range tests {
		if got := (Span{Timezone: tt.zone}).Location().String(); got != tt.want {
			t.Errorf("Span{Timezone: %q}.Location() = %s, want %s", tt.zone, got, tt.want)
		}
	}
}

func TestValidZone(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"Europe/Moscow": true, "UTC": true, "America/Argentina/Buenos_Aires": true,
		"": false, "Local": false, "Europe/Atlantis": false, "../zoneinfo": false,
	}
	for zone, want := range tests {
		if got := ValidZone(zone); got != want {
			t.Errorf("ValidZone(%q) = %v, want %v", zone, got, want)
		}
	}
}
