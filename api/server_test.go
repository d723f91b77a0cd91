package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/chancery/chancery/calendar"
	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/apitest"
	"github.com/chancery/chancery/internal/natstest"
	"github.com/chancery/chancery/notifier"
	"github.com/chancery/chancery/projections"
)

// Tokens of each scope that the test API accepts.
const (
	readToken  = "read-token-0123456789"
	writeToken = "write-token-0123456789"
	adminToken = "admin-token-0123456789"
)

// testAPI is the API over a real embedded NATS server and a real SQLite
// read model kept by a running projector, behind an HTTP server; every
// answer a test receives is checked against openapi.json.
type testAPI struct {
	t      *testing.T
	url    string
	client *http.Client
	log    *events.Log
	db     *projections.DB
}

// startAPI serves the API; tweak may change its Config (a shorter
// min_position wait, a failing read model).
func startAPI(t *testing.T, tweak ...func(*Config)) *testAPI {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ns := natstest.Start(t, "")
	log, err := events.OpenLog(ctx, ns.JS, events.LogConfig{})
	if err != nil {
		t.Fatal(err)
	}
	idem, err := events.OpenIdempotency(ctx, ns.JS, 1)
	if err != nil {
		t.Fatal(err)
	}
	db, err := projections.Open(ctx, filepath.Join(t.TempDir(), "chancery.db"))
	if err != nil {
		t.Fatal(err)
	}
	projector, err := projections.NewProjector(ctx, db, ns.JS, log.Stream(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan struct{})
	go func() { defer close(ran); projector.Keep(ctx, 10*time.Millisecond, time.Second) }()
	snapshots, err := projections.NewSnapshots(t.TempDir(), log, projections.SnapshotLimits{})
	if err != nil {
		t.Fatal(err)
	}
	queue, err := notifier.OpenQueue(ctx, ns.JS, notifier.QueueConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Log: log, Idempotency: idem, DB: db, Projector: projector, Snapshots: snapshots, Deliveries: queue,
		Calendar: calendar.NewHandler(calendar.Config{DB: db, Position: projector.Position, Snapshots: snapshots}),
		Tokens: []Token{
			{Name: "analyst", Token: readToken, Scope: ScopeRead},
			{Name: "protocol-office", Token: writeToken, Scope: ScopeWrite},
			{Name: "operator", Token: adminToken, Scope: ScopeAdmin},
		},
	}
	for _, f := range tweak {
		f(&cfg)
	}
	srv := httptest.NewServer(New(cfg))
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-ran
		snapshots.Close()
		db.Close()
	})
	checker, err := apitest.New(OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	return &testAPI{t: t, url: srv.URL, client: checker.Client(t, nil), log: log, db: db}
}

// answer is a response with its body read.
type answer struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// do sends a request with the write token unless headers set another
// Authorization ("-" sends none) and returns the answer.
func (a *testAPI) do(method, path string, body any, headers ...string) answer {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, a.url+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+writeToken)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Authorization" && headers[i+1] == "-" {
			req.Header.Del("Authorization")
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := a.client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	ans := answer{status: res.StatusCode, header: res.Header, raw: raw}
	json.Unmarshal(raw, &ans.body)
	return ans
}

// must fails the test unless the answer has the status.
func (r answer) must(t *testing.T, status int) answer {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

func (r answer) str(key string) string { s, _ := r.body[key].(string); return s }

func (r answer) list(key string) []any { l, _ := r.body[key].([]any); return l }

// fields are the fields a problem names.
func (r answer) fields() []string {
	var out []string
	for _, e := range r.list("errors") {
		if m, ok := e.(map[string]any); ok {
			f, _ := m["field"].(string)
			out = append(out, f)
		}
	}
	return out
}

// lastSeq is the stream's last sequence: what a write would change.
func (a *testAPI) lastSeq() uint64 {
	a.t.Helper()
	seq, err := a.log.LastSeq(context.Background())
	if err != nil {
		a.t.Fatal(err)
	}
	return seq
}

// talks is the meeting of the press release of 19 August 2022.
func talks() map[string]any {
	return map[string]any{
		"kind": "talks", "title": "Talks between Sergey Lavrov and Aleksandar Vulin",
		"start": "2022-08-22", "timezone": "Europe/Moscow",
		"location": map[string]any{"city": "Moscow", "country": "RU"},
		"participants": []any{
			map[string]any{"name": "Sergey Lavrov", "office": "Minister of Foreign Affairs", "country": "RU"},
			map[string]any{"name": "Aleksandar Vulin", "office": "Minister of Internal Affairs", "country": "RS"},
		},
		"source": map[string]any{"url": "https://example.org/release", "published": "2022-08-19"},
	}
}
