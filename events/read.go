package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Reads that must see what is known to exist go to the stream's leader.
//
// With direct get, any replica answers, and on a three-node cluster a
// follower answered a read made right after an acknowledged append without
// that append (27 of 500 read-after-write pairs under the race detector in
// TestLoadRightAfterAppendIsNeverStaleOnACluster; 11 to 385 in 3,000 on
// separate processes). A stale history made the notifier drop change
// alerts and follow-up writes answer 404 or 412. Direct gets also go to a
// node cut off by a partition, whose route still looks up, and wait there
// until the caller's whole deadline is spent.
//
// The non-direct STREAM.MSG.GET is answered only by the stream leader, and
// a leader answers only once it has applied every entry committed before it
// was elected, so it has every acknowledged event. Each request gets
// ReadAttemptTimeout and is sent again while the caller's context lasts, so
// one silent server (or an election) costs a read one attempt, not the
// whole write deadline.

// ReadAttemptTimeout bounds one read request to the stream leader.
const ReadAttemptTimeout = time.Second

// readRetryPause is the first pause between attempts; it doubles up to
// readRetryMaxPause.
const (
	readRetryPause    = 20 * time.Millisecond
	readRetryMaxPause = 250 * time.Millisecond
)

type msgGetRequest struct {
	Seq     uint64 `json:"seq,omitempty"`
	NextFor string `json:"next_by_subj,omitempty"`
}

type msgGetResponse struct {
	Message *struct {
		Subject  string    `json:"subject"`
		Sequence uint64    `json:"seq"`
		Header   []byte    `json:"hdrs,omitempty"`
		Data     []byte    `json:"data,omitempty"`
		Time     time.Time `json:"time"`
	} `json:"message,omitempty"`
	Error *jetstream.APIError `json:"error,omitempty"`
}

// StoredMsg is one message as the stream leader returned it.
type StoredMsg struct {
	Subject  string
	Sequence uint64
	Header   nats.Header
	Data     []byte
	Time     time.Time // when the leader stored it
}

// LeaderReader reads single messages of one stream from its leader.
type LeaderReader struct {
	nc      *nats.Conn
	subject string // the stream's MSG.GET API subject
	stream  string
}

// NewLeaderReader returns a reader of stream through js's connection.
func NewLeaderReader(js jetstream.JetStream, stream string) *LeaderReader {
	opts := js.Options()
	prefix := opts.APIPrefix
	switch {
	case opts.Domain != "":
		prefix = "$JS." + opts.Domain + ".API."
	case prefix == "":
		prefix = jetstream.DefaultAPIPrefix
	case !strings.HasSuffix(prefix, "."):
		prefix += "."
	}
	return &LeaderReader{nc: js.Conn(), subject: prefix + "STREAM.MSG.GET." + stream, stream: stream}
}

// Get returns the message at seq, or with a non-empty subject the first
// message at or after seq on that subject (wildcards allowed). It returns
// jetstream.ErrMsgNotFound when there is none.
func (r *LeaderReader) Get(ctx context.Context, seq uint64, subject string) (*StoredMsg, error) {
	req := msgGetRequest{Seq: seq}
	if subject != "" {
		req.NextFor = subject
	}
	return r.get(ctx, req)
}

func (r *LeaderReader) get(ctx context.Context, req msgGetRequest) (*StoredMsg, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	pause := readRetryPause
	for {
		msg, err := r.attempt(ctx, body)
		if err == nil || !Transient(err) || errors.Is(err, jetstream.ErrMsgNotFound) {
			return msg, err
		}
		// No leader yet, a silent server, a dropped connection: ask again
		// while the caller still waits.
		select {
		case <-ctx.Done():
			return nil, Unavailable(err, "read stream "+r.stream)
		case <-time.After(pause):
		}
		pause = min(2*pause, readRetryMaxPause)
	}
}

func (r *LeaderReader) attempt(ctx context.Context, body []byte) (*StoredMsg, error) {
	actx, cancel := context.WithTimeout(ctx, ReadAttemptTimeout)
	defer cancel()
	resp, err := r.nc.RequestWithContext(actx, r.subject, body)
	if err != nil {
		return nil, err
	}
	var out msgGetResponse
	if err := json.Unmarshal(resp.Data, &out); err != nil {
		return nil, fmt.Errorf("read stream %s: %w", r.stream, err)
	}
	if out.Error != nil {
		if out.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound {
			return nil, jetstream.ErrMsgNotFound
		}
		return nil, out.Error
	}
	if out.Message == nil {
		return nil, fmt.Errorf("read stream %s: an answer with no message", r.stream)
	}
	m := &StoredMsg{Subject: out.Message.Subject, Sequence: out.Message.Sequence, Data: out.Message.Data, Time: out.Message.Time}
	if len(out.Message.Header) > 0 {
		if m.Header, err = nats.DecodeHeadersMsg(out.Message.Header); err != nil {
			return nil, fmt.Errorf("read stream %s: message %d: %w", r.stream, m.Sequence, err)
		}
	}
	return m, nil
}

// OpenBucket creates or updates a key-value bucket and returns it with its
// reads served by the bucket's leader, for the reason reads of the event
// stream are (above): a claim read from a lagging replica, or a read sent to
// a node cut off from the rest, must not decide a write.
func OpenBucket(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, cfg)
	if err != nil {
		return nil, err
	}
	stream, err := js.Stream(ctx, "KV_"+cfg.Bucket)
	if err != nil {
		return nil, err
	}
	sc := stream.CachedInfo().Config
	if !sc.AllowDirect {
		return kv, nil
	}
	// The client library always creates a bucket with direct gets on; a
	// handle opened after they are off reads from the leader.
	sc.AllowDirect = false
	if _, err := js.UpdateStream(ctx, sc); err != nil {
		return nil, err
	}
	return js.KeyValue(ctx, cfg.Bucket)
}

// Heartbeats of long-running pulls. A pull consumer whose server-side
// consumer was on a node that died hears nothing; the client notices two
// missed heartbeats and asks again (an ordered consumer re-creates itself
// on a live node). nats.go's default of 5 s left a read model 11 s behind
// after a stream leader was killed; at 1 s, it notices within about 2 s.
const PullHeartbeat = time.Second

// PullOptions are the options every long-running pull uses, with the
// batch size max.
func PullOptions(max int) []jetstream.PullConsumeOpt {
	return []jetstream.PullConsumeOpt{jetstream.PullMaxMessages(max), jetstream.PullHeartbeat(PullHeartbeat), jetstream.PullExpiry(10 * PullHeartbeat)}
}
