package notifier

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Message is one alert rendered for one subscriber: what a channel sends.
type Message struct {
	// ID is the alert id: the same for every attempt, replica and restart.
	// Channels whose receivers can deduplicate pass it on: webhook-id,
	// Matrix txnId, the email Message-ID.
	ID       string    `json:"id"`
	Category string    `json:"kind"`           // reminder | change | digest; the wire name is historical
	Subject  string    `json:"subject"`        // one line; channels must still strip CR/LF from headers
	Text     string    `json:"text"`           // plain-text body
	HTML     string    `json:"html,omitempty"` // HTML body (email, Matrix formatted_body); may be empty
	URL      string    `json:"url,omitempty"`  // link to the meeting or visit in the API; empty for digests
	Late     bool      `json:"late,omitempty"` // due while the service was down, sent late
	DueAt    time.Time `json:"due_at"`

	// Calendar is an iCalendar object for email attachments (UID equal to
	// the feed's), with CalendarMethod REQUEST or CANCEL; nil for none.
	Calendar       []byte `json:"calendar,omitempty"`
	CalendarMethod string `json:"calendar_method,omitempty"`

	// Data is the structured alert for machine receivers (the webhook
	// payload's data member).
	Data json.RawMessage `json:"data,omitempty"`
}

// Target is where one subscriber's alerts go.
type Target struct {
	Name    string // the subscriber's name
	Channel string // email | slack | mattermost | discord | teams | telegram | matrix | ntfy | webhook
	To      string // an address, or the endpoint URL for chat channels
	Secret  string // webhook signing secret; telegram/matrix token; ntfy access token
}

// Channel delivers messages; Channels does it over every transport.
type Channel interface {
	Send(ctx context.Context, t Target, m Message) error
}

// SendError is a failed delivery, classified for the retry policy.
type SendError struct {
	// Permanent says retrying cannot help (a 4xx other than 408/429, an
	// SMTP 5xx, a rejected address): the alert goes to the dead letters.
	Permanent bool
	// RetryAfter is how long the receiver asked us to wait (Retry-After,
	// Telegram's retry_after, Matrix's retry_after_ms); 0 when it did not.
	RetryAfter time.Duration
	// Status is the HTTP status or SMTP reply code, when there was one.
	Status int
	Err    error
}

func (e *SendError) Error() string {
	class := "temporary"
	if e.Permanent {
		class = "permanent"
	}
	if e.Status != 0 {
		return fmt.Sprintf("%s failure (%d): %v", class, e.Status, e.Err)
	}
	return fmt.Sprintf("%s failure: %v", class, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }
