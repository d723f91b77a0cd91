// Package fleet runs Chancery the way an operator does, for the soak and
// partition commands: nats-server and chancery binaries built from this
// module, started as processes of their own (so they can be killed with
// SIGKILL and started again on their stores), writers that record every
// operation, a webhook receiver that counts change alerts, and the checks
// that compare what clients were told with what the stream holds.
//
// It is driven from `go run` commands, not tests: nothing here takes a
// testing.TB, and everything it starts is ended and every directory it
// makes removed by Fleet.Close, also when a run fails half way.
// It must never depend on the product's packages' internals: it speaks to
// the service only over HTTP and to NATS only as a client.
package fleet
