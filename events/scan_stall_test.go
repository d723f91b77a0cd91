package events

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// A scan whose stream stops delivering while events are still pending
// (here JetStream goes away under it, the connection staying up) fails
// after scanStall with a transient error instead of waiting forever.
func TestScanThatTheStreamStopsFeedingFailsAsUnavailable(t *testing.T) {
	tl := openTestLog(t)
	for range 1000 { // more than a scan fetches at once
		tl.meeting(t, NewMeetingID(releaseDay), lavrovVulin(), Meta{Actor: "test"})
	}
	if doc, err := os.ReadFile("../docs/operations.md"); err != nil || !strings.Contains(strings.Join(strings.Fields(string(doc)), " "), "no event has come for "+scanStall.String()) {
		t.Errorf("docs/operations.md does not give the scan's deadline, %s (%v)", scanStall, err)
	}
	defer func(d time.Duration) { scanStall = d }(scanStall)
	scanStall = time.Second
	done := make(chan error, 1)
	seen := 0
	go func() {
		done <- tl.Scan(context.Background(), 0, ReadFilter{}, func(Stored) error {
			if seen++; seen == 1 {
				tl.srv.Srv.DisableJetStream()
			}
			return nil
		})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, errScanStalled) || ErrorCode(err) != EUNAVAILABLE || !Transient(err) || !strings.Contains(err.Error(), "pending") {
			t.Errorf("scan of a stream that stopped feeding it: %v; want an EUNAVAILABLE error saying events are pending", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the scan still waits after %d events", seen)
	}
}
