package projections

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/chancery/chancery/events"
)

// encodeDoc must write exactly what encoding/json writes: digests compare
// documents byte for byte, and a read model written before it must verify.
func FuzzDocEncoding(f *testing.F) {
	for _, s := range []string{"", "Lavrov–Vulin talks", "<b>&amp;</b>", "line\nbreak\ttab\x00nul", "\u2028\u2029", "\xff\xfe invalid", "emoji 🇷🇸", `quote " backslash \ slash /`, "\x7f\x1f"} {
		f.Add(s, s, int64(1661155200))
	}
	f.Fuzz(func(t *testing.T, a, b string, sec int64) {
		at := time.Unix(sec%(1<<35), sec%1e9).UTC()
		m := &events.Meeting{ID: "mtg_" + a, Version: 3, Kind: "talks", Title: a, Status: "scheduled",
			Start: "2022-08-22", End: "2022-08-22", Timezone: "Europe/Moscow", AllDay: true,
			StartUTC: at, EndUTC: at.Add(time.Hour), Location: events.Location{City: b, Country: "RU", Venue: a + b},
			Participants: []events.Participant{{Name: a, Office: b, Country: "RU"}, {Name: b}},
			Description:  a + "\n" + b, PreviousStart: b, StatusReason: a, Sequence: 2, CreatedAt: at, UpdatedAt: at}
		if len(a)%2 == 0 {
			m.Source = &events.Source{URL: b, Published: a}
			m.Participants = nil
		}
		v := &events.Visit{ID: "vis_" + b, Visitor: events.Participant{Name: a}, Destination: events.Destination{City: b},
			Purpose: a, Outcome: b, StartUTC: at, CreatedAt: at}
		for _, doc := range []any{m, v} {
			want, err := json.Marshal(doc)
			if err != nil {
				t.Skip(err) // a time encoding/json refuses
			}
			got, err := encodeDoc(doc)
			if err != nil {
				t.Fatalf("encodeDoc: %v (encoding/json wrote %s)", err, want)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("encodeDoc wrote\n%s\nencoding/json wrote\n%s", got, want)
			}
		}
	})
}

// The same for every document of a generated stream.
func TestDocEncodingOfGeneratedEngagements(t *testing.T) {
	n := 0
	genEvents(t, 3000, func(_ events.Envelope, st state) {
		var doc any
		switch st := st.(type) {
		case *meetingState:
			doc = &st.Meeting
		case *visitState:
			doc = &st.Visit
		}
		want, _ := json.Marshal(doc)
		got, err := encodeDoc(doc)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("encodeDoc = %s, %v; encoding/json wrote %s", got, err, want)
		}
		n++
	})
	if n != 3000 {
		t.Fatalf("checked %d documents", n)
	}
}
