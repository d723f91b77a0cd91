package notifier

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
)

// ntfy turns a message over 4,096 bytes into an attachment; titles are
// kept short.
const (
	ntfyMessageLimit = 4096
	ntfyTitleLimit   = 250
)

// ntfyPayload is ntfy's "publish as JSON" body, posted to the server's
// root URL with the topic inside.
type ntfyPayload struct {
	Topic    string   `json:"topic"`
	Title    string   `json:"title"`
	Message  string   `json:"message"`
	Tags     []string `json:"tags,omitempty"`
	Priority int      `json:"priority"` // 1 min … 3 default … 5 max
	Click    string   `json:"click,omitempty"`
}

// ntfyStyles gives each alert category an emoji tag and a priority: a
// change interrupts (high), a digest does not (low).
var ntfyStyles = map[string]struct {
	tag      string
	priority int
}{
	"reminder": {"alarm_clock", 3},
	"change":   {"warning", 4},
	"digest":   {"spiral_calendar", 2},
}

// parseNtfy reads an ntfy target. `to` is the topic URL as a subscriber
// would open it: https://ntfy.sh/mytopic (or a self-hosted server, possibly
// under a path: https://example.org/ntfy/mytopic). `secret`, optional, is
// an access token (tk_…) sent as a Bearer token for protected topics.
// It returns the root URL to publish to and the topic.
func parseNtfy(t Target) (root, topic string, err error) {
	u, err := parseEndpoint(t.To)
	if err != nil {
		return "", "", err
	}
	dir, topic := path.Split(strings.TrimSuffix(u.Path, "/"))
	if topic == "" {
		return "", "", errors.New("needs the topic in the path: https://ntfy.sh/<topic>")
	}
	u.Path, u.RawPath, u.RawQuery, u.Fragment = dir, "", "", ""
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), topic, nil
}

func validateNtfyTarget(t Target) (string, error) {
	if _, _, err := parseNtfy(t); err != nil {
		return "to", err
	}
	return "", nil
}

// sendNtfy publishes the alert as JSON: title, message, an emoji tag for
// its category (and "late" when it is), a priority, and the meeting's link as
// the click action.
func (c *Channels) sendNtfy(ctx context.Context, t Target, m Message) error {
	root, topic, err := parseNtfy(t)
	if err != nil {
		return &SendError{Permanent: true, Err: fmt.Errorf("ntfy: to: %w", err)}
	}
	style, ok := ntfyStyles[m.Category]
	if !ok {
		style.priority = 3
	}
	body := ntfyPayload{
		Topic:    topic,
		Title:    truncateBytes(oneLine(m.Subject), ntfyTitleLimit),
		Message:  truncateBytes(strings.TrimSpace(m.Text), ntfyMessageLimit),
		Priority: style.priority,
		Click:    m.URL,
	}
	if body.Message == "" {
		body.Message = body.Title // ntfy would say "triggered"
	}
	if style.tag != "" {
		body.Tags = append(body.Tags, style.tag)
	}
	if m.Late {
		body.Tags = append(body.Tags, "late")
	}
	header := http.Header{}
	if t.Secret != "" {
		header.Set("Authorization", "Bearer "+t.Secret)
	}
	_, err = c.sendJSON(ctx, jsonRequest{channel: "ntfy", url: root, header: header, body: encodePayload(body)})
	return err
}
