package notifier

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// webhookSecretPrefix starts a Standard Webhooks signing secret.
const webhookSecretPrefix = "whsec_"

// webhookEvent is the Standard Webhooks payload.
type webhookEvent struct {
	Type      string          `json:"type"`      // alert.reminder | alert.change | alert.digest
	Timestamp string          `json:"timestamp"` // RFC 3339: when the alert fell due
	Data      json.RawMessage `json:"data"`
}

// webhookData is the data member when the alert carries no structured
// Message.Data of its own.
type webhookData struct {
	ID       string `json:"id"`
	Category string `json:"kind"` // the wire name is historical
	Subject  string `json:"subject"`
	Text     string `json:"text"`
	URL      string `json:"url,omitempty"`
	Late     bool   `json:"late"`
	DueAt    string `json:"due_at,omitempty"`
}

// webhookKey decodes a Standard Webhooks secret: "whsec_" and the base64
// of the HMAC key.
func webhookKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, webhookSecretPrefix)
	if !ok {
		return nil, errors.New("must be a Standard Webhooks secret: whsec_<base64 key>")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(b64)
	}
	if err != nil || len(key) == 0 {
		return nil, errors.New("the part after whsec_ must be a non-empty base64 key")
	}
	return key, nil
}

// validateWebhookTarget: `to` is the receiver's URL; `secret`, optional, is
// the signing secret (whsec_…); without one, requests are not signed.
func validateWebhookTarget(t Target) (string, error) {
	if _, err := parseEndpoint(t.To); err != nil {
		return "to", err
	}
	if t.Secret != "" {
		if _, err := webhookKey(t.Secret); err != nil {
			return "secret", err
		}
	}
	return "", nil
}

// sendWebhook posts the alert per the Standard Webhooks spec: webhook-id is
// the alert id (the same on every retry, so receivers can drop
// duplicates), webhook-timestamp the send time in Unix seconds, and
// webhook-signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>". The
// body is the same bytes on every attempt.
func (c *Channels) sendWebhook(ctx context.Context, t Target, m Message) error {
	if m.ID == "" {
		return &SendError{Permanent: true, Err: errors.New("webhook: message without an id")}
	}
	var key []byte
	if t.Secret != "" {
		var err error
		if key, err = webhookKey(t.Secret); err != nil {
			return &SendError{Permanent: true, Err: fmt.Errorf("webhook: secret: %w", err)}
		}
	}
	body := encodePayload(webhookEvent{
		Type:      "alert." + m.Category,
		Timestamp: c.occurredAt(m).UTC().Format(time.RFC3339),
		Data:      webhookPayloadData(m),
	})
	timestamp := strconv.FormatInt(c.now().Unix(), 10)
	header := http.Header{}
	header.Set("webhook-id", m.ID)
	header.Set("webhook-timestamp", timestamp)
	if key != nil {
		header.Set("webhook-signature", "v1,"+signWebhook(key, m.ID, timestamp, body))
	}
	_, err := c.sendJSON(ctx, jsonRequest{channel: "webhook", url: t.To, header: header, body: body})
	return err
}

// occurredAt is when the alert fell due, which stays the same across
// retries; now for an alert without a due time.
func (c *Channels) occurredAt(m Message) time.Time {
	if m.DueAt.IsZero() {
		return c.now()
	}
	return m.DueAt
}

// webhookPayloadData is m.Data when it is a JSON value, else the message
// itself as an object.
func webhookPayloadData(m Message) json.RawMessage {
	if len(m.Data) > 0 && json.Valid(m.Data) {
		return m.Data
	}
	d := webhookData{ID: m.ID, Category: m.Category, Subject: oneLine(m.Subject), Text: m.Text, URL: m.URL, Late: m.Late}
	if !m.DueAt.IsZero() {
		d.DueAt = m.DueAt.UTC().Format(time.RFC3339)
	}
	return encodePayload(d)
}

// signWebhook is the Standard Webhooks v1 signature.
func signWebhook(key []byte, id, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
