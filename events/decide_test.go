package events

import (
	"testing"
	"time"
)

// aggregate is what Meeting and Visit share for the tests that drive them.
type aggregate interface {
	Decide(cmd any, now time.Time) ([]Event, error)
	Evolve(env Envelope) error
}

// decideAndEvolve decides cmd against a at now and, when it succeeds,
// evolves a with the events as the log would record them at now. version
// reads a's version after each event, so a skipped version shows.
func decideAndEvolve(t testing.TB, a aggregate, aggType, id string, version func() int, cmd any, now time.Time) ([]Event, error) {
	t.Helper()
	evs, err := a.Decide(cmd, now)
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		if err := a.Evolve(envelopeFor(t, aggType, id, version()+1, now, ev)); err != nil {
			t.Fatalf("Evolve(%s): %v", ev.EventType(), err)
		}
	}
	return evs, nil
}

// invalidInput is one case of a creating command's validation table: mutate
// spoils a valid command, want lists the fields the error must name.
type invalidInput[C any] struct {
	name   string
	mutate func(c C)
	want   []string
}

// runInvalidInputs runs a validation table the same way for every creating
// command: each case spoils a fresh valid command, and deciding it must yield
// no events and EINVALID naming exactly the case's fields.
func runInvalidInputs[C any](t *testing.T, tests []invalidInput[C], valid func() C, decide func(C) ([]Event, error)) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := valid()
			tt.mutate(cmd)
			evs, err := decide(cmd)
			if evs != nil {
				t.Errorf("Decide yielded %d events for invalid input", len(evs))
			}
			wantFields(t, err, tt.want...)
		})
	}
}
