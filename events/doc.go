// Package events is Chancery's domain: the event envelope, the meeting and
// visit aggregates (commands are decided against folded state and yield
// events), their validation, and the JetStream event log they are appended to.
//
// It must never depend on SQLite, HTTP or the notifier: everything else
// builds on this package, not the other way round.
package events
