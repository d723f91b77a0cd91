package main

import (
	"context"
	"fmt"
	"time"

	"github.com/chancery/chancery/internal/fleet"
)

// A writer creates meetings and reschedules each twice, like a desk
// keeping its schedule. A keyed writer sends an Idempotency-Key and, as a
// client honouring Retry-After does, repeats the same request with the
// same key after a 503, a 409 or no answer, until it is answered; an
// unkeyed writer records the outcome and moves on. Both go to another
// replica when theirs refuses connections, as a load balancer would.
type writer struct {
	name     string
	keyed    bool
	replicas []*fleet.Replica
	home     int
	client   *fleet.Client
	rec      *fleet.Recorder
	stop     chan struct{}
}

// reschedules is how many times each meeting is moved.
const reschedules = 2

// giveUp bounds a keyed writer's retries of its last request once the
// writers are told to stop.
const giveUp = 30 * time.Second

func (w *writer) run(ctx context.Context) {
	for i := 0; ; i++ {
		if w.stopped() || ctx.Err() != nil {
			return
		}
		id := fmt.Sprintf("%s-%d", w.name, i)
		agg := w.do(ctx, fleet.Op{Kind: "create", RequestID: id, Start: fleet.Day(0)},
			"/api/v1/meetings", fleet.MeetingBody("Soak "+id, fleet.Day(0)))
		if agg == "" {
			continue
		}
		for j := 1; j <= reschedules && ctx.Err() == nil; j++ {
			rid := fmt.Sprintf("%s-r%d", id, j)
			w.do(ctx, fleet.Op{Kind: "reschedule", RequestID: rid, Aggregate: agg, Start: fleet.Day(j)},
				"/api/v1/meetings/"+agg+"/reschedule", fleet.RescheduleBody(fleet.Day(j), "soak "+rid))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *writer) stopped() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

// do runs one logical write and returns the aggregate id once it is
// acknowledged ("" if it is not).
func (w *writer) do(ctx context.Context, op fleet.Op, path string, body any) string {
	op.Writer = w.name
	if w.keyed {
		op.Key = op.RequestID
	}
	var deadline time.Time
	for {
		a := op
		w.client.Write(ctx, w.replicas[w.home], path, body, &a)
		if a.Aggregate == "" {
			a.Aggregate = op.Aggregate
		}
		w.rec.Add(a)
		if a.Outcome == fleet.OK {
			return a.Aggregate
		}
		if a.Outcome == fleet.Fail && a.Status == 0 {
			w.home = (w.home + 1) % len(w.replicas) // refused: that replica is down
		}
		if !w.keyed || ctx.Err() != nil {
			return ""
		}
		if a.Outcome == fleet.Fail && a.Status != 0 && a.Status != 409 {
			return "" // refused for good: a retry would be refused too
		}
		if w.stopped() {
			if deadline.IsZero() {
				deadline = time.Now().Add(giveUp)
			} else if time.Now().After(deadline) {
				return ""
			}
		}
		time.Sleep(a.RetryDelay())
	}
}

// keyedCreates lists the idempotency keys of creates that did not store
// exactly one meeting: one if any attempt was acknowledged, at most one if
// none was.
func keyedCreates(ops []fleet.Op, stream []fleet.Envelope) []string {
	acked := map[string]bool{}
	for _, op := range ops {
		if op.Key != "" && op.Kind == "create" {
			acked[op.Key] = acked[op.Key] || op.Outcome == fleet.OK
		}
	}
	created := map[string]int{}
	for _, e := range stream {
		if e.Type == "meeting.scheduled" {
			created[e.CorrelationID]++
		}
	}
	var bad []string
	for key, ok := range acked {
		if n := created[key]; n > 1 || (ok && n != 1) {
			bad = append(bad, fmt.Sprintf("%s: %d meetings (acknowledged: %v)", key, n, ok))
		}
	}
	return bad
}

// summary counts attempts by outcome, the keyed writers' logical writes,
// and those of them neither acknowledged nor refused for good.
func summary(ops []fleet.Op) map[string]int {
	n := map[string]int{}
	final := map[string]string{}
	for _, op := range ops {
		n[op.Outcome]++
		if op.Key == "" {
			continue
		}
		if final[op.RequestID] != fleet.OK {
			final[op.RequestID] = op.Outcome
		}
	}
	n["logical"] = len(final)
	for _, out := range final {
		if out == fleet.Unknown {
			n["unresolved"]++
		}
	}
	return n
}

func noMissingRetryAfter(codes map[string]int) bool {
	for _, label := range []string{"503", "409", "429"} {
		if codes[label+" without Retry-After"] > 0 {
			return false
		}
	}
	return true
}
