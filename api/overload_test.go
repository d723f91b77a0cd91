package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/natstest"
)

// TestEventLogReadsOnAnOverloadedStoreAre503WithRetryAfter reads the event
// log through a JetStream client whose requests all run out of time, as
// they do when hundreds of reads at once each ask the server for a
// consumer: the answer is "try again shortly", as a page and as a stream.
func TestEventLogReadsOnAnOverloadedStoreAre503WithRetryAfter(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := events.OpenLog(ctx, ns.JS, events.LogConfig{}); err != nil {
		t.Fatal(err)
	}
	// The same stream through a client whose every request without a
	// deadline of its own gets one that has passed before it is answered.
	hurried, err := jetstream.New(ns.NC, jetstream.WithDefaultTimeout(time.Nanosecond))
	if err != nil {
		t.Fatal(err)
	}
	log, err := events.OpenLog(ctx, hurried, events.LogConfig{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{Log: log}))
	defer srv.Close()

	for _, accept := range []string{"application/json", "application/x-ndjson"} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/events", nil)
		req.Header.Set("Accept", accept)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
			res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("Accept %s: status %d, Retry-After %q, Content-Type %q; want 503 with Retry-After, a problem",
				accept, res.StatusCode, res.Header.Get("Retry-After"), res.Header.Get("Content-Type"))
		}
	}
}
