package events

import (
	"encoding/json"
	"testing"

	"github.com/nats-io/nats.go"
)

// TestSchema1EventAppendedRawIsReadAsSchema2 appends a schema-1
// meeting.scheduled with a bare-URL source straight through the NATS
// client, as an old release wrote it, and reads it back through the log.
func TestSchema1EventAppendedRawIsReadAsSchema2(t *testing.T) {
	tl := openTestLog(t)
	id := NewMeetingID(releaseDay)
	v1 := `{"kind":"talks","title":"Lavrov–Vulin talks","start":"2022-08-22","end":"2022-08-22","timezone":"Europe/Moscow",` +
		`"location":{"city":"Moscow","country":"RU"},"participants":[{"name":"Sergey Lavrov","country":"RU"}],` +
		`"source":"https://www.example.org/press/2022-08-19"}`
	env := map[string]any{
		"id": "evt_01gatn99m0dv772hd1290bd8dg", "type": MeetingScheduledType, "schema": 1,
		"aggregate_type": MeetingAggregate, "aggregate_id": id, "version": 1,
		"recorded_at": releaseDay, "actor": "protocol-office", "data": json.RawMessage(v1),
	}
	body, _ := json.Marshal(env)
	m := nats.NewMsg(Subject(MeetingAggregate, id, "scheduled"))
	m.Data = body
	if _, err := tl.srv.JS.PublishMsg(tl.ctx, m); err != nil {
		t.Fatal(err)
	}
	if SchemaOf(MeetingScheduledType) != 2 {
		t.Fatalf("meeting.scheduled is at schema %d, want 2", SchemaOf(MeetingScheduledType))
	}

	hist := tl.load(t, id)
	if len(hist) != 1 || hist[0].Schema != 1 {
		t.Fatalf("stored %+v, want the one schema-1 event as written", hist)
	}
	ev, err := Decode(hist[0].Envelope)
	if err != nil {
		t.Fatal(err)
	}
	got := ev.(*MeetingScheduled)
	if got.Source == nil || got.Source.URL != "https://www.example.org/press/2022-08-19" || got.Title != "Lavrov–Vulin talks" {
		t.Errorf("decoded %+v (source %+v), want the bare URL as source.url", got, got.Source)
	}
	// The aggregate folds it like any other, and takes commands on top.
	var mtg Meeting
	if err := mtg.Evolve(hist[0].Envelope); err != nil || mtg.Source == nil || mtg.Source.URL != got.Source.URL {
		t.Fatalf("Evolve: %v, source %+v", err, mtg.Source)
	}
	tl.meeting(t, id, &RescheduleMeeting{Start: "2022-08-23"}, Meta{})
}

func TestUpcastSourceLeavesSchema2ShapesAlone(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"title":"a","source":{"url":"https://example.org","published":"2022-08-19"}}`,
		`{"title":"a"}`,
		`{"title":"a","source":null}`,
	} {
		out, err := upcastSource(json.RawMessage(in))
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		json.Unmarshal([]byte(in), &a)
		json.Unmarshal(out, &b)
		if ja, _ := json.Marshal(a); string(ja) != func() string { jb, _ := json.Marshal(b); return string(jb) }() {
			t.Errorf("upcastSource(%s) = %s, want it unchanged", in, out)
		}
	}
	out, _ := upcastSource(json.RawMessage(`{"source":""}`))
	if string(out) != `{}` {
		t.Errorf("empty bare source = %s, want it dropped", out)
	}
}
