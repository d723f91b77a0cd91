package notifier

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// validateEmailTarget: `to` is one address or a comma-separated list
// (desk@example.org, "Belgrade Desk" <desk@example.org>); no secret.
func validateEmailTarget(t Target) (string, error) {
	list, err := mail.ParseAddressList(t.To)
	if err != nil || len(list) == 0 {
		return "to", errors.New("must be an email address or a comma-separated list of them")
	}
	return "", nil
}

// sendEmail mails the alert through the configured relay: a text and an
// HTML part (multipart/alternative), the Message-ID <alert id@host> on
// every attempt, and, when the message carries a calendar object, that
// object as a text/calendar part with its method and as invite.ics.
//
// Every header value passes through oneLine (or an address parser), so a
// title with CR/LF cannot add headers. An SMTP 4xx is a temporary
// SendError, a 5xx a permanent one, Status the reply code.
func (c *Channels) sendEmail(ctx context.Context, t Target, m Message) error {
	msg, err := c.emailMessage(t, m)
	if err != nil {
		return &SendError{Permanent: true, Err: fmt.Errorf("email: %w", err)}
	}
	client, err := c.smtpClient(ctx)
	if err != nil {
		return &SendError{Permanent: true, Err: fmt.Errorf("email: smtp config: %w", err)}
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return smtpError(err)
	}
	return nil
}

// emailMessage builds the message for t.
func (c *Channels) emailMessage(t Target, m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(c.smtp.From); err != nil {
		return nil, fmt.Errorf("smtp from %q: %w", c.smtp.From, err)
	}
	list, err := mail.ParseAddressList(t.To)
	if err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	msg.SetAddrHeaderFromMailAddress(gomail.HeaderTo, list...)
	msg.Subject(oneLine(m.Subject))
	if m.ID == "" {
		return nil, errors.New("message without an id for its Message-ID")
	}
	msg.SetMessageIDWithValue(dotAtom(m.ID) + "@" + dotAtom(c.messageIDHost))
	msg.SetDateWithValue(c.now())
	msg.SetUserAgent(userAgent)
	// RFC 3834: vacation responders must not answer.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")

	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, emailHTML(m))
	if len(m.Calendar) > 0 {
		method := calendarMethod(m.CalendarMethod)
		// Inside the alternative, mail clients offer the event to the
		// calendar (Gmail, Outlook); as invite.ics, any client can open it.
		msg.AddAlternativeString(gomail.ContentType("text/calendar; method="+method), string(m.Calendar),
			gomail.WithPartEncoding(gomail.EncodingB64))
		if err := msg.AttachReader("invite.ics", bytes.NewReader(m.Calendar),
			gomail.WithFileContentType("application/ics")); err != nil {
			return nil, fmt.Errorf("attach invite.ics: %w", err)
		}
	}
	return msg, nil
}

// smtpClient is a client for one delivery, with the TLS mode, credentials
// and a timeout that ends no later than ctx.
func (c *Channels) smtpClient(ctx context.Context) (*gomail.Client, error) {
	timeout := requestTimeout
	if deadline, ok := ctx.Deadline(); ok {
		// go-mail bounds the session with a timeout, not ctx: the first
		// deadline wins. (A cancelled ctx still ends the dial at once.)
		timeout = max(min(timeout, time.Until(deadline)), time.Millisecond)
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.tls != nil {
		tlsConfig = c.tls.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = c.smtp.Host
	}
	// The port is the configured one: go-mail's *PortPolicy options would
	// move 25 to 587 or 465 behind the operator's back.
	port := c.smtp.Port
	opts := []gomail.Option{gomail.WithTimeout(timeout), gomail.WithTLSConfig(tlsConfig)}
	switch strings.ToLower(c.smtp.TLS) {
	case "", "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case "tls":
		opts = append(opts, gomail.WithSSL())
		if port == 0 {
			port = 465
		}
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		return nil, fmt.Errorf("tls %q: want starttls, tls or none", c.smtp.TLS)
	}
	if port == 0 {
		port = 25
	}
	opts = append(opts, gomail.WithPort(port))
	if c.smtp.Username != "" {
		opts = append(opts,
			gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(c.smtp.Username),
			gomail.WithPassword(c.smtp.Password))
	}
	return gomail.NewClient(c.smtp.Host, opts...)
}

// smtpError classifies a failed SMTP session by the server's reply code:
// 4xx temporary, 5xx permanent. No reply code means the connection or TLS
// failed, which is temporary.
func smtpError(err error) *SendError {
	code := 0
	var sendErr *gomail.SendError
	var protoErr *textproto.Error
	switch {
	case errors.As(err, &sendErr):
		code = sendErr.ErrorCode()
	case errors.As(err, &protoErr):
		code = protoErr.Code
	}
	return &SendError{Permanent: code >= 500, Status: code, Err: fmt.Errorf("email: %w", err)}
}

// dotAtom makes s fit either side of a Message-ID (RFC 5322
// dot-atom-text): other characters, and dots that would start, end or
// double, become %XX, so distinct ids stay distinct and nothing (CR/LF
// above all) leaves the header.
func dotAtom(s string) string {
	// atext without %, which escapes.
	const atext = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&'*+-/=?^_`{|}~"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		dotOK := ch == '.' && i > 0 && i < len(s)-1 && s[i-1] != '.'
		if strings.IndexByte(atext, ch) >= 0 || dotOK {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

// calendarMethod is the iTIP method of an invite: REQUEST unless the alert
// says CANCEL (or another iTIP method).
func calendarMethod(method string) string {
	switch m := strings.ToUpper(strings.TrimSpace(method)); m {
	case "CANCEL", "PUBLISH", "REQUEST":
		return m
	default:
		return "REQUEST"
	}
}

// emailHTML is the message's HTML, or its text as HTML when it has none.
func emailHTML(m Message) string {
	if strings.TrimSpace(m.HTML) != "" {
		return m.HTML
	}
	text := strings.ReplaceAll(html.EscapeString(m.Text), "\n", "<br>\n")
	return "<!DOCTYPE html>\n<html><body><p>" + text + "</p></body></html>\n"
}

// addressDomain is the domain of an address ("Chancery <c@example.org>"
// gives example.org), or "localhost" when there is none.
func addressDomain(addr string) string {
	if a, err := mail.ParseAddress(addr); err == nil {
		if _, domain, ok := strings.Cut(a.Address, "@"); ok && domain != "" {
			return domain
		}
	}
	return "localhost"
}
