package events

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/chancery/chancery/internal/natstest"
)

// A server that never answers one read (a node cut off by a partition,
// whose route still looks up) costs a write one read attempt, not its
// whole deadline: the read is sent again and answered.
func TestAReadNobodyAnswersIsSentAgainWithinTheWriteDeadline(t *testing.T) {
	srv := natstest.Start(t, "")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// The log's JetStream API requests go through a relay that forwards
	// them to the server, but swallows the first read of a message.
	var swallowed atomic.Int32
	relay, err := srv.NC.Subscribe("RELAY.API.>", func(m *nats.Msg) {
		read := strings.HasPrefix(m.Subject, "RELAY.API.STREAM.MSG.GET.") || strings.HasPrefix(m.Subject, "RELAY.API.DIRECT.GET.")
		if read && swallowed.Add(1) == 1 {
			return
		}
		res, err := srv.NC.RequestMsg(&nats.Msg{Subject: "$JS.API." + strings.TrimPrefix(m.Subject, "RELAY.API."), Data: m.Data, Header: m.Header}, 5*time.Second)
		if err == nil {
			m.RespondMsg(&nats.Msg{Data: res.Data, Header: res.Header})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Unsubscribe()
	if err := srv.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.Srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.NewWithAPIPrefix(nc, "RELAY.API")
	if err != nil {
		t.Fatal(err)
	}
	l, err := OpenLog(ctx, js, LogConfig{})
	if err != nil {
		t.Fatal(err)
	}
	id := NewMeetingID(releaseDay)
	if _, _, err := Execute[Meeting](ctx, l, id, lavrovVulin(), Meta{Fresh: true}); err != nil {
		t.Fatal(err)
	}
	// A write with half the time a read waits when nobody answers it
	// under the client's default: without a deadline of its own, the
	// swallowed read would take the whole write deadline.
	wctx, wcancel := context.WithTimeout(ctx, 3*ReadAttemptTimeout)
	defer wcancel()
	_, res, err := Execute[Meeting](wctx, l, id, &RescheduleMeeting{Start: "2022-08-23"}, Meta{})
	if err != nil {
		t.Fatalf("reschedule with one read unanswered: %v", err)
	}
	if res.Version != 2 || swallowed.Load() < 2 {
		t.Errorf("version %d after %d reads, want version 2 after the swallowed read and another", res.Version, swallowed.Load())
	}
}

// A fold asked for a version the history does not have (read from a server
// that had not applied it) answers EUNAVAILABLE, never a fold without it.
func TestFoldVersionNeverSilentlyLacksAKnownVersion(t *testing.T) {
	tl := openTestLog(t)
	ctx, l := tl.ctx, tl.Log
	id := NewMeetingID(releaseDay)
	if _, _, err := Execute[Meeting](ctx, l, id, lavrovVulin(), Meta{Fresh: true}); err != nil {
		t.Fatal(err)
	}
	m, err := FoldVersion[Meeting](ctx, l, id, 1)
	if err != nil || m.Version != 1 {
		t.Fatalf("FoldVersion(1) = version %v, %v; want version 1", m, err)
	}
	if _, err := FoldVersion[Meeting](ctx, l, id, 2); ErrorCode(err) != EUNAVAILABLE {
		t.Errorf("FoldVersion(2) of a one-event history: %v, want EUNAVAILABLE", err)
	}
}

// A command on a meeting that does not exist names the meeting it looked
// for (the error used to read "meeting  not found").
func TestACommandOnAnUnknownMeetingNamesIt(t *testing.T) {
	tl := openTestLog(t)
	id := NewMeetingID(releaseDay)
	_, _, err := Execute[Meeting](tl.ctx, tl.Log, id, &RescheduleMeeting{Start: "2022-08-23"}, Meta{})
	if ErrorCode(err) != ENOTFOUND || !strings.Contains(err.Error(), id) {
		t.Errorf("reschedule of an unknown meeting: %v, want not found naming %s", err, id)
	}
}
