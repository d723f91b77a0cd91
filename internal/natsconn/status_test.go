package natsconn

import (
	"testing"

	"github.com/chancery/chancery/internal/natstest"
)

// A connection is ready while connected; once drained it is closed, and
// says so.
func TestDrainClosesAndConnectedSaysSo(t *testing.T) {
	ns := natstest.Start(t, "")
	nc, err := Connect(Options{URL: ns.Srv.ClientURL()}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := Connected(nc); err != nil {
		t.Fatalf("a fresh connection: %v, want connected", err)
	}
	Drain(nc)
	if !nc.IsClosed() {
		t.Error("the connection is not closed after Drain")
	}
	if err := Connected(nc); err == nil || err.Error() != "nats closed" {
		t.Errorf("a drained connection: %v, want \"nats closed\"", err)
	}
}
