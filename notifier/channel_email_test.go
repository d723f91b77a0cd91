package notifier

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// smtpOptions configures an in-process SMTP server.
type smtpOptions struct {
	startTLS    bool // offer STARTTLS
	implicitTLS bool // TLS from the first byte (port 465 style)
	user, pass  string
	rcptReply   error   // the answer to every RCPT TO; nil = 250
	dataReplies []error // answers to successive DATA commands; nil or past the end = 250
}

// smtpDelivery is one message the server accepted.
type smtpDelivery struct {
	From     string
	To       []string
	Data     []byte
	TLS      bool
	AuthUser string
}

// smtpServer is a real SMTP server (emersion/go-smtp) on a loopback port.
type smtpServer struct {
	host string
	port int
	opts smtpOptions

	mu        sync.Mutex
	dataCalls int
	accepted  []smtpDelivery
}

// startSMTP starts a server with a fresh self-signed certificate and
// returns it with a TLS config that trusts that certificate.
func startSMTP(t *testing.T, opts smtpOptions) (*smtpServer, *tls.Config) {
	t.Helper()
	serverTLS, clientTLS := selfSignedTLS(t)
	s := &smtpServer{opts: opts}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{server: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if opts.startTLS {
		srv.TLSConfig = serverTLS
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if opts.implicitTLS {
		l = tls.NewListener(l, serverTLS)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	host, port, _ := net.SplitHostPort(l.Addr().String())
	s.host = host
	s.port, _ = strconv.Atoi(port)
	return s, clientTLS
}

func (s *smtpServer) deliveries() []smtpDelivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpDelivery(nil), s.accepted...)
}

type smtpSession struct {
	server   *smtpServer
	conn     *smtp.Conn
	authUser string
	from     string
	to       []string
}

func (s *smtpSession) AuthMechanisms() []string {
	if s.server.opts.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != s.server.opts.user || pass != s.server.opts.pass {
			return smtp.ErrAuthFailed
		}
		s.authUser = user
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.server.opts.user != "" && s.authUser == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.server.opts.rcptReply != nil {
		return s.server.opts.rcptReply
	}
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.server.mu.Lock()
	defer s.server.mu.Unlock()
	call := s.server.dataCalls
	s.server.dataCalls++
	if call < len(s.server.opts.dataReplies) && s.server.opts.dataReplies[call] != nil {
		return s.server.opts.dataReplies[call]
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.server.accepted = append(s.server.accepted, smtpDelivery{From: s.from, To: s.to, Data: data, TLS: isTLS, AuthUser: s.authUser})
	return nil
}

func (s *smtpSession) Reset()        { s.from, s.to = "", nil }
func (s *smtpSession) Logout() error { return nil }

// selfSignedTLS makes a certificate for 127.0.0.1 and localhost: the
// server's config, and a client config whose only root is that certificate.
func selfSignedTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "chancery test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: roots}
}

// emailChannels is the Channels under test, mailing through s.
func emailChannels(s *smtpServer, roots *tls.Config, mode, user, pass string) *Channels {
	return NewChannels(ChannelsConfig{
		SMTP: SMTPConfig{Host: s.host, Port: s.port, Username: user, Password: pass,
			From: "Chancery <chancery@example.org>", TLS: mode},
		Now:           func() time.Time { return channelTestNow },
		TLS:           roots,
		MessageIDHost: "chancery.example.org",
	})
}

// deskMail is where the tests' email goes.
var deskMail = Target{Channel: "email", To: "desk@example.org"}

// sendToDesk sends m by email to the desk through a fresh server that asks
// for no TLS and no login, and returns the message that server accepted.
func sendToDesk(t *testing.T, m Message) smtpDelivery {
	t.Helper()
	srv, roots := startSMTP(t, smtpOptions{})
	if err := emailChannels(srv, roots, "none", "", "").Send(context.Background(), deskMail, m); err != nil {
		t.Fatal(err)
	}
	return srv.deliveries()[0]
}

const testInvite = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Chancery//EN\r\nMETHOD:REQUEST\r\n" +
	"BEGIN:VEVENT\r\nUID:01J5@chancery.example.org\r\nSEQUENCE:0\r\nDTSTAMP:20220821T090000Z\r\n" +
	"DTSTART;VALUE=DATE:20220822\r\nSUMMARY:Talks between Sergey Lavrov and Aleksandar Vulin\r\n" +
	"END:VEVENT\r\nEND:VCALENDAR\r\n"

// testMail is a reminder with an invite and a non-ASCII subject.
func testMail() Message {
	m := testAlert()
	m.Subject = "Переговоры: Lavrov & Vulin, Mon 22 Aug"
	m.Calendar = []byte(testInvite)
	m.CalendarMethod = "REQUEST"
	return m
}

// mailPart is one leaf of a MIME tree.
type mailPart struct {
	Path        string // the multipart types above it and its own, "mixed/alternative/text/plain"
	ContentType string // as sent
	Disposition string
	Body        string // transfer-decoded
}

// readMail parses a received message with net/mail and mime/multipart.
func readMail(t *testing.T, data []byte) (mail.Header, []mailPart) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, data)
	}
	h := textproto.MIMEHeader(msg.Header)
	return msg.Header, mailParts(t, "", h, msg.Body)
}

func mailParts(t *testing.T, path string, h textproto.MIMEHeader, body io.Reader) []mailPart {
	t.Helper()
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type %q: %v", h.Get("Content-Type"), err)
	}
	if sub, ok := strings.CutPrefix(mediaType, "multipart/"); ok {
		var parts []mailPart
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return parts
			}
			if err != nil {
				t.Fatalf("next part of %s: %v", mediaType, err)
			}
			parts = append(parts, mailParts(t, path+sub+"/", p.Header, p)...)
		}
	}
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	}
	decoded, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("decode %s: %v", mediaType, err)
	}
	return []mailPart{{Path: path + mediaType, ContentType: h.Get("Content-Type"), Disposition: h.Get("Content-Disposition"), Body: string(decoded)}}
}

// crlf is text as a mail part carries it.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestEmailDeliversTextHTMLAndInviteInEveryTLSMode(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       smtpOptions
		mode       string
		user, pass string
		wantTLS    bool
	}{
		{"plain", smtpOptions{}, "none", "", "", false},
		{"starttls", smtpOptions{startTLS: true}, "starttls", "", "", true},
		{"implicit tls", smtpOptions{implicitTLS: true}, "tls", "", "", true},
		{"starttls with auth plain", smtpOptions{startTLS: true, user: "chancery", pass: "s3cret"}, "starttls", "chancery", "s3cret", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, roots := startSMTP(t, tc.opts)
			ch := emailChannels(srv, roots, tc.mode, tc.user, tc.pass)
			err := ch.Send(context.Background(), Target{Channel: "email", To: `"Belgrade Desk" <desk@example.org>`}, testMail())
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			got := srv.deliveries()
			if len(got) != 1 {
				t.Fatalf("server accepted %d messages, want 1", len(got))
			}
			d := got[0]
			if d.From != "chancery@example.org" || !reflect.DeepEqual(d.To, []string{"desk@example.org"}) || d.TLS != tc.wantTLS || d.AuthUser != tc.user {
				t.Errorf("envelope from %q to %v, tls %v, auth %q; want chancery@example.org to [desk@example.org], tls %v, auth %q",
					d.From, d.To, d.TLS, d.AuthUser, tc.wantTLS, tc.user)
			}
			checkInviteMail(t, d.Data)
		})
	}
}

// checkInviteMail checks testMail as received: every header and part.
func checkInviteMail(t *testing.T, data []byte) {
	t.Helper()
	h, parts := readMail(t, data)
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	from, _ := mail.ParseAddress(h.Get("From"))
	to, _ := h.AddressList("To")
	date, _ := h.Date()
	for _, c := range []struct{ name, got, want string }{
		{"From", from.String(), (&mail.Address{Name: "Chancery", Address: "chancery@example.org"}).String()},
		{"To", to[0].String(), (&mail.Address{Name: "Belgrade Desk", Address: "desk@example.org"}).String()},
		{"Subject", subject, "Переговоры: Lavrov & Vulin, Mon 22 Aug"},
		{"Message-ID", h.Get("Message-ID"), "<alt_0123456789abcdef@chancery.example.org>"},
		{"Date", date.UTC().String(), channelTestNow.String()},
		{"MIME-Version", h.Get("MIME-Version"), "1.0"},
		{"Auto-Submitted", h.Get("Auto-Submitted"), "auto-generated"},
		{"User-Agent", h.Get("User-Agent"), "chancery"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	want := []mailPart{
		{Path: "mixed/alternative/text/plain", ContentType: "text/plain; charset=UTF-8", Body: crlf(wantAlertText)},
		{Path: "mixed/alternative/text/html", ContentType: "text/html; charset=UTF-8", Body: "<p>Mon 22 Aug 2022 in Moscow</p>"},
		{Path: "mixed/alternative/text/calendar", ContentType: "text/calendar; method=REQUEST; charset=UTF-8", Body: testInvite},
		{Path: "mixed/application/ics", ContentType: `application/ics; name="invite.ics"`, Disposition: `attachment; filename="invite.ics"`, Body: testInvite},
	}
	if !reflect.DeepEqual(parts, want) {
		t.Errorf("parts:\n%+v\nwant\n%+v", parts, want)
	}
}

func TestEmailWithoutInviteIsTextAndHTMLAlternative(t *testing.T) {
	m := testAlert()
	m.HTML = "" // the text, escaped, stands in
	m.Text = "Talks <moved> & relocated\nto Belgrade"
	_, parts := readMail(t, sendToDesk(t, m).Data)
	want := []mailPart{
		{Path: "alternative/text/plain", ContentType: "text/plain; charset=UTF-8", Body: "Talks <moved> & relocated\r\nto Belgrade"},
		{Path: "alternative/text/html", ContentType: "text/html; charset=UTF-8",
			Body: "<!DOCTYPE html>\r\n<html><body><p>Talks &lt;moved&gt; &amp; relocated<br>\r\nto Belgrade</p></body></html>\r\n"},
	}
	if !reflect.DeepEqual(parts, want) {
		t.Errorf("parts:\n%+v\nwant\n%+v", parts, want)
	}
}

func TestEmailCancellationCarriesMethodCancel(t *testing.T) {
	m := testMail()
	m.CalendarMethod = "cancel"
	m.Calendar = []byte(strings.Replace(testInvite, "METHOD:REQUEST", "METHOD:CANCEL", 1))
	_, parts := readMail(t, sendToDesk(t, m).Data)
	if got := parts[2].ContentType; got != "text/calendar; method=CANCEL; charset=UTF-8" {
		t.Errorf("calendar part %q, want method=CANCEL", got)
	}
}

func TestEmailSubjectCannotInjectHeaders(t *testing.T) {
	m := testAlert()
	m.Subject = "Talks\r\nBcc: everyone@example.org\r\n\r\nforged body"
	d := sendToDesk(t, m)
	h, _ := readMail(t, d.Data)
	if bcc, ok := h["Bcc"]; ok {
		t.Errorf("injected Bcc header %q", bcc)
	}
	if got, want := h.Get("Subject"), "Talks Bcc: everyone@example.org forged body"; got != want {
		t.Errorf("Subject = %q, want %q", got, want)
	}
	if !reflect.DeepEqual(d.To, []string{"desk@example.org"}) {
		t.Errorf("envelope recipients %v", d.To)
	}
}

func TestEmailTemporaryFailureThenRetryDeliversOnce(t *testing.T) {
	srv, roots := startSMTP(t, smtpOptions{dataReplies: []error{
		&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"},
	}})
	ch := emailChannels(srv, roots, "none", "", "")

	err := ch.Send(context.Background(), deskMail, testMail())
	checkSendError(t, err, false, 451, 0)
	if err := ch.Send(context.Background(), deskMail, testMail()); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got := srv.deliveries(); len(got) != 1 {
		t.Fatalf("server accepted %d messages, want exactly 1", len(got))
	}
}

func TestEmailPermanentRejectionIsNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts smtpOptions
		want int
	}{
		{"unknown recipient", smtpOptions{rcptReply: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}}, 550},
		{"content rejected", smtpOptions{dataReplies: []error{&smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Rejected"}}}, 554},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, roots := startSMTP(t, tc.opts)
			err := emailChannels(srv, roots, "none", "", "").Send(context.Background(), deskMail, testMail())
			checkSendError(t, err, true, tc.want, 0)
		})
	}
}

func TestEmailStartTLSIsMandatory(t *testing.T) {
	srv, roots := startSMTP(t, smtpOptions{}) // offers no STARTTLS
	err := emailChannels(srv, roots, "starttls", "", "").Send(context.Background(), deskMail, testMail())
	checkSendError(t, err, false, 0, 0)
	if got := srv.deliveries(); len(got) != 0 {
		t.Errorf("server accepted %d messages in clear", len(got))
	}
}

func TestEmailWrongPasswordIsPermanent(t *testing.T) {
	srv, roots := startSMTP(t, smtpOptions{startTLS: true, user: "chancery", pass: "s3cret"})
	err := emailChannels(srv, roots, "starttls", "chancery", "wrong").Send(context.Background(), deskMail, testMail())
	checkSendError(t, err, true, 535, 0)
}

func TestEmailMessageIDSidesAreDotAtoms(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{"alt_0123456789abcdef", "alt_0123456789abcdef"},
		{"rem.24h.01J5", "rem.24h.01J5"},
		{".a..b.", "%2Ea.%2Eb%2E"},
		{"a b<c>@d", "a%20b%3Cc%3E%40d"},
		{"example.org\r\nBcc: x", "example.org%0D%0ABcc%3A%20x"},
	} {
		if got := dotAtom(tc.id); got != tc.want {
			t.Errorf("dotAtom(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}
