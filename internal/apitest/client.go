package apitest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
)

// Client sends a test's requests to a running API, each answer checked
// against the document.
type Client struct {
	t     testing.TB
	base  string
	token string
	http  *http.Client
}

// NewClient returns a client of the API at base (a URL without a trailing
// slash) that sends token as the bearer token of every request but a GET.
func (c *Checker) NewClient(t testing.TB, base, token string) *Client {
	return &Client{t: t, base: base, token: token, http: c.Client(t, nil)}
}

// Response is an answer with its body read, and decoded when it is a JSON
// object.
type Response struct {
	Status int
	Header http.Header
	Raw    []byte
	JSON   map[string]any
}

// Do sends a request. body may be nil, a string or []byte sent as it is,
// or a value to encode as JSON. Headers come in pairs; "-" as a value
// sends no such header ("Authorization", "-": no token).
func (c *Client) Do(method, path string, body any, headers ...string) Response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if method != http.MethodGet {
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "-" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read the body: %v", method, path, err)
	}
	r := Response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	json.Unmarshal(raw, &r.JSON) // not every answer is a JSON object
	return r
}

// Must fails the test unless the answer has the wanted status.
func (r Response) Must(t testing.TB, want int) Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Raw)
	}
	return r
}

// Position is the answer's Chancery-Position.
func (r Response) Position(t testing.TB) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(r.Header.Get("Chancery-Position"), 10, 64)
	if err != nil {
		t.Fatalf("no Chancery-Position header: %v", r.Header)
	}
	return n
}

// Str is the string under key of a JSON answer.
func (r Response) Str(key string) string {
	v, _ := r.JSON[key].(string)
	return v
}

// List is the list of objects under key of a JSON answer.
func (r Response) List(key string) []map[string]any {
	items, _ := r.JSON[key].([]any)
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i], _ = it.(map[string]any)
	}
	return out
}

// FieldErrors are the fields a problem+json answer names.
func (r Response) FieldErrors() []string {
	var out []string
	for _, e := range r.List("errors") {
		f, _ := e["field"].(string)
		out = append(out, f)
	}
	return out
}
