package main

// The audit trail: `chancery export` writes the event log as NDJSON with a
// SHA-256 hash chain, `chancery audit check-export` verifies it offline, and
// `chancery import-events` loads it into an empty stream (disaster recovery,
// migration to another cluster). docs/audit.md describes the same format for
// auditors who check a trail with their own tools.
//
// Format version 2: one JSON object per line, every line ending in "\n".
//
//	{"format":"chancery-export","version":2,"stream":"CHANCERY_EVENTS","exported_at":"2026-01-02T03:04:05Z","hash":"<hex>"}
//	{"seq":1,"subject":"chancery.events.meeting.<id>.scheduled","msg_id":"","event":{…},"hash":"<hex>"}
//	…one line per event, seq 1, 2, 3… with no gap…
//	{"end":true,"count":7,"last_seq":7,"head":"<hex>"}
//
//   - event is the envelope exactly as the stream stores it: the raw bytes,
//     not a re-encoding, so the chain can be checked against the stream.
//   - msg_id is the Nats-Msg-Id the event was appended with ("" for none).
//   - An event line's hash is the hex SHA-256 of
//     prev + "\n" + seq + "\n" + subject + "\n" + msg_id + "\n" + event,
//     where prev is the hash of the previous event line, or for the first
//     the genesis: the hex SHA-256 of format + "\n" + version + "\n" + stream.
//     seq is in decimal. Each hash thus covers the stream's name and every
//     event before it: altering, removing, inserting or reordering one, or
//     relabelling the trail as another stream's, breaks the chain from that
//     line on.
//   - head, in the end line, is the hash of the last event line (the genesis
//     when the trail has no events). Publishing the head is enough to pin the
//     whole trail; two exports of the same stream have the same hash at
//     every sequence they share, whenever they were made.
//   - The header's hash is the hex SHA-256 of
//     format + "\n" + version + "\n" + stream + "\n" + exported_at. It guards
//     the header, exported_at included, against accidental change.
//   - Version 1 trails, whose chain started from 64 "0" and so did not cover
//     the stream's name, are still checked and imported.
//   - Every line is in canonical form: keys in the order above, no white
//     space outside the event, strings escaped as encoding/json escapes them.
//     The checker re-encodes each line and compares, so even a change that
//     leaves the JSON meaning alone (a key's case, white space) is caught at
//     its line.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/chancery/chancery/events"
)

const (
	trailFormat  = "chancery-export"
	trailVersion = 2 // the version export writes; check-export also reads 1

	// maxTrailLine bounds one line: an event is at most the server's
	// maximum payload (8 MiB for the embedded server).
	maxTrailLine = 32 << 20

	// importWindow is how many publishes import-events keeps in flight.
	importWindow = 256
)

// zeroHash is the chain's starting point in version 1 trails.
var zeroHash = strings.Repeat("0", 64)

// genesis is the chain's starting point: in version 2, a hash of what the
// header says the trail is.
func (h trailHeader) genesis() string {
	if h.Version == 1 {
		return zeroHash
	}
	sum := sha256.Sum256([]byte(h.Format + "\n" + strconv.Itoa(h.Version) + "\n" + h.Stream))
	return hex.EncodeToString(sum[:])
}

// trailHeader is a trail's first line.
type trailHeader struct {
	Format     string `json:"format"`
	Version    int    `json:"version"`
	Stream     string `json:"stream"`
	ExportedAt string `json:"exported_at"`
	Hash       string `json:"hash"`
}

func (h trailHeader) digest() string {
	sum := sha256.Sum256([]byte(h.Format + "\n" + strconv.Itoa(h.Version) + "\n" + h.Stream + "\n" + h.ExportedAt))
	return hex.EncodeToString(sum[:])
}

// trailEvent is one event line.
type trailEvent struct {
	Seq     uint64          `json:"seq"`
	Subject string          `json:"subject"`
	MsgID   string          `json:"msg_id"`
	Event   json.RawMessage `json:"event"`
	Hash    string          `json:"hash"`
}

// digest returns the line's hash, chained to prev.
func (e trailEvent) digest(prev string) string {
	h := sha256.New()
	h.Write([]byte(prev + "\n" + strconv.FormatUint(e.Seq, 10) + "\n" + e.Subject + "\n" + e.MsgID + "\n"))
	h.Write(e.Event)
	return hex.EncodeToString(h.Sum(nil))
}

// line encodes the event line by hand: json.Marshal would re-encode the
// event (escaping <, > and &), and the trail must carry the stored bytes.
func (e trailEvent) line() []byte {
	b := make([]byte, 0, len(e.Event)+len(e.Subject)+len(e.MsgID)+128)
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, e.Seq, 10)
	b = append(b, `,"subject":`...)
	b = appendTrailString(b, e.Subject)
	b = append(b, `,"msg_id":`...)
	b = appendTrailString(b, e.MsgID)
	b = append(b, `,"event":`...)
	b = append(b, e.Event...)
	b = append(b, `,"hash":`...)
	b = appendTrailString(b, e.Hash)
	return append(b, "}\n"...)
}

func appendTrailString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// trailEnd is a trail's last line.
type trailEnd struct {
	End     bool   `json:"end"`
	Count   uint64 `json:"count"`
	LastSeq uint64 `json:"last_seq"`
	Head    string `json:"head"`
}

// trailLine encodes the header or the end line.
func trailLine(v any) []byte {
	b, _ := json.Marshal(v) // plain strings and numbers always encode
	return append(b, '\n')
}

// exportable reports why a stored event cannot be carried in a trail line
// byte for byte, if it cannot.
func (e trailEvent) exportable() error {
	switch {
	case !utf8.ValidString(e.Subject) || !utf8.ValidString(e.MsgID):
		return errors.New("its subject or Nats-Msg-Id is not UTF-8")
	case len(e.Event) < 2 || e.Event[0] != '{' || e.Event[len(e.Event)-1] != '}' || !json.Valid(e.Event):
		return errors.New("it is not a JSON object")
	case bytes.ContainsAny(e.Event, "\r\n"):
		return errors.New("it spans several lines")
	}
	return nil
}

// exportTrail writes the events 1..until of a stream as a trail to w, read
// with one ordered consumer.
func exportTrail(ctx context.Context, js jetstream.JetStream, stream string, until uint64, now time.Time, w io.Writer) (trailEnd, error) {
	h := trailHeader{Format: trailFormat, Version: trailVersion, Stream: stream, ExportedAt: now.UTC().Format(time.RFC3339)}
	h.Hash = h.digest()
	end := trailEnd{End: true, Head: h.genesis()}
	if _, err := w.Write(trailLine(h)); err != nil {
		return end, err
	}
	if until > 0 {
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return end, fmt.Errorf("stream %s: %w", stream, err)
		}
		cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
			DeliverPolicy:     jetstream.DeliverAllPolicy,
			InactiveThreshold: 30 * time.Second,
		})
		if err != nil {
			return end, fmt.Errorf("read stream %s: %w", stream, err)
		}
		defer events.DeleteConsumer(ctx, s, cons)
		it, err := cons.Messages(jetstream.PullMaxMessages(512))
		if err != nil {
			return end, fmt.Errorf("read stream %s: %w", stream, err)
		}
		defer it.Stop()
		for end.LastSeq < until {
			msg, err := it.Next(jetstream.NextContext(ctx))
			if err != nil {
				return end, fmt.Errorf("read stream %s after seq %d: %w", stream, end.LastSeq, err)
			}
			meta, err := msg.Metadata()
			if err != nil {
				return end, fmt.Errorf("read stream %s after seq %d: %w", stream, end.LastSeq, err)
			}
			ev := trailEvent{Seq: meta.Sequence.Stream, Subject: msg.Subject(), MsgID: msg.Headers().Get(jetstream.MsgIDHeader), Event: msg.Data()}
			if ev.Seq != end.LastSeq+1 {
				return end, fmt.Errorf("stream %s has no event at seq %d (the next is %d): a trail cannot skip one", stream, end.LastSeq+1, ev.Seq)
			}
			if err := ev.exportable(); err != nil {
				return end, fmt.Errorf("event at seq %d cannot be exported: %w", ev.Seq, err)
			}
			ev.Hash = ev.digest(end.Head)
			if _, err := w.Write(ev.line()); err != nil {
				return end, err
			}
			end.Count, end.LastSeq, end.Head = end.Count+1, ev.Seq, ev.Hash
		}
	}
	_, err := w.Write(trailLine(end))
	return end, err
}

// trailError is a trail that fails the check, at a line.
type trailError struct {
	name string
	line int
	msg  string
}

func (e *trailError) Error() string { return fmt.Sprintf("%s: line %d: %s", e.name, e.line, e.msg) }

// trailSummary is what a checked trail holds.
type trailSummary struct {
	header trailHeader
	end    trailEnd
}

// trailChecker reads a trail line by line and checks each line as it goes.
type trailChecker struct {
	name string
	r    *bufio.Reader
	line int
	buf  []byte
}

func (c *trailChecker) errorf(format string, args ...any) error {
	return &trailError{name: c.name, line: c.line, msg: fmt.Sprintf(format, args...)}
}

// next returns the next line with its "\n", or io.EOF after the last.
func (c *trailChecker) next() ([]byte, error) {
	c.buf = c.buf[:0]
	for {
		chunk, err := c.r.ReadSlice('\n')
		c.buf = append(c.buf, chunk...)
		switch {
		case len(c.buf) > maxTrailLine:
			c.line++
			return nil, c.errorf("longer than %d bytes", maxTrailLine)
		case err == nil:
			c.line++
			return c.buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(c.buf) == 0:
			return nil, io.EOF
		case errors.Is(err, io.EOF):
			c.line++
			return nil, c.errorf("no newline at its end: the file is cut short")
		default:
			return nil, fmt.Errorf("read %s: %w", c.name, err)
		}
	}
}

// checkTrail verifies a whole trail: header, chain, end line. It calls fn,
// when not nil, with each event once its line has checked out; an error
// from fn stops the check and is returned as is.
func checkTrail(name string, r io.Reader, fn func(trailEvent) error) (trailSummary, error) {
	c := &trailChecker{name: name, r: bufio.NewReaderSize(r, 1<<16)}
	var sum trailSummary
	line, err := c.next()
	if errors.Is(err, io.EOF) {
		c.line++
		return sum, c.errorf("empty file: no %s header", trailFormat)
	}
	if err != nil {
		return sum, err
	}
	if err := c.header(line, &sum.header); err != nil {
		return sum, err
	}
	var count, last uint64
	head := sum.header.genesis()
	for {
		line, err := c.next()
		if errors.Is(err, io.EOF) {
			c.line++
			return sum, c.errorf("missing end line: the file is cut short after line %d", c.line-1)
		}
		if err != nil {
			return sum, err
		}
		if bytes.HasPrefix(line, []byte(`{"end":`)) {
			sum.end = trailEnd{End: true, Count: count, LastSeq: last, Head: head}
			if err := c.end(line, sum.end); err != nil {
				return sum, err
			}
			break
		}
		var ev trailEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return sum, c.errorf("malformed event line: %v", err)
		}
		switch {
		case !bytes.Equal(ev.line(), line):
			return sum, c.errorf("malformed event line: not in canonical form (a key, white space or escaping differs from what export writes)")
		case last == 0 && ev.Seq != 1:
			return sum, c.errorf("the first event is seq %d: a trail starts at seq 1", ev.Seq)
		case ev.Seq <= last:
			return sum, c.errorf("seq %d out of order: it follows seq %d", ev.Seq, last)
		case ev.Seq != last+1:
			return sum, c.errorf("seq gap: seq %d follows seq %d", ev.Seq, last)
		case ev.digest(head) != ev.Hash:
			return sum, c.errorf("hash mismatch at seq %d: the line was altered", ev.Seq)
		}
		if fn != nil {
			if err := fn(ev); err != nil {
				return sum, err
			}
		}
		count, last, head = count+1, ev.Seq, ev.Hash
	}
	if _, err := c.next(); !errors.Is(err, io.EOF) {
		if err != nil {
			return sum, err
		}
		return sum, c.errorf("data after the end line")
	}
	return sum, nil
}

func (c *trailChecker) header(line []byte, h *trailHeader) error {
	if err := json.Unmarshal(line, h); err != nil {
		return c.errorf("not a %s header: %v", trailFormat, err)
	}
	switch {
	case h.Format != trailFormat:
		return c.errorf("not a %s header: format %q", trailFormat, h.Format)
	case h.Version != 1 && h.Version != trailVersion:
		return c.errorf("format version %d is not one this build reads (1 or %d)", h.Version, trailVersion)
	case !bytes.Equal(trailLine(*h), line):
		return c.errorf("malformed header: not in canonical form (a key, white space or escaping differs from what export writes)")
	case h.digest() != h.Hash:
		return c.errorf("header hash mismatch: the header was altered")
	}
	if _, err := time.Parse(time.RFC3339, h.ExportedAt); err != nil {
		return c.errorf("header exported_at %q is not an RFC 3339 time", h.ExportedAt)
	}
	return nil
}

func (c *trailChecker) end(line []byte, want trailEnd) error {
	var got trailEnd
	if err := json.Unmarshal(line, &got); err != nil {
		return c.errorf("malformed end line: %v", err)
	}
	switch {
	case !bytes.Equal(trailLine(got), line) || !got.End:
		return c.errorf("malformed end line: not in canonical form (a key, white space or escaping differs from what export writes)")
	case got.Count != want.Count:
		return c.errorf("end line counts %d events, the trail holds %d", got.Count, want.Count)
	case got.LastSeq != want.LastSeq:
		return c.errorf("end line names last seq %d, the last event is seq %d", got.LastSeq, want.LastSeq)
	case got.Head != want.Head:
		return c.errorf("end line head %s does not match the chain's head %s", got.Head, want.Head)
	}
	return nil
}

// parseFlagsAnywhere parses flags that may come before or after the
// positional arguments (`import-events trail.ndjson --nats URL`), which the
// flag package alone stops at, and returns the positional arguments.
func parseFlagsAnywhere(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseQuietly(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil // after "--" nothing is a flag
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// parseOneArg parses a tool's flags around exactly one positional argument,
// which it returns: --help is not an error, anything else amiss is a usage
// error.
func parseOneArg(fs *flag.FlagSet, args []string, usage string) (string, error) {
	pos, err := parseFlagsAnywhere(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return "", errHelp
	case err != nil:
		return "", usagef("%s: %v", fs.Name(), err)
	case len(pos) != 1:
		return "", usagef("usage: %s (--help for more)", usage)
	}
	return pos[0], nil
}

func runExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, f := toolFlags("export", `Usage: chancery export [--until-seq N | --until-time RFC3339] [--data DIR | --nats URL] > trail.ndjson

Writes the event log to stdout as NDJSON: a header line, one line per event
with its stream sequence, subject, Nats-Msg-Id, the envelope exactly as stored
and a SHA-256 hash chained to the line before, and an end line with the count
and the chain's head. Check it offline with 'chancery audit check-export';
load it into an empty stream with 'chancery import-events'. See docs/audit.md.`, getenv, stderr)
	untilSeq := fs.Uint64("until-seq", 0, "export the events up to and including this stream sequence (default: all)")
	untilTime := fs.String("until-time", "", "export the events recorded at or before this RFC 3339 time")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var at time.Time
	if *untilTime != "" {
		if *untilSeq > 0 {
			return usagef("export: give --until-seq or --until-time, not both")
		}
		var err error
		if at, err = time.Parse(time.RFC3339, *untilTime); err != nil {
			return usagef("--until-time: %q is not an RFC 3339 time (2022-08-20T12:00:00Z)", *untilTime)
		}
	}

	c, ctx, log, err := openToolLog(ctx, *f, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	until, err := log.LastSeq(ctx)
	if err != nil {
		return err
	}
	switch {
	case *untilSeq > 0:
		until = min(until, *untilSeq)
	case !at.IsZero():
		m, err := log.MomentAt(ctx, at)
		if err != nil {
			return err
		}
		until = m.Last
		if len(m.Later) > 0 {
			// A trail has no gaps: it holds the events written meanwhile
			// by writers that raced, each line with its own recorded_at.
			fmt.Fprintf(stderr, "note: %d of the events up to seq %d were recorded after %s (writers raced); the trail includes them\n",
				len(m.Later), m.Last, at.UTC().Format(time.RFC3339))
		}
	}
	w := bufio.NewWriterSize(stdout, 1<<16)
	end, err := exportTrail(ctx, c.js, f.stream, until, time.Now(), w)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(stderr, "exported %s from %s in %s\n", end, f.stream, c.via)
	return nil
}

func runCheckExport(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit check-export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: chancery audit check-export FILE

Verifies an export offline (no NATS needed): the header, every line's place in
the SHA-256 hash chain, the sequence numbers and the end line. Prints one line
"ok: N events, seq 1..N, head HASH" and exits 0, or names the first bad line
and why, and exits 1. FILE "-" reads stdin. See docs/audit.md.
`)
	}
	path, err := parseOneArg(fs, args, "chancery audit check-export FILE")
	if err != nil {
		return err
	}
	file, name, cleanup, err := openTrail(path, stdin)
	if err != nil {
		return err
	}
	defer cleanup()
	sum, err := checkTrail(name, file, nil)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "ok: "+sum.end.String())
	return nil
}

// String says what a trail holds: "9 events, seq 1..9, head HASH".
func (e trailEnd) String() string {
	if e.Count == 0 {
		return fmt.Sprintf("0 events, head %s", e.Head)
	}
	return fmt.Sprintf("%d events, seq 1..%d, head %s", e.Count, e.LastSeq, e.Head)
}

func runImportEvents(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, f := toolFlags("import-events", `Usage: chancery import-events FILE [--nats URL | --data DIR] [--replicas N]

Loads a trail written by 'chancery export' into an empty or absent stream,
reproducing it exactly: the same sequences, subjects, Nats-Msg-Id headers and
event bytes. The whole trail is checked first; a trail that fails the check is
refused and nothing is stored. FILE "-" reads stdin. See docs/audit.md.`, getenv, stderr)
	replicas := fs.Int("replicas", 1, "stream replicas when the stream is created (3 on a cluster)")
	path, err := parseOneArg(fs, args, "chancery import-events FILE [flags]")
	if err != nil {
		return err
	}
	if *replicas < 1 || *replicas > 5 {
		return usagef("--replicas: %d is not between 1 and 5", *replicas)
	}
	file, name, cleanup, err := openTrail(path, stdin)
	if err != nil {
		return err
	}
	defer cleanup()

	sum, err := checkTrail(name, file, nil)
	if err != nil {
		return fmt.Errorf("%w (nothing imported)", err)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return err
	}

	if f.nats.url == "" {
		// A new data directory is a fine target: serve then starts on the
		// imported stream.
		if err := os.MkdirAll(filepath.Join(f.data, "nats"), 0o750); err != nil {
			return err
		}
	}
	c, ctx, err := openStream(ctx, *f, quietLogger(stderr))
	if err != nil {
		return err
	}
	defer c.Close()
	log, err := events.OpenLog(ctx, c.js, events.LogConfig{Stream: f.stream, Replicas: *replicas})
	if err != nil {
		return err
	}
	if last, err := log.LastSeq(ctx); err != nil {
		return err
	} else if last > 0 {
		return fmt.Errorf("stream %s in %s already holds %d events; import-events only fills an empty stream (nothing imported)", f.stream, c.via, last)
	}
	js, err := jetstream.New(c.nc, jetstream.WithPublishAsyncMaxPending(2*importWindow), jetstream.WithPublishAsyncTimeout(time.Minute))
	if err != nil {
		return err
	}
	p := &trailPublisher{js: js, stream: f.stream, seen: map[string]bool{}, stderr: stderr}
	if _, err := checkTrail(name, file, func(ev trailEvent) error { return p.publish(ctx, ev) }); err != nil {
		return fmt.Errorf("import stopped, the stream holds the events before the failure: %w", err)
	}
	if err := p.flush(ctx); err != nil {
		return fmt.Errorf("import stopped, the stream holds the events before the failure: %w", err)
	}
	fmt.Fprintf(stdout, "imported %s into %s in %s\n", sum.end, f.stream, c.via)
	return nil
}

// openTrail opens a trail file, or for "-" a copy of stdin in a temporary
// file, so that import-events can read it twice (to check, then to publish).
func openTrail(path string, stdin io.Reader) (f *os.File, name string, cleanup func(), err error) {
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, "", nil, usagef("%v", err)
		}
		return f, path, func() { f.Close() }, nil
	}
	tmp, err := os.CreateTemp("", "chancery-import-*.ndjson")
	if err != nil {
		return nil, "", nil, err
	}
	cleanup = func() { tmp.Close(); os.Remove(tmp.Name()) }
	if _, err := io.Copy(tmp, stdin); err != nil {
		cleanup()
		return nil, "", nil, fmt.Errorf("read stdin: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		cleanup()
		return nil, "", nil, err
	}
	return tmp, "stdin", cleanup, nil
}

// trailPublisher appends a trail's events with asynchronous publishes, a
// window of them in flight. Each carries Nats-Expected-Last-Sequence: seq-1,
// so an event lands at its original sequence or not at all.
type trailPublisher struct {
	js       jetstream.JetStream
	stream   string
	inflight []importPending
	seen     map[string]bool // Nats-Msg-Ids published so far
	stderr   io.Writer
}

type importPending struct {
	seq uint64
	ack jetstream.PubAckFuture
}

func (p *trailPublisher) publish(ctx context.Context, ev trailEvent) error {
	m := nats.NewMsg(ev.Subject)
	m.Data = ev.Event
	var env struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(ev.Event, &env) == nil && env.Type != "" {
		m.Header.Set("Chancery-Event-Type", env.Type) // as events.Log.Append sets it
	}
	if ev.MsgID != "" {
		// The original stream accepted a repeated id only after its
		// duplicate window had passed; here it would drop the event and
		// shift every sequence after it.
		if p.seen[ev.MsgID] {
			fmt.Fprintf(p.stderr, "warning: seq %d repeats Nats-Msg-Id %q of an earlier event; imported without it\n", ev.Seq, ev.MsgID)
		} else {
			p.seen[ev.MsgID] = true
			m.Header.Set(jetstream.MsgIDHeader, ev.MsgID)
		}
	}
	m.Header.Set(jetstream.ExpectedLastSeqHeader, strconv.FormatUint(ev.Seq-1, 10))
	if len(p.inflight) == importWindow {
		if err := p.settleOldest(ctx); err != nil {
			return err
		}
	}
	ack, err := p.js.PublishMsgAsync(m)
	if err != nil {
		return fmt.Errorf("publish seq %d: %w", ev.Seq, err)
	}
	p.inflight = append(p.inflight, importPending{seq: ev.Seq, ack: ack})
	return nil
}

// settleOldest waits for the oldest publish in flight and checks that it
// landed where it stood in the trail.
func (p *trailPublisher) settleOldest(ctx context.Context) error {
	f := p.inflight[0]
	p.inflight = p.inflight[1:]
	select {
	case ack := <-f.ack.Ok():
		if ack.Duplicate || ack.Sequence != f.seq {
			return fmt.Errorf("event seq %d was stored at seq %d (duplicate: %v)", f.seq, ack.Sequence, ack.Duplicate)
		}
		return nil
	case err := <-f.ack.Err():
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return fmt.Errorf("publish seq %d: stream %s changed during the import (another writer?): %w", f.seq, p.stream, err)
		}
		return fmt.Errorf("publish seq %d: %w", f.seq, err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *trailPublisher) flush(ctx context.Context) error {
	for len(p.inflight) > 0 {
		if err := p.settleOldest(ctx); err != nil {
			return err
		}
	}
	return nil
}
