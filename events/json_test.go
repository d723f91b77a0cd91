package events

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// UnmarshalJSON must decode what encoding/json writes to the values
// encoding/json decodes, including text spliced in raw (invalid UTF-8,
// escapes, control characters): a replay folds events to the same state as
// the release that first projected them.
func FuzzUnmarshalJSON(f *testing.F) {
	for _, s := range [][3]string{
		{"Lavrov–Vulin talks", "Sergey Lavrov", `plain`},
		{"<b>&</b>", "Đorđe", "a\xffb invalid UTF-8"},
		{"\u2028\u2029", "\x00\x1f", `\u00e9\ud83c\uddf7 \ud800 lone surrogate`},
		{"", "", "\t raw tab"},
		{"emoji 🇷🇸", "quote \" backslash \\", `\" escaped quote`},
	} {
		f.Add(s[0], s[1], []byte(s[2]), int64(1661155200))
	}
	f.Fuzz(func(t *testing.T, title, name string, raw []byte, sec int64) {
		at := time.Unix(sec%(1<<35), sec%1e9).UTC()
		m := Meeting{ID: "mtg_" + name, Version: int(sec % 1000), Title: title, StartUTC: at, CreatedAt: at,
			Participants: []Participant{{Name: name, Country: "RU"}}, Description: "@@RAW@@",
			Source: &Source{URL: title}, Sequence: int(sec % 7), AllDay: sec%2 == 0}
		data, err := json.Marshal(m)
		if err != nil {
			t.Skip(err)
		}
		env := Envelope{Seq: uint64(sec) % 1e9, ID: "evt_" + title, Type: "meeting.scheduled", Schema: 2,
			AggregateType: "meeting", AggregateID: m.ID, Version: 1, RecordedAt: at, Actor: name, Data: data}
		envData, err := json.Marshal(env)
		if err != nil {
			t.Skip(err)
		}
		for _, in := range [][]byte{data, bytes.Replace(data, []byte("@@RAW@@"), raw, 1)} {
			var want, got Meeting
			if json.Unmarshal(in, &want) != nil {
				continue // raw broke the JSON
			}
			if err := UnmarshalJSON(in, &got); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("UnmarshalJSON(%q) = %+v, %v\nencoding/json: %+v", in, got, err, want)
			}
		}
		var wantEnv, gotEnv Envelope
		if err := json.Unmarshal(envData, &wantEnv); err != nil {
			t.Fatal(err)
		}
		if err := UnmarshalJSON(envData, &gotEnv); err != nil || !reflect.DeepEqual(gotEnv, wantEnv) {
			t.Fatalf("envelope %q: %+v, %v\nencoding/json: %+v", envData, gotEnv, err, wantEnv)
		}
	})
}

// A number past what its field holds is an error, as in encoding/json, not a
// value wrapped around: an event published around Append may carry one.
func TestUnmarshalJSONRefusesOverflow(t *testing.T) {
	for _, in := range []string{
		`{"seq":18446744073709551616,"version":1}`,
		`{"seq":1,"version":9223372036854775808}`,
		`{"seq":1,"version":-9223372036854775809}`,
		`{"seq":1,"version":99999999999999999999}`,
	} {
		var env Envelope
		err := UnmarshalJSON([]byte(in), &env)
		if err == nil {
			t.Errorf("UnmarshalJSON(%s) = %+v, nil error; want the overflow refused", in, env)
		}
	}
	// The largest values still decode, on the fast path or not.
	var env Envelope
	if err := UnmarshalJSON([]byte(`{"seq":18446744073709551615,"version":9223372036854775807}`), &env); err != nil ||
		env.Seq != 1<<64-1 || env.Version != 1<<63-1 {
		t.Errorf("largest values: seq %d version %d, %v", env.Seq, env.Version, err)
	}
	if err := UnmarshalJSON([]byte(`{"seq":123456789012345678,"version":-123456789012345678}`), &env); err != nil ||
		env.Seq != 123456789012345678 || env.Version != -123456789012345678 {
		t.Errorf("18 digits: seq %d version %d, %v", env.Seq, env.Version, err)
	}
}

// MarshalJSON must write exactly what encoding/json writes for every event
// payload: both have stored events, and a payload's bytes are the record.
func FuzzMarshalJSON(f *testing.F) {
	for _, s := range []string{"", "Lavrov–Vulin talks", "<b>&amp;</b>", "line\nbreak\ttab\x00nul\b\f", "\u2028\u2029",
		"\xff\xfe invalid", "emoji 🇷🇸", `quote " backslash \ slash /`, "\x7f\x1f"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		span := Span{Start: a, End: b, Timezone: a + b}
		people := []Participant{{Name: a, Office: b, Country: "RU"}, {Name: b}}
		var src *Source
		if len(a)%2 == 0 {
			src, people = &Source{URL: b, Published: a}, nil
		}
		loc := Location{City: a, Country: b, Venue: a + b}
		var evs []any
		for _, ev := range []Event{
			MeetingScheduled{Kind: a, Title: b, Span: span, Location: loc, Participants: people, Description: a, Source: src},
			MeetingRescheduled{Span: span, Previous: Span{Start: b}, Reason: a},
			MeetingRelocated{Location: loc, Previous: Location{City: b}, Reason: b},
			MeetingParticipantsChanged{Participants: people, Previous: []Participant{{Name: a}}},
			MeetingPostponed{Reason: a}, MeetingCancelled{Reason: b}, MeetingHeld{Outcome: a},
			VisitAnnounced{Visitor: Participant{Name: a, Office: b}, Destination: Destination{City: b, Country: a}, Span: span, Purpose: b, Source: src},
			VisitRescheduled{Span: span, Reason: b}, VisitCancelled{Reason: a}, VisitCompleted{Outcome: b},
		} {
			evs = append(evs, ev)
		}
		// and envelopes, as encodeEnvelope encodes them (Data apart)
		at := time.Unix(int64(len(a)%64)*1e8+int64(len(b)), int64(len(b))*7919).UTC()
		for _, env := range []Envelope{
			{ID: "evt_" + a, Type: b, Schema: 2, AggregateType: "meeting", AggregateID: a, Version: len(b), RecordedAt: at, Actor: a, CorrelationID: b},
			{Seq: uint64(len(a)), RecordedAt: at.In(time.FixedZone("x", 3600)), CausationID: a + b},
		} {
			evs = append(evs, env)
		}
		for _, ev := range evs {
			want, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			got, err := MarshalJSON(ev)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("MarshalJSON(%T) = %s, %v\nencoding/json: %s", ev, got, err, want)
			}
		}
	})
}
