package notifier

import (
	"context"
	"strings"
)

// teamsTextLimit keeps a card well inside the 28 KB a Teams message may
// take, whatever the text's script.
const teamsTextLimit = 20000

// adaptiveCardType is the attachment content type of an Adaptive Card.
const adaptiveCardType = "application/vnd.microsoft.card.adaptive"

// teamsPayload is the message a Teams Workflows webhook ("When a Teams
// webhook request is received") posts: one Adaptive Card attachment.
type teamsPayload struct {
	Type        string            `json:"type"` // "message"
	Attachments []teamsAttachment `json:"attachments"`
}

type teamsAttachment struct {
	ContentType string       `json:"contentType"`
	ContentURL  *string      `json:"contentUrl"` // always null, as Teams' own examples send it
	Content     adaptiveCard `json:"content"`
}

type adaptiveCard struct {
	Schema  string       `json:"$schema"`
	Type    string       `json:"type"` // "AdaptiveCard"
	Version string       `json:"version"`
	Body    []cardBlock  `json:"body"`
	Actions []cardAction `json:"actions,omitempty"`
}

// cardBlock is an Adaptive Card TextBlock.
type cardBlock struct {
	Type   string `json:"type"` // "TextBlock"
	Text   string `json:"text"`
	Wrap   bool   `json:"wrap"`
	Size   string `json:"size,omitempty"`
	Weight string `json:"weight,omitempty"`
}

// cardAction is an Action.OpenUrl button.
type cardAction struct {
	Type  string `json:"type"` // "Action.OpenUrl"
	Title string `json:"title"`
	URL   string `json:"url"`
}

// sendTeams posts an Adaptive Card to a Microsoft Teams Workflows webhook
// (Office 365 connectors are retired). `to` is the workflow's HTTP trigger
// URL (https://….powerplatform.com/…/invoke?…&sig=…, or
// https://prod-NN.….logic.azure.com/…); no secret: the URL's sig is the key.
func (c *Channels) sendTeams(ctx context.Context, t Target, m Message) error {
	card := adaptiveCard{
		Schema:  "http://adaptivecards.io/schemas/adaptive-card.json",
		Type:    "AdaptiveCard",
		Version: "1.4",
		Body: []cardBlock{
			{Type: "TextBlock", Text: truncateUTF16(oneLine(m.Subject), maxTitle), Wrap: true, Size: "Medium", Weight: "Bolder"},
		},
	}
	if text := strings.TrimSpace(m.Text); text != "" {
		card.Body = append(card.Body, cardBlock{Type: "TextBlock", Text: truncateBytes(text, teamsTextLimit), Wrap: true})
	}
	if m.URL != "" {
		card.Actions = []cardAction{{Type: "Action.OpenUrl", Title: linkLabel, URL: m.URL}}
	}
	body := teamsPayload{
		Type:        "message",
		Attachments: []teamsAttachment{{ContentType: adaptiveCardType, Content: card}},
	}
	_, err := c.sendJSON(ctx, jsonRequest{channel: "teams", url: t.To, body: encodePayload(body)})
	return err
}
