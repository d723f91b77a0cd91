package notifier

import "context"

// Slack's incoming webhooks cut a message's text at 40,000 characters;
// Mattermost's default post limit is 16,383.
const (
	slackTextLimit      = 40000
	mattermostTextLimit = 16383
)

// slackPayload is the body of a Slack or Mattermost incoming webhook.
type slackPayload struct {
	Text string `json:"text"`
	// Slack only: a reminder's link needs no preview card.
	UnfurlLinks *bool `json:"unfurl_links,omitempty"`
	UnfurlMedia *bool `json:"unfurl_media,omitempty"`
}

// sendSlack posts to a Slack incoming webhook. `to` is the webhook URL
// (https://hooks.slack.com/services/T…/B…/…); no secret. The text is
// mrkdwn: the title in bold, the text, a link to the meeting.
func (c *Channels) sendSlack(ctx context.Context, t Target, m Message) error {
	no := false
	body := slackPayload{Text: slackMarkup.render(m, slackTextLimit), UnfurlLinks: &no, UnfurlMedia: &no}
	_, err := c.sendJSON(ctx, jsonRequest{channel: "slack", url: t.To, body: encodePayload(body)})
	return err
}

// sendMattermost posts to a Mattermost incoming webhook (which takes
// Slack's JSON but Markdown text). `to` is the webhook URL
// (https://mattermost.example.org/hooks/<key>); no secret.
func (c *Channels) sendMattermost(ctx context.Context, t Target, m Message) error {
	body := slackPayload{Text: markdownMarkup.render(m, mattermostTextLimit)}
	_, err := c.sendJSON(ctx, jsonRequest{channel: "mattermost", url: t.To, body: encodePayload(body)})
	return err
}
