package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Outcomes of one HTTP attempt, as a client can know them.
const (
	OK      = "ok"      // 2xx: the write is acknowledged
	Fail    = "fail"    // it certainly stored nothing (a 4xx refusal, a refused connection)
	Unknown = "unknown" // it may or may not have stored its event (503, 500, a timeout)
)

// Op is one HTTP attempt of a writer: what it asked, when, and what it was
// told. A logical operation retried with its Idempotency-Key is several
// Ops with the same RequestID.
type Op struct {
	Writer     string
	Kind       string // "create" or "reschedule"
	Key        string // Idempotency-Key, if any
	RequestID  string // X-Request-Id: the event's correlation_id
	Replica    string
	Aggregate  string
	IfMatch    int    // expected version, 0 for none
	Start      string // the date the write sets
	Invoke     time.Time
	Complete   time.Time
	Outcome    string
	Status     int // 0 when no HTTP answer came
	RetryAfter string
	Version    int    // from ETag, when ok
	Position   uint64 // Chancery-Position, when ok
	Err        string // transport error or problem detail
}

// Recorder keeps every Op of a run.
type Recorder struct {
	mu  sync.Mutex
	ops []Op
}

// Add records op.
func (r *Recorder) Add(op Op) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, op)
}

// Ops returns a copy of every op recorded.
func (r *Recorder) Ops() []Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Op(nil), r.ops...)
}

// Client speaks the HTTP API to the replicas.
type Client struct {
	HTTP *http.Client
}

// NewClient returns a client whose requests give up after timeout: longer
// than the service's own write deadline, so a timeout means "unknown".
func NewClient(timeout time.Duration) *Client {
	return &Client{HTTP: &http.Client{Timeout: timeout, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
}

// Write posts body to path on r and fills op's answer fields.
func (c *Client) Write(ctx context.Context, r *Replica, path string, body any, op *Op) {
	buf, _ := json.Marshal(body)
	op.Replica = r.Name
	op.Invoke = time.Now()
	defer func() { op.Complete = time.Now() }()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.Base()+path, bytes.NewReader(buf))
	if err != nil {
		op.Outcome, op.Err = Fail, err.Error()
		return
	}
	req.Header.Set("Authorization", "Bearer "+Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", op.RequestID)
	if op.Key != "" {
		req.Header.Set("Idempotency-Key", op.Key)
	}
	if op.IfMatch > 0 {
		req.Header.Set("If-Match", strconv.Quote(strconv.Itoa(op.IfMatch)))
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		op.Err = err.Error()
		op.Outcome = Unknown
		if errors.Is(err, syscall.ECONNREFUSED) {
			op.Outcome = Fail // nothing was sent
		}
		return
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	op.Status = res.StatusCode
	op.RetryAfter = res.Header.Get("Retry-After")
	switch {
	case res.StatusCode < 300:
		op.Outcome = OK
		var doc struct {
			ID      string `json:"id"`
			Version int    `json:"version"`
		}
		_ = json.Unmarshal(data, &doc)
		op.Aggregate, op.Version = doc.ID, doc.Version
		op.Position, _ = strconv.ParseUint(res.Header.Get("Chancery-Position"), 10, 64)
	case res.StatusCode >= 500:
		op.Outcome = Unknown
		op.Err = problemDetail(data)
	default:
		op.Outcome = Fail
		op.Err = problemDetail(data)
	}
}

func problemDetail(body []byte) string {
	var p struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &p) == nil && p.Detail != "" {
		return p.Detail
	}
	return string(body)
}

// RetryDelay is how long a client honouring Retry-After waits before the
// same request again: what the server asked (at most 5 s), else a moment.
func (op *Op) RetryDelay() time.Duration {
	if s, err := strconv.Atoi(op.RetryAfter); err == nil && s >= 0 {
		return min(time.Duration(s)*time.Second, 5*time.Second)
	}
	return 200 * time.Millisecond
}

// Label names op's answer for a table of codes: the status, or the kind of
// transport error.
func (op *Op) Label() string {
	if op.Status != 0 {
		return strconv.Itoa(op.Status)
	}
	if op.Outcome == Fail {
		return "connection refused"
	}
	return "no answer"
}

// Get reads path on r into v (a JSON document).
func (c *Client) Get(ctx context.Context, r *Replica, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.Base()+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+Token) // the deliveries need it
	res, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s on %s: %d %s", path, r.Name, res.StatusCode, problemDetail(data))
	}
	return json.Unmarshal(data, v)
}

// Collect stops the writers, waits for them, and returns every op they
// recorded, the time they were told to stop, and the whole stream as r
// reads it once its read model has applied the stream's last event.
func Collect(ctx context.Context, stop chan struct{}, writers *sync.WaitGroup, rec *Recorder, cluster *Cluster, c *Client, r *Replica) ([]Op, []Envelope, time.Time, error) {
	close(stop)
	end := time.Now()
	writers.Wait()
	Logf("writers stopped")
	if ctx.Err() != nil {
		return nil, nil, end, ctx.Err()
	}
	last, err := cluster.LastSeq(ctx)
	if err != nil {
		return nil, nil, end, err
	}
	stream, err := c.ReadStream(ctx, r, last)
	return rec.Ops(), stream, end, err
}
