package startup

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chancery/chancery/internal/problem"
)

// get asks h for path, as a probe or a client would.
func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w
}

// While serve starts, the process is alive, not ready, says what it waits
// for, and asks every client to come back.
func TestStartingServiceIsAliveButNotReady(t *testing.T) {
	var h Handler
	if w := get(t, &h, "/healthz"); w.Code != http.StatusOK {
		t.Errorf("/healthz while starting: %d, want 200", w.Code)
	}
	h.WaitingFor("JetStream")
	w := get(t, &h, "/readyz")
	var ready map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &ready); err != nil {
		t.Fatalf("/readyz body %q: %v", w.Body, err)
	}
	if w.Code != http.StatusServiceUnavailable || ready["starting"] != "JetStream" || w.Header().Get("Retry-After") != problem.RetryAfter {
		t.Errorf("/readyz while waiting for JetStream: %d %v Retry-After %q, want 503 naming JetStream, Retry-After %s",
			w.Code, ready, w.Header().Get("Retry-After"), problem.RetryAfter)
	}
	w = get(t, &h, "/api/v1/meetings")
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(w.Body.String(), "the service is starting: JetStream") || w.Header().Get("Retry-After") == "" {
		t.Errorf("a request while starting: %d %s %q, want a 503 problem saying what serve waits for, with Retry-After",
			w.Code, w.Header().Get("Content-Type"), w.Body)
	}
}

// Once the API is handed over, it answers everything, the probes too.
func TestStartedServiceHandsEveryRequestToTheAPI(t *testing.T) {
	var h Handler
	if h.Serving() != nil {
		t.Fatal("Serving before Serve is not nil")
	}
	h.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	for _, path := range []string{"/healthz", "/readyz", "/api/v1/meetings"} {
		if w := get(t, &h, path); w.Code != http.StatusTeapot {
			t.Errorf("%s once serving: %d, want the API's answer", path, w.Code)
		}
	}
}
