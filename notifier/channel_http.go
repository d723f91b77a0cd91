package notifier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// requestTimeout bounds one request to a chat service, whatever the
// caller's context allows: a hung receiver must not hold a delivery slot.
const requestTimeout = 15 * time.Second

// maxResponseBody is how much of a response is read: enough for any
// service's error document, not enough to be a problem.
const maxResponseBody = 64 << 10

// maxRetryAfter caps the wait a receiver may ask for.
const maxRetryAfter = 24 * time.Hour

// userAgent identifies Chancery to receivers.
const userAgent = "chancery"

// jsonRequest is one JSON request to a chat service.
type jsonRequest struct {
	channel string // for error messages: "slack", "matrix", ...
	method  string // POST unless set
	url     string
	header  http.Header // extra headers (Authorization, webhook-*)
	// body is the JSON document, already encoded: the webhook signs these
	// exact bytes.
	body []byte
	// retryAfter reads the service's own wait hint from an error response
	// body (Discord's retry_after, Matrix's retry_after_ms), used when the
	// answer has no Retry-After header; nil when the service has none.
	retryAfter func(body []byte) time.Duration
}

// sendJSON performs r and returns the response body of a 2xx answer. Any other
// outcome is a *SendError: 408, 429 and 5xx are temporary with the wait
// the receiver asked for, other statuses permanent, and network failures
// (including the request timeout) temporary.
func (c *Channels) sendJSON(ctx context.Context, r jsonRequest) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, r.url, bytes.NewReader(r.body))
	if err != nil {
		return nil, &SendError{Permanent: true, Err: fmt.Errorf("%s: %w", r.channel, err)}
	}
	for key, values := range r.header {
		req.Header[key] = values
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error repeats the URL, which may hold a token (Discord,
		// Slack): say what failed without it.
		return nil, &SendError{Err: fmt.Errorf("%s: %s: %w", r.channel, method, redactURLError(err))}
	}
	defer resp.Body.Close()
	// A body cut short by a read error still classifies the answer: the
	// status line has arrived.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if resp.StatusCode/100 == 2 {
		return body, nil
	}
	return nil, statusError(r.channel, resp, body, r.retryAfter, c.now())
}

// statusError classifies a non-2xx answer.
func statusError(channel string, resp *http.Response, body []byte, hint func([]byte) time.Duration, now time.Time) *SendError {
	e := &SendError{
		Status: resp.StatusCode,
		Err:    fmt.Errorf("%s: %s%s", channel, resp.Status, bodySnippet(body)),
	}
	switch {
	case resp.StatusCode == http.StatusRequestTimeout,
		resp.StatusCode == http.StatusTooManyRequests,
		resp.StatusCode >= 500:
		// The standard header wins: services that also put a wait in the
		// body agree with it (Matrix rounds it up), and Discord's body has
		// been seen in milliseconds despite its docs (discord-api-docs#4722).
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
		if e.RetryAfter == 0 && hint != nil {
			e.RetryAfter = hint(body)
		}
		// A receiver asking for days is wrong or broken; the retry
		// policy's own limits take over from a day.
		e.RetryAfter = min(e.RetryAfter, maxRetryAfter)
	default:
		e.Permanent = true
	}
	return e
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date
// (RFC 9110 §10.2.3). It returns 0 for an absent, malformed or past value.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}

// jsonWaitHint returns a retryAfter function reading a wait at a JSON path
// in an error body, counted in unit: Discord's {"retry_after": 1.5}
// (seconds), Telegram's {"parameters": {"retry_after": 3}} (seconds),
// Matrix's {"retry_after_ms": 2000}.
func jsonWaitHint(unit time.Duration, path ...string) func([]byte) time.Duration {
	return func(body []byte) time.Duration {
		var doc any
		if json.Unmarshal(body, &doc) != nil {
			return 0
		}
		for _, key := range path {
			obj, ok := doc.(map[string]any)
			if !ok {
				return 0
			}
			doc = obj[key]
		}
		n, ok := doc.(float64)
		switch {
		case !ok || n <= 0:
			return 0
		case n*float64(unit) > float64(maxRetryAfter): // would overflow a Duration
			return maxRetryAfter
		}
		return time.Duration(n * float64(unit))
	}
}

// bodySnippet is the start of an error body for the error message: what
// the service said is usually the most useful part of a failure.
func bodySnippet(body []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(body), ""))
	if s == "" {
		return ""
	}
	s = strings.Join(strings.Fields(s), " ")
	return ": " + truncateUTF16(s, 200)
}

// redactURLError drops the URL from an *url.Error: chat webhook URLs are
// credentials.
func redactURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

var (
	errNotHTTPURL    = errors.New("must be an http or https URL with a host")
	errSecretMissing = errors.New("required for this channel")
)

// parseEndpoint parses a chat channel's `to`: an absolute http or https URL
// with a host.
func parseEndpoint(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errNotHTTPURL
	}
	return u, nil
}

// validateEndpointTarget is the check for channels whose `to` is simply
// the endpoint URL and that need no secret.
func validateEndpointTarget(t Target) (string, error) {
	if _, err := parseEndpoint(t.To); err != nil {
		return "to", err
	}
	return "", nil
}

// apiTarget is a `to` of the form <API base URL>?<param>=<conversation>
// with a token in `secret` (Telegram, Matrix).
type apiTarget struct {
	base  string // scheme, host and path, without a trailing slash
	param string // the conversation: a chat id, a room id
}

// parseAPITarget reads such a target: check judges the parameter's value,
// and the secret is required. It returns the config key at fault.
func parseAPITarget(t Target, param string, check func(string) error) (apiTarget, string, error) {
	u, err := parseEndpoint(t.To)
	if err != nil {
		return apiTarget{}, "to", err
	}
	value := u.Query().Get(param)
	if err := check(value); err != nil {
		return apiTarget{}, "to", err
	}
	if t.Secret == "" {
		return apiTarget{}, "secret", errSecretMissing
	}
	u.RawQuery, u.Fragment = "", ""
	return apiTarget{base: strings.TrimSuffix(u.String(), "/"), param: value}, "", nil
}

// validateAPITarget is the check for an apiTarget channel: its parse names
// the field at fault.
func validateAPITarget(parse func(Target) (apiTarget, string, error)) func(Target) (string, error) {
	return func(t Target) (string, error) {
		_, field, err := parse(t)
		return field, err
	}
}

// encodePayload encodes v, which is always one of this package's payload
// structs and so always encodable.
func encodePayload(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("notifier: encode %T: %v", v, err))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
