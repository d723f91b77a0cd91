package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Stream layout. Every event is stored on
//
//	chancery.events.<aggregate type>.<aggregate id>.<event name>
//
// so one wildcard selects an aggregate's history (…<id>.*), another all
// events of one type (…meeting.*.rescheduled), and the concurrency check of
// an append covers every event of the aggregate whatever its type.
const (
	DefaultStream = "CHANCERY_EVENTS"
	SubjectPrefix = "chancery.events"

	// DuplicateWindow is how long JetStream itself remembers a Nats-Msg-Id.
	// Idempotency beyond it is kept by the idempotency store.
	DuplicateWindow = 10 * time.Minute

	// AppendAttemptTimeout bounds one publish of an append.
	AppendAttemptTimeout = 2 * time.Second

	// maxBatch is JetStream's limit on one atomic batch.
	maxBatch = 1000
)

// LogConfig configures the event log.
type LogConfig struct {
	Stream   string           // stream name, DefaultStream when empty
	Replicas int              // stream replicas: 1 on a single node, 3 on a cluster
	Now      func() time.Time // the clock stamped on events
}

// Log is the JetStream event log: the only source of truth.
type Log struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	reader *LeaderReader
	name   string
	now    func() time.Time
}

// OpenLog creates the event stream if it is missing and returns the log.
// The stream denies deletes and purges: corrections are new events.
func OpenLog(ctx context.Context, js jetstream.JetStream, cfg LogConfig) (*Log, error) {
	if cfg.Stream == "" {
		cfg.Stream = DefaultStream
	}
	if cfg.Replicas < 1 {
		cfg.Replicas = 1
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	sc := jetstream.StreamConfig{
		Name:               cfg.Stream,
		Description:        "Chancery events: every announcement and change, immutable",
		Subjects:           []string{SubjectPrefix + ".>"},
		Storage:            jetstream.FileStorage,
		Retention:          jetstream.LimitsPolicy,
		Replicas:           cfg.Replicas,
		Duplicates:         DuplicateWindow,
		DenyDelete:         true,
		DenyPurge:          true,
		AllowDirect:        true,
		AllowAtomicPublish: true,
	}
	stream, err := js.Stream(ctx, cfg.Stream)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		stream, err = js.CreateStream(ctx, sc)
		if err != nil {
			return nil, fmt.Errorf("create stream %s: %w", cfg.Stream, err)
		}
	case err != nil:
		return nil, fmt.Errorf("open stream %s: %w", cfg.Stream, err)
	default:
		if stream, err = reconcile(ctx, js, stream, sc); err != nil {
			return nil, err
		}
	}
	return &Log{js: js, stream: stream, reader: NewLeaderReader(js, cfg.Stream), name: cfg.Stream, now: cfg.Now}, nil
}

// reconcile checks a stream that already exists against what the log needs.
// What would change the meaning of the record (subjects, storage, deletes
// allowed) is an error for the operator to look at; settings that can be
// switched on safely (direct get, atomic batches, a duplicate window too
// short) are updated.
func reconcile(ctx context.Context, js jetstream.JetStream, stream jetstream.Stream, want jetstream.StreamConfig) (jetstream.Stream, error) {
	have := stream.CachedInfo().Config
	switch {
	case !have.DenyDelete || !have.DenyPurge:
		return nil, fmt.Errorf("open stream %s: it allows deletes or purges; an event log must not", have.Name)
	case !slices.Contains(have.Subjects, want.Subjects[0]):
		return nil, fmt.Errorf("open stream %s: its subjects %v do not include %s", have.Name, have.Subjects, want.Subjects[0])
	case have.Storage != jetstream.FileStorage:
		return nil, fmt.Errorf("open stream %s: it is kept in memory; an event log must be on disk", have.Name)
	case have.Retention != jetstream.LimitsPolicy || have.MaxAge != 0 || have.MaxMsgs > 0 || have.MaxBytes > 0 || have.MaxMsgsPerSubject > 0:
		return nil, fmt.Errorf("open stream %s: it has a retention policy or limits that would drop events", have.Name)
	}
	if have.AllowDirect && have.AllowAtomicPublish && have.Duplicates >= want.Duplicates {
		return stream, nil
	}
	have.AllowDirect, have.AllowAtomicPublish = true, true
	have.Duplicates = max(have.Duplicates, want.Duplicates)
	updated, err := js.UpdateStream(ctx, have)
	if err != nil {
		return nil, fmt.Errorf("update stream %s: %w", have.Name, err)
	}
	return updated, nil
}

// Stream returns the stream's name.
func (l *Log) Stream() string { return l.name }

// Now returns the log's clock.
func (l *Log) Now() time.Time { return l.now() }

// LastSeq returns the sequence of the newest event in the stream.
func (l *Log) LastSeq(ctx context.Context) (uint64, error) {
	info, err := l.stream.Info(ctx)
	if err != nil {
		return 0, failed(err, "stream "+l.name+" info")
	}
	return info.State.LastSeq, nil
}

// Subject returns the subject an event is stored on.
func Subject(aggType, id, eventType string) string {
	return SubjectPrefix + "." + aggType + "." + id + "." + strings.TrimPrefix(eventType, aggType+".")
}

func aggregateFilter(aggType, id string) string {
	return SubjectPrefix + "." + aggType + "." + id + ".*"
}

// AppendOptions carry the concurrency and idempotency guards of an append.
type AppendOptions struct {
	// ExpectedSeq is the stream sequence of the aggregate's last event as the
	// caller saw it; 0 means the aggregate must not exist yet.
	ExpectedSeq uint64
	// MsgID, when set, becomes Nats-Msg-Id. JetStream then drops a second
	// publish of it within DuplicateWindow — but a single server checks
	// ExpectedSeq first, and answers a retried batch with an error (which
	// Append turns into a duplicate), so a retry on the same aggregate is
	// best recognised before appending, as Execute does by finding the
	// MsgID in the history.
	MsgID string
}

// Append stores the events of one command on one aggregate. It fails with an
// ECONFLICT error when another event was appended to the aggregate since
// ExpectedSeq. Several events are published as one atomic batch: all land or
// none does. It returns the stream sequence of the last event, and whether
// JetStream recognised the append as a duplicate of an earlier one.
func (l *Log) Append(ctx context.Context, envs []Envelope, opt AppendOptions) (last uint64, duplicate bool, err error) {
	if len(envs) == 0 {
		return 0, false, errors.New("append: no events")
	}
	if len(envs) > maxBatch {
		return 0, false, fmt.Errorf("append: %d events exceed the batch limit of %d", len(envs), maxBatch)
	}
	msgs := make([]*nats.Msg, len(envs))
	for i, env := range envs {
		if env.AggregateID != envs[0].AggregateID || env.AggregateType != envs[0].AggregateType {
			return 0, false, errors.New("append: events of one command must belong to one aggregate")
		}
		data, err := encodeEnvelope(env)
		if err != nil {
			return 0, false, fmt.Errorf("append %s: %w", env.Type, err)
		}
		m := nats.NewMsg(Subject(env.AggregateType, env.AggregateID, env.Type))
		m.Data = data
		m.Header.Set("Chancery-Event-Type", env.Type)
		msgs[i] = m
	}
	first := msgs[0]
	first.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(opt.ExpectedSeq, 10))
	first.Header.Set(jetstream.ExpectedLastSubjSeqSubjHeader, aggregateFilter(envs[0].AggregateType, envs[0].AggregateID))
	if opt.MsgID != "" {
		first.Header.Set(jetstream.MsgIDHeader, opt.MsgID)
	}

	// One attempt waits AppendAttemptTimeout at most: a stream with no
	// leader does not answer at all, and the caller (Execute) decides
	// whether to try again.
	actx, cancel := context.WithTimeout(ctx, AppendAttemptTimeout)
	defer cancel()
	var ack *jetstream.PubAck
	if len(msgs) == 1 {
		ack, err = l.js.PublishMsg(actx, first)
	} else {
		ack, err = l.publishBatch(actx, msgs)
	}
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant ||
			apiErr.ErrorCode == errDuplicateMsgIDInProcess) {
			// (A write with the same Nats-Msg-Id still being stored is a
			// race too: the next load finds it.)
			return 0, false, Errorf(ECONFLICT, "%s %s was changed by another writer; reload it and try again", envs[0].AggregateType, envs[0].AggregateID)
		}
		if errors.As(err, &apiErr) && apiErr.ErrorCode == errBatchDuplicateMsgID && opt.MsgID != "" {
			// JetStream refuses an atomic batch whose Nats-Msg-Id it has
			// stored, instead of acknowledging a duplicate: find that batch.
			if last, ok, ferr := l.batchWithMsgID(ctx, envs[0].AggregateType, envs[0].AggregateID, opt.MsgID); ferr != nil || ok {
				return last, ok, ferr
			}
		}
		return 0, false, failed(err, fmt.Sprintf("append %s to %s %s", envs[0].Type, envs[0].AggregateType, envs[0].AggregateID))
	}
	return ack.Sequence, ack.Duplicate, nil
}

// JetStream's "atomic publish batch contains duplicate message id" and
// "duplicate message id is in process".
const (
	errBatchDuplicateMsgID     jetstream.ErrorCode = 10201
	errDuplicateMsgIDInProcess jetstream.ErrorCode = 10158
)

const batchIDHeader = "Nats-Batch-Id"

// batchWithMsgID finds the batch an aggregate stored with msgID on its
// first event, and returns the sequence of its last event: the last one
// stored with the same batch id, however many events this retry has.
func (l *Log) batchWithMsgID(ctx context.Context, aggType, id, msgID string) (last uint64, ok bool, err error) {
	st, ok, err := l.FindMsgID(ctx, aggType, id, msgID)
	return st.Seq, ok, err
}

// FindMsgID returns the last event of the command an aggregate stored with
// msgID (its Nats-Msg-Id, on the command's first event), if it stored one.
func (l *Log) FindMsgID(ctx context.Context, aggType, id, msgID string) (last Stored, ok bool, err error) {
	hist, err := l.Load(ctx, aggType, id)
	if err != nil {
		return Stored{}, false, err
	}
	for i, st := range hist {
		if st.MsgID != msgID {
			continue
		}
		j := i
		for st.batch != "" && j+1 < len(hist) && hist[j+1].batch == st.batch {
			j++
		}
		return hist[j], true, nil
	}
	return Stored{}, false, nil
}

// publishBatch publishes messages as one JetStream atomic batch (ADR-50):
// every message but the last is sent without waiting; the last carries the
// commit flag and receives the acknowledgement for the whole batch.
func (l *Log) publishBatch(ctx context.Context, msgs []*nats.Msg) (*jetstream.PubAck, error) {
	nc := l.js.Conn()
	id := nuid.Next()
	for i, m := range msgs {
		m.Header.Set(batchIDHeader, id)
		m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
		if i == len(msgs)-1 {
			break
		}
		if err := nc.PublishMsg(m); err != nil {
			return nil, err
		}
	}
	last := msgs[len(msgs)-1]
	last.Header.Set("Nats-Batch-Commit", "1")
	resp, err := nc.RequestMsgWithContext(ctx, last)
	if err != nil {
		return nil, err
	}
	var ack struct {
		jetstream.PubAck
		Error *jetstream.APIError `json:"error,omitempty"`
	}
	if err := json.Unmarshal(resp.Data, &ack); err != nil {
		return nil, fmt.Errorf("batch ack: %w", err)
	}
	if ack.Error != nil {
		return nil, ack.Error
	}
	return &ack.PubAck, nil
}

// Stored is an envelope as read back from the stream, with the stream's own
// metadata.
type Stored struct {
	Envelope
	MsgID string // Nats-Msg-Id it was appended with, if any
	batch string // Nats-Batch-Id of the atomic batch it was appended in, if any
}

// Load returns every event of one aggregate in order, as the stream leader
// has them (see read.go): every event acknowledged before the call is in
// it. An unknown aggregate has no events and no error.
func (l *Log) Load(ctx context.Context, aggType, id string) ([]Stored, error) {
	filter := aggregateFilter(aggType, id)
	var out []Stored
	seq := uint64(1)
	for {
		msg, err := l.reader.Get(ctx, seq, filter)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, failed(err, "load "+aggType+" "+id)
		}
		st, err := decodeStored(msg.Data, msg.Sequence, msg.Header)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
		seq = msg.Sequence + 1
	}
}

// At returns the event stored at a stream sequence.
func (l *Log) At(ctx context.Context, seq uint64) (Stored, error) {
	msg, err := l.reader.Get(ctx, seq, "")
	if err != nil {
		return Stored{}, failed(err, fmt.Sprintf("read event at %d", seq))
	}
	return decodeStored(msg.Data, msg.Sequence, msg.Header)
}

func decodeStored(data []byte, seq uint64, h nats.Header) (Stored, error) {
	var env Envelope
	if err := UnmarshalJSON(data, &env); err != nil {
		return Stored{}, fmt.Errorf("event at seq %d: %w", seq, err)
	}
	env.Seq = seq
	st := Stored{Envelope: env}
	if h != nil {
		st.MsgID = h.Get(jetstream.MsgIDHeader)
		st.batch = h.Get(batchIDHeader)
	}
	return st, nil
}

// ReadFilter selects events by type and aggregate. Empty fields match all.
type ReadFilter struct {
	Type        string // e.g. meeting.rescheduled
	AggregateID string
}

// Subject returns the subject filter for f, or an EINVALID error.
func (f ReadFilter) Subject() (string, error) {
	aggType, id, name := "*", "*", "*"
	if f.AggregateID != "" {
		aggType = AggregateTypeOf(f.AggregateID)
		if aggType == "" {
			return "", (&Fields{{Field: "aggregate", Detail: "is not a meeting or visit id"}}).Err()
		}
		id = f.AggregateID
	}
	if f.Type != "" {
		if SchemaOf(f.Type) == 0 {
			return "", (&Fields{{Field: "type", Detail: fmt.Sprintf("%q is not an event type", f.Type)}}).Err()
		}
		t, n, _ := strings.Cut(f.Type, ".")
		if aggType != "*" && aggType != t {
			return "", (&Fields{{Field: "type", Detail: fmt.Sprintf("%s events do not occur on a %s", f.Type, aggType)}}).Err()
		}
		aggType, name = t, n
	}
	return SubjectPrefix + "." + aggType + "." + id + "." + name, nil
}

// errStop ends a Scan early without an error.
var errStop = errors.New("stop")

// Scan calls fn for every event after the given sequence that matches the
// filter, in stream order, until no matching event is pending (events
// appended meanwhile are included) or fn returns ErrStopScan.
func (l *Log) Scan(ctx context.Context, after uint64, f ReadFilter, fn func(Stored) error) error {
	subject, err := f.Subject()
	if err != nil {
		return err
	}
	if after == math.MaxUint64 {
		return nil // nothing comes after the last sequence there can be (and after+1 would be 0: from the start)
	}
	cons, err := l.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{subject},
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       after + 1,
		InactiveThreshold: scanInactive,
	})
	if err != nil {
		return fmt.Errorf("scan %s after %d: %w", subject, after, err)
	}
	// Every scan (every GET of the event log) makes a consumer: delete it
	// at once rather than leave it to the server's inactivity sweep.
	defer DeleteConsumer(ctx, l.stream, cons)
	if cons.CachedInfo().NumPending == 0 {
		return nil
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return fmt.Errorf("scan %s: %w", subject, err)
	}
	defer it.Stop()
	// The consumer retries by itself whatever keeps it from delivering (a
	// stream without a leader, JetStream gone from the server): without a
	// deadline, a scan with events still pending would wait forever.
	nctx, stalled := context.WithCancelCause(ctx)
	defer stalled(nil)
	var waitingSince atomic.Int64 // unix nanoseconds; 0 while fn runs
	go watchScan(nctx, &waitingSince, stalled)
	for {
		waitingSince.Store(time.Now().UnixNano())
		msg, err := it.Next(jetstream.NextContext(nctx))
		waitingSince.Store(0)
		if err != nil {
			if cause := context.Cause(nctx); errors.Is(cause, errScanStalled) {
				err = cause
			}
			return fmt.Errorf("scan %s: %w", subject, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("scan %s: %w", subject, err)
		}
		st, err := decodeStored(msg.Data(), meta.Sequence.Stream, msg.Headers())
		if err != nil {
			return err
		}
		if err := fn(st); err != nil {
			if errors.Is(err, ErrStopScan) {
				return nil
			}
			return err
		}
		if meta.NumPending == 0 {
			return nil
		}
	}
}

// scanInactive is how long the server keeps a scan's consumer after its
// client vanished without deleting it.
const scanInactive = 30 * time.Second

// scanStall is how long a scan waits for an event the stream says is
// pending before it gives up with errScanStalled. Time spent in the
// caller's fn does not count.
var scanStall = 30 * time.Second

// errScanStalled ends a scan that the stream stopped feeding.
var errScanStalled = errors.New("scan stalled")

// watchScan ends a scan with errScanStalled once it has waited scanStall for
// its next event.
func watchScan(ctx context.Context, waitingSince *atomic.Int64, stalled context.CancelCauseFunc) {
	tick := time.NewTicker(max(scanStall/8, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if w := waitingSince.Load(); w != 0 && time.Since(time.Unix(0, w)) > scanStall {
				stalled(&Error{Code: EUNAVAILABLE, cause: errScanStalled, Message: "the stream delivered no event for " +
					scanStall.String() + " though more are pending (no stream leader, or JetStream unavailable); try again shortly"})
				return
			}
		}
	}
}

// DeleteConsumer deletes the server-side consumer behind an ordered
// consumer, even when ctx has ended. Errors are ignored: the consumer's
// inactivity threshold removes it anyway.
func DeleteConsumer(ctx context.Context, s jetstream.Stream, c jetstream.Consumer) {
	info := c.CachedInfo()
	if info == nil {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = s.DeleteConsumer(dctx, info.Name)
}

// ErrStopScan, returned by a Scan callback, ends the scan without error.
var ErrStopScan = errStop

// encodeEnvelope is json.Marshal(env) without the validate-and-compact pass
// encoding/json makes over a json.RawMessage: Data comes from MarshalJSON
// and is already compact, valid JSON.
func encodeEnvelope(env Envelope) ([]byte, error) {
	data := env.Data
	env.Data = nil
	b, err := MarshalJSON(env) // ends with "data":null}
	if err != nil {
		return nil, err
	}
	b = b[:len(b)-len("null}")]
	out := make([]byte, 0, len(b)+len(data)+1)
	out = append(append(out, b...), data...)
	return append(out, '}'), nil
}
