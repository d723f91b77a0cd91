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
  },
  "components": {
    "schemas": {"Problem": {"type": "object", "required": ["title", "status"],
      "properties": {"title": {"type": "string"}, "status": {"type": "integer"}}}},
    "responses": {
      "NotFound": {"description": "no such path",
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
      "MethodNotAllowed": {"description": "not this method", "headers": {"Allow": {"schema": {"type": "string"}}},
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    }
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
// matching answer (3.1's type arrays included) does not, nor does the
// shared 404 or 405 to a request the document has no operation for.
func TestClientFailsOnAnAnswerTheDocumentDoesNotDescribe(t *testing.T) {
	t.Parallel()
	c, err := New([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	const problem = "application/problem+json"
	for _, tt := range []struct {
		name, method, path, contentType, body string
		allow                                 string
		status                                int
		fails                                 bool
	}{
		{"matches", "GET", "/thing", "application/json", `{"name": "talks", "tags": null}`, "", 200, false},
		{"a field of the wrong type", "GET", "/thing", "application/json", `{"name": 5}`, "", 200, true},
		{"a required field missing", "GET", "/thing", "application/json", `{"title": "talks"}`, "", 200, true},
		{"another content type", "GET", "/thing", "text/plain", `name: talks`, "", 200, true},
		{"a status the document lacks", "GET", "/thing", "application/json", `{"name": "talks"}`, "", 418, true},
		// A request the document has no operation for is answered with its
		// shared 404 or 405, checked as any other answer.
		{"an unknown path, the shared 404", "GET", "/other", problem, `{"title": "Not Found", "status": 404}`, "", 404, false},
		{"an unknown path answered 200", "GET", "/other", "application/json", `{"name": "talks"}`, "", 200, true},
		{"an unknown path, a 404 unlike the shared one", "GET", "/other", problem, `{"title": 404}`, "", 404, true},
		{"an unknown path, a 404 of another content type", "GET", "/other", "text/plain", `404 page not found`, "", 404, true},
		{"a method the path lacks, the shared 405", "DELETE", "/thing", problem, `{"title": "Method Not Allowed", "status": 405}`, "GET", 405, false},
		{"a method the path lacks, a 405 without Allow", "DELETE", "/thing", problem, `{"title": "Method Not Allowed", "status": 405}`, "", 405, true},
		{"a method the path lacks answered 404", "DELETE", "/thing", problem, `{"title": "Not Found", "status": 404}`, "", 404, true},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", tt.contentType)
			if tt.allow != "" {
				w.Header().Set("Allow", tt.allow)
			}
			w.WriteHeader(tt.status)
			w.Write([]byte(tt.body))
		}))
		rec := &recorder{TB: t}
		req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Client(rec, nil).Do(req)
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

// A 3.0 document is valid OpenAPI, but its answers would be checked by 3.1
// rules it was not written for (nullable, type arrays).
func TestNewRefusesADocumentThatIsNotOpenAPI31(t *testing.T) {
	t.Parallel()
	const v30 = `{"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
  "paths": {"/thing": {"get": {"responses": {"200": {"description": "a thing",
    "content": {"application/json": {"schema": {"type": "object", "nullable": true}}}}}}}}}`
	if _, err := New([]byte(v30)); err == nil || !strings.Contains(err.Error(), "not 3.1") {
		t.Errorf("New(an OpenAPI 3.0.3 document) = %v, want an error saying it is not 3.1", err)
	}
}
