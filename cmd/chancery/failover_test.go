package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/natstest"
)

// When the stream leader's node is killed (SIGKILL: no leadership handed
// over), writes through a replica on another
// node are answered 201, or 503 with Retry-After while the stream has no
// leader — never 500. A write retried with its Idempotency-Key after a 503
// is not locked out by the failed attempt's claim: once the stream has a
// new leader it is answered within seconds, and every key creates exactly
// one meeting.
func TestFailoverAnswers503AndIdempotentRetriesResume(t *testing.T) {
	cluster := natstest.StartProcessCluster(t, 3)
	nodes := cluster.Nodes
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	// The replica is on the node that will not lead the stream: the stream
	// is created first, its leader found, and the replica put elsewhere.
	if _, err := events.OpenLog(ctx, nodes[0].JS, events.LogConfig{Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	leader := natstest.WaitStreamLeader(ctx, t, nodes[0].JS, events.DefaultStream)
	var home *natstest.Process
	victim := -1
	for i, n := range nodes {
		switch {
		case n.Name == leader:
			victim = i
		case home == nil:
			home = n
		}
	}
	if victim < 0 {
		t.Fatalf("no node is named %q, the stream leader", leader)
	}
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, "nats:\n  replicas: 3\n  write_timeout: 3s\n")
	svc := startService(t, filepath.Join(dir, "a"), func(o *testServe) {
		// The config's write timeout is shorter than an election, so that
		// writes during it answer 503 and their retries meet the claims
		// those attempts left.
		o.config, o.nats.url = cfgPath, home.URL
	})

	client := checkedClient(t, 30*time.Second)
	post := func(key string, body map[string]any) (int, http.Header, error) {
		buf, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", svc.base+"/api/v1/meetings", bytes.NewReader(buf))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Idempotency-Key", key)
		res, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		res.Body.Close()
		return res.StatusCode, res.Header, nil
	}

	type outcome struct {
		key    string
		status int
		at     time.Time
	}
	var (
		mu       sync.Mutex
		outcomes []outcome
	)
	stop := make(chan struct{})
	var writers sync.WaitGroup
	for w := range 3 {
		writers.Go(func() {
			repeatUntil(stop, func(i int) bool {
				key := fmt.Sprintf("w%d-%d", w, i)
				body := seedTalks()
				body["title"] = "Talks " + key
				// A client that honours 503 and 409: the same request
				// again, with the same key, until it is answered.
				for {
					status, h, err := post(key, body)
					if err != nil {
						t.Errorf("%s: %v", key, err)
						return false
					}
					mu.Lock()
					outcomes = append(outcomes, outcome{key, status, time.Now()})
					mu.Unlock()
					if status == http.StatusCreated {
						break
					}
					if (status == http.StatusServiceUnavailable || status == http.StatusConflict) && h.Get("Retry-After") == "" {
						t.Errorf("%s: %d without Retry-After", key, status)
					}
					if status != http.StatusServiceUnavailable && status != http.StatusConflict {
						t.Errorf("%s: status %d, want 201, 503 or 409", key, status)
						return false
					}
					time.Sleep(100 * time.Millisecond)
				}
				return true
			})
		})
	}

	// A load balancer polls /readyz meanwhile, giving up after a second.
	type poll struct {
		status int
		err    error
	}
	var polls []poll
	var poller sync.WaitGroup
	poller.Go(func() {
		lb := checkedClient(t, time.Second)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			res, err := lb.Get(svc.base + "/readyz")
			p := poll{err: err}
			if err == nil {
				p.status = res.StatusCode
				res.Body.Close()
			}
			mu.Lock()
			polls = append(polls, p)
			mu.Unlock()
		}
	})

	time.Sleep(time.Second)
	killed := time.Now()
	victimName := nodes[victim].Name
	cluster.Kill(victim)
	// The rest elect new leaders for the stream and for the idempotency
	// bucket (each its own raft group, each elected in its own time);
	// from when both have one, writes are answered.
	var elected time.Time
	for _, name := range []string{events.DefaultStream, "KV_" + events.IdempotencyBucket} {
		var at time.Time
		waitUntil(time.Minute, func() bool {
			l, err := natstest.StreamLeader(ctx, home.JS, name)
			if err == nil && l != "" && l != victimName {
				at = time.Now()
				return true
			}
			return false
		})
		if at.IsZero() {
			t.Fatalf("%s: no live leader within a minute", name)
		}
		t.Logf("%s led by a live node %.1fs after the kill", name, at.Sub(killed).Seconds())
		if at.After(elected) {
			elected = at
		}
	}
	time.Sleep(6 * time.Second)
	close(stop)
	writers.Wait()
	poller.Wait()

	// Readiness answered every poll within the second. (It may say 503
	// for a moment when the replica's reader was on the killed node and
	// its read model fell behind by more than readiness.max_lag: that is
	// the truth, not a failure to answer.)
	unready := 0
	for _, p := range polls {
		if p.err != nil {
			t.Errorf("/readyz: %v", p.err)
		} else if p.status != http.StatusOK {
			unready++
		}
	}
	t.Logf("/readyz answered %d of %d polls with 503 during the failover", unready, len(polls))

	// The first write answered 201 after the election came within 5 s of it.
	var firstAfter time.Time
	counts := map[int]int{}
	keys := map[string]bool{}
	for _, o := range outcomes {
		counts[o.status]++
		keys[o.key] = true
		if o.status == http.StatusCreated && o.at.After(elected) && (firstAfter.IsZero() || o.at.Before(firstAfter)) {
			firstAfter = o.at
		}
	}
	t.Logf("answers: %v for %d keys", counts, len(keys))
	if firstAfter.IsZero() || firstAfter.Sub(elected) > 5*time.Second {
		t.Errorf("first write answered 201 %v after the new leader, want within 5 s", firstAfter.Sub(elected))
	}
	// A write that failed during the election was not locked out by its
	// own attempt's claim: its retry was answered within 5 s of the new
	// leader too.
	failedBefore := map[string]bool{}
	answered := map[string]time.Time{}
	for _, o := range outcomes {
		if o.status != http.StatusCreated && o.at.Before(elected) {
			failedBefore[o.key] = true
		}
		if o.status == http.StatusCreated {
			answered[o.key] = o.at
		}
	}
	for key := range failedBefore {
		if at, ok := answered[key]; ok && at.Sub(elected) > 5*time.Second {
			t.Errorf("%s failed during the election and was answered only %v after the new leader", key, at.Sub(elected))
		}
	}
	t.Logf("%d writes failed during the election and were retried", len(failedBefore))
	if counts[http.StatusInternalServerError] > 0 {
		t.Errorf("%d answers were 500", counts[http.StatusInternalServerError])
	}

	// Readiness names the leader of each stream and bucket the replica
	// writes to, as it last learned them.
	var leaders map[string]any
	waitUntil(10*time.Second, func() bool {
		leaders, _ = svc.Do("GET", "/readyz", nil).JSON["leaders"].(map[string]any)
		l, _ := leaders[events.DefaultStream].(string)
		return l != "" && l != "leader "+victimName
	})
	for _, name := range []string{events.DefaultStream, "KV_" + events.IdempotencyBucket} {
		if l, _ := leaders[name].(string); !strings.HasPrefix(l, "leader n") || l == "leader "+victimName {
			t.Errorf("/readyz says %s: %q, want a live leader", name, l)
		}
	}

	// Every key created exactly one meeting.
	titles := map[string]int{}
	cursor := ""
	for {
		r := svc.Do("GET", "/api/v1/meetings?limit=500&cursor="+cursor+"&min_position="+fmt.Sprint(lastPosition(ctx, t, home)), nil).Must(t, 200)
		for _, m := range r.List("meetings") {
			titles[m["title"].(string)]++
		}
		if cursor = r.Str("next_cursor"); cursor == "" {
			break
		}
	}
	for key := range keys {
		if n := titles["Talks "+key]; n != 1 {
			t.Errorf("key %s created %d meetings, want 1", key, n)
		}
	}
}

func lastPosition(ctx context.Context, t *testing.T, n *natstest.Process) uint64 {
	t.Helper()
	s, err := n.JS.Stream(ctx, events.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().State.LastSeq
}
