package api

import (
	"context"
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
	*apitest.Client
	t   *testing.T
	log *events.Log
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
	return &testAPI{Client: checker.NewClient(t, srv.URL, writeToken), t: t, log: log}
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
