package notifier

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chancery/chancery/events"
)

// TestAMeetingCreatedAfterItsDayAheadMomentGetsOnlyTheHourAheadReminder:
// talks recorded 62 minutes before they start were never a day ahead. The
// service was up all along: no "[late] … in 1 day" reminder saying it fell
// due while the service was down, and no day's worth of latency in
// chancery_alert_latency_seconds; the 1-hour reminder comes on time.
func TestAMeetingCreatedAfterItsDayAheadMomentGetsOnlyTheHourAheadReminder(t *testing.T) {
	start := time.Date(2026, 12, 10, 8, 0, 0, 0, time.UTC)
	w := newWorld(t, start.Add(-48*time.Hour))
	rcv := newHookReceiver(t)
	n := w.notifier(rcv, []Subscriber{{Target: Target{Name: "desk"}, Zone: time.UTC}})
	reg := prometheus.NewRegistry()
	n.deps.Metrics = NewMetrics(reg)
	work(t, n)

	w.clock.Set(start.Add(-62 * time.Minute))
	w.do(events.NewMeetingID(w.clock.Now()), timedTalks("2026-12-10"))
	if got, err := n.Sweep(w.ctx, w.clock.Now()); err != nil || got != 0 {
		t.Fatalf("Sweep right after the talks were recorded = %d, %v; want 0 (the 24h moment had passed before they existed)", got, err)
	}
	w.clock.Set(start.Add(-time.Hour))
	if got, err := n.Sweep(w.ctx, w.clock.Now()); err != nil || got != 1 {
		t.Fatalf("Sweep at the 1h moment = %d, %v; want 1", got, err)
	}
	got := rcv.waitFor(t, 1)
	if d := got[0].Data; d.Rule != "1h" || d.Late {
		t.Errorf("alert = %+v, want the on-time 1h reminder", d)
	}
	waitForStatus(t, n.queue, StatusSent)
	if rcv.count() != 1 {
		t.Errorf("hookReceiver got %d alerts, want only the 1h reminder", rcv.count())
	}
	count, sum := latency(t, reg)
	if count != 1 || sum != 0 {
		t.Errorf("chancery_alert_latency_seconds: %d observations summing to %gs, want the 1h reminder's one, sent when due", count, sum)
	}
}

// TestASubscriberAddedAfterAMomentIsNotSentItsReminder: a desk added to the
// config after the day-ahead moment of talks was not subscribed then; it
// gets the 1-hour reminder, not a late day-ahead one. A subscriber who was
// there all along, and whose reminder no sweep sent, still gets it late.
func TestASubscriberAddedAfterAMomentIsNotSentItsReminder(t *testing.T) {
	start := time.Date(2026, 12, 10, 8, 0, 0, 0, time.UTC)
	w := newWorld(t, start.Add(-48*time.Hour))
	rcv := newHookReceiver(t)
	w.notifier(rcv, []Subscriber{{Target: Target{Name: "desk"}, Zone: time.UTC}})
	w.do(events.NewMeetingID(w.clock.Now()), timedTalks("2026-12-10"))

	// Restarted an hour after the 24h moment, with a new subscriber.
	w.clock.Set(start.Add(-23 * time.Hour))
	n := w.notifier(rcv, []Subscriber{{Target: Target{Name: "desk"}, Zone: time.UTC}, {Target: Target{Name: "newcomer"}, Zone: time.UTC}})
	work(t, n)
	if got, err := n.Sweep(w.ctx, w.clock.Now()); err != nil || got != 1 {
		t.Fatalf("Sweep after the restart = %d, %v; want 1 (the desk's missed 24h reminder, not the newcomer's)", got, err)
	}
	rcv.waitFor(t, 1)
	w.clock.Set(start.Add(-time.Hour))
	if got, err := n.Sweep(w.ctx, w.clock.Now()); err != nil || got != 2 {
		t.Fatalf("Sweep at the 1h moment = %d, %v; want 2", got, err)
	}
	got := rcv.waitFor(t, 3)
	rules := map[string][]string{}
	for _, b := range got {
		rule := b.Data.Rule
		if b.Data.Late {
			rule = "late " + rule
		}
		rules[b.Data.Subscriber] = append(rules[b.Data.Subscriber], rule)
	}
	if d, nc := rules["desk"], rules["newcomer"]; len(d) != 2 || d[0] != "late 24h" || d[1] != "1h" || len(nc) != 1 || nc[0] != "1h" {
		t.Errorf("reminders by subscriber: %v; want desk [late 24h 1h], newcomer [1h]", rules)
	}
}

// TestARelocationAfterTheDayAheadReminderDoesNotSendItAgainLate: a change
// of place gives the talks a new calendar sequence, and so new reminders;
// the day-ahead one of the new place was never due (subscribers heard of the
// move at once), and the 1-hour one comes on time.
func TestARelocationAfterTheDayAheadReminderDoesNotSendItAgainLate(t *testing.T) {
	start := time.Date(2026, 12, 10, 8, 0, 0, 0, time.UTC)
	w := newWorld(t, start.Add(-48*time.Hour))
	rcv := newHookReceiver(t)
	n := w.notifier(rcv, []Subscriber{{Target: Target{Name: "desk"}, Zone: time.UTC, Alerts: []string{CategoryReminder}}})
	work(t, n)
	id := events.NewMeetingID(w.clock.Now())
	w.do(id, timedTalks("2026-12-10"))
	sweep := func(at time.Duration, want int) {
		t.Helper()
		w.clock.Set(start.Add(at))
		if got, err := n.Sweep(w.ctx, w.clock.Now()); err != nil || got != want {
			t.Fatalf("Sweep at %s = %d, %v; want %d", at, got, err, want)
		}
	}
	sweep(-24*time.Hour, 1)
	rcv.waitFor(t, 1)
	w.clock.Set(start.Add(-10 * time.Hour))
	w.do(id, &events.RelocateMeeting{Location: events.Location{City: "Sochi", Country: "RU"}, Reason: "moved"})
	sweep(-10*time.Hour, 0)
	sweep(-time.Hour, 1)
	got := rcv.waitFor(t, 2)
	if got[0].Data.Rule != "24h" || got[1].Data.Rule != "1h" || got[0].Data.Late || got[1].Data.Late {
		t.Errorf("reminders: %+v, %+v; want the 24h and the 1h, on time", got[0].Data, got[1].Data)
	}
}

// latency reads chancery_alert_latency_seconds: its observations and their
// sum, over every label.
func latency(t *testing.T, reg *prometheus.Registry) (count uint64, sum float64) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "chancery_alert_latency_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			count += m.GetHistogram().GetSampleCount()
			sum += m.GetHistogram().GetSampleSum()
		}
	}
	return count, sum
}
