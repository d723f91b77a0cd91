package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// telegramTextLimit is the Bot API's limit on a message's text.
const telegramTextLimit = 4096

// telegramPayload is the body of the Bot API's sendMessage.
type telegramPayload struct {
	// ChatID is a number (-1001234567890) or a channel's @username.
	ChatID             any                `json:"chat_id"`
	Text               string             `json:"text"`
	ParseMode          string             `json:"parse_mode"`
	LinkPreviewOptions linkPreviewOptions `json:"link_preview_options"`
}

type linkPreviewOptions struct {
	IsDisabled bool `json:"is_disabled"`
}

// parseTelegram reads a telegram target. `to` is the Bot API base URL with
// the chat as a query parameter: https://api.telegram.org?chat_id=-100123
// (or ?chat_id=@channelname; a self-hosted Bot API server's URL works the
// same). `secret` is the bot token from @BotFather (123456:ABC-…).
func parseTelegram(t Target) (apiTarget, string, error) {
	ep, field, err := parseAPITarget(t, "chat_id", func(chat string) error {
		if chat == "" {
			return errors.New("needs ?chat_id=<chat id or @channel> after the Bot API URL")
		}
		return nil
	})
	if err == nil && strings.ContainsAny(t.Secret, "/?#% \t\r\n") {
		return apiTarget{}, "secret", errors.New("is not a bot token (123456:ABC-…)")
	}
	return ep, field, err
}

// sendTelegram calls sendMessage at {base}/bot{token}/sendMessage with the
// alert as HTML. Flood control answers 429 with
// {"ok":false,"error_code":429,"parameters":{"retry_after":N}}; N seconds
// is the wait.
func (c *Channels) sendTelegram(ctx context.Context, t Target, m Message) error {
	ep, field, err := parseTelegram(t)
	if err != nil {
		return &SendError{Permanent: true, Err: fmt.Errorf("telegram: %s: %w", field, err)}
	}
	var chat any = ep.param
	if n, err := strconv.ParseInt(ep.param, 10, 64); err == nil {
		chat = n
	}
	body := telegramPayload{
		ChatID:             chat,
		Text:               telegramMarkup.render(m, telegramTextLimit),
		ParseMode:          "HTML",
		LinkPreviewOptions: linkPreviewOptions{IsDisabled: true},
	}
	resp, err := c.sendJSON(ctx, jsonRequest{
		channel:    "telegram",
		url:        ep.base + "/bot" + url.PathEscape(t.Secret) + "/sendMessage",
		body:       encodePayload(body),
		retryAfter: jsonWaitHint(time.Second, "parameters", "retry_after"),
	})
	if err != nil {
		return err
	}
	// Every Bot API answer says ok; a 2xx without it is not a sent message.
	var answer struct {
		OK          bool   `json:"ok"`
		Description string `json:"description"`
	}
	if json.Unmarshal(resp, &answer) != nil || !answer.OK {
		return &SendError{Err: errors.New("telegram: answer without ok: " + answer.Description)}
	}
	return nil
}
