package apitest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

const doc = `{
  "openapi": "3.1.0",
  "info": {"title": "t", "version": "1"},
  "paths": {
    "/thing": {"get": {"responses": {"200": {"description": "a thing",
      "content": {"application/json": {"schema": {"type": "object", "required": ["name"],
        "properties": {"name": {"type": "string"}, "tags": {"type": ["array", "null"], "items": {"type": "string"}}}}}}}}}}
  }
}`

// recorder is a testing.TB that keeps what it is told instead of failing.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// TestClientFailsOnAnAnswerTheDocumentDoesNotDescribe: a wrong body, a
// wrong content type and an undescribed status each fail the test; a
// matching answer (3.1's type arrays included) does not.
func TestClientFailsOnAnAnswerTheDocumentDoesNotDescribe(t *testing.T) {
	t.Parallel()
	c, err := New([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, contentType, body string
		status                  int
		fails                   bool
	}{
		{"matches", "application/json", `{"name": "talks", "tags": null}`, 200, false},
		{"a field of the wrong type", "application/json", `{"name": 5}`, 200, true},
		{"a required field missing", "application/json", `{"title": "talks"}`, 200, true},
		{"another content type", "text/plain", `name: talks`, 200, true},
		{"a status the document lacks", "application/json", `{"name": "talks"}`, 418, true},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", tt.contentType)
			w.WriteHeader(tt.status)
			w.Write([]byte(tt.body))
		}))
		rec := &recorder{TB: t}
		res, err := c.Client(rec, nil).Get(srv.URL + "/thing")
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if failed := len(rec.errors) > 0; failed != tt.fails {
			t.Errorf("%s: failed %v (%s), want %v", tt.name, failed, strings.Join(rec.errors, "; "), tt.fails)
		}
	}
}

func TestNewRefusesADocumentThatIsNotOpenAPI(t *testing.T) {
	t.Parallel()
	if _, err := New([]byte(`{"openapi": "3.1.0", "paths": {"/x": {"get": {"responses": "none"}}}}`)); err == nil {
		t.Error("New accepted a document without info whose responses are a string")
	}
}
