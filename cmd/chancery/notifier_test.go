package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestNotifierEndToEnd runs the service with a webhook subscriber and a
// config file: a reschedule through the API reaches the receiver as one
// signed change alert, and the deliveries API and /metrics show it.
func TestNotifierEndToEnd(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	var ids []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		json.Unmarshal(body, &m)
		mu.Lock()
		got, ids = append(got, m), append(ids, r.Header.Get("webhook-id"))
		mu.Unlock()
		if r.Header.Get("webhook-signature") == "" {
			t.Error("alert not signed")
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer rcv.Close()

	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, belgradeDesk(rcv.URL+"/alerts", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
	clk := newClock(time.Date(2022, 8, 19, 10, 0, 0, 0, time.UTC))
	s := startService(t, filepath.Join(dir, "data"), func(o *testServe) {
		o.config, o.now = cfgPath, clk.Now
	})
	talksID, _ := recordSeed(t, s)
	clk.Set(time.Date(2022, 8, 20, 9, 0, 0, 0, time.UTC))
	s.Do("POST", "/api/v1/meetings/"+talksID+"/reschedule", map[string]any{"start": "2022-08-23"}).Must(t, 200)

	waitUntil(15*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 1
	})
	mu.Lock()
	if len(got) != 1 {
		mu.Unlock()
		t.Fatalf("receiver got %d alerts, want 1 change alert", len(got))
	}
	alert, id := got[0], ids[0]
	mu.Unlock()
	data, _ := alert["data"].(map[string]any)
	if alert["type"] != "alert.change" || data["rule"] != "rescheduled" || !strings.HasSuffix(data["url"].(string), "/api/v1/meetings/"+talksID) {
		t.Errorf("alert = %v", alert)
	}

	// The deliveries API is for admins.
	s.Do("GET", "/api/v1/deliveries?status=sent", nil).Must(t, 401)
	// The receiver has it; the record says so a moment later.
	var list []map[string]any
	for deadline := time.Now().Add(10 * time.Second); len(list) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		list = s.Do("GET", "/api/v1/deliveries?status=sent", nil, "Authorization", "Bearer "+testToken).Must(t, 200).List("deliveries")
	}
	if len(list) != 1 || list[0]["id"] != id || list[0]["subscriber"] != "belgrade-desk" || list[0]["attempts"] != float64(1) {
		t.Errorf("sent deliveries = %v, want the one alert %s", list, id)
	}
	s.Do("GET", "/api/v1/deliveries?status=lost", nil, "Authorization", "Bearer "+testToken).Must(t, 400)
	s.Do("POST", "/api/v1/deliveries/"+id+"/retry", nil).Must(t, 409) // not a dead letter
	s.Do("POST", "/api/v1/deliveries/alt_nope/retry", nil).Must(t, 404)

	var metrics string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		metrics = string(s.Do("GET", "/metrics", nil).Must(t, 200).Raw)
		if strings.Contains(metrics, `outcome="sent"`) || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range []string{
		`chancery_deliveries_total{channel="webhook",kind="change",outcome="sent"} 1`,
		`chancery_alerts_queued_total{kind="change"} 1`,
		"chancery_read_model_position ",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
