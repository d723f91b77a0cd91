package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chancery/chancery/internal/logging"
	"github.com/chancery/chancery/internal/natstest"
)

// TestNoSecretReachesALogLine runs the real service, logging JSON, with
// every kind of secret configured: an API token, a private feed's token,
// the SMTP password, a webhook's signing secret and the NATS password. Each
// is sent in requests (as a bearer token, as ?token=), an alert is signed
// with the webhook secret, and then no log line may contain any of them.
func TestNoSecretReachesALogLine(t *testing.T) {
	const (
		apiSecret     = "api-secret-4f1d8a2c9e7b"
		feedSecret    = "feed-secret-7c3e9b1a5d2f"
		smtpPassword  = "smtp-secret-2b8d6f4a1c9e"
		webhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		natsPassword  = "nats-secret-9a7c5e3b1d8f"
	)
	secrets := []string{apiSecret, feedSecret, smtpPassword, webhookSecret, natsPassword}

	var hooked atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		hooked.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	ns := natstest.Start(t, "")
	natsURL, _ := url.Parse(ns.Srv.ClientURL())
	natsURL.User = url.UserPassword("chancery", natsPassword)

	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, `api_tokens:
  - {name: desk, token: "${API_SECRET}", scope: write}
feeds:
  - {name: private, filter: {countries: [RS]}, token: "${FEED_SECRET}"}
notifier:
  smtp: {host: 127.0.0.1, port: 1, username: chancery, password: "${SMTP_PASSWORD}", from: chancery@example.org}
  delivery: {ack_wait: 1s, backoff: [50ms]}
subscribers:
  - {name: hook, channel: webhook, to: "`+rcv.URL+`/alerts", secret: "${WEBHOOK_SECRET}", alerts: [change], filter: {countries: [RS]}}
  - {name: mail, channel: email, to: desk@example.org, alerts: [change], filter: {countries: [RS]}}
`)
	env := map[string]string{"API_SECRET": apiSecret, "FEED_SECRET": feedSecret, "SMTP_PASSWORD": smtpPassword, "WEBHOOK_SECRET": webhookSecret}
	var logs natstest.LogBuffer
	o := serveOptions{data: filepath.Join(dir, "data"), http: "127.0.0.1:0", config: cfgPath}
	o.nats.url = natsURL.String()
	clk := newClock(time.Date(2022, 8, 19, 10, 0, 0, 0, time.UTC))
	a, err := start(context.Background(), o, serveEnv{getenv: func(k string) string { return env[k] }, logger: logging.New("json", &logs), now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	s := newService(t, a, o.data)

	id := s.Do("POST", "/api/v1/meetings", seedTalks(), "Authorization", "Bearer "+apiSecret, "X-Request-Id", "req-created").Must(t, 201).Str("id")
	s.Do("POST", "/api/v1/meetings/"+id+"/reschedule", map[string]any{"start": "2022-08-23", "reason": "moved"},
		"Authorization", "Bearer "+apiSecret).Must(t, 200)
	s.Do("GET", "/api/v1/meetings", nil, "Authorization", "Bearer "+apiSecret).Must(t, 200)
	s.Do("GET", "/feeds/private.ics?token="+feedSecret, nil).Must(t, 200)
	for _, secret := range secrets {
		s.Do("GET", "/feeds/private.ics?token="+url.QueryEscape(secret)+"&x="+url.QueryEscape(secret), nil)
		s.Do("POST", "/api/v1/meetings", seedTalks(), "Authorization", "Bearer "+secret)
		s.Do("GET", "/api/v1/events?after="+url.QueryEscape(secret), nil, "Authorization", "Bearer "+secret)
	}
	// The change alert, signed with the webhook secret; the email fails.
	waitUntil(10*time.Second, func() bool { return hooked.Load() > 0 })
	if hooked.Load() == 0 {
		t.Error("the webhook alert was not sent")
	}
	s.stop() // every request's line is written before the server stops

	var sawCreate bool
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Errorf("log line is not JSON: %s", line)
		}
		for _, secret := range secrets {
			if strings.Contains(line, secret) || strings.Contains(line, url.QueryEscape(secret)) {
				t.Errorf("log line holds the secret %s: %s", secret, line)
			}
		}
		if l["msg"] == "request" && l["request_id"] == "req-created" && l["token"] == "desk" && l["status"] == float64(201) {
			sawCreate = true
		}
	}
	if !sawCreate {
		t.Errorf("no request line with the request id, token name and status of the write:\n%s", logs.String())
	}
}

func TestLogFormatIsJSONOrText(t *testing.T) {
	if _, err := parseServe([]string{"--log-format", "xml"}, func(string) string { return "" }, io.Discard); err == nil ||
		exitCode(err) != 2 || !strings.Contains(err.Error(), "--log-format") {
		t.Errorf("--log-format xml: %v, want a usage error naming the flag", err)
	}
	for format, wantJSON := range map[string]bool{"json": true, "text": false, "": true} { // "": not a terminal
		var buf bytes.Buffer
		logging.New(format, &buf).Info("hello", "k", "v")
		if got := json.Valid(buf.Bytes()); got != wantJSON {
			t.Errorf("--log-format %q wrote %q", format, buf.String())
		}
	}
}
