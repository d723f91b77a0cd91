package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os/exec"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"
)

// Envelope is the part of a stored event the checks read.
type Envelope struct {
	Seq           uint64          `json:"seq"`
	Type          string          `json:"type"`
	AggregateID   string          `json:"aggregate_id"`
	Version       int             `json:"version"`
	CorrelationID string          `json:"correlation_id"`
	Data          json.RawMessage `json:"data"`
}

// ReadStream reads every event through r's GET /api/v1/events, once r's
// read model has applied last.
func (c *Client) ReadStream(ctx context.Context, r *Replica, last uint64) ([]Envelope, error) {
	var all []Envelope
	after := uint64(0)
	for {
		var page struct {
			Events    []Envelope `json:"events"`
			NextAfter uint64     `json:"next_after"`
		}
		q := url.Values{"after": {fmt.Sprint(after)}, "limit": {"1000"}, "min_position": {fmt.Sprint(last)}}
		if err := c.Get(ctx, r, "/api/v1/events?"+q.Encode(), &page); err != nil {
			return nil, err
		}
		all = append(all, page.Events...)
		if len(page.Events) == 0 || page.NextAfter <= after {
			return all, nil
		}
		after = page.NextAfter
	}
}

// Lost lists the acknowledged writes whose event is not in the stream at
// the position, aggregate and version the client was told.
func Lost(ops []Op, stream []Envelope) []string {
	bySeq := make(map[uint64]Envelope, len(stream))
	for _, e := range stream {
		bySeq[e.Seq] = e
	}
	var lost []string
	for _, op := range ops {
		if op.Outcome != OK {
			continue
		}
		e, ok := bySeq[op.Position]
		if !ok || e.AggregateID != op.Aggregate || e.Version != op.Version {
			lost = append(lost, fmt.Sprintf("%s %s %s: answered %d at position %d version %d; the stream has %+v",
				op.Writer, op.Kind, op.RequestID, op.Status, op.Position, op.Version, e))
		}
	}
	return lost
}

// Duplicated lists the logical operations (one X-Request-Id, retried with
// one Idempotency-Key or not at all) that stored more than one event.
func Duplicated(stream []Envelope) []string {
	count := map[string][]uint64{}
	for _, e := range stream {
		if e.CorrelationID != "" {
			count[e.CorrelationID] = append(count[e.CorrelationID], e.Seq)
		}
	}
	var dup []string
	for id, seqs := range count {
		if len(seqs) > 1 {
			dup = append(dup, fmt.Sprintf("%s stored %d events: seqs %v", id, len(seqs), seqs))
		}
	}
	sort.Strings(dup)
	return dup
}

// Outage is the longest span in [from, to] in which no write was
// acknowledged (measured between acknowledgements' completion times).
type Outage struct {
	From, To time.Time
}

// Len is the outage's length.
func (o Outage) Len() time.Duration { return o.To.Sub(o.From) }

// LongestOutage finds the longest span in [from, to] without an ok write.
func LongestOutage(ops []Op, from, to time.Time) Outage {
	times := []time.Time{from}
	for _, op := range ops {
		if op.Outcome == OK && op.Complete.After(from) && op.Complete.Before(to) {
			times = append(times, op.Complete)
		}
	}
	times = append(times, to)
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	var best Outage
	for i := 1; i < len(times); i++ {
		if o := (Outage{times[i-1], times[i]}); o.Len() > best.Len() {
			best = o
		}
	}
	return best
}

// FirstOK is the completion time of the first write acknowledged after t
// (zero if none).
func FirstOK(ops []Op, t time.Time) time.Time {
	var first time.Time
	for _, op := range ops {
		if op.Outcome == OK && op.Complete.After(t) && (first.IsZero() || op.Complete.Before(first)) {
			first = op.Complete
		}
	}
	return first
}

// Codes counts answers by status (or transport failure) and outcome.
func Codes(ops []Op) map[string]int {
	out := map[string]int{}
	for _, op := range ops {
		label := op.Label()
		if (op.Status == 503 || op.Status == 409 || op.Status == 429) && op.RetryAfter == "" {
			label += " without Retry-After"
		}
		out[label]++
	}
	return out
}

// FormatCodes writes codes as "201: 12, 503: 3", in order.
func FormatCodes(codes map[string]int) string {
	keys := make([]string, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, codes[k])
	}
	return strings.Join(parts, ", ")
}

// Alerts compares the change alerts the receiver got with those the
// stream calls for: one per meeting.rescheduled event (every meeting of a
// run is in the subscriber's countries).
type Alerts struct {
	Expected, Delivered, Missing, Duplicated, Unexpected int
	MissingList                                          []string
}

// CheckAlerts counts expected, delivered, missing and duplicated alerts.
func CheckAlerts(stream []Envelope, got []Delivery) Alerts {
	want := map[string]bool{}
	for _, e := range stream {
		if e.Type == "meeting.rescheduled" {
			want[fmt.Sprintf("%s@%d", e.AggregateID, e.Version)] = true
		}
	}
	var a Alerts
	a.Expected = len(want)
	seen := map[string]int{}
	for _, d := range got {
		a.Delivered++
		if d.Count > 1 {
			a.Duplicated += d.Count - 1
		}
		k := fmt.Sprintf("%s@%d", d.Aggregate, d.Version)
		seen[k]++
		if !want[k] {
			a.Unexpected++
		}
	}
	for k, n := range seen {
		if n > 1 && want[k] {
			a.Duplicated += n - 1 // two alert ids for one change
		}
	}
	for k := range want {
		if seen[k] == 0 {
			a.Missing++
			a.MissingList = append(a.MissingList, k)
		}
	}
	sort.Strings(a.MissingList)
	return a
}

// WaitAlerts waits until every alert the stream calls for has arrived, or
// within has passed; it returns the last count.
func WaitAlerts(ctx context.Context, stream []Envelope, rcv *Receiver, within time.Duration) Alerts {
	var a Alerts
	_ = poll(ctx, within, 500*time.Millisecond, func() error {
		if a = CheckAlerts(stream, rcv.Deliveries()); a.Missing > 0 {
			return fmt.Errorf("%d alerts missing", a.Missing)
		}
		return nil
	})
	return a
}

// VerifyReadModels checks each replica's read model against a rebuild
// from the stream (`chancery audit verify`), and that the replicas answer
// the same meeting list. It returns the problems found.
func (f *Fleet) VerifyReadModels(ctx context.Context, c *Client, cluster *Cluster, replicas []*Replica) []string {
	var problems []string
	last, err := cluster.LastSeq(ctx)
	if err != nil {
		return []string{"stream info: " + err.Error()}
	}
	var lists []any
	for _, r := range replicas {
		if err := r.WaitCaughtUp(ctx, c, last); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		actx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		out, err := exec.CommandContext(actx, f.Bin.Chancery, "audit", "verify", "--nats", cluster.URLs(), "--db", r.Data+"/chancery.db").CombinedOutput()
		cancel()
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: audit verify: %v: %s", r.Name, err, strings.TrimSpace(string(out))))
		}
		list, err := c.AllMeetings(ctx, r, last)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		lists = append(lists, list)
	}
	for i := 1; i < len(lists); i++ {
		if !reflect.DeepEqual(lists[0], lists[i]) {
			problems = append(problems, fmt.Sprintf("%s and %s answer different meeting lists", replicas[0].Name, replicas[i].Name))
		}
	}
	return problems
}

// WaitCaughtUp waits until r's read model has applied last.
func (r *Replica) WaitCaughtUp(ctx context.Context, c *Client, last uint64) error {
	return poll(ctx, time.Minute, 500*time.Millisecond, func() error {
		var doc map[string]any
		return c.Get(ctx, r, fmt.Sprintf("/api/v1/meetings?limit=1&min_position=%d", last), &doc)
	})
}

// AllMeetings reads every page of r's meeting list.
func (c *Client) AllMeetings(ctx context.Context, r *Replica, last uint64) ([]any, error) {
	var all []any
	cursor := ""
	for {
		var page struct {
			Meetings   []any  `json:"meetings"`
			NextCursor string `json:"next_cursor"`
		}
		q := url.Values{"limit": {"500"}, "min_position": {fmt.Sprint(last)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		if err := c.Get(ctx, r, "/api/v1/meetings?"+q.Encode(), &page); err != nil {
			return nil, err
		}
		all = append(all, page.Meetings...)
		if cursor = page.NextCursor; cursor == "" {
			return all, nil
		}
	}
}

// DeliveryRecords counts the notifier's delivery records (admin API) by
// status and, for those not sent, by last error: where missing alerts
// stopped.
func (c *Client) DeliveryRecords(ctx context.Context, r *Replica) (map[string]int, error) {
	var doc struct {
		Deliveries []struct {
			Kind      string `json:"kind"`
			Status    string `json:"status"`
			LastError string `json:"last_error"`
		} `json:"deliveries"`
	}
	if err := c.Get(ctx, r, "/api/v1/deliveries", &doc); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, d := range doc.Deliveries {
		if d.Kind != "change" {
			continue
		}
		label := d.Status
		if d.Status != "sent" && d.LastError != "" {
			label += " (" + d.LastError + ")"
		}
		out[label]++
	}
	return out, nil
}

// PrintList prints a count line, then each item indented under label.
func PrintList(heading, label string, items []string) {
	fmt.Printf("%s: %d\n", heading, len(items))
	for _, it := range items {
		fmt.Printf("  %s: %s\n", label, it)
	}
}
