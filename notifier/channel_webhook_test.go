package notifier

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The Standard Webhooks spec's own example secret.
const testWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// verifyStandardWebhook checks a request the way a receiver using the spec
// would, independently of the sender's code.
func verifyStandardWebhook(t *testing.T, req receivedRequest, secret string) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	id, ts := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(req.Body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	// The header may list several space-separated signatures.
	for _, sig := range strings.Fields(req.Header.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return
		}
	}
	t.Errorf("webhook-signature %q does not verify, want %q", req.Header.Get("webhook-signature"), want)
}

func TestWebhookSignedPerStandardWebhooks(t *testing.T) {
	structured := json.RawMessage(`{"alert":"alt_0123456789abcdef","engagement":{"id":"01J5","title":"Talks"}}`)
	for _, tc := range []struct {
		name     string
		data     json.RawMessage
		wantData string
	}{
		{"structured data passed through", structured, string(structured)},
		{"default data object", nil, `{"id":"alt_0123456789abcdef","kind":"reminder","subject":"Talks: Lavrov & Vulin <Moscow>",` +
			`"text":"Mon 22 Aug 2022 in Moscow\nSergey Lavrov (Minister of Foreign Affairs)\nAleksandar Vulin (Minister of Internal Affairs)",` +
			`"url":"https://chancery.example.org/api/v1/meetings/01J5","late":false,"due_at":"2022-08-21T08:00:00Z"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
			m := testAlert()
			m.Data = tc.data
			sendTo(t, Target{Channel: "webhook", To: rcv.URL + "/hooks/chancery", Secret: testWebhookSecret}, m)

			req := rcv.only(t)
			checkJSONRequest(t, req, http.MethodPost, "/hooks/chancery")
			checkHeaders(t, req.Header, map[string]string{
				"webhook-id":        "alt_0123456789abcdef",
				"webhook-timestamp": strconv.FormatInt(channelTestNow.Unix(), 10),
			})
			verifyStandardWebhook(t, req, testWebhookSecret)
			var got struct {
				Type      string          `json:"type"`
				Timestamp string          `json:"timestamp"`
				Data      json.RawMessage `json:"data"`
			}
			decodeStrict(t, req.Body, &got)
			if got.Type != "alert.reminder" || got.Timestamp != "2022-08-21T08:00:00Z" {
				t.Errorf("type, timestamp = %q, %q; want alert.reminder, 2022-08-21T08:00:00Z", got.Type, got.Timestamp)
			}
			if g, w := decodeJSONValue(t, got.Data), decodeJSONValue(t, []byte(tc.wantData)); !reflect.DeepEqual(g, w) {
				t.Errorf("data = %s\nwant %s", got.Data, tc.wantData)
			}
		})
	}
}

func TestWebhookRetrySendsSameIDAndBody(t *testing.T) {
	rcv := newReceiver(t, nil)
	target := Target{Channel: "webhook", To: rcv.URL, Secret: testWebhookSecret}
	sendTo(t, target, testAlert())
	sendTo(t, target, testAlert())

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	first, second := rcv.reqs[0], rcv.reqs[1]
	if first.Header.Get("webhook-id") != second.Header.Get("webhook-id") || string(first.Body) != string(second.Body) {
		t.Errorf("retry differs: %q %s vs %q %s", first.Header.Get("webhook-id"), first.Body, second.Header.Get("webhook-id"), second.Body)
	}
}

func TestWebhookWithoutSecretIsUnsigned(t *testing.T) {
	rcv := newReceiver(t, nil)
	sendTo(t, Target{Channel: "webhook", To: rcv.URL}, testAlert())

	req := rcv.only(t)
	if sig := req.Header.Get("webhook-signature"); sig != "" {
		t.Errorf("webhook-signature = %q, want none", sig)
	}
	if id := req.Header.Get("webhook-id"); id != "alt_0123456789abcdef" {
		t.Errorf("webhook-id = %q", id)
	}
}
