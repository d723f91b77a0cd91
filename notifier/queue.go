package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/chancery/chancery/events"
)

// The delivery queue lives in NATS, shared by every replica:
//
//   - AlertStream, a work-queue stream: each due alert is one message,
//     published with its alert id as Nats-Msg-Id;
//   - DeliveryBucket, a key-value bucket with one record per alert id. Its
//     Create is the claim that an alert is due (so a second sweep, replica
//     or restart never queues it again), and a revision-checked Update
//     claims the send, so two workers never send one alert.
//
// A claim is a lease: the worker that holds it refreshes the record every
// third of AckWait while it sends, and holds its queue message with
// in-progress acks as long. Another worker takes a claim over only once the
// lease is older than AckWait (its worker stopped); until then a copy of
// the alert (another message) is dropped, and another delivery of the very
// message the claim names is left to its holder.
const (
	AlertStream    = "CHANCERY_ALERTS"
	AlertSubjects  = "chancery.alerts.>"
	DeliveryBucket = "CHANCERY_DELIVERIES"
	deliverName    = "chancery-deliver"
)

// Delivery states.
const (
	StatusQueued   = "queued"   // waiting for a worker
	StatusSending  = "sending"  // a worker has claimed it
	StatusRetrying = "retrying" // the last attempt failed; another is planned
	StatusSent     = "sent"     // the receiver accepted it
	StatusFailed   = "failed"   // gave up: a dead letter, until retried by hand
	StatusSkipped  = "skipped"  // no longer wanted (moved, cancelled, started, unsubscribed)
)

// Alert is one due alert for one subscriber.
type Alert struct {
	ID          string    `json:"id"`
	Category    string    `json:"kind"` // reminder | change | digest; the wire name is historical
	Rule        string    `json:"rule"` // 24h, 1h, day-before, rescheduled, ..., digest
	Subscriber  string    `json:"subscriber"`
	AggregateID string    `json:"aggregate_id,omitempty"`
	Sequence    int       `json:"sequence,omitempty"`  // reminders: the calendar sequence they were computed for
	StartUTC    time.Time `json:"start_utc,omitzero"`  // reminders: the start they remind of
	DueAt       time.Time `json:"due_at"`              // when it fell due
	NotBefore   time.Time `json:"not_before,omitzero"` // held by quiet hours until then
	Message     Message   `json:"message"`
}

// Delivery is the record of one alert in DeliveryBucket.
type Delivery struct {
	Alert
	Status    string    `json:"status"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	Owner     string    `json:"owner,omitempty"`     // the process that claimed the send
	ClaimSeq  uint64    `json:"claim_seq,omitempty"` // the alert stream message it claimed the send with
	QueuedAt  time.Time `json:"queued_at"`
	UpdatedAt time.Time `json:"updated_at"`
	SentAt    time.Time `json:"sent_at,omitzero"`
}

// QueueConfig tunes the queue. Zero values take the defaults.
type QueueConfig struct {
	Replicas    int             // stream and bucket replicas (default 1)
	AckWait     time.Duration   // a claim or message unrefreshed this long belongs to a stopped worker (default 60 s)
	SendTimeout time.Duration   // longest one attempt may take (default 45 s)
	MaxAttempts int             // attempts before an alert becomes a dead letter (default 8)
	Backoff     []time.Duration // pause after the nth failed attempt (default 10 s, 30 s, 2 m, 5 m, 15 m, 30 m, 1 h)
	MaxHold     time.Duration   // longest single wait for quiet hours to end (default 1 m)
	Retention   time.Duration   // how long delivery records are kept (default 30 days)
	// Now is the clock alerts are due by (NotBefore). Records and claims
	// use the real clock: a claim's age says whether its worker lives.
	Now func() time.Time
}

func (c *QueueConfig) defaults() {
	if c.Replicas < 1 {
		c.Replicas = 1
	}
	if c.AckWait <= 0 {
		c.AckWait = time.Minute
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = 45 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if len(c.Backoff) == 0 {
		c.Backoff = []time.Duration{10 * time.Second, 30 * time.Second, 2 * time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour}
	}
	if c.MaxHold <= 0 {
		c.MaxHold = time.Minute
	}
	if c.Retention <= 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Queue is the delivery queue.
type Queue struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	kv     jetstream.KeyValue
	cfg    QueueConfig
	owner  string // this process, in claims
	logger *slog.Logger

	// beforeAck, when set, runs after a send and before its ack; an error
	// abandons the message as a crash would. Tests kill workers with it.
	beforeAck func(Alert) error
	// afterClaim is the same between the claim and the send.
	afterClaim func(Alert) error

	// inflight holds the ids of the alerts this process's workers are
	// handling: a copy of one that comes back meanwhile is left to them.
	inflight sync.Map
}

// OpenQueue creates the stream, bucket and consumer if they are missing.
func OpenQueue(ctx context.Context, js jetstream.JetStream, cfg QueueConfig, logger *slog.Logger) (*Queue, error) {
	cfg.defaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        AlertStream,
		Description: "Chancery alerts due for delivery (a work queue)",
		Subjects:    []string{AlertSubjects},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
		Duplicates:  10 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("open stream %s: %w", AlertStream, err)
	}
	kv, err := events.OpenBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket:      DeliveryBucket,
		Description: "Chancery deliveries: one record per alert, its claim and outcome",
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
		History:     1,
		TTL:         cfg.Retention,
	})
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", DeliveryBucket, err)
	}
	if _, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       deliverName,
		Description:   "Chancery delivery workers, shared by every replica",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    -1, // attempts are counted in the delivery record
		MaxAckPending: 1000,
	}); err != nil {
		return nil, fmt.Errorf("open consumer %s: %w", deliverName, err)
	}
	return &Queue{js: js, stream: stream, kv: kv, cfg: cfg, owner: nuid.Next(), logger: logger}, nil
}

// Enqueue queues an alert unless one with its id was queued before. It
// reports whether this call queued it.
func (q *Queue) Enqueue(ctx context.Context, a Alert) (bool, error) {
	now := time.Now().UTC()
	rec := Delivery{Alert: a, Status: StatusQueued, QueuedAt: now, UpdatedAt: now}
	data, err := json.Marshal(rec)
	if err != nil {
		return false, err
	}
	if _, err := q.kv.Create(ctx, a.ID, data); err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return false, fmt.Errorf("claim alert %s: %w", a.ID, err)
		}
		// Claimed before. While its record says only "queued", the
		// publish that followed the claim may have failed (the change
		// event then comes back, and this is its retry): publish again.
		// Under the same Nats-Msg-Id, JetStream drops the copy if the
		// first publish did land within its duplicate window; after it,
		// a worker still sends the alert once however many copies.
		prev, _, gerr := q.get(ctx, a.ID)
		if gerr != nil {
			return false, fmt.Errorf("read alert %s: %w", a.ID, gerr)
		}
		if prev.Status != StatusQueued {
			return false, nil
		}
		return false, q.publish(ctx, prev.Alert, a.ID)
	}
	return true, q.publish(ctx, a, a.ID)
}

func (q *Queue) publish(ctx context.Context, a Alert, msgID string) error {
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	m := nats.NewMsg("chancery.alerts." + a.Category)
	m.Data = data
	m.Header.Set(jetstream.MsgIDHeader, msgID)
	if _, err := q.js.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("queue alert %s: %w", a.ID, err)
	}
	return nil
}

func (q *Queue) get(ctx context.Context, id string) (Delivery, uint64, error) {
	e, err := q.kv.Get(ctx, id)
	if err != nil {
		return Delivery{}, 0, err
	}
	var d Delivery
	if err := json.Unmarshal(e.Value(), &d); err != nil {
		return Delivery{}, 0, fmt.Errorf("delivery %s: %w", id, err)
	}
	return d, e.Revision(), nil
}

// update writes d over revision rev; it fails if somebody wrote since.
func (q *Queue) update(ctx context.Context, d *Delivery, rev uint64) (uint64, error) {
	d.UpdatedAt = time.Now().UTC()
	data, err := json.Marshal(d)
	if err != nil {
		return 0, err
	}
	return q.kv.Update(ctx, d.ID, data, rev)
}

// Get returns one delivery record.
func (q *Queue) Get(ctx context.Context, id string) (Delivery, error) {
	d, _, err := q.get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return Delivery{}, ErrNoDelivery
	}
	return d, err
}

// ErrNoDelivery reports an unknown alert id.
var ErrNoDelivery = errors.New("no such delivery")

// List returns the delivery records with the given status (all when
// empty), newest first.
func (q *Queue) List(ctx context.Context, status string) ([]Delivery, error) {
	keys, err := q.kv.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []Delivery
	for k := range keys.Keys() {
		d, _, err := q.get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if status == "" || d.Status == status {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UpdatedAt.After(out[j].UpdatedAt) })
	return out, nil
}

// Retry queues a dead letter again, with a fresh count of attempts.
func (q *Queue) Retry(ctx context.Context, id string) (Delivery, error) {
	d, rev, err := q.get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return Delivery{}, ErrNoDelivery
	}
	if err != nil {
		return Delivery{}, err
	}
	if d.Status != StatusFailed {
		return d, fmt.Errorf("%w: delivery %s is %s, not failed", ErrNotRetryable, id, d.Status)
	}
	d.Status, d.Attempts, d.Owner = StatusQueued, 0, ""
	rev, err = q.update(ctx, &d, rev)
	if err != nil {
		return Delivery{}, fmt.Errorf("retry %s: %w", id, err)
	}
	return d, q.publish(ctx, d.Alert, fmt.Sprintf("%s-retry-%d", id, rev))
}

// ErrNotRetryable reports a retry of a delivery that has not failed.
var ErrNotRetryable = errors.New("not retryable")

// Sender sends one alert's message. Check, when it returns a reason, says
// the alert is no longer wanted.
type Sender struct {
	Send  func(ctx context.Context, a Alert) error
	Check func(ctx context.Context, a Alert) (skip string, err error)
	// Outcome, when set, is told of every attempt's result: sent, retrying,
	// failed or skipped.
	Outcome func(a Alert, outcome string, err error)
}

// Work runs delivery workers until ctx ends.
func (q *Queue) Work(ctx context.Context, workers int, s Sender) error {
	cons, err := q.stream.Consumer(ctx, deliverName)
	if err != nil {
		return fmt.Errorf("delivery consumer: %w", err)
	}
	msgs := make(chan jetstream.Msg)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-ctx.Done():
		}
	}, events.PullOptions(max(workers, 1))...)
	if err != nil {
		return fmt.Errorf("delivery consume: %w", err)
	}
	defer cc.Stop()
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case m := <-msgs:
					q.handle(context.WithoutCancel(ctx), m, s)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// handle takes one message through claim, send and record.
func (q *Queue) handle(ctx context.Context, msg jetstream.Msg, s Sender) {
	m := q.hold(msg)
	defer m.release()
	var a Alert
	if err := json.Unmarshal(m.Data(), &a); err != nil {
		q.logger.Error("undecodable alert dropped", "err", err)
		m.Term()
		return
	}
	if _, busy := q.inflight.LoadOrStore(a.ID, struct{}{}); busy {
		// Another worker here holds it: the message came back because it
		// waited behind others before that worker took it. Its ack settles it.
		m.NakWithDelay(q.cfg.AckWait)
		return
	}
	defer q.inflight.Delete(a.ID)
	// The log key "kind" is historical: operators' queries use it.
	logger := q.logger.With("alert", a.ID, "kind", a.Category, "subscriber", a.Subscriber)
	meta, err := m.Metadata()
	if err != nil {
		logger.Error("alert message without metadata dropped", "err", err)
		m.Term()
		return
	}
	d, rev, err := q.get(ctx, a.ID)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		// The record outlived its retention: start a new one.
		now := time.Now().UTC()
		d = Delivery{Alert: a, Status: StatusQueued, QueuedAt: now, UpdatedAt: now}
		data, _ := json.Marshal(d)
		rev, err = q.kv.Create(ctx, a.ID, data)
	}
	if err != nil {
		logger.Warn("delivery record unavailable; will retry", "err", err)
		m.NakWithDelay(time.Second)
		return
	}
	switch d.Status {
	case StatusSent, StatusFailed, StatusSkipped:
		m.Ack() // a copy of an alert already settled
		return
	case StatusSending:
		if age := time.Since(d.UpdatedAt); age < q.cfg.AckWait {
			switch d.ClaimSeq {
			case meta.Sequence.Stream:
				// Another delivery of the message a live worker holds
				// (redelivered while it waited in a client's buffer): leave
				// it, and look again when the lease would have run out.
				m.NakWithDelay(q.cfg.AckWait - age + time.Second)
			case 0:
				// Claimed by a release that did not record the message.
				m.NakWithDelay(q.cfg.AckWait)
			default:
				// Another copy of the alert: the holder's message settles it.
				m.Ack()
			}
			return
		}
		logger.Warn("taking over an alert whose worker stopped", "owner", d.Owner, "attempts", d.Attempts)
	}
	if wait := a.NotBefore.Sub(q.cfg.Now()); wait > 0 {
		m.NakWithDelay(min(wait, q.cfg.MaxHold)) // quiet hours
		return
	}
	if s.Check != nil {
		reason, err := s.Check(ctx, a)
		if err != nil {
			logger.Warn("alert check failed; will retry", "err", err)
			m.NakWithDelay(time.Second)
			return
		}
		if reason != "" {
			d.Status, d.LastError = StatusSkipped, reason
			if _, err := q.update(ctx, &d, rev); err != nil {
				m.NakWithDelay(time.Second)
				return
			}
			logger.Info("alert skipped", "reason", reason)
			q.outcome(s, a, StatusSkipped, nil)
			m.Ack()
			return
		}
	}
	d.Status, d.Owner, d.ClaimSeq = StatusSending, q.owner, meta.Sequence.Stream
	d.Attempts++
	if rev, err = q.update(ctx, &d, rev); err != nil {
		// Somebody else moved it, perhaps claiming it with this very
		// message: settling it here would settle theirs. It comes back
		// after AckWait if nobody does.
		logger.Info("alert claimed elsewhere", "err", err)
		return
	}
	sendCtx, cancel := context.WithTimeout(ctx, q.cfg.SendTimeout)
	defer cancel()
	l := q.lease(ctx, d, rev, cancel)
	defer l.end()
	if q.afterClaim != nil && q.afterClaim(a) != nil {
		return
	}
	sendErr := s.Send(sendCtx, a)
	if sendErr == nil && q.beforeAck != nil && q.beforeAck(a) != nil {
		return
	}
	rev, lost := l.end()
	if lost {
		// Taken for stopped, and taken over: the new holder records the
		// outcome and settles the message.
		logger.Warn("claim lost while sending", "err", sendErr)
		return
	}
	q.settle(ctx, m, s, logger, d, rev, sendErr)
}

// repeater runs a function every period on its own goroutine until the
// function returns false or stop is called; stop returns once it has ended.
type repeater struct {
	once           sync.Once
	done, finished chan struct{}
}

func repeat(period time.Duration, f func() bool) *repeater {
	r := &repeater{done: make(chan struct{}), finished: make(chan struct{})}
	go func() {
		defer close(r.finished)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-r.done:
				return
			case <-t.C:
				if !f() {
					return
				}
			}
		}
	}()
	return r
}

func (r *repeater) stop() {
	r.once.Do(func() { close(r.done) })
	<-r.finished
}

// claimLease refreshes a claim while its worker sends.
type claimLease struct {
	*repeater
	rev  uint64
	lost bool
}

// lease refreshes the claim d (at revision rev) every third of AckWait
// until end. If the claim was taken over meanwhile, it calls lostFn (which
// cancels the send) and end reports it lost.
func (q *Queue) lease(ctx context.Context, d Delivery, rev uint64, lostFn func()) *claimLease {
	l := &claimLease{rev: rev}
	l.repeater = repeat(q.cfg.AckWait/3, func() bool {
		r, err := q.update(ctx, &d, l.rev)
		switch {
		case err == nil:
			l.rev = r
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch):
			l.lost = true
			lostFn()
			return false
		default:
			q.logger.Warn("claim not refreshed; will try again", "alert", d.ID, "err", err)
		}
		return true
	})
	return l
}

// end stops the refreshes and returns the claim's revision, and whether it
// was lost to another worker.
func (l *claimLease) end() (rev uint64, lost bool) {
	l.stop()
	return l.rev, l.lost
}

// heldMsg is a message a worker holds: it tells the server that the
// message is being worked on, at once (it may have waited behind others)
// and every third of AckWait, until the worker acks, naks or terminates it
// or returns. So the server gives it to another worker only once this one
// has stopped, and never sends a progress ack after the settling one.
type heldMsg struct {
	jetstream.Msg
	progress *repeater
}

func (q *Queue) hold(m jetstream.Msg) *heldMsg {
	m.InProgress()
	return &heldMsg{Msg: m, progress: repeat(q.cfg.AckWait/3, func() bool {
		m.InProgress()
		return true
	})}
}

// release stops the progress acks; a message released unsettled comes
// back after AckWait, as a stopped worker's does.
func (h *heldMsg) release() { h.progress.stop() }

func (h *heldMsg) Ack() error {
	h.release()
	return h.Msg.Ack()
}

func (h *heldMsg) NakWithDelay(d time.Duration) error {
	h.release()
	return h.Msg.NakWithDelay(d)
}

func (h *heldMsg) Term() error {
	h.release()
	return h.Msg.Term()
}

// settle records the outcome of a send and acks, retries or gives up.
func (q *Queue) settle(ctx context.Context, m jetstream.Msg, s Sender, logger *slog.Logger, d Delivery, rev uint64, sendErr error) {
	var se *SendError
	errors.As(sendErr, &se)
	switch {
	case sendErr == nil:
		d.Status, d.SentAt, d.LastError = StatusSent, time.Now().UTC(), ""
	case (se != nil && se.Permanent) || d.Attempts >= q.cfg.MaxAttempts:
		d.Status, d.LastError = StatusFailed, sendErr.Error()
	default:
		d.Status, d.LastError = StatusRetrying, sendErr.Error()
	}
	if _, err := q.update(ctx, &d, rev); err != nil {
		// The outcome could not be recorded: the message comes back after
		// AckWait and the record still says sending (at least once).
		logger.Error("delivery outcome not recorded", "status", d.Status, "err", err)
		return
	}
	q.outcome(s, d.Alert, d.Status, sendErr)
	switch d.Status {
	case StatusSent:
		logger.Info("alert delivered", "attempts", d.Attempts, "late", d.Message.Late)
		m.Ack()
	case StatusFailed:
		logger.Error("alert failed: dead letter", "attempts", d.Attempts, "err", sendErr)
		m.Term()
	default:
		delay := q.cfg.Backoff[min(d.Attempts, len(q.cfg.Backoff))-1]
		if se != nil && se.RetryAfter > delay {
			delay = se.RetryAfter
		}
		logger.Warn("alert not delivered; will retry", "attempts", d.Attempts, "in", delay, "err", sendErr)
		m.NakWithDelay(delay)
	}
}

func (q *Queue) outcome(s Sender, a Alert, status string, err error) {
	if s.Outcome != nil {
		s.Outcome(a, status, err)
	}
}

// statuses lists the delivery states, for validating queries.
var statuses = []string{StatusQueued, StatusSending, StatusRetrying, StatusSent, StatusFailed, StatusSkipped}

// ValidStatus reports whether s is a delivery state.
func ValidStatus(s string) bool { return slices.Contains(statuses, s) }
