package api

import (
	"context"
	"net/http"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/notifier"
	"github.com/chancery/chancery/projections"
)

// The API's dependencies, each as small as its handlers need. cmd/chancery
// passes the real ones (named in each comment); tests pass the same, and a
// stand-in only to force a failure.

// CommandLog is the event log: commands are executed on it, histories
// folded from it, and the stream read from it in order (*events.Log).
type CommandLog interface {
	events.CommandLog
	Scan(ctx context.Context, after uint64, f events.ReadFilter, fn func(events.Stored) error) error
	FindMsgID(ctx context.Context, aggType, id, msgID string) (last events.Stored, ok bool, err error)
}

// Idempotency holds what each Idempotency-Key's request answered
// (*events.Idempotency).
type Idempotency interface {
	Claim(ctx context.Context, key string, rec events.IdempotencyRecord) (*events.IdempotencyRecord, uint64, error)
	TakeOver(ctx context.Context, key string, revision uint64, rec events.IdempotencyRecord) (uint64, error)
	Complete(ctx context.Context, key string, rec events.IdempotencyRecord) error
	Abandon(ctx context.Context, key string, revision uint64, rec events.IdempotencyRecord) error
	Release(ctx context.Context, key string, revision uint64) error
}

// ReadModel answers queries on meetings and visits (*projections.DB).
type ReadModel interface {
	List(ctx context.Context, q projections.Query) (projections.Page, error)
	Get(ctx context.Context, typ, id string) (projections.Resource, uint64, error)
}

// Projector says how far the read model has applied the stream
// (*projections.Projector).
type Projector interface {
	Position() uint64
	WaitFor(ctx context.Context, pos uint64) error
	Health(now time.Time) projections.Health
	Err() error
	RebuildStatus() *projections.RebuildStatus
}

// Snapshots give the read model as it stood within a past bound: recorded
// by a time, announced by a day, or both (*projections.Snapshots).
type Snapshots interface {
	Within(ctx context.Context, b events.Bound) (db *projections.DB, at events.Moment, release func(), err error)
}

// Feeds serve the iCalendar feeds (*calendar.Handler): the whole schedule,
// the named feeds, and one engagement as a calendar file.
type Feeds interface {
	ServeAll(w http.ResponseWriter, r *http.Request)
	ServeNamed(w http.ResponseWriter, r *http.Request)
	ServeOne(w http.ResponseWriter, r *http.Request, typ, id string)
}

// Deliveries are the notifier's alerts on their way out (*notifier.Queue).
type Deliveries interface {
	List(ctx context.Context, status string) ([]notifier.Delivery, error)
	Get(ctx context.Context, id string) (notifier.Delivery, error)
	Retry(ctx context.Context, id string) (notifier.Delivery, error)
}
