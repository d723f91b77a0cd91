package audit

import (
	"bytes"
	"strings"
	"testing"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/natstest"
)

// An absent stream is created and filled; the same trail again finds it
// holding events and is refused, storing nothing more.
func TestImportIntoCreatesTheStreamAndRefusesOneWithEvents(t *testing.T) {
	r, trail, end := talksTrail(t)
	dst := natstest.Start(t, "")
	to := ImportTarget{Conn: dst.NC, Stream: events.DefaultStream, Replicas: 1, Via: "the test server"}
	importOnce := func() error {
		f, err := OpenTrail("-", strings.NewReader(trail))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		return ImportInto(r.ctx, to, f, &bytes.Buffer{})
	}
	if err := importOnce(); err != nil {
		t.Fatalf("import into an absent stream: %v", err)
	}
	log, err := events.OpenLog(r.ctx, dst.JS, events.LogConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if last, err := log.LastSeq(r.ctx); err != nil || last != end.LastSeq {
		t.Fatalf("after the import the stream ends at %d, %v; want %d", last, err, end.LastSeq)
	}

	err = importOnce()
	if err == nil || !strings.Contains(err.Error(), "stream CHANCERY_EVENTS in the test server already holds 6 events") {
		t.Errorf("import into a stream with events: %v, want it refused naming the stream and its events", err)
	}
	if last, _ := log.LastSeq(r.ctx); last != end.LastSeq {
		t.Errorf("the refused import stored events: the stream ends at %d, want %d", last, end.LastSeq)
	}
}
