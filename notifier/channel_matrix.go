package notifier

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// matrixBodyLimit keeps an event well inside Matrix's 65,536-byte limit
// with both the plain and the HTML body in it.
const matrixBodyLimit = 24000

// matrixPayload is the content of an m.room.message event.
type matrixPayload struct {
	// MsgType is m.notice, which the spec reserves for automated messages
	// (bots must not answer them), shown like m.text by clients.
	MsgType       string `json:"msgtype"`
	Body          string `json:"body"`
	Format        string `json:"format,omitempty"`
	FormattedBody string `json:"formatted_body,omitempty"`
}

// parseMatrix reads a matrix target. `to` is the homeserver's base URL with
// the room id as a query parameter: https://matrix.example.org?room=!abc:example.org
// (a room id, not an #alias: the send endpoint takes only ids). `secret` is
// the access token of the account that posts, which must have joined the
// room.
func parseMatrix(t Target) (apiTarget, string, error) {
	return parseAPITarget(t, "room", func(room string) error {
		if !strings.HasPrefix(room, "!") || len(room) < 2 {
			return errors.New("needs ?room=<room id starting with !> after the homeserver URL")
		}
		return nil
	})
}

// sendMatrix sends the alert to a room with
// PUT {base}/_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}.
// The txnId is the alert id: a homeserver answers a repeated transaction
// of the same access token with the first event, so a retry after a lost
// answer does not post twice. M_LIMIT_EXCEEDED (429) carries
// retry_after_ms.
func (c *Channels) sendMatrix(ctx context.Context, t Target, m Message) error {
	ep, field, err := parseMatrix(t)
	if err != nil {
		return &SendError{Permanent: true, Err: fmt.Errorf("matrix: %s: %w", field, err)}
	}
	if m.ID == "" {
		return &SendError{Permanent: true, Err: errors.New("matrix: message without an id for the transaction")}
	}
	plain := oneLine(m.Subject)
	if text := strings.TrimSpace(m.Text); text != "" {
		plain += "\n\n" + text
	}
	if m.URL != "" {
		plain += "\n\n" + m.URL
	}
	body := matrixPayload{MsgType: "m.notice", Body: truncateBytes(plain, matrixBodyLimit)}
	if formatted := matrixHTML(m); len(formatted) <= matrixBodyLimit {
		// HTML cannot be cut safely; too long, it is left out and clients
		// show the plain body.
		body.Format, body.FormattedBody = "org.matrix.custom.html", formatted
	}
	header := http.Header{}
	header.Set("Authorization", "Bearer "+t.Secret)
	_, err = c.sendJSON(ctx, jsonRequest{
		channel:    "matrix",
		method:     http.MethodPut,
		url:        ep.base + "/_matrix/client/v3/rooms/" + url.PathEscape(ep.param) + "/send/m.room.message/" + url.PathEscape(m.ID),
		header:     header,
		body:       encodePayload(body),
		retryAfter: jsonWaitHint(time.Millisecond, "retry_after_ms"),
	})
	return err
}

// matrixHTML is the formatted body: the title in bold, then the message's
// HTML (from html/template, so already safe) or its escaped text, then the
// link.
func matrixHTML(m Message) string {
	var b strings.Builder
	b.WriteString("<strong>" + html.EscapeString(oneLine(m.Subject)) + "</strong>")
	switch {
	case strings.TrimSpace(m.HTML) != "":
		b.WriteString("<br>" + m.HTML)
	case strings.TrimSpace(m.Text) != "":
		b.WriteString("<br>" + strings.ReplaceAll(html.EscapeString(strings.TrimSpace(m.Text)), "\n", "<br>"))
	}
	if m.URL != "" {
		b.WriteString(`<br><a href="` + html.EscapeString(m.URL) + `">` + linkLabel + "</a>")
	}
	return b.String()
}
