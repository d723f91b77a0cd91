package notifier

import (
	"context"
	"fmt"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/projections"
)

// fellDue reports whether a reminder whose moment has passed really fell
// due: whether, at its moment, the subscriber's rule was in force and the
// engagement was as it is now. One whose moment had passed before the
// engagement was recorded (or took its present time, place or status), or
// before the subscriber's rule came into force, was never due: it is not
// sent at all, rather than sent as a late reminder the service never
// missed. What remains late fell due while no sweep ran: the service was
// down, or behind.
func (n *Notifier) fellDue(ctx context.Context, e *Engagement, sub *Subscriber, r reminder) (bool, error) {
	if since, ok := n.since[subscriptionKey(sub.Name, r.Rule)]; ok && r.At.Before(since) {
		return false, nil
	}
	if !r.At.Before(e.UpdatedAt) {
		return true, nil // nothing of it has changed since
	}
	formed, err := n.formedAt(ctx, e)
	if err != nil {
		return false, err
	}
	return !formed.IsZero() && !r.At.Before(formed), nil
}

// formedAt is when an engagement took the form a reminder of it is for:
// when the event that gave it its present sequence and start was recorded.
// It is zero when the stream has moved on from that form (the read model
// is behind): a reminder of it would be superseded anyway.
func (n *Notifier) formedAt(ctx context.Context, e *Engagement) (time.Time, error) {
	switch e.Type {
	case events.MeetingAggregate:
		return formedAtOf(ctx, n.deps.Log, e, projections.MeetingView)
	case events.VisitAggregate:
		return formedAtOf(ctx, n.deps.Log, e, projections.VisitView)
	}
	return time.Time{}, fmt.Errorf("no engagement %q", e.ID)
}

func formedAtOf[A any, PA interface {
	*A
	events.Aggregate
}](ctx context.Context, h events.History, e *Engagement, view func(PA) *Engagement) (time.Time, error) {
	hist, err := h.Load(ctx, e.Type, e.ID)
	if err != nil {
		return time.Time{}, err
	}
	agg := PA(new(A))
	var known, formed time.Time // known: the latest record time so far
	for _, st := range hist {
		if err := agg.Evolve(st.Envelope); err != nil {
			return time.Time{}, err
		}
		// No event of an aggregate was learned before an earlier one.
		if st.RecordedAt.After(known) {
			known = st.RecordedAt
		}
		switch v := view(agg); {
		case v.Sequence != e.Sequence || !v.StartUTC.Equal(e.StartUTC):
			formed = time.Time{}
		case formed.IsZero():
			formed = known
		}
	}
	return formed, nil
}
