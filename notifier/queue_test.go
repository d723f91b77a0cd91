package notifier

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chancery/chancery/internal/natstest"
)

// An alert whose claim was written but whose publish failed (the change
// event is then delivered again) is published by the retry and sent once.
// It used to be taken for queued and acknowledged: never sent, with its
// record "queued" for ever.
func TestAnAlertClaimedButNotPublishedIsSentWhenItsChangeComesBack(t *testing.T) {
	srv := natstest.Start(t, "")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	q, err := OpenQueue(ctx, srv.JS, QueueConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := Alert{ID: "change-desk-mtg-2", Category: CategoryChange, Rule: "rescheduled", Subscriber: "desk", DueAt: time.Now().UTC(),
		Message: Message{Subject: "Talks rescheduled", Text: "moved"}}
	// The first attempt claimed the alert and died before publishing it.
	now := time.Now().UTC()
	rec, _ := json.Marshal(Delivery{Alert: a, Status: StatusQueued, QueuedAt: now, UpdatedAt: now})
	if _, err := q.kv.Create(ctx, a.ID, rec); err != nil {
		t.Fatal(err)
	}
	// The change event comes back, and the alert is enqueued again.
	if _, err := q.Enqueue(ctx, a); err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int32
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go q.Work(wctx, 2, Sender{Send: func(context.Context, Alert) error { sent.Add(1); return nil }})
	deadline := time.Now().Add(20 * time.Second)
	for sent.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	// A third delivery of the same change publishes a copy that is dropped.
	if _, err := q.Enqueue(ctx, a); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if n := sent.Load(); n != 1 {
		t.Fatalf("the alert was sent %d times, want once", n)
	}
}
