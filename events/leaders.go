package events

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// LeaderWatch learns, in the background, which node leads each stream and
// bucket the service writes to, so that /readyz can say which one has no
// leader during an election or a partition without asking NATS itself.
//
// Each stream and bucket is a raft group of its own that elects its own
// leader, so on three nodes the event stream may be led by one node and the
// idempotency bucket by another. A keyed write then needs two leaders, and
// losing either node interrupts it. With Colocate set, once the first
// stream's leader has been stable for Settle, the watch asks every other
// group led elsewhere to hand its leadership to that node (a leader step-down
// with a preferred placement). All leaders then sit on one node: losing a
// follower takes no leader away, and losing the leader's node makes every
// group elect at once.
type LeaderWatch struct {
	js       jetstream.JetStream
	streams  []string // streams[0] is the one the others follow
	colocate bool
	settle   time.Duration
	logger   *slog.Logger

	mu      sync.Mutex
	leaders map[string]string    // what /readyz shows
	node    map[string]string    // the leader's server name, "" when none
	since   map[string]time.Time // when node[name] was first seen
	moved   map[string]time.Time // when a hand-over was last asked for
}

// LeaderWatchConfig says what to watch; Streams[0] is the one whose leader
// the others follow when Colocate is set.
type LeaderWatchConfig struct {
	Streams  []string
	Colocate bool
	// Settle is how long a leader must have held before the watch moves
	// others to it, or moves it again (default 5 s, about one election).
	Settle time.Duration
	Logger *slog.Logger
}

// NewLeaderWatch makes a watch; run it with Run.
func NewLeaderWatch(js jetstream.JetStream, cfg LeaderWatchConfig) *LeaderWatch {
	if cfg.Settle <= 0 {
		cfg.Settle = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &LeaderWatch{
		js: js, streams: cfg.Streams, colocate: cfg.Colocate, settle: cfg.Settle, logger: cfg.Logger,
		leaders: map[string]string{}, node: map[string]string{}, since: map[string]time.Time{}, moved: map[string]time.Time{},
	}
}

// Run asks every interval until ctx ends.
func (w *LeaderWatch) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, name := range w.streams {
			w.ask(ctx, name, interval)
		}
		if w.colocate {
			w.gather(ctx, time.Now(), interval)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *LeaderWatch) ask(ctx context.Context, name string, timeout time.Duration) {
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	state, node := "no leader", ""
	s, err := w.js.Stream(actx, name)
	switch {
	case err != nil:
		state = "no answer: " + err.Error()
	case s.CachedInfo().Cluster == nil || s.CachedInfo().Cluster.Name == "":
		state = "single server"
	case s.CachedInfo().Cluster.Leader != "":
		node = s.CachedInfo().Cluster.Leader
		state = "leader " + node
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.leaders[name] = state
	if w.node[name] != node || w.since[name].IsZero() {
		w.node[name], w.since[name] = node, time.Now()
	}
}

// gather asks each group led away from the first stream's leader to hand
// its leadership over, when both have held long enough that the hand-over
// does not chase an election still going on.
func (w *LeaderWatch) gather(ctx context.Context, now time.Time, timeout time.Duration) {
	type move struct{ name, from, to string }
	var moves []move
	w.mu.Lock()
	primary := w.streams[0]
	to := w.node[primary]
	if to != "" && now.Sub(w.since[primary]) >= w.settle {
		for _, name := range w.streams[1:] {
			from := w.node[name]
			if from == "" || from == to || now.Sub(w.since[name]) < w.settle || now.Sub(w.moved[name]) < w.settle {
				continue
			}
			w.moved[name] = now
			moves = append(moves, move{name, from, to})
		}
	}
	w.mu.Unlock()
	for _, m := range moves {
		err := StepDownTo(ctx, w.js, m.name, m.to, timeout)
		if err != nil {
			w.logger.Warn("could not move a leader to the event stream's leader", "stream", m.name, "from", m.from, "to", m.to, "err", err)
			continue
		}
		w.logger.Info("moved a leader to the event stream's leader", "stream", m.name, "from", m.from, "to", m.to)
	}
}

// StepDownTo asks the leader of stream to hand its leadership to the server
// named to. It answers once the leader has agreed; the new leader takes over
// a moment later.
func StepDownTo(ctx context.Context, js jetstream.JetStream, stream, to string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := json.Marshal(map[string]any{"placement": map[string]string{"preferred": to}})
	if err != nil {
		return err
	}
	msg, err := js.Conn().RequestWithContext(ctx, "$JS.API.STREAM.LEADER.STEPDOWN."+stream, body)
	if err != nil {
		return err
	}
	var resp struct {
		Success bool `json:"success"`
		Error   *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return err
	}
	if resp.Error != nil {
		return errors.New(resp.Error.Description)
	}
	if !resp.Success {
		return errors.New("step-down not acknowledged")
	}
	return nil
}

// Leaders returns what was last learned of each stream and bucket.
func (w *LeaderWatch) Leaders() map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]string, len(w.leaders))
	for k, v := range w.leaders {
		out[k] = v
	}
	return out
}
