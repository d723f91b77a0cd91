// Package audit answers an auditor's questions of the record: the export
// trail (NDJSON with a SHA-256 hash chain), its offline check and its import
// into an empty stream; the audit log of who changed what, when and from
// which source; the story of one meeting or visit as field diffs; replays of
// the read model up to a point; and verify, which compares a read model
// with a rebuild from the stream.
//
// Its functions take what they need (a stream, an event log, a read model,
// a writer, the time) and return errors; they never parse flags, read the
// environment or exit. It builds on events and projections and must never
// depend on HTTP, the notifier or cmd.
package audit
