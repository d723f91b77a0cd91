package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/chancery/chancery/internal/fleet"
)

// A casWriter moves meetings it shares with the other writers: it reads a
// meeting's version from its replica, then reschedules it to a date of its
// own with If-Match on that version, a compare-and-set. It sends no
// Idempotency-Key and does not repeat a request: each attempt is one
// operation for the checker, whose outcome may be unknown.
type casWriter struct {
	name    string
	index   int
	replica *fleet.Replica
	client  *fleet.Client
	rec     *fleet.Recorder
	aggs    []string
	stop    chan struct{}
}

func (w *casWriter) run(ctx context.Context) {
	for n := 1; ; n++ {
		select {
		case <-w.stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		agg := w.aggs[rand.IntN(len(w.aggs))]
		var m struct {
			Version int `json:"version"`
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := w.client.Get(rctx, w.replica, "/api/v1/meetings/"+agg, &m)
		cancel()
		if err != nil || m.Version == 0 {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		// A date no other write sets: each state of the register is unique.
		day := fleet.Day(1 + w.index*20000 + n)
		op := fleet.Op{Writer: w.name, Kind: "cas", RequestID: fmt.Sprintf("%s-%d", w.name, n), Aggregate: agg, IfMatch: m.Version, Start: day}
		w.client.Write(ctx, w.replica, "/api/v1/meetings/"+agg+"/reschedule", fleet.RescheduleBody(day, "partition "+op.RequestID), &op)
		if op.Aggregate == "" {
			op.Aggregate = agg
		}
		w.rec.Add(op)
		if op.Status == 503 || op.Status == 409 {
			time.Sleep(op.RetryDelay())
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// createMeetings creates n meetings through r, each with an
// Idempotency-Key, repeating a request until it is answered 201.
func createMeetings(ctx context.Context, c *fleet.Client, r *fleet.Replica, rec *fleet.Recorder, n int) ([]string, error) {
	var ids []string
	for i := range n {
		key := fmt.Sprintf("meeting-%d", i)
		for {
			op := fleet.Op{Writer: "setup", Kind: "create", Key: key, RequestID: key, Start: fleet.Day(0)}
			c.Write(ctx, r, "/api/v1/meetings", fleet.MeetingBody("Partition "+key, fleet.Day(0)), &op)
			rec.Add(op)
			if op.Outcome == fleet.OK {
				ids = append(ids, op.Aggregate)
				break
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			time.Sleep(op.RetryDelay())
		}
	}
	return ids, nil
}
