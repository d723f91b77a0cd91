package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/clock"
	"github.com/chancery/chancery/internal/icalcheck"
	"github.com/chancery/chancery/internal/natstest"
	"github.com/chancery/chancery/projections"
)

// hookReceiver is a webhook endpoint that records what it accepts, keyed by
// webhook-id, and can be told to fail.
type hookReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	got      map[string][]webhookBody // by webhook-id
	order    []string
	fail     func(id string, attempt int) int // status to answer; 0 = 200
	attempts map[string]int
}

type webhookBody struct {
	Type string `json:"type"`
	Data struct {
		Category   string      `json:"kind"` // the wire name is historical
		Rule       string      `json:"rule"`
		Subscriber string      `json:"subscriber"`
		Late       bool        `json:"late"`
		Engagement *Engagement `json:"engagement"`
		Changes    []Change    `json:"changes"`
	} `json:"data"`
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{got: map[string][]webhookBody{}, attempts: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id := req.Header.Get("webhook-id")
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.attempts[id]++
		n := r.attempts[id]
		fail := r.fail
		r.mu.Unlock()
		if fail != nil {
			if status := fail(id, n); status != 0 {
				w.WriteHeader(status)
				return
			}
		}
		var b webhookBody
		if err := json.Unmarshal(body, &b); err != nil {
			t.Errorf("webhook body: %v: %s", err, body)
		}
		r.mu.Lock()
		r.got[id] = append(r.got[id], b)
		r.order = append(r.order, id)
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

// accepted returns the bodies accepted so far, in order of arrival.
// slowReceiver is a hookReceiver that takes d to answer each request.
func slowReceiver(t *testing.T, d time.Duration) *hookReceiver {
	r := newHookReceiver(t)
	r.fail = func(string, int) int {
		time.Sleep(d)
		return 0
	}
	return r
}

func (r *hookReceiver) accepted() []webhookBody {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []webhookBody
	for _, id := range r.order {
		out = append(out, r.got[id][0])
	}
	return out
}

func (r *hookReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.order)
}

// waitFor waits until the hookReceiver has accepted n alerts.
func (r *hookReceiver) waitFor(t *testing.T, n int) []webhookBody {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for r.count() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := r.accepted()
	if len(got) < n {
		t.Fatalf("hookReceiver accepted %d alerts, want %d", len(got), n)
	}
	return got
}

// world is one embedded NATS with the event log, a read model and a
// projector, and a clock.
type world struct {
	t      testing.TB
	srv    *natstest.Server
	events *events.Log
	db     *projections.DB
	proj   *projections.Projector
	clock  *clock.Clock
	ctx    context.Context
}

func newWorld(t testing.TB, now time.Time) *world {
	t.Helper()
	srv := natstest.Start(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	c := clock.New(now)
	l, err := events.OpenLog(ctx, srv.JS, events.LogConfig{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	db, err := projections.Open(ctx, filepath.Join(t.TempDir(), "chancery.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	proj, err := projections.NewProjector(ctx, db, srv.JS, l.Stream(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, srv: srv, events: l, db: db, proj: proj, clock: c, ctx: ctx}
}

// do executes a meeting command, waits for the read model, and returns the
// recorded event.
func (w *world) do(id string, cmd any) events.Envelope {
	w.t.Helper()
	_, res, err := events.Execute[events.Meeting](w.ctx, w.events, id, cmd, events.Meta{Actor: "test"})
	if err != nil {
		w.t.Fatalf("%T: %v", cmd, err)
	}
	if err := w.proj.CatchUp(w.ctx, res.Position); err != nil {
		w.t.Fatal(err)
	}
	return res.Events[0]
}

// sweep sets the clock to at and sweeps n there, as its schedule would;
// the test fails unless the sweep queues want alerts.
func (w *world) sweep(n *Notifier, at time.Time, want int) {
	w.t.Helper()
	w.clock.Set(at)
	if got, err := n.Sweep(w.ctx, w.clock.Now()); err != nil || got != want {
		w.t.Fatalf("Sweep at %s = %d, %v; want %d", at.Format(time.RFC3339), got, err, want)
	}
}

// notifier starts a notifier over the world with the given subscribers,
// all pointed at rcv's webhook.
func (w *world) notifier(rcv *hookReceiver, subs []Subscriber, tweak ...func(*Config)) *Notifier {
	w.t.Helper()
	for i := range subs {
		subs[i].Channel, subs[i].To = "webhook", rcv.URL+"/hook"
	}
	cfg := Config{
		Rules:       Rules{Reminders: DefaultReminders, AllDayReminder: 9 * 60},
		Subscribers: subs,
		BaseURL:     "https://chancery.example.org",
		Workers:     4,
		Queue:       QueueConfig{AckWait: time.Second, Backoff: []time.Duration{50 * time.Millisecond}, MaxAttempts: 4, MaxHold: 50 * time.Millisecond},
	}
	for _, f := range tweak {
		f(&cfg)
	}
	n, err := New(w.ctx, cfg, Deps{DB: w.db, Log: w.events, JS: w.srv.JS, Channel: NewChannels(ChannelsConfig{}), Now: w.clock.Now})
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

// work runs n's delivery workers until the test ends or stop is called.
func work(t *testing.T, n *Notifier) (stop func()) { return workN(t, n, 4) }

// workN is work with the given number of workers.
func workN(t *testing.T, n *Notifier, workers int) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.queue.Work(ctx, workers, Sender{Send: n.send, Check: n.check, Outcome: n.outcome})
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// waitForStatus waits up to 15 s for deliveries with status and returns them.
func waitForStatus(t *testing.T, q *Queue, status string) []Delivery {
	t.Helper()
	return poll(t, func() ([]Delivery, error) { return q.List(context.Background(), status) },
		func(list []Delivery) bool { return len(list) > 0 })
}

// waitForRecord waits up to 15 s for one delivery to reach status, and
// returns it as it then is.
func waitForRecord(t *testing.T, q *Queue, id, status string) Delivery {
	t.Helper()
	return poll(t, func() (Delivery, error) { return q.Get(context.Background(), id) },
		func(d Delivery) bool { return d.Status == status })
}

// poll reads every 20 ms until done holds of what it read or 15 s have
// passed, and returns the last reading; a failed read fails the test.
func poll[T any](t *testing.T, read func() (T, error), done func(T) bool) T {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		v, err := read()
		if err != nil {
			t.Fatal(err)
		}
		if done(v) || time.Now().After(deadline) {
			return v
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func belgrade(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Belgrade")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// talksStart is when timedTalks("2026-12-10") begin: 11:00 in Moscow.
var talksStart = time.Date(2026, 12, 10, 8, 0, 0, 0, time.UTC)

// worldBeforeTalks is a world whose clock stands two days before
// talksStart: before every reminder of the talks is due.
func worldBeforeTalks(t testing.TB) *world {
	return newWorld(t, talksStart.Add(-48*time.Hour))
}

// utcDesk is the subscriber of a test that needs only one: every alert,
// in UTC.
func utcDesk() []Subscriber {
	return []Subscriber{{Target: Target{Name: "desk"}, Zone: time.UTC}}
}

// timedTalks are talks in Moscow at 11:00 local time (08:00 UTC).
func timedTalks(day string) *events.ScheduleMeeting {
	return &events.ScheduleMeeting{
		Kind: "talks", Title: "Lavrov–Vulin talks", Start: day + "T11:00", End: day + "T13:00", Timezone: "Europe/Moscow",
		Location: events.Location{City: "Moscow", Country: "RU"},
		Participants: []events.Participant{
			{Name: "Sergey Lavrov", Office: "Minister of Foreign Affairs", Country: "RU"},
			{Name: "Aleksandar Vulin", Office: "Minister of Internal Affairs", Country: "RS"},
		},
	}
}

func TestRemindersAt24hAnd1hAndAChangeMovesThem(t *testing.T) {
	start, w := talksStart, worldBeforeTalks(t)
	rcv := newHookReceiver(t)
	n := w.notifier(rcv, []Subscriber{{Target: Target{Name: "belgrade-desk"}, Zone: belgrade(t), Filter: Filter{Countries: []string{"RS"}}}})
	work(t, n)
	id := events.NewMeetingID(w.clock.Now())
	w.do(id, timedTalks("2026-12-10"))

	w.sweep(n, start.Add(-24*time.Hour-time.Second), 0)
	n.mu.Lock()
	next := n.next
	n.mu.Unlock()
	if !next.Equal(start.Add(-24 * time.Hour)) {
		t.Errorf("after a sweep the next reminder is at %s, want %s (a timer fires the sweep then)", next, start.Add(-24*time.Hour))
	}
	w.sweep(n, start.Add(-24*time.Hour), 1)
	w.sweep(n, start.Add(-24*time.Hour+30*time.Second), 0) // once, however many sweeps
	got := rcv.waitFor(t, 1)
	if d := got[0].Data; d.Category != CategoryReminder || d.Rule != "24h" || d.Late || d.Engagement.ID != id {
		t.Errorf("first alert = %+v, want the on-time 24h reminder of %s", d, id)
	}
	w.sweep(n, start.Add(-61*time.Minute), 0)

	// Postponed by a day: one change alert saying old → new, at once.
	w.clock.Set(start.Add(-90 * time.Minute))
	env := w.do(id, &events.RescheduleMeeting{Start: "2026-12-11T11:00", End: "2026-12-11T13:00", Timezone: "Europe/Moscow"})
	if err := n.Changed(w.ctx, env); err != nil {
		t.Fatal(err)
	}
	if err := n.Changed(w.ctx, env); err != nil { // redelivered event: no second alert
		t.Fatal(err)
	}
	got = rcv.waitFor(t, 2)
	change := got[1].Data
	if change.Category != CategoryChange || change.Rule != "rescheduled" || len(change.Changes) != 1 || change.Changes[0].Field != "when" ||
		!strings.Contains(change.Changes[0].Old, "10 Dec") || !strings.Contains(change.Changes[0].New, "11 Dec") {
		t.Errorf("change alert = %+v, want one 'when' change from 10 to 11 Dec", change)
	}
	// The old 1h reminder never comes; the new times get their own.
	w.sweep(n, start.Add(-time.Hour), 0)
	w.sweep(n, start, 1)
	rcv.waitFor(t, 3)
	w.sweep(n, start.Add(23*time.Hour), 1)
	got = rcv.waitFor(t, 4)
	if got[2].Data.Rule != "24h" || got[3].Data.Rule != "1h" || got[3].Data.Engagement.Sequence != got[1].Data.Engagement.Sequence {
		t.Errorf("after the reschedule: %s then %s reminders (sequence %d), want 24h then 1h of the new sequence %d",
			got[2].Data.Rule, got[3].Data.Rule, got[3].Data.Engagement.Sequence, got[1].Data.Engagement.Sequence)
	}
	time.Sleep(200 * time.Millisecond)
	if rcv.count() != 4 {
		t.Errorf("hookReceiver got %d alerts, want exactly 4", rcv.count())
	}
}

func TestAReminderQueuedBeforeARescheduleIsNotSent(t *testing.T) {
	start, w := talksStart, worldBeforeTalks(t)
	rcv := newHookReceiver(t)
	n := w.notifier(rcv, utcDesk())
	id := events.NewMeetingID(w.clock.Now())
	w.do(id, timedTalks("2026-12-10"))
	w.sweep(n, start.Add(-24*time.Hour), 1)
	// Moved before any worker took the reminder of version 1.
	w.do(id, &events.RescheduleMeeting{Start: "2026-12-12T11:00", End: "2026-12-12T13:00", Timezone: "Europe/Moscow"})
	work(t, n)
	skipped := waitForStatus(t, n.queue, StatusSkipped)
	if len(skipped) != 1 || !strings.Contains(skipped[0].LastError, "superseded") {
		t.Fatalf("skipped deliveries = %+v, want the old reminder, superseded", skipped)
	}
	if rcv.count() != 0 {
		t.Errorf("hookReceiver got %d alerts, want none", rcv.count())
	}
}

func TestDateOnlyTalksRemindTheDayBeforeInTheSubscribersZone(t *testing.T) {
	// The seed's talks: 22 August 2022 in Moscow, no hour. A desk in
	// Belgrade hears of them on the 21st at 09:00 Belgrade time (07:00 UTC).
	w := newWorld(t, time.Date(2022, 8, 19, 10, 0, 0, 0, time.UTC))
	rcv := newHookReceiver(t)
	n := w.notifier(rcv, []Subscriber{{Target: Target{Name: "belgrade-desk"}, Zone: belgrade(t), Filter: Filter{Participants: []string{"vulin"}}}})
	work(t, n)
	w.do(events.NewMeetingID(w.clock.Now()), &events.ScheduleMeeting{
		Kind: "talks", Title: "Lavrov–Vulin talks", Start: "2022-08-22", Timezone: "Europe/Moscow",
		Location:     events.Location{City: "Moscow", Country: "RU"},
		Participants: []events.Participant{{Name: "Sergey Lavrov", Country: "RU"}, {Name: "Aleksandar Vulin", Country: "RS"}},
	})
	due := time.Date(2022, 8, 21, 7, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		at   time.Time
		want int
	}{{due.Add(-time.Minute), 0}, {due, 1}, {due.Add(time.Hour), 0}} {
		w.sweep(n, tc.at, tc.want)
	}
	got := rcv.waitFor(t, 1)
	if got[0].Data.Rule != "day-before" {
		t.Errorf("rule = %q, want day-before", got[0].Data.Rule)
	}
}

func TestRemindersMissedDuringDowntimeAreSentLateButNotForPastEvents(t *testing.T) {
	start, w := talksStart, worldBeforeTalks(t)
	rcv := newHookReceiver(t)
	n := w.notifier(rcv, utcDesk())
	work(t, n)
	soon, past := events.NewMeetingID(w.clock.Now()), events.NewMeetingID(w.clock.Now())
	w.do(soon, timedTalks("2026-12-10"))
	w.do(past, timedTalks("2026-12-09"))
	// Down from two days before until 30 minutes before the talks: the
	// 24 h and 1 h reminders were both missed. One late reminder comes.
	w.sweep(n, start.Add(-30*time.Minute), 1)
	got := rcv.waitFor(t, 1)
	if d := got[0].Data; !d.Late || d.Rule != "1h" || d.Engagement.ID != soon {
		t.Errorf("catch-up alert = %+v, want the late 1h reminder of %s", d, soon)
	}
	d := waitForStatus(t, n.queue, StatusSent)
	if len(d) != 1 || !strings.HasPrefix(d[0].Message.Subject, "[late] ") {
		t.Errorf("sent = %+v; want one with a [late] subject", d)
	}
}

func TestDeliveryRetriesThenDeadLettersAndRetryByHand(t *testing.T) {
	start, w := talksStart, worldBeforeTalks(t)
	rcv := newHookReceiver(t)
	var broken atomic.Bool
	rcv.fail = func(id string, attempt int) int {
		if broken.Load() {
			return http.StatusServiceUnavailable
		}
		if attempt <= 2 {
			return http.StatusBadGateway
		}
		return 0
	}
	n := w.notifier(rcv, []Subscriber{{Target: Target{Name: "flaky"}, Zone: time.UTC}})
	work(t, n)
	a, b := events.NewMeetingID(w.clock.Now()), events.NewMeetingID(w.clock.Now())
	w.do(a, timedTalks("2026-12-10"))
	w.clock.Set(start.Add(-24 * time.Hour))
	if _, err := n.Sweep(w.ctx, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	rcv.waitFor(t, 1)
	sent := waitForStatus(t, n.queue, StatusSent)
	if len(sent) != 1 || sent[0].Attempts != 3 {
		t.Fatalf("sent = %+v, want one delivery after 3 attempts", sent)
	}

	// A hookReceiver that always fails: the alert ends in the dead letters.
	broken.Store(true)
	w.do(b, timedTalks("2026-12-11"))
	w.clock.Set(start.Add(time.Minute))
	if _, err := n.Sweep(w.ctx, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	failed := waitForStatus(t, n.queue, StatusFailed)
	if len(failed) != 1 || failed[0].Attempts != 4 || !strings.Contains(failed[0].LastError, "503") {
		t.Fatalf("failed = %+v, want one dead letter after 4 attempts naming the 503", failed)
	}
	if _, err := n.queue.Retry(w.ctx, sent[0].ID); err == nil {
		t.Error("Retry of a sent alert succeeded")
	}
	broken.Store(false)
	if _, err := n.queue.Retry(w.ctx, failed[0].ID); err != nil {
		t.Fatal(err)
	}
	rcv.waitFor(t, 2)
	if d := waitForRecord(t, n.queue, failed[0].ID, StatusSent); d.Status != StatusSent {
		t.Errorf("after a retry by hand: %s, want sent", d.Status)
	}
}

func TestThreeNotifiersDeliverEachAlertExactlyOnce(t *testing.T) {
	start, w := talksStart, worldBeforeTalks(t)
	rcv := newHookReceiver(t)
	const meetings = 200
	var last uint64
	for range meetings {
		_, res, err := events.Execute[events.Meeting](w.ctx, w.events, events.NewMeetingID(w.clock.Now()),
			timedTalks("2026-12-10"), events.Meta{Actor: "test", Fresh: true})
		if err != nil {
			t.Fatal(err)
		}
		last = res.Position
	}
	if err := w.proj.CatchUp(w.ctx, last); err != nil {
		t.Fatal(err)
	}
	now := start.Add(-24 * time.Hour)
	w.clock.Set(now)
	var nots []*Notifier
	for range 3 {
		n := w.notifier(rcv, utcDesk())
		work(t, n)
		nots = append(nots, n)
	}
	var wg sync.WaitGroup
	var queued atomic.Int64
	for _, n := range nots {
		wg.Go(func() {
			c, err := n.Sweep(w.ctx, now)
			if err != nil {
				t.Error(err)
			}
			queued.Add(int64(c))
		})
	}
	wg.Wait()
	want := meetings
	if int(queued.Load()) != want {
		t.Fatalf("three sweeps queued %d alerts between them, want %d", queued.Load(), want)
	}
	rcv.waitFor(t, want)
	time.Sleep(300 * time.Millisecond)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.order) != want {
		t.Errorf("hookReceiver accepted %d alerts, want %d", len(rcv.order), want)
	}
	for id, bodies := range rcv.got {
		if len(bodies) != 1 {
			t.Errorf("alert %s accepted %d times", id, len(bodies))
		}
	}
}

// A receiver that takes longer than AckWait to answer is still waited for:
// the worker holds its message meanwhile, so neither another replica nor
// another worker of its own sends the alert a second time.
func TestAReceiverSlowerThanAckWaitGetsTheAlertOnce(t *testing.T) {
	start, w := talksStart, worldBeforeTalks(t)
	rcv := slowReceiver(t, 4*time.Second) // AckWait is 1 s
	first, second := w.notifier(rcv, utcDesk()), w.notifier(rcv, utcDesk())
	stopFirst := work(t, first)
	w.do(events.NewMeetingID(w.clock.Now()), timedTalks("2026-12-10"))
	w.sweep(first, start.Add(-24*time.Hour), 1)
	sending := waitForStatus(t, first.queue, StatusSending)
	if len(sending) != 1 {
		t.Fatalf("sending = %+v, want one", sending)
	}
	// The first replica takes no more messages (its worker finishes the
	// send); the second one works. Another copy of the alert is queued
	// while the receiver works on the first (as a sweep does for an alert
	// that stayed queued too long): it is dropped while the alert is still
	// being sent, and the receiver sees one request.
	go stopFirst()
	work(t, second)
	if err := second.queue.publish(w.ctx, sending[0].Alert, sending[0].ID+"-copy"); err != nil {
		t.Fatal(err)
	}
	stream, err := w.srv.JS.Stream(w.ctx, AlertStream)
	if err != nil {
		t.Fatal(err)
	}
	held := func() uint64 {
		st, err := stream.Info(w.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.State.Msgs
	}
	deadline := time.Now().Add(3 * time.Second)
	for held() != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := held(); n != 1 {
		t.Fatalf("alert stream holds %d messages, want 1: the copy dropped", n)
	}
	if d, err := second.queue.Get(w.ctx, sending[0].ID); err != nil || d.Status != StatusSending {
		t.Fatalf("when the copy was dropped the alert was %s (%v), want still sending", d.Status, err)
	}

	sent := waitForStatus(t, second.queue, StatusSent)
	if len(sent) != 1 || sent[0].Attempts != 1 {
		t.Fatalf("sent = %+v, want one delivery on the first attempt", sent)
	}
	time.Sleep(2 * time.Second) // a second request would be under way by now
	if n := held(); n != 0 {
		t.Errorf("alert stream holds %d messages, want 0: both copies settled", n)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if n := rcv.attempts[sent[0].ID]; n != 1 {
		t.Errorf("the receiver got %d requests for %s, want 1", n, sent[0].ID)
	}
}

// A message that waits in a busy replica's buffer past AckWait is
// redelivered to another replica, which claims and sends it. When the busy
// replica's worker reaches its own, earlier delivery of the same message,
// the claim's lease is fresh: it leaves the alert to the holder.
func TestAMessageRedeliveredFromABusyReplicaIsSentOnce(t *testing.T) {
	start, w := talksStart, worldBeforeTalks(t)
	rcv := slowReceiver(t, 2500*time.Millisecond) // AckWait is 1 s
	busy := w.notifier(rcv, utcDesk())
	workN(t, busy, 1)
	for range 2 {
		w.do(events.NewMeetingID(w.clock.Now()), timedTalks("2026-12-10"))
	}
	w.sweep(busy, start.Add(-24*time.Hour), 2)
	// The busy replica's one worker sends the first alert; the second
	// waits in its client until the server gives up on it.
	cons, err := w.srv.JS.Consumer(w.ctx, AlertStream, deliverName)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		info, err := cons.Info(w.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.NumAckPending == 2 && info.NumPending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the busy replica holds %d messages, %d pending; want both held", info.NumAckPending, info.NumPending)
		}
		time.Sleep(10 * time.Millisecond)
	}
	other := w.notifier(rcv, utcDesk())
	workN(t, other, 1)

	deadline = time.Now().Add(15 * time.Second)
	for len(waitForStatus(t, busy.queue, StatusSent)) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // a second request for either would be under way by now
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.attempts) != 2 {
		t.Fatalf("the receiver got requests for %d alerts, want 2", len(rcv.attempts))
	}
	for id, n := range rcv.attempts {
		if n != 1 {
			t.Errorf("the receiver got %d requests for %s, want 1", n, id)
		}
	}
}

func TestAWorkerKilledMidDeliveryDoesNotLoseTheAlert(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kill  func(q *Queue, f func(Alert) error)
		sends int // webhook requests the receiver sees
	}{
		// Killed between the claim and the send: the alert is sent once.
		{"after the claim, before the send", func(q *Queue, f func(Alert) error) { q.afterClaim = f }, 1},
		// Killed after the send, before the outcome is recorded and acked:
		// the send is repeated with the same webhook-id, which receivers
		// deduplicate (at least once on the wire, once for the receiver).
		{"after the send, before the ack", func(q *Queue, f func(Alert) error) { q.beforeAck = f }, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start, w := talksStart, worldBeforeTalks(t)
			rcv := newHookReceiver(t)
			first := w.notifier(rcv, utcDesk())
			killed := make(chan struct{})
			tc.kill(first.queue, func(Alert) error { close(killed); return errors.New("killed") })
			stopFirst := work(t, first)
			w.do(events.NewMeetingID(w.clock.Now()), timedTalks("2026-12-10"))
			w.sweep(first, start.Add(-24*time.Hour), 1)
			select {
			case <-killed:
			case <-time.After(10 * time.Second):
				t.Fatal("the worker never reached the kill point")
			}
			stopFirst()

			// A restarted process (a new owner) gets the message back after
			// AckWait, takes the stale claim over and delivers.
			second := w.notifier(rcv, utcDesk())
			work(t, second)
			sent := waitForStatus(t, second.queue, StatusSent)
			if len(sent) != 1 || sent[0].Attempts != 2 {
				t.Fatalf("sent = %+v, want one delivery on the second attempt", sent)
			}
			time.Sleep(200 * time.Millisecond)
			rcv.mu.Lock()
			defer rcv.mu.Unlock()
			if len(rcv.got) != 1 || rcv.attempts[sent[0].ID] != tc.sends {
				t.Errorf("receiver saw %d alerts and %d requests for %s, want 1 alert in %d requests", len(rcv.got), rcv.attempts[sent[0].ID], sent[0].ID, tc.sends)
			}
		})
	}
}

func TestDigestOfTheNextSevenDaysOnceADayAndNotWhenEmpty(t *testing.T) {
	bg := belgrade(t)
	w := newWorld(t, time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC))
	rcv := newHookReceiver(t)
	n := w.notifier(rcv, []Subscriber{
		{Target: Target{Name: "belgrade-desk"}, Zone: bg, Alerts: []string{CategoryDigest}, Filter: Filter{Countries: []string{"RS"}}},
		{Target: Target{Name: "paris-desk"}, Zone: bg, Alerts: []string{CategoryDigest}, Filter: Filter{Countries: []string{"FR"}}},
	})
	work(t, n)
	in := events.NewMeetingID(w.clock.Now())
	w.do(in, timedTalks("2026-12-10"))
	w.do(events.NewMeetingID(w.clock.Now()), timedTalks("2026-12-20")) // beyond seven days
	cancelled := events.NewMeetingID(w.clock.Now())
	w.do(cancelled, timedTalks("2026-12-11"))
	w.do(cancelled, &events.CancelMeeting{Reason: "called off"})

	at := time.Date(2026, 12, 7, 7, 0, 0, 0, bg) // the digest's 07:00 in Belgrade
	w.clock.Set(at)
	for _, tc := range []struct {
		sub  string
		want bool
	}{{"belgrade-desk", true}, {"belgrade-desk", false}, {"paris-desk", false}} {
		if queued, err := n.Digest(w.ctx, tc.sub, at); err != nil || queued != tc.want {
			t.Errorf("Digest(%s) = %v, %v; want %v", tc.sub, queued, err, tc.want)
		}
	}
	got := rcv.waitFor(t, 1)
	var d struct {
		Data struct {
			Engagements []string `json:"engagements"`
		} `json:"data"`
	}
	if got[0].Type != "alert.digest" {
		t.Errorf("type = %q", got[0].Type)
	}
	sent := waitForStatus(t, n.queue, StatusSent)
	if len(sent) != 1 {
		t.Fatalf("sent %d digests, want 1", len(sent))
	}
	json.Unmarshal(sent[0].Message.Data, &d.Data)
	if len(d.Data.Engagements) != 1 || d.Data.Engagements[0] != in {
		t.Errorf("digest lists %v, want only %s (not the cancelled talks, not the ones in 13 days)", d.Data.Engagements, in)
	}
	if !strings.Contains(sent[0].Message.Text, "Thu 10 Dec 2026 09:00–11:00 (Europe/Belgrade, CET)") {
		t.Errorf("digest text lacks the talks in Belgrade time:\n%s", sent[0].Message.Text)
	}
	// The next day is another digest.
	next := at.AddDate(0, 0, 1)
	w.clock.Set(next)
	if queued, err := n.Digest(w.ctx, "belgrade-desk", next); err != nil || !queued {
		t.Errorf("next day's Digest = %v, %v; want queued", queued, err)
	}
}

func TestQuietHoursHoldRemindersButNotChanges(t *testing.T) {
	bg := belgrade(t)
	// Talks at 11:00 Moscow (09:00 Belgrade) on the 10th; the 24 h reminder
	// falls due at 09:00 Belgrade on the 9th, inside quiet hours 08:00–10:00.
	start, w := talksStart, worldBeforeTalks(t)
	rcv := newHookReceiver(t)
	quiet, _ := ParseQuietHours("08:00-10:00")
	n := w.notifier(rcv, []Subscriber{{Target: Target{Name: "desk"}, Zone: bg, Quiet: quiet}})
	work(t, n)
	id := events.NewMeetingID(w.clock.Now())
	w.do(id, timedTalks("2026-12-10"))
	w.sweep(n, start.Add(-24*time.Hour), 1)
	// Held: a change alert overtakes it.
	env := w.do(id, &events.RelocateMeeting{Location: events.Location{City: "Moscow", Country: "RU", Venue: "Osobnyak"}})
	if err := n.Changed(w.ctx, env); err != nil {
		t.Fatal(err)
	}
	got := rcv.waitFor(t, 1)
	if got[0].Data.Category != CategoryChange {
		t.Fatalf("first alert is a %s, want the change (reminders wait for quiet hours to end)", got[0].Data.Category)
	}
	time.Sleep(300 * time.Millisecond)
	if rcv.count() != 1 {
		t.Fatalf("receiver got %d alerts during quiet hours, want only the change", rcv.count())
	}
	// Quiet hours end at 10:00 Belgrade: the held reminder... was for
	// sequence 0 and the relocation moved the place, so it is superseded;
	// the sweep makes a new one for the new sequence, held until 10:00.
	w.sweep(n, time.Date(2026, 12, 9, 10, 0, 0, 0, bg), 1)
	got = rcv.waitFor(t, 2)
	if got[1].Data.Category != CategoryReminder || got[1].Data.Late {
		t.Errorf("second alert = %+v, want the reminder, not marked late (it was held)", got[1].Data)
	}
}

func TestEmailAlertThroughTheQueueAfterA451IsSentOnce(t *testing.T) {
	srv, roots := startSMTP(t, smtpOptions{startTLS: true, dataReplies: []error{
		&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"},
	}})
	start, w := talksStart, worldBeforeTalks(t)
	cfg := Config{
		Rules:       Rules{Reminders: DefaultReminders},
		Subscribers: []Subscriber{{Target: Target{Name: "desk", Channel: "email", To: "desk@example.org"}, Zone: belgrade(t)}},
		Queue:       QueueConfig{AckWait: time.Second, Backoff: []time.Duration{50 * time.Millisecond}},
		Invites:     Invites{Organizer: "chancery@example.org"},
	}
	n, err := New(w.ctx, cfg, Deps{DB: w.db, Log: w.events, JS: w.srv.JS, Now: w.clock.Now, Channel: emailChannels(srv, roots, "starttls", "", "")})
	if err != nil {
		t.Fatal(err)
	}
	work(t, n)
	talksID := events.NewMeetingID(w.clock.Now())
	w.do(talksID, timedTalks("2026-12-10"))
	w.sweep(n, start.Add(-time.Hour), 1)
	sent := waitForStatus(t, n.queue, StatusSent)
	if len(sent) != 1 || sent[0].Attempts != 2 {
		t.Fatalf("sent = %+v, want one alert on its second attempt", sent)
	}
	got := srv.deliveries()
	if len(got) != 1 || !got[0].TLS {
		t.Fatalf("SMTP server accepted %d messages, want exactly 1 over STARTTLS", len(got))
	}
	h, parts := readMail(t, got[0].Data)
	if want := "<" + sent[0].ID + "@chancery.example.org>"; h.Get("Message-Id") != want {
		t.Errorf("Message-ID = %q, want %q", h.Get("Message-Id"), want)
	}
	// The invitation: the feed's UID, so the reader's calendar holds the
	// same event the feed does; valid for two strict parsers.
	invite := calendarPart(t, parts, "REQUEST")
	icalcheck.Check(t, []byte(invite), []icalcheck.Event{{
		UID: talksID + "@chancery", Summary: "Lavrov–Vulin talks", Status: "CONFIRMED",
		Start: start, End: start.Add(2 * time.Hour), Location: "Moscow, Russian Federation",
		Description: "Participants:\n- Sergey Lavrov, Minister of Foreign Affairs (Russian Federation)\n- Aleksandar Vulin, Minister of Internal Affairs (Serbia)",
	}})
	invite = strings.ReplaceAll(invite, "\r\n ", "") // unfolded
	for _, want := range []string{"METHOD:REQUEST\r\n", "ATTENDEE;", ":mailto:desk@example.org\r\n", "ORGANIZER;CN=Chancery:mailto:chancery@example.org\r\n"} {
		if !strings.Contains(invite, want) {
			t.Errorf("invitation lacks %q:\n%s", want, invite)
		}
	}

	// Cancelled: the change alert carries METHOD:CANCEL for the same UID.
	env := w.do(talksID, &events.CancelMeeting{Reason: "called off"})
	if err := n.Changed(w.ctx, env); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.deliveries()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if len(srv.deliveries()) != 2 {
		t.Fatalf("SMTP server has %d messages, want the reminder and the cancellation", len(srv.deliveries()))
	}
	_, parts = readMail(t, srv.deliveries()[1].Data)
	cancel := strings.ReplaceAll(calendarPart(t, parts, "CANCEL"), "\r\n ", "")
	for _, want := range []string{"METHOD:CANCEL\r\n", "UID:" + talksID + "@chancery\r\n", "STATUS:CANCELLED\r\n", "SEQUENCE:1\r\n"} {
		if !strings.Contains(cancel, want) {
			t.Errorf("cancellation lacks %q:\n%s", want, cancel)
		}
	}
	if subj, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); err != nil || subj != "Reminder: Lavrov–Vulin talks, in 1 hour" {
		t.Errorf("Subject = %q, %v", subj, err)
	}
}

// calendarPart returns the text/calendar alternative of a mail, checking
// its method parameter.
func calendarPart(t *testing.T, parts []mailPart, method string) string {
	t.Helper()
	for _, p := range parts {
		if strings.HasSuffix(p.Path, "/text/calendar") {
			if !strings.Contains(p.ContentType, "method="+method) {
				t.Errorf("calendar part is %q, want method=%s", p.ContentType, method)
			}
			return p.Body
		}
	}
	t.Fatalf("no text/calendar part in %+v", parts)
	return ""
}
