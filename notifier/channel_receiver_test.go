package notifier

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// channelTestNow is the fixed clock of the channel tests.
var channelTestNow = time.Date(2022, 8, 21, 9, 0, 0, 0, time.UTC)

// testAlert is a reminder as the templates would render it, with the
// characters each service must escape.
func testAlert() Message {
	return Message{
		ID:       "alt_0123456789abcdef",
		Category: "reminder",
		Subject:  "Talks: Lavrov & Vulin <Moscow>",
		Text:     "Mon 22 Aug 2022 in Moscow\nSergey Lavrov (Minister of Foreign Affairs)\nAleksandar Vulin (Minister of Internal Affairs)",
		HTML:     "<p>Mon 22 Aug 2022 in Moscow</p>",
		URL:      "https://chancery.example.org/api/v1/meetings/01J5",
		DueAt:    time.Date(2022, 8, 21, 8, 0, 0, 0, time.UTC),
	}
}

// receivedRequest is what a receiver saw of one request.
type receivedRequest struct {
	Method      string
	Path        string // decoded
	EscapedPath string // as sent
	Query       string
	Header      http.Header
	Body        []byte
}

// receiver is an in-process chat service: it records every request and
// answers with respond (200 "ok" when nil).
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []receivedRequest
}

func newReceiver(t *testing.T, respond http.HandlerFunc) *receiver {
	t.Helper()
	rcv := &receiver{}
	rcv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rcv.mu.Lock()
		rcv.reqs = append(rcv.reqs, receivedRequest{
			Method:      r.Method,
			Path:        r.URL.Path,
			EscapedPath: r.URL.EscapedPath(),
			Query:       r.URL.RawQuery,
			Header:      r.Header.Clone(),
			Body:        body,
		})
		rcv.mu.Unlock()
		if respond == nil {
			io.WriteString(w, "ok")
			return
		}
		respond(w, r)
	}))
	t.Cleanup(rcv.Close)
	return rcv
}

// only returns the single request the receiver got, failing otherwise.
func (rcv *receiver) only(t *testing.T) receivedRequest {
	t.Helper()
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(rcv.reqs))
	}
	return rcv.reqs[0]
}

// testChannels is the Channels under test, on the fixed clock.
func testChannels() *Channels {
	return NewChannels(ChannelsConfig{Now: func() time.Time { return channelTestNow }})
}

// decodeStrict decodes a request body into want's type, failing on any
// field the test's struct does not name: the body must be exactly that.
func decodeStrict(t *testing.T, body []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

// checkHeaders compares the headers a test cares about.
func checkHeaders(t *testing.T, got http.Header, want map[string]string) {
	t.Helper()
	for key, value := range want {
		if g := got.Get(key); g != value {
			t.Errorf("header %s = %q, want %q", key, g, value)
		}
	}
}
