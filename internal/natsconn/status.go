package natsconn

import (
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Connected says why nc is not connected, when it is not: the readiness
// of a service that cannot record without NATS.
func Connected(nc *nats.Conn) error {
	if s := nc.Status(); s != nats.CONNECTED {
		return fmt.Errorf("nats %s", strings.ToLower(s.String()))
	}
	return nil
}

// Drain lets nc finish what it has in flight (acks, publishes) and closes
// it, returning once it is closed.
func Drain(nc *nats.Conn) {
	// A connection that cannot drain (closed, or lost and reconnecting) has
	// nothing in flight to finish; it is closed all the same.
	_ = nc.Drain()
	for nc.IsDraining() {
		time.Sleep(10 * time.Millisecond)
	}
	nc.Close()
}
