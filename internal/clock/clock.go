// Package clock is the fake clock of the tests: a time that stands still
// until the test sets or advances it, safe to read from several goroutines
// (a service under test reads it from its handlers while the test moves it).
package clock

import (
	"sync"
	"time"
)

// Clock is a settable clock. Its Now method is what a component takes as its
// clock (a field or an option of type func() time.Time).
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock that reads t until it is set or advanced.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t, backwards as well as forwards: another
// replica's clock may be behind.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
