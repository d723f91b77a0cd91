package audit

// The export trail: `chancery export` writes the event log as NDJSON with a
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
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	// TrailFormat names the format in a trail's header.
	TrailFormat = "chancery-export"
	// TrailVersion is the version ExportTrail writes; CheckTrail also reads 1.
	TrailVersion = 2

	// maxTrailLine bounds one line: an event is at most the server's
	// maximum payload (8 MiB for the embedded server).
	maxTrailLine = 32 << 20
)

// ZeroHash is the chain's starting point in version 1 trails.
var ZeroHash = strings.Repeat("0", 64)

// TrailHeader is a trail's first line.
type TrailHeader struct {
	Format     string `json:"format"`
	Version    int    `json:"version"`
	Stream     string `json:"stream"`
	ExportedAt string `json:"exported_at"`
	Hash       string `json:"hash"`
}

// Genesis is the chain's starting point: in version 2, a hash of what the
// header says the trail is.
func (h TrailHeader) Genesis() string {
	if h.Version == 1 {
		return ZeroHash
	}
	sum := sha256.Sum256([]byte(h.Format + "\n" + strconv.Itoa(h.Version) + "\n" + h.Stream))
	return hex.EncodeToString(sum[:])
}

// Digest is the header's own hash, which its Hash must equal.
func (h TrailHeader) Digest() string {
	sum := sha256.Sum256([]byte(h.Format + "\n" + strconv.Itoa(h.Version) + "\n" + h.Stream + "\n" + h.ExportedAt))
	return hex.EncodeToString(sum[:])
}

// Line encodes the header in canonical form.
func (h TrailHeader) Line() []byte { return jsonLine(h) }

// TrailEvent is one event line.
type TrailEvent struct {
	Seq     uint64          `json:"seq"`
	Subject string          `json:"subject"`
	MsgID   string          `json:"msg_id"`
	Event   json.RawMessage `json:"event"`
	Hash    string          `json:"hash"`
}

// Digest returns the line's hash, chained to prev.
func (e TrailEvent) Digest(prev string) string {
	h := sha256.New()
	h.Write([]byte(prev + "\n" + strconv.FormatUint(e.Seq, 10) + "\n" + e.Subject + "\n" + e.MsgID + "\n"))
	h.Write(e.Event)
	return hex.EncodeToString(h.Sum(nil))
}

// Line encodes the event line by hand: json.Marshal would re-encode the
// event (escaping <, > and &), and the trail must carry the stored bytes.
func (e TrailEvent) Line() []byte {
	b := make([]byte, 0, len(e.Event)+len(e.Subject)+len(e.MsgID)+128)
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, e.Seq, 10)
	b = append(b, `,"subject":`...)
	b = appendString(b, e.Subject)
	b = append(b, `,"msg_id":`...)
	b = appendString(b, e.MsgID)
	b = append(b, `,"event":`...)
	b = append(b, e.Event...)
	b = append(b, `,"hash":`...)
	b = appendString(b, e.Hash)
	return append(b, "}\n"...)
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// exportable reports why a stored event cannot be carried in a trail line
// byte for byte, if it cannot.
func (e TrailEvent) exportable() error {
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

// TrailEnd is a trail's last line.
type TrailEnd struct {
	End     bool   `json:"end"`
	Count   uint64 `json:"count"`
	LastSeq uint64 `json:"last_seq"`
	Head    string `json:"head"`
}

// Line encodes the end line in canonical form.
func (e TrailEnd) Line() []byte { return jsonLine(e) }

// String says what a trail holds: "9 events, seq 1..9, head HASH".
func (e TrailEnd) String() string {
	if e.Count == 0 {
		return fmt.Sprintf("0 events, head %s", e.Head)
	}
	return fmt.Sprintf("%d events, seq 1..%d, head %s", e.Count, e.LastSeq, e.Head)
}

// jsonLine encodes the header or the end line.
func jsonLine(v any) []byte {
	b, _ := json.Marshal(v) // plain strings and numbers always encode
	return append(b, '\n')
}
