package notifier

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ChannelsConfig is what the channels need from the outside world.
type ChannelsConfig struct {
	SMTP SMTPConfig
	// HTTPClient sends every chat request; nil means a client of our own
	// that trusts TLS (or the system roots when TLS is nil).
	HTTPClient *http.Client
	// Now is the clock for webhook timestamps and the email Date header.
	Now func() time.Time
	// TLS holds the roots for HTTPS and SMTP servers; nil means the system's.
	// Tests use it to trust a self-signed certificate.
	TLS *tls.Config
	// MessageIDHost is the right-hand side of email Message-IDs
	// (<alert id@host>); empty means the domain of SMTP.From.
	MessageIDHost string
}

// SMTPConfig is the mail relay email alerts go through.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string // AUTH is used when set; the strongest mechanism offered wins
	Password string
	From     string // the From address, e.g. "Chancery <chancery@example.org>"
	// TLS is "starttls" (mandatory: fail rather than send in clear), "tls"
	// (implicit TLS, usually port 465) or "none". Empty means starttls.
	TLS string
}

// Channels delivers messages over every supported channel, choosing by
// Target.Channel. It is safe for concurrent use.
//
// What reaches a person once: Matrix (the alert id is the transaction id)
// and webhooks (webhook-id, for receivers that drop repeats) deduplicate a
// retry at the receiver; email carries a stable Message-ID, which some
// mailbox providers use to drop a duplicate but SMTP does not promise. The
// other channels are at-least-once: a request whose answer is lost (a
// timeout after the service accepted it) is sent again.
type Channels struct {
	smtp          SMTPConfig
	http          *http.Client
	now           func() time.Time
	tls           *tls.Config
	messageIDHost string
}

// NewChannels returns the channels with cfg's transports.
func NewChannels(cfg ChannelsConfig) *Channels {
	c := &Channels{
		smtp:          cfg.SMTP,
		http:          cfg.HTTPClient,
		now:           cfg.Now,
		tls:           cfg.TLS,
		messageIDHost: cfg.MessageIDHost,
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.http == nil {
		rt := http.DefaultTransport.(*http.Transport).Clone()
		if cfg.TLS != nil {
			rt.TLSClientConfig = cfg.TLS.Clone()
		}
		c.http = &http.Client{Transport: rt}
	}
	if c.messageIDHost == "" {
		c.messageIDHost = addressDomain(cfg.SMTP.From)
	}
	return c
}

var _ Channel = (*Channels)(nil)

// transport is how messages go out for one supported value of
// Target.Channel.
type transport struct {
	send func(c *Channels, ctx context.Context, t Target, m Message) error
	// validate checks what config check can know without sending:
	// the field at fault ("to", "secret") and why.
	validate func(t Target) (field string, err error)
}

// transports lists every channel's transport by its config name. Each
// entry's doc comment, at its send function, says what `to` and `secret`
// mean for it.
var transports = map[string]transport{
	"email":      {send: (*Channels).sendEmail, validate: validateEmailTarget},
	"slack":      {send: (*Channels).sendSlack, validate: validateEndpointTarget},
	"mattermost": {send: (*Channels).sendMattermost, validate: validateEndpointTarget},
	"discord":    {send: (*Channels).sendDiscord, validate: validateEndpointTarget},
	"teams":      {send: (*Channels).sendTeams, validate: validateEndpointTarget},
	"telegram":   {send: (*Channels).sendTelegram, validate: validateAPITarget(parseTelegram)},
	"matrix":     {send: (*Channels).sendMatrix, validate: validateAPITarget(parseMatrix)},
	"ntfy":       {send: (*Channels).sendNtfy, validate: validateNtfyTarget},
	"webhook":    {send: (*Channels).sendWebhook, validate: validateWebhookTarget},
}

// ChannelNames returns the accepted values of Target.Channel, sorted.
func ChannelNames() []string {
	names := make([]string, 0, len(transports))
	for name := range transports {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Send delivers m to t over t.Channel. A failure is always a *SendError:
// permanent when retrying cannot help (an unknown channel, a malformed
// target, a 4xx, an SMTP 5xx), temporary otherwise.
func (c *Channels) Send(ctx context.Context, t Target, m Message) error {
	tr, ok := transports[t.Channel]
	if !ok {
		return &SendError{Permanent: true, Err: fmt.Errorf("unknown channel %q", t.Channel)}
	}
	if field, err := tr.validate(t); err != nil {
		return &SendError{Permanent: true, Err: fmt.Errorf("%s target %q: %s: %w", t.Channel, t.Name, field, err)}
	}
	return tr.send(c, ctx, t, m)
}

// ValidateTarget checks a subscriber's channel, to and secret the way Send
// will read them, for `chancery config check`. It returns the config key at
// fault ("channel", "to" or "secret") with the reason.
func ValidateTarget(t Target) (field string, err error) {
	tr, ok := transports[t.Channel]
	if !ok {
		return "channel", fmt.Errorf("unknown channel %q (want one of %s)", t.Channel, strings.Join(ChannelNames(), ", "))
	}
	return tr.validate(t)
}
