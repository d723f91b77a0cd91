package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chancery/chancery/internal/natstest"
)

// Two replicas of the service on a three-node NATS cluster (three stream
// replicas), each connected to its own node with its own read model: what
// one records the other reads (min_position waits for it), both write to
// one meeting, and a change alert reaches its subscriber once.
func TestTwoReplicasOnAThreeNodeCluster(t *testing.T) {
	nodes := natstest.StartCluster(t, 3)
	var mu sync.Mutex
	alerts := map[string]int{} // webhook-id → requests
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		alerts[r.Header.Get("webhook-id")]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()

	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "nats:\n  replicas: 3\n"+belgradeDesk(rcv.URL+"/alerts", ""))
	clk := newClock(time.Date(2022, 8, 19, 10, 0, 0, 0, time.UTC))
	replica := func(name string, node *natstest.Server) *service {
		return startService(t, filepath.Join(dir, name), func(o *testServe) {
			o.config, o.now, o.nats.url = cfgPath, clk.Now, node.Srv.ClientURL()
		})
	}
	a, b := replica("a", nodes[0]), replica("b", nodes[1])

	talksID, pos := recordSeed(t, a)
	got := b.Do("GET", fmt.Sprintf("/api/v1/meetings/%s?min_position=%d", talksID, pos), nil).Must(t, 200)
	if got.Str("title") == "" || got.JSON["version"] != float64(1) {
		t.Fatalf("replica b shows %v, want the talks at version 1", got.JSON)
	}
	visits := b.Do("GET", fmt.Sprintf("/api/v1/visits?min_position=%d", pos), nil).Must(t, 200).List("visits")
	if len(visits) != len(seedVisits) {
		t.Errorf("replica b lists %d visits, want %d", len(visits), len(seedVisits))
	}

	// Both replicas write to the talks at once; each write is applied.
	clk.Set(time.Date(2022, 8, 20, 9, 0, 0, 0, time.UTC))
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i, s := range []*service{a, b} {
		wg.Go(func() {
			body := map[string]any{"start": fmt.Sprintf("2022-08-%02d", 23+i), "reason": "moved"}
			statuses[i] = s.Do("POST", "/api/v1/meetings/"+talksID+"/reschedule", body).Status
		})
	}
	wg.Wait()
	if statuses[0] != 200 || statuses[1] != 200 {
		t.Fatalf("concurrent reschedules on the two replicas answered %v, want 200 and 200", statuses)
	}
	hist := a.Do("GET", "/api/v1/meetings/"+talksID+"/history", nil).Must(t, 200).List("events")
	if len(hist) != 3 {
		t.Fatalf("history has %d events, want scheduled and two reschedules", len(hist))
	}

	// Two change alerts (one per reschedule), each sent once, though both
	// replicas run a notifier.
	waitUntil(15*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(alerts) >= 2
	})
	time.Sleep(1500 * time.Millisecond) // past the ack wait: a second copy would be out by now
	mu.Lock()
	defer mu.Unlock()
	if len(alerts) != 2 {
		t.Errorf("receiver got %d distinct alerts, want 2 change alerts", len(alerts))
	}
	for id, n := range alerts {
		if n != 1 {
			t.Errorf("alert %s sent %d times, want once", id, n)
		}
	}
}

// A replica started with its cluster, before the cluster can place a
// stream (one node of three up: no quorum, no leader), waits for it
// instead of exiting, and serves once the other nodes join.
func TestServeWaitsForItsClusterToStart(t *testing.T) {
	c := natstest.NewCluster(t, 3)
	first := c.StartNode(0)
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "nats:\n  replicas: 3\n")
	pending := startInBackground(t, filepath.Join(dir, "data"), func(o *testServe) {
		o.config, o.nats.url = cfgPath, first.Srv.ClientURL()
	})
	pending.stillWaiting(2*time.Second, "on a cluster with one node of three")
	c.StartNode(1)
	c.StartNode(2)
	s := pending.started(90*time.Second, "once its cluster has all three nodes")
	s.Do("POST", "/api/v1/meetings", seedTalks()).Must(t, 201)
}
