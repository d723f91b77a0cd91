package notifier

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// checkSendError asserts err is a *SendError classified as wanted.
func checkSendError(t *testing.T, err error, permanent bool, status int, retryAfter time.Duration) *SendError {
	t.Helper()
	var se *SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T), want a *SendError", err, err)
	}
	if se.Permanent != permanent || se.Status != status || se.RetryAfter != retryAfter {
		t.Errorf("SendError{Permanent: %v, Status: %d, RetryAfter: %v} (%v), want {%v, %d, %v}",
			se.Permanent, se.Status, se.RetryAfter, se, permanent, status, retryAfter)
	}
	return se
}

// chatTargets is one valid target per HTTP channel at base.
func chatTargets(base string) []Target {
	return []Target{
		{Channel: "slack", To: base + "/services/T0/B0/x"},
		{Channel: "mattermost", To: base + "/hooks/x"},
		{Channel: "discord", To: base + "/api/webhooks/1/x"},
		{Channel: "teams", To: base + "/invoke?sig=x"},
		{Channel: "telegram", To: base + "?chat_id=1", Secret: "1:x"},
		{Channel: "matrix", To: base + "?room=!r:example.org", Secret: "syt_x"},
		{Channel: "ntfy", To: base + "/topic"},
		{Channel: "webhook", To: base + "/hook", Secret: testWebhookSecret},
	}
}

func TestChannelStatusMapping(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string
		wantPerm   bool
		wantWait   time.Duration
	}{
		{"429 with delay seconds", http.StatusTooManyRequests, "7", false, 7 * time.Second},
		{"429 with an HTTP date", http.StatusTooManyRequests, channelTestNow.Add(90 * time.Second).Format(http.TimeFormat), false, 90 * time.Second},
		{"429 without Retry-After", http.StatusTooManyRequests, "", false, 0},
		{"429 asking for decades waits a day", http.StatusTooManyRequests, "999999999", false, 24 * time.Hour},
		{"503 with Retry-After", http.StatusServiceUnavailable, "120", false, 2 * time.Minute},
		{"500", http.StatusInternalServerError, "", false, 0},
		{"408", http.StatusRequestTimeout, "", false, 0},
		{"400 is permanent", http.StatusBadRequest, "", true, 0},
		{"401 is permanent", http.StatusUnauthorized, "", true, 0},
		{"404 is permanent", http.StatusNotFound, "", true, 0},
		{"410 is permanent, Retry-After or not", http.StatusGone, "5", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
			})
			for _, target := range chatTargets(rcv.URL) {
				t.Run(target.Channel, func(t *testing.T) {
					err := testChannels().Send(context.Background(), target, testAlert())
					checkSendError(t, err, tc.wantPerm, tc.status, tc.wantWait)
				})
			}
		})
	}
}

// Services that put the wait in the body rather than (or as well as) the
// Retry-After header; the header, when present, wins.
func TestChannelRetryAfterFromServiceBody(t *testing.T) {
	for _, tc := range []struct {
		name, channel, header, body string
		want                        time.Duration
	}{
		{"discord retry_after seconds", "discord", "", `{"message":"You are being rate limited.","retry_after":2.5,"global":false}`, 2500 * time.Millisecond},
		{"telegram parameters.retry_after", "telegram", "", `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 34","parameters":{"retry_after":34}}`, 34 * time.Second},
		{"matrix retry_after_ms", "matrix", "", `{"errcode":"M_LIMIT_EXCEEDED","error":"Too many requests","retry_after_ms":1500}`, 1500 * time.Millisecond},
		{"discord header wins over a body in milliseconds", "discord", "3", `{"message":"You are being rate limited.","retry_after":2500,"global":false}`, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.header != "" {
					w.Header().Set("Retry-After", tc.header)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				w.Write([]byte(tc.body))
			})
			for _, target := range chatTargets(rcv.URL) {
				if target.Channel == tc.channel {
					err := testChannels().Send(context.Background(), target, testAlert())
					checkSendError(t, err, false, http.StatusTooManyRequests, tc.want)
				}
			}
		})
	}
}

func TestChannelTimeoutIsTemporary(t *testing.T) {
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	for _, target := range chatTargets(rcv.URL) {
		t.Run(target.Channel, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			err := testChannels().Send(ctx, target, testAlert())
			checkSendError(t, err, false, 0, 0)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v, want it to wrap context.DeadlineExceeded", err)
			}
		})
	}
}

func TestChannelNetworkErrorHidesTheURL(t *testing.T) {
	rcv := newReceiver(t, nil)
	url := rcv.URL + "/services/T0/B0/secret-token"
	rcv.Close() // nothing listens any more
	err := testChannels().Send(context.Background(), Target{Channel: "slack", To: url}, testAlert())
	se := checkSendError(t, err, false, 0, 0)
	if msg := se.Error(); strings.Contains(msg, "secret-token") {
		t.Errorf("error %q shows the webhook URL", msg)
	}
}

func TestChannelTrustsConfiguredRoots(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	t.Cleanup(srv.Close)
	target := Target{Channel: "slack", To: srv.URL + "/hook"}

	err := testChannels().Send(context.Background(), target, testAlert())
	checkSendError(t, err, false, 0, 0) // unknown authority

	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	ch := NewChannels(ChannelsConfig{TLS: &tls.Config{RootCAs: roots}})
	if err := ch.Send(context.Background(), target, testAlert()); err != nil {
		t.Errorf("send with the server's root: %v", err)
	}
}
