// Package api is Chancery's HTTP API: JSON commands that become events,
// queries answered from the read model, the raw event log, and health.
//
// Handlers validate at the edge, never build NATS subjects or SQL from
// unchecked input, and map errors to HTTP statuses in one place
// (internal/problem, shared with the feeds). Each depends on the small
// interfaces of deps.go, not on the types that implement them; routes.go
// lists the surface, and openapi.json describes it. It depends on events
// and projections, never the reverse.
package api
