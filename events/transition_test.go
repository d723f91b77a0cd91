package events

import (
	"reflect"
	"testing"
	"time"
)

// step is a command applied before the one under test.
type step struct {
	cmd any
	now time.Time
}

// transition is one case of an aggregate's transition table.
type transition[A any] struct {
	name     string
	before   []step
	cmd      any
	now      time.Time
	wantCode string   // "" for success
	want     []string // on EINVALID, the fields named
	check    func(t *testing.T, evs []Event, a *A)
}

// runTransitions runs a transition table the same way for every aggregate:
// each case starts from fresh, decides its steps, then its command at now
// (start when zero). A refused command must leave the state as it was; an
// accepted one yields one event and one version.
func runTransitions[A any](t *testing.T, tests []transition[A],
	fresh func(testing.TB) (*A, string),
	decide func(testing.TB, *A, string, any, time.Time) ([]Event, error),
	start time.Time, version func(*A) int) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, id := fresh(t)
			for _, s := range tt.before {
				if _, err := decide(t, a, id, s.cmd, s.now); err != nil {
					t.Fatalf("before: Decide(%T) = %v", s.cmd, err)
				}
			}
			now := tt.now
			if now.IsZero() {
				now = start
			}
			prev := *a
			evs, err := decide(t, a, id, tt.cmd, now)
			if tt.wantCode != "" {
				if tt.wantCode == EINVALID {
					wantFields(t, err, tt.want...)
				} else {
					wantCode(t, err, tt.wantCode)
				}
				if !reflect.DeepEqual(*a, prev) {
					t.Errorf("a refused command changed the state:\n got %+v\nwant %+v", *a, prev)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decide(%T) = %v, want success", tt.cmd, err)
			}
			if len(evs) != 1 {
				t.Fatalf("Decide(%T) yielded %d events, want 1", tt.cmd, len(evs))
			}
			if version(a) != version(&prev)+1 {
				t.Errorf("version = %d, want %d", version(a), version(&prev)+1)
			}
			if tt.check != nil {
				tt.check(t, evs, a)
			}
		})
	}
}
