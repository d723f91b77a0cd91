package audit

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/chancery/chancery/events"
)

// Streams finds a JetStream stream by name, as jetstream.JetStream does.
type Streams interface {
	Stream(ctx context.Context, name string) (jetstream.Stream, error)
}

// Timeline says where the event log ends and which events were recorded
// by a time, as *events.Log does.
type Timeline interface {
	LastSeq(ctx context.Context) (uint64, error)
	MomentAt(ctx context.Context, t time.Time) (events.Moment, error)
}

// ExportBound returns how far an export goes: the whole log; with seq not
// 0, at most up to seq; with at not zero, up to the last event recorded at
// or before at. A trail has no gaps, so the moment's Later lists the events
// before its end that were recorded after at (writers that raced): the
// trail holds them too, and the caller may say so.
func ExportBound(ctx context.Context, tl Timeline, seq uint64, at time.Time) (events.Moment, error) {
	if !at.IsZero() {
		return tl.MomentAt(ctx, at)
	}
	last, err := tl.LastSeq(ctx)
	if err != nil {
		return events.Moment{}, err
	}
	if seq > 0 {
		last = min(last, seq)
	}
	return events.Moment{Last: last}, nil
}

// ExportTrail writes the events 1..until of a stream as a trail to w, read
// with one ordered consumer; now is the header's exported_at.
func ExportTrail(ctx context.Context, js Streams, stream string, until uint64, now time.Time, w io.Writer) (TrailEnd, error) {
	h := TrailHeader{Format: TrailFormat, Version: TrailVersion, Stream: stream, ExportedAt: now.UTC().Format(time.RFC3339)}
	h.Hash = h.Digest()
	end := TrailEnd{End: true, Head: h.Genesis()}
	if _, err := w.Write(h.Line()); err != nil {
		return end, err
	}
	if until > 0 {
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return end, fmt.Errorf("stream %s: %w", stream, err)
		}
		cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
			DeliverPolicy:     jetstream.DeliverAllPolicy,
			InactiveThreshold: 30 * time.Second,
		})
		if err != nil {
			return end, fmt.Errorf("read stream %s: %w", stream, err)
		}
		defer events.DeleteConsumer(ctx, s, cons)
		it, err := cons.Messages(jetstream.PullMaxMessages(512))
		if err != nil {
			return end, fmt.Errorf("read stream %s: %w", stream, err)
		}
		defer it.Stop()
		for end.LastSeq < until {
			msg, err := it.Next(jetstream.NextContext(ctx))
			if err != nil {
				return end, fmt.Errorf("read stream %s after seq %d: %w", stream, end.LastSeq, err)
			}
			meta, err := msg.Metadata()
			if err != nil {
				return end, fmt.Errorf("read stream %s after seq %d: %w", stream, end.LastSeq, err)
			}
			ev := TrailEvent{Seq: meta.Sequence.Stream, Subject: msg.Subject(), MsgID: msg.Headers().Get(jetstream.MsgIDHeader), Event: msg.Data()}
			if ev.Seq != end.LastSeq+1 {
				return end, fmt.Errorf("stream %s has no event at seq %d (the next is %d): a trail cannot skip one", stream, end.LastSeq+1, ev.Seq)
			}
			if err := ev.exportable(); err != nil {
				return end, fmt.Errorf("event at seq %d cannot be exported: %w", ev.Seq, err)
			}
			ev.Hash = ev.Digest(end.Head)
			if _, err := w.Write(ev.Line()); err != nil {
				return end, err
			}
			end.Count, end.LastSeq, end.Head = end.Count+1, ev.Seq, ev.Hash
		}
	}
	_, err := w.Write(end.Line())
	return end, err
}
