package startup

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The server answers with the starting handler as soon as it listens; a
// second one on the same address is refused naming it; once shut down, it
// says it was closed.
func TestServerListensAnswersAndShutsDown(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	var h Handler
	s, err := Listen("127.0.0.1:0", &h, logger)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + s.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d, want 200", resp.StatusCode)
	}
	if _, err := Listen(s.Addr(), &h, logger); err == nil || !strings.Contains(err.Error(), "listen on "+s.Addr()) {
		t.Errorf("second Listen on %s: %v, want an error naming the address", s.Addr(), err)
	}
	if err := s.Shutdown(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := <-s.Done(); !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("after Shutdown the server stopped with %v, want ErrServerClosed", err)
	}
}
