package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/chancery/chancery/events"
)

// ImportWindow is how many publishes ImportTrail keeps in flight; the
// publisher's own limit of pending acks must allow at least as many.
const ImportWindow = 256

// ImportTarget is the stream ImportInto fills.
type ImportTarget struct {
	Conn     *nats.Conn
	Stream   string
	Replicas int    // of the stream, when ImportInto creates it
	Via      string // how Conn reaches NATS, as messages say it
}

// ImportInto loads a trail, checked whole by the caller (TrailFile.Check),
// into to.Stream, creating the stream when it is absent and refusing one
// that already holds events: an import reproduces sequences, which only an
// empty stream can take.
func ImportInto(ctx context.Context, to ImportTarget, trail *TrailFile, warn io.Writer) error {
	js, err := jetstream.New(to.Conn, jetstream.WithPublishAsyncMaxPending(2*ImportWindow), jetstream.WithPublishAsyncTimeout(time.Minute))
	if err != nil {
		return err
	}
	log, err := events.OpenLog(ctx, js, events.LogConfig{Stream: to.Stream, Replicas: to.Replicas})
	if err != nil {
		return err
	}
	if last, err := log.LastSeq(ctx); err != nil {
		return err
	} else if last > 0 {
		return fmt.Errorf("stream %s in %s already holds %d events; import-events only fills an empty stream (nothing imported)", to.Stream, to.Via, last)
	}
	return ImportTrail(ctx, js, to.Stream, trail.Label, trail, warn)
}

// Publisher publishes asynchronously, as jetstream.JetStream does.
type Publisher interface {
	PublishMsgAsync(m *nats.Msg, opts ...jetstream.PublishOpt) (jetstream.PubAckFuture, error)
}

// ImportTrail appends the events of a trail read from r to stream, which
// the caller has found empty, each at its original sequence. The trail is
// checked as it is read; callers check it whole first (CheckTrail), so that
// a broken trail stores nothing. A repeated Nats-Msg-Id is dropped, with a
// warning on warn, rather than letting the stream drop its event.
func ImportTrail(ctx context.Context, js Publisher, stream, name string, r io.Reader, warn io.Writer) error {
	p := &trailPublisher{js: js, stream: stream, seen: map[string]bool{}, warn: warn}
	_, err := CheckTrail(name, r, func(ev TrailEvent) error { return p.publish(ctx, ev) })
	if err == nil {
		err = p.flush(ctx)
	}
	if err != nil {
		return fmt.Errorf("import stopped, the stream holds the events before the failure: %w", err)
	}
	return nil
}

// trailPublisher appends a trail's events with asynchronous publishes, a
// window of them in flight. Each carries Nats-Expected-Last-Sequence: seq-1,
// so an event lands at its original sequence or not at all.
type trailPublisher struct {
	js       Publisher
	stream   string
	inflight []importPending
	seen     map[string]bool // Nats-Msg-Ids published so far
	warn     io.Writer
}

type importPending struct {
	seq uint64
	ack jetstream.PubAckFuture
}

func (p *trailPublisher) publish(ctx context.Context, ev TrailEvent) error {
	m := nats.NewMsg(ev.Subject)
	m.Data = ev.Event
	var env struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(ev.Event, &env) == nil && env.Type != "" {
		m.Header.Set("Chancery-Event-Type", env.Type) // as events.Log.Append sets it
	}
	if ev.MsgID != "" {
		// The original stream accepted a repeated id only after its
		// duplicate window had passed; here it would drop the event and
		// shift every sequence after it.
		if p.seen[ev.MsgID] {
			fmt.Fprintf(p.warn, "warning: seq %d repeats Nats-Msg-Id %q of an earlier event; imported without it\n", ev.Seq, ev.MsgID)
		} else {
			p.seen[ev.MsgID] = true
			m.Header.Set(jetstream.MsgIDHeader, ev.MsgID)
		}
	}
	m.Header.Set(jetstream.ExpectedLastSeqHeader, strconv.FormatUint(ev.Seq-1, 10))
	if len(p.inflight) == ImportWindow {
		if err := p.settleOldest(ctx); err != nil {
			return err
		}
	}
	ack, err := p.js.PublishMsgAsync(m)
	if err != nil {
		return fmt.Errorf("publish seq %d: %w", ev.Seq, err)
	}
	p.inflight = append(p.inflight, importPending{seq: ev.Seq, ack: ack})
	return nil
}

// settleOldest waits for the oldest publish in flight and checks that it
// landed where it stood in the trail.
func (p *trailPublisher) settleOldest(ctx context.Context) error {
	f := p.inflight[0]
	p.inflight = p.inflight[1:]
	select {
	case ack := <-f.ack.Ok():
		if ack.Duplicate || ack.Sequence != f.seq {
			return fmt.Errorf("event seq %d was stored at seq %d (duplicate: %v)", f.seq, ack.Sequence, ack.Duplicate)
		}
		return nil
	case err := <-f.ack.Err():
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return fmt.Errorf("publish seq %d: stream %s changed during the import (another writer?): %w", f.seq, p.stream, err)
		}
		return fmt.Errorf("publish seq %d: %w", f.seq, err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *trailPublisher) flush(ctx context.Context) error {
	for len(p.inflight) > 0 {
		if err := p.settleOldest(ctx); err != nil {
			return err
		}
	}
	return nil
}
