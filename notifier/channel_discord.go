package notifier

import (
	"context"
	"fmt"
	"time"
)

// discordContentLimit is Discord's limit on a message's content.
const discordContentLimit = 2000

// discordPayload is the body of Discord's Execute Webhook.
type discordPayload struct {
	Content string `json:"content"`
	// AllowedMentions with no parse types keeps "@everyone" in a meeting
	// title from pinging a whole server.
	AllowedMentions discordMentions `json:"allowed_mentions"`
}

type discordMentions struct {
	Parse []string `json:"parse"`
}

// sendDiscord executes a Discord webhook. `to` is the webhook URL
// (https://discord.com/api/webhooks/{id}/{token}, optionally with
// ?thread_id=…); no secret. It asks for wait=true so that a 2xx means the
// message was stored, not merely queued. A 429's JSON body carries
// retry_after in seconds, which is honoured with the Retry-After header.
func (c *Channels) sendDiscord(ctx context.Context, t Target, m Message) error {
	u, err := parseEndpoint(t.To)
	if err != nil {
		return &SendError{Permanent: true, Err: fmt.Errorf("discord: to: %w", err)}
	}
	q := u.Query()
	q.Set("wait", "true")
	u.RawQuery = q.Encode()
	body := discordPayload{
		Content:         markdownMarkup.render(m, discordContentLimit),
		AllowedMentions: discordMentions{Parse: []string{}},
	}
	_, err = c.sendJSON(ctx, jsonRequest{
		channel:    "discord",
		url:        u.String(),
		body:       encodePayload(body),
		retryAfter: jsonWaitHint(time.Second, "retry_after"),
	})
	return err
}
