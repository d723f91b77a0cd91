package notifier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/robfig/cron/v3"

	"github.com/chancery/chancery/calendar"
	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/projections"
)

// Config is what the notifier does and for whom.
type Config struct {
	Sweep       string // cron spec of the sweep for due reminders (default "@every 30s")
	Digest      string // cron spec of daily digests, in each subscriber's zone (default "0 7 * * *")
	Rules       Rules
	Subscribers []Subscriber
	BaseURL     string // links in alerts: BaseURL + /api/v1/meetings/{id}
	Templates   *Templates
	Workers     int // delivery workers in this process (default 4)
	Queue       QueueConfig
	// Invites configure the iCalendar invitations mailed with reminders
	// and changes: UIDs as in the feeds, from the mail sender.
	Invites Invites
}

// Invites configure email invitations.
type Invites struct {
	UIDHost   string // as the feeds' calendar.uid_host, so the invitation updates the same event
	Organizer string // the sender's address
}

// Defaults of the config file's notifier section.
const (
	DefaultSweep          = "@every 30s"
	DefaultDigest         = "0 7 * * *"
	DefaultAllDayReminder = "09:00"
)

// DefaultReminders are the lead times of reminders before timed engagements.
var DefaultReminders = []time.Duration{24 * time.Hour, time.Hour}

// Schedule is what the notifier reads of the read model: the engagements
// that overlap a window. *projections.DB is one.
type Schedule interface {
	Feed(ctx context.Context, q projections.Query) ([]projections.Engagement, uint64, error)
}

// Deps are the notifier's collaborators.
type Deps struct {
	DB      Schedule
	Log     *events.Log
	JS      jetstream.JetStream
	Channel Channel
	Logger  *slog.Logger
	Now     func() time.Time
	Metrics *Metrics // nil: none
}

// Notifier finds due alerts and delivers them.
type Notifier struct {
	cfg    Config
	deps   Deps
	queue  *Queue
	logger *slog.Logger
	subs   map[string]*Subscriber
	since  map[string]time.Time // when each subscriber's reminder rule came into force, by subscriptionKey

	mu     sync.Mutex
	queued map[string]time.Time // alert ids this process has seen queued, until the engagement starts
	next   time.Time            // when the next reminder falls due, as the last sweep saw it
	timer  *time.Timer          // fires a sweep at next

	cron   *cron.Cron
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// New opens the delivery queue and returns a notifier; Start runs it.
func New(ctx context.Context, cfg Config, deps Deps) (*Notifier, error) {
	if cfg.Sweep == "" {
		cfg.Sweep = DefaultSweep
	}
	if cfg.Digest == "" {
		cfg.Digest = DefaultDigest
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Templates == nil {
		t, err := LoadTemplates("")
		if err != nil {
			return nil, err
		}
		cfg.Templates = t
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if cfg.Queue.Now == nil {
		cfg.Queue.Now = deps.Now
	}
	q, err := OpenQueue(ctx, deps.JS, cfg.Queue, deps.Logger.With("component", "delivery"))
	if err != nil {
		return nil, err
	}
	since, err := subscribedSince(ctx, deps.JS, cfg.Queue.Replicas, cfg.Subscribers, cfg.Rules.names(), deps.Now())
	if err != nil {
		return nil, err
	}
	n := &Notifier{cfg: cfg, deps: deps, queue: q, logger: deps.Logger, subs: map[string]*Subscriber{}, since: since, queued: map[string]time.Time{}}
	for i := range cfg.Subscribers {
		s := &cfg.Subscribers[i]
		if s.Zone == nil {
			s.Zone = time.UTC
		}
		n.subs[s.Name] = s
	}
	return n, nil
}

// Queue returns the delivery queue (for the deliveries API).
func (n *Notifier) Queue() *Queue { return n.queue }

// Start runs the sweep and digest schedules, the change listener and the
// delivery workers until Stop.
func (n *Notifier) Start(ctx context.Context) error {
	ctx, n.cancel = context.WithCancel(context.WithoutCancel(ctx))
	changes, err := n.changeConsumer(ctx)
	if err != nil {
		return err
	}
	n.cron = newCron(n.logger)
	if _, err := n.cron.AddFunc(n.cfg.Sweep, func() { n.sweepAndArm(ctx) }); err != nil {
		return fmt.Errorf("notifier.sweep: %w", err)
	}
	for _, s := range n.cfg.Subscribers {
		if !s.Wants(CategoryDigest) {
			continue
		}
		sched, err := ParseDaily(n.cfg.Digest, s.Zone)
		if err != nil {
			return fmt.Errorf("notifier.digest: %w", err)
		}
		n.cron.Schedule(sched, cron.FuncJob(func() {
			if _, err := n.Digest(ctx, s.Name, n.deps.Now()); err != nil {
				n.logger.Error("digest failed", "subscriber", s.Name, "err", err)
			}
		}))
	}
	n.cron.Start()
	n.done.Go(func() { n.listen(ctx, changes) })
	n.done.Go(func() {
		if err := n.queue.Work(ctx, n.cfg.Workers, Sender{Send: n.send, Check: n.check, Outcome: n.outcome}); err != nil {
			n.logger.Error("delivery workers stopped", "err", err)
		}
	})
	// A first sweep at once: reminders that fell due while we were down.
	n.done.Go(func() { n.sweepAndArm(ctx) })
	return nil
}

// maxArm bounds how far ahead a sweep sets a timer for the next reminder.
const maxArm = 10 * time.Minute

// sweepAndArm sweeps, then sets a timer for the next reminder that falls
// due, so that it goes out on time rather than at the next scheduled sweep.
func (n *Notifier) sweepAndArm(ctx context.Context) {
	if ctx.Err() != nil {
		return // stopped
	}
	now := n.deps.Now()
	if _, err := n.Sweep(ctx, now); err != nil {
		if ctx.Err() == nil {
			n.logger.Error("sweep failed", "err", err)
		}
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	next := n.next
	if next.IsZero() || next.Sub(now) > maxArm || ctx.Err() != nil {
		return
	}
	if n.timer != nil {
		n.timer.Stop()
	}
	n.timer = time.AfterFunc(next.Sub(now), func() { n.sweepAndArm(ctx) })
}

// Stop stops the schedules, waits for running jobs and workers to finish.
func (n *Notifier) Stop() {
	if n.cron != nil {
		<-n.cron.Stop().Done()
	}
	n.mu.Lock()
	if n.timer != nil {
		n.timer.Stop()
	}
	n.mu.Unlock()
	if n.cancel != nil {
		n.cancel()
	}
	n.done.Wait()
}

// newCron returns the scheduler: UTC (digests carry their own zones), and
// every job wrapped so that a panic is logged and the schedule goes on.
// (robfig/cron's default chain has no recovery: a panicking job would take
// the whole process down.)
func newCron(logger *slog.Logger) *cron.Cron {
	return cron.New(cron.WithLocation(time.UTC), cron.WithChain(cron.Recover(cronLogger{logger})))
}

// cronLogger adapts slog to cron's logger, for cron.Recover.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}

// Sweep queues every reminder due at now whose engagement has not started.
// It returns how many it queued.
func (n *Notifier) Sweep(ctx context.Context, now time.Time) (int, error) {
	items, _, err := n.deps.DB.Feed(ctx, projections.Query{
		From: now, To: now.Add(n.cfg.Rules.horizon()),
		Statuses: []string{events.StatusScheduled, events.StatusRescheduled},
	})
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	count := 0
	n.forget(now)
	var next time.Time // the earliest reminder still to come
	defer func() {
		n.mu.Lock()
		n.next = next
		n.mu.Unlock()
	}()
	for i := range items {
		e := &items[i]
		if !e.StartUTC.After(now) || !e.Active() {
			continue
		}
		for _, sub := range n.cfg.Subscribers {
			if !sub.Wants(CategoryReminder) || !sub.Filter.Matches(e) {
				continue
			}
			// Only the latest reminder due: after downtime, one late
			// reminder, not every one that was missed.
			var last *reminder
			for _, r := range n.cfg.Rules.reminders(e, &sub) {
				if r.At.After(now) {
					if next.IsZero() || r.At.Before(next) {
						next = r.At
					}
					break
				}
				last = &r
			}
			if last == nil {
				continue
			}
			ok, err := n.remind(ctx, e, &sub, *last, now)
			if err != nil {
				return count, err
			}
			if ok {
				count++
			}
		}
	}
	return count, nil
}

// lateAfter is how long after its due time a reminder counts as late.
const lateAfter = 5 * time.Minute

// remind queues one reminder, once.
func (n *Notifier) remind(ctx context.Context, e *Engagement, sub *Subscriber, r reminder, now time.Time) (bool, error) {
	id := alertID(CategoryReminder, sub.Name, e.ID, e.Sequence, e.StartUTC.Unix(), r.Rule)
	if n.seen(id) {
		return false, nil
	}
	if due, err := n.fellDue(ctx, e, sub, r); err != nil || !due {
		if err == nil {
			n.remember(id, e.StartUTC) // never due: not asked again
		}
		return false, err
	}
	release := sub.Quiet.Release(r.At, sub.Zone)
	if !release.Before(e.StartUTC) {
		return false, nil // held by quiet hours past the start: nothing to remind of
	}
	late := now.Sub(release) > lateAfter
	a := Alert{ID: id, Category: CategoryReminder, Rule: r.Rule, Subscriber: sub.Name, AggregateID: e.ID,
		Sequence: e.Sequence, StartUTC: e.StartUTC, DueAt: r.At}
	if release.After(now) {
		a.NotBefore = release
	}
	v := engagementView(e, sub, n.cfg.BaseURL)
	v.Category, v.Late = CategoryReminder, late
	v.Lead = leadPhrase(r.Rule, e.StartUTC, r.At)
	v.DueLocal = r.At.In(sub.Zone).Format("Mon 2 Jan 15:04 MST")
	msg, err := n.message(a, v, &alertData{Engagement: e})
	if err != nil {
		return false, err
	}
	if err := n.invite(&msg, e, sub); err != nil {
		return false, err
	}
	a.Message = msg
	queued, err := n.queue.Enqueue(ctx, a)
	if err != nil {
		return false, err
	}
	n.remember(id, e.StartUTC)
	if queued {
		n.deps.Metrics.queued(CategoryReminder)
		n.logger.Info("reminder queued", "alert", id, "subscriber", sub.Name, "engagement", e.ID, "rule", r.Rule, "late", late)
	}
	return queued, nil
}

// message renders an alert's message.
func (n *Notifier) message(a Alert, v view, data *alertData) (Message, error) {
	subject, text, html, err := n.cfg.Templates.render(a.Category, v)
	if err != nil {
		return Message{}, err
	}
	data.Category, data.Rule, data.Subscriber, data.Late, data.DueAt, data.URL = a.Category, a.Rule, a.Subscriber, v.Late, a.DueAt, v.Link
	return Message{
		ID: a.ID, Category: a.Category, Subject: subject, Text: text, HTML: html, URL: v.Link,
		Late: v.Late, DueAt: a.DueAt, Data: mustJSON(data),
	}, nil
}

func (n *Notifier) seen(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.queued[id]
	return ok
}

func (n *Notifier) remember(id string, until time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.queued[id] = until
}

// forget drops remembered ids of engagements that have started.
func (n *Notifier) forget(now time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for id, until := range n.queued {
		if until.Before(now) {
			delete(n.queued, id)
		}
	}
}

// digestDays is how far a digest looks ahead.
const digestDays = 7

// Digest queues the digest of the subscriber's next seven days (from the
// start of today in their zone), unless it is empty or was queued today.
func (n *Notifier) Digest(ctx context.Context, subscriber string, now time.Time) (bool, error) {
	sub, ok := n.subs[subscriber]
	if !ok {
		return false, fmt.Errorf("no subscriber %q", subscriber)
	}
	local := now.In(sub.Zone)
	from := ClockTime(0).On(local.Year(), local.Month(), local.Day(), sub.Zone)
	endDay := local.AddDate(0, 0, digestDays)
	to := ClockTime(0).On(endDay.Year(), endDay.Month(), endDay.Day(), sub.Zone)
	items, _, err := n.deps.DB.Feed(ctx, projections.Query{From: maxTime(from, now), To: to})
	if err != nil {
		return false, fmt.Errorf("digest: %w", err)
	}
	v := view{Category: CategoryDigest, Period: local.Format("Mon 2 Jan") + " – " + endDay.AddDate(0, 0, -1).Format("Mon 2 Jan 2006")}
	data := &alertData{}
	for i := range items {
		e := &items[i]
		if e.Status == events.StatusCancelled || !sub.Filter.Matches(e) {
			continue
		}
		ev := engagementView(e, sub, n.cfg.BaseURL)
		v.Items = append(v.Items, digestItem{When: ev.WhenLocal, Title: ev.Title, Status: ev.Status, Place: ev.Place, Link: ev.Link})
		data.Engagements = append(data.Engagements, e.ID)
	}
	if len(v.Items) == 0 {
		return false, nil
	}
	a := Alert{ID: alertID(CategoryDigest, sub.Name, local.Format(events.DateLayout)), Category: CategoryDigest, Rule: CategoryDigest, Subscriber: sub.Name, DueAt: now}
	if release := sub.Quiet.Release(now, sub.Zone); release.After(now) {
		a.NotBefore = release
	}
	if a.Message, err = n.message(a, v, data); err != nil {
		return false, err
	}
	queued, err := n.queue.Enqueue(ctx, a)
	if queued {
		n.deps.Metrics.queued(CategoryDigest)
		n.logger.Info("digest queued", "alert", a.ID, "subscriber", sub.Name, "engagements", len(v.Items))
	}
	return queued, err
}

// invite attaches to an email the engagement as an iCalendar invitation
// (METHOD:REQUEST, or CANCEL once it is cancelled), with the feeds' UID and
// SEQUENCE, so that the reader's calendar holds one event that follows it.
func (n *Notifier) invite(msg *Message, e *Engagement, sub *Subscriber) error {
	if sub.Channel != "email" {
		return nil
	}
	method := "REQUEST"
	if e.Status == events.StatusCancelled {
		method = "CANCEL"
	}
	attendee := sub.To
	if addr, err := mail.ParseAddress(strings.Split(sub.To, ",")[0]); err == nil {
		attendee = addr.Address
	}
	var b bytes.Buffer
	err := calendar.Render(&b, []projections.Engagement{*e}, calendar.Options{
		UIDHost: n.cfg.Invites.UIDHost, BaseURL: n.cfg.BaseURL, Method: method,
		Organizer: n.cfg.Invites.Organizer, Attendee: attendee,
	})
	if err != nil {
		return fmt.Errorf("invitation for %s: %w", e.ID, err)
	}
	msg.Calendar, msg.CalendarMethod = b.Bytes(), method
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// changesConsumer is the durable consumer of change events, shared by the
// replicas: each change is handled by one of them.
const changesConsumer = "chancery-notifier-changes"

func (n *Notifier) changeConsumer(ctx context.Context) (jetstream.Consumer, error) {
	var filters []string
	for typ := range changeRules {
		agg, name, _ := cutType(typ)
		filters = append(filters, events.SubjectPrefix+"."+agg+".*."+name)
	}
	slices.Sort(filters)
	c, err := n.deps.JS.CreateOrUpdateConsumer(ctx, n.deps.Log.Stream(), jetstream.ConsumerConfig{
		Durable:        changesConsumer,
		Description:    "Chancery change alerts",
		FilterSubjects: filters,
		DeliverPolicy:  jetstream.DeliverNewPolicy, // a new deployment does not alert on history
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        30 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("change consumer: %w", err)
	}
	return c, nil
}

func cutType(t string) (agg, name string, ok bool) {
	for i := range len(t) {
		if t[i] == '.' {
			return t[:i], t[i+1:], true
		}
	}
	return "", "", false
}

// listen turns change events into change alerts until ctx ends.
func (n *Notifier) listen(ctx context.Context, c jetstream.Consumer) {
	cc, err := c.Consume(func(m jetstream.Msg) {
		var env events.Envelope
		if err := json.Unmarshal(m.Data(), &env); err != nil {
			n.logger.Error("undecodable event skipped by the notifier", "err", err)
			m.Term()
			return
		}
		if err := n.Changed(ctx, env); err != nil {
			n.logger.Error("change alert failed; will retry", "event", env.ID, "err", err)
			m.NakWithDelay(5 * time.Second)
			return
		}
		m.Ack()
	}, events.PullOptions(500)...)
	if err != nil {
		n.logger.Error("change listener stopped", "err", err)
		return
	}
	<-ctx.Done()
	cc.Stop()
}

// Changed queues change alerts for one recorded change event.
func (n *Notifier) Changed(ctx context.Context, env events.Envelope) error {
	rule, ok := changeRules[env.Type]
	if !ok {
		return nil
	}
	before, after, err := n.around(ctx, env)
	if err != nil {
		return err
	}
	changes := diff(before, after)
	if len(changes) == 0 {
		return nil
	}
	for _, sub := range n.cfg.Subscribers {
		if !sub.Wants(CategoryChange) || !(sub.Filter.Matches(before) || sub.Filter.Matches(after)) {
			continue
		}
		a := Alert{ID: alertID(CategoryChange, sub.Name, env.AggregateID, env.Version), Category: CategoryChange, Rule: rule,
			Subscriber: sub.Name, AggregateID: env.AggregateID, DueAt: env.RecordedAt}
		v := engagementView(after, &sub, n.cfg.BaseURL)
		v.Category, v.ChangeLabel, v.Changes = CategoryChange, changeLabel(rule), changes
		msg, err := n.message(a, v, &alertData{Engagement: after, Changes: changes})
		if err != nil {
			return err
		}
		if err := n.invite(&msg, after, &sub); err != nil {
			return err
		}
		a.Message = msg
		queued, err := n.queue.Enqueue(ctx, a)
		if err != nil {
			return err
		}
		if queued {
			n.deps.Metrics.queued(CategoryChange)
			n.logger.Info("change alert queued", "alert", a.ID, "subscriber", sub.Name, "engagement", env.AggregateID, "rule", rule)
		}
	}
	return nil
}

func changeLabel(rule string) string {
	if rule == "participants_changed" {
		return "changed participants"
	}
	return rule
}

// around folds an aggregate just before and just after env.
func (n *Notifier) around(ctx context.Context, env events.Envelope) (before, after *Engagement, err error) {
	// Both folds must include what env says exists: a history read without
	// env would show no change, and the alert would be lost.
	switch env.AggregateType {
	case events.MeetingAggregate:
		return foldAround(ctx, n.deps.Log, env, projections.MeetingView)
	case events.VisitAggregate:
		return foldAround(ctx, n.deps.Log, env, projections.VisitView)
	}
	return nil, nil, fmt.Errorf("change on unknown aggregate type %q", env.AggregateType)
}

// foldAround folds env's aggregate at the version before env and at env's,
// and returns both as engagements.
func foldAround[A any, PA interface {
	*A
	events.Aggregate
}](ctx context.Context, h events.History, env events.Envelope, view func(PA) *Engagement) (before, after *Engagement, err error) {
	b, err := events.FoldVersion[A, PA](ctx, h, env.AggregateID, env.Version-1)
	if err != nil {
		return nil, nil, err
	}
	a, err := events.FoldVersion[A, PA](ctx, h, env.AggregateID, env.Version)
	if err != nil {
		return nil, nil, err
	}
	return view(b), view(a), nil
}

// current folds an aggregate's whole history.
func (n *Notifier) current(ctx context.Context, id string) (*Engagement, error) {
	all := func(events.Envelope) bool { return true }
	switch events.AggregateTypeOf(id) {
	case events.MeetingAggregate:
		m, err := events.FoldUntil[events.Meeting](ctx, n.deps.Log, id, all)
		if err != nil {
			return nil, err
		}
		return projections.MeetingView(m), nil
	case events.VisitAggregate:
		v, err := events.FoldUntil[events.Visit](ctx, n.deps.Log, id, all)
		if err != nil {
			return nil, err
		}
		return projections.VisitView(v), nil
	}
	return nil, fmt.Errorf("no engagement %q", id)
}

// check says why a queued alert is no longer wanted, if it is not.
func (n *Notifier) check(ctx context.Context, a Alert) (string, error) {
	if _, ok := n.subs[a.Subscriber]; !ok {
		return "subscriber " + a.Subscriber + " is no longer configured", nil
	}
	if a.Category != CategoryReminder {
		return "", nil
	}
	e, err := n.current(ctx, a.AggregateID)
	if err != nil {
		return "", err
	}
	now := n.deps.Now()
	switch {
	case e.Sequence != a.Sequence || !e.StartUTC.Equal(a.StartUTC):
		return fmt.Sprintf("superseded: the engagement changed (sequence %d, now %d)", a.Sequence, e.Sequence), nil
	case !e.Active():
		return "the engagement is " + e.Status, nil
	case !e.StartUTC.After(now):
		return "the engagement has started", nil
	}
	return "", nil
}

// send delivers an alert's message to its subscriber.
func (n *Notifier) send(ctx context.Context, a Alert) error {
	sub, ok := n.subs[a.Subscriber]
	if !ok {
		return &SendError{Permanent: true, Err: errors.New("no subscriber " + a.Subscriber)}
	}
	return n.deps.Channel.Send(ctx, sub.Target, a.Message)
}

func (n *Notifier) outcome(a Alert, status string, err error) {
	channel := ""
	if sub, ok := n.subs[a.Subscriber]; ok {
		channel = sub.Channel
	}
	n.deps.Metrics.delivered(channel, a.Category, status, a.DueAt, n.deps.Now())
}
