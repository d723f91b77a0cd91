package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// logLines decodes the JSON lines of a log.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestEveryRequestLogLineCarriesItsIdTokenNameAndStatus(t *testing.T) {
	var buf bytes.Buffer
	s := New(Config{Logger: slog.New(slog.NewJSONHandler(&buf, nil)), Tokens: []Token{{Name: "desk", Token: deskToken, Scope: ScopeRead}}})

	for _, tc := range []struct {
		name, id, token string
		wantStatus      int
		wantToken       string
	}{
		{"the caller's id", "req-42", deskToken, http.StatusNotFound, "desk"},
		{"a minted id", "", "", http.StatusOK, ""},
		{"an id too odd to keep", "bad\x7fid", "", http.StatusOK, ""},
	} {
		buf.Reset()
		path := "/nowhere"
		if tc.wantStatus == http.StatusOK {
			path = "/healthz"
		}
		r := httptest.NewRequest("GET", path, nil)
		if tc.id != "" {
			r.Header.Set("X-Request-Id", tc.id)
		}
		if tc.token != "" {
			r.Header.Set("Authorization", "Bearer "+tc.token)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)

		echoed := w.Header().Get("X-Request-Id")
		if echoed == "" || (tc.id == "req-42" && echoed != tc.id) || (tc.id != "req-42" && echoed == tc.id) {
			t.Errorf("%s: X-Request-Id %q in the answer", tc.name, echoed)
		}
		lines := logLines(t, &buf)
		if len(lines) != 1 {
			t.Fatalf("%s: %d log lines, want 1: %s", tc.name, len(lines), buf.Bytes())
		}
		l := lines[0]
		if l["request_id"] != echoed || l["token"] != tc.wantToken || l["status"] != float64(tc.wantStatus) || l["path"] != path {
			t.Errorf("%s: log line %v; want request_id %q, token %q, status %d, path %s",
				tc.name, l, echoed, tc.wantToken, tc.wantStatus, path)
		}
	}
}
