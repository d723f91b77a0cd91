// Package api is Chancery's HTTP API: JSON commands that become events,
// queries answered from the read model, the raw event log, and health.
//
// Handlers validate at the edge, never build NATS subjects or SQL from
// unchecked input, and map domain errors to HTTP statuses in one place
// (problem.go). It depends on events and projections, never the reverse.
package api
