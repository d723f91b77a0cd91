// Package config reads and checks Chancery's YAML config file, and turns it
// into the settings of the api, calendar, notifier and projections
// packages. Every key has a default; unknown keys are errors that name the
// key and its line.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/chancery/chancery/api"
	"github.com/chancery/chancery/calendar"
	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/projections"
)

// Config is the optional YAML config file. Every key has a default; unknown
// keys are errors.
type Config struct {
	APITokens   []TokenConfig      `yaml:"api_tokens"`
	NATS        NATSConfig         `yaml:"nats"`
	Notifier    NotifierConfig     `yaml:"notifier"`
	Subscribers []SubscriberConfig `yaml:"subscribers"`
	Feeds       []FeedConfig       `yaml:"feeds"`
	Calendar    CalendarConfig     `yaml:"calendar"`
	Snapshots   SnapshotsConfig    `yaml:"snapshots"`
	Readiness   ReadinessConfig    `yaml:"readiness"`
	Limits      LimitsConfig       `yaml:"limits"`

	warnings []string
}

// ReadinessConfig says when /readyz answers 200.
type ReadinessConfig struct {
	// MaxLag is how long the read model may leave an event it knows of
	// unapplied and still be ready, as a Go duration ("5s"). Empty: 5s.
	MaxLag string `yaml:"max_lag"`
}

// MaxLag returns readiness.max_lag, or 0 for the default.
func (c *Config) MaxLag() time.Duration {
	d, _ := time.ParseDuration(c.Readiness.MaxLag)
	return d
}

// SnapshotsConfig bounds the point-in-time read models that ?as_of= replays:
// anyone who may read can ask for any moment. Zero takes the default.
type SnapshotsConfig struct {
	// Builds is how many moments may replay at once; a query for another
	// new one is answered 503 with Retry-After.
	Builds int `yaml:"builds"`
	// CacheMiB is the disk the kept snapshots may take together.
	CacheMiB int64 `yaml:"cache_mib"`
	// Files is how many snapshots are kept.
	Files int `yaml:"files"`
}

// CalendarConfig configures the iCalendar feeds.
type CalendarConfig struct {
	// UIDHost names this deployment in event UIDs (<id>@host). Keep it
	// stable: a changed UID is a new event to every calendar client.
	UIDHost string `yaml:"uid_host"`
	// PublicURL is where clients reach this service, for the URL of each
	// event in the feeds (and, unless notifier.public_url says otherwise,
	// the links in alerts). Empty: taken from each request's Host header.
	PublicURL string `yaml:"public_url"`
}

// TokenConfig is one bearer token.
type TokenConfig struct {
	Name  string `yaml:"name"`
	Token string `yaml:"token"`
	Scope string `yaml:"scope"`
}

// NATSConfig says where the event stream lives.
type NATSConfig struct {
	URL      string `yaml:"url"`
	Replicas int    `yaml:"replicas"`
	// ColocateLeaders keeps the leaders of the buckets and the alert stream
	// on the node that leads the event stream (default true; see
	// events.LeaderWatch).
	ColocateLeaders *bool `yaml:"colocate_leaders"`
	// WriteTimeout bounds one write to the stream, as a Go duration
	// ("10s"); a write that outlasts it (an election on a cluster, say)
	// answers 503. Empty: api.DefaultWriteTimeout.
	WriteTimeout string `yaml:"write_timeout"`
}

// WriteTimeout returns nats.write_timeout, or 0 for the default.
func (c *Config) WriteTimeout() time.Duration {
	d, _ := time.ParseDuration(c.NATS.WriteTimeout)
	return d
}

// Colocate says whether leaders are gathered on the event stream's leader.
func (n NATSConfig) Colocate() bool { return n.ColocateLeaders == nil || *n.ColocateLeaders }

// NotifierConfig configures alerts.
type NotifierConfig struct {
	Sweep          string     `yaml:"sweep"`
	Reminders      []string   `yaml:"reminders"`
	AllDayReminder string     `yaml:"all_day_reminder"`
	Digest         string     `yaml:"digest"`
	SMTP           SMTPConfig `yaml:"smtp"`
	// PublicURL is where readers of alerts reach this service: links in
	// alerts are PublicURL/api/v1/meetings/{id}.
	PublicURL string `yaml:"public_url"`
	// Templates is a directory whose reminder.txt, change.html, ... replace
	// the built-in alert templates.
	Templates string `yaml:"templates"`
	// Delivery says when an alert whose sending failed is tried again.
	Delivery DeliveryConfig `yaml:"delivery"`
}

// DeliveryConfig times the retries of the delivery queue, as Go durations.
// Empty: the defaults of notifier.QueueConfig.
type DeliveryConfig struct {
	// AckWait is how long a claimed alert may go unrefreshed before another
	// worker (a replica) takes it over from one that stopped.
	AckWait string `yaml:"ack_wait"`
	// Backoff is the pause after the first, second, ... failed attempt;
	// the last one repeats.
	Backoff []string `yaml:"backoff"`
}

// SMTPConfig is the mail relay alerts go through.
type SMTPConfig struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	From     string `yaml:"from"`
	TLS      string `yaml:"tls"`
}

// SubscriberConfig is someone who receives alerts.
type SubscriberConfig struct {
	Name       string       `yaml:"name"`
	Channel    string       `yaml:"channel"`
	To         string       `yaml:"to"`
	Secret     string       `yaml:"secret"`
	Timezone   string       `yaml:"timezone"`
	Alerts     []string     `yaml:"alerts"`
	Filter     FilterConfig `yaml:"filter"`
	QuietHours string       `yaml:"quiet_hours"`
}

// FilterConfig selects engagements.
type FilterConfig struct {
	Countries    []string `yaml:"countries"`
	Participants []string `yaml:"participants"`
	Kinds        []string `yaml:"kinds"`
}

// FeedConfig is a named calendar feed.
type FeedConfig struct {
	Name   string       `yaml:"name"`
	Filter FilterConfig `yaml:"filter"`
	Token  string       `yaml:"token"`
}

// configError names the file, line and key of a problem.
func configError(file string, line int, key, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s: %s", file, line, key, fmt.Sprintf(format, args...))
}

var feedName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// LoadConfig reads, expands and validates a config file. ${NAME} is
// replaced by the environment variable NAME inside each scalar value, after
// parsing: a value can never add keys or change the document's structure.
func Load(path string, getenv func(string) string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return nil, syntaxError(path, err)
	}
	// Unknown keys, found in the file as written (a Node cannot be decoded
	// strictly); type errors wait until the values are expanded.
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var typeErr *yaml.TypeError
	if err := dec.Decode(&Config{}); errors.As(err, &typeErr) {
		for _, msg := range typeErr.Errors {
			if strings.Contains(msg, "not found in type") {
				return nil, errors.New(decodeProblem(path, &root, msg))
			}
		}
	} else if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	expandEnv(&root, getenv)
	cfg := &Config{}
	if len(root.Content) > 0 {
		if err := root.Decode(cfg); errors.As(err, &typeErr) && len(typeErr.Errors) > 0 {
			return nil, errors.New(decodeProblem(path, &root, typeErr.Errors[0]))
		} else if err != nil {
			return nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
		}
	}
	if err := cfg.validate(path, &root); err != nil {
		return nil, err
	}
	cfg.warn(path, &root)
	return cfg, nil
}

// yamlLine matches the line number the YAML parser puts before its message.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line ([0-9]+): `)

// syntaxError turns the parser's "yaml: line N: problem" into
// FILE:N: problem, the form of every other error here.
func syntaxError(path string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: %s", path, m[1], msg[len(m[0]):])
	}
	return fmt.Errorf("%s: %s", path, strings.TrimPrefix(msg, "yaml: "))
}

// yamlProblem matches the decoder's "line N: field x not found in type T"
// and "line N: cannot unmarshal !!str `three` into int".
var yamlProblem = regexp.MustCompile("^line ([0-9]+): (?:field (\\S+) not found in type \\S+|cannot unmarshal !!\\w+ `(.*)` into (\\S+))$")

// decodeProblem turns a decoder message into FILE:LINE: key: problem,
// naming the key by its path in the file rather than by a Go type.
func decodeProblem(path string, root *yaml.Node, msg string) string {
	m := yamlProblem.FindStringSubmatch(msg)
	if m == nil {
		return path + ": " + msg
	}
	line, _ := strconv.Atoi(m[1])
	key := keyAtLine(root, line, "")
	if key == "" {
		key = m[2]
	}
	if m[2] != "" {
		return fmt.Sprintf("%s:%d: %s: unknown key", path, line, key)
	}
	want := m[4]
	switch {
	case strings.Contains(want, "int"), strings.Contains(want, "float"):
		want = "a number"
	case want == "bool":
		want = "true or false"
	case strings.HasPrefix(want, "[]"):
		want = "a list"
	case strings.HasPrefix(want, "map") || strings.HasPrefix(want, "main."):
		want = "a mapping"
	}
	return fmt.Sprintf("%s:%d: %s: %q is not %s", path, line, key, m[3], want)
}

// keyAtLine returns the path (nats.replicas, subscribers[0].to) of the
// mapping key on line, or "".
func keyAtLine(n *yaml.Node, line int, prefix string) string {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if k := keyAtLine(c, line, prefix); k != "" {
				return k
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if prefix != "" {
				p = prefix + "." + k.Value
			}
			if k.Line == line {
				return p
			}
			if got := keyAtLine(v, line, p); got != "" {
				return got
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if got := keyAtLine(c, line, fmt.Sprintf("%s[%d]", prefix, i)); got != "" {
				return got
			}
		}
	}
	return ""
}

// expandEnv replaces ${NAME} in every scalar value of the tree (not in
// keys). A plain scalar that changed is typed again from its new text, so
// "replicas: ${REPLICAS}" becomes a number.
func expandEnv(n *yaml.Node, getenv func(string) string) {
	switch n.Kind {
	case yaml.ScalarNode:
		v := envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
			return getenv(envRef.FindStringSubmatch(m)[1])
		})
		if v != n.Value {
			n.Value = v
			if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
				n.Tag = ""
			}
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			expandEnv(n.Content[i], getenv)
		}
	default:
		for _, c := range n.Content {
			expandEnv(c, getenv)
		}
	}
}

// lineOf finds the line of a key path such as "api_tokens.0.scope" in the
// parsed document, for error messages; 0 when unknown.
func lineOf(root *yaml.Node, path ...string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, p := range path {
		switch n.Kind {
		case yaml.MappingNode:
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					line = n.Content[i].Line
					n = n.Content[i+1]
					found = true
					break
				}
			}
			if !found {
				return line
			}
		case yaml.SequenceNode:
			var i int
			fmt.Sscan(p, &i)
			if i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		default:
			return line
		}
	}
	return line
}

func (c *Config) validate(file string, root *yaml.Node) error {
	seen := map[string]bool{}
	for i, t := range c.APITokens {
		at := func(key string) (int, string) {
			return lineOf(root, "api_tokens", fmt.Sprint(i), key), fmt.Sprintf("api_tokens[%d].%s", i, key)
		}
		if t.Name == "" {
			l, k := at("name")
			return configError(file, l, k, "is required")
		}
		if t.Token == "" {
			l, k := at("token")
			return configError(file, l, k, "is empty (is its environment variable set?)")
		}
		if len(t.Token) < MinTokenLength {
			l, k := at("token")
			return configError(file, l, k, "is shorter than %d characters", MinTokenLength)
		}
		if seen[t.Token] {
			l, k := at("token")
			return configError(file, l, k, "is the same as another token's")
		}
		seen[t.Token] = true
		switch t.Scope {
		case api.ScopeRead, api.ScopeWrite, api.ScopeAdmin:
		default:
			l, k := at("scope")
			return configError(file, l, k, "%q is not one of read, write, admin", t.Scope)
		}
	}
	if c.NATS.Replicas < 0 || c.NATS.Replicas > 5 {
		return configError(file, lineOf(root, "nats", "replicas"), "nats.replicas", "must be from 1 to 5")
	}
	for _, n := range []struct {
		key string
		val int64
	}{{"builds", int64(c.Snapshots.Builds)}, {"cache_mib", c.Snapshots.CacheMiB}, {"files", int64(c.Snapshots.Files)}} {
		if n.val < 0 || n.val > 1<<20 {
			return configError(file, lineOf(root, "snapshots", n.key), "snapshots."+n.key, "must be a positive number (0 or absent: the default)")
		}
	}
	for _, d := range []struct {
		path  []string
		value string
	}{
		{[]string{"readiness", "max_lag"}, c.Readiness.MaxLag},
		{[]string{"nats", "write_timeout"}, c.NATS.WriteTimeout},
		{[]string{"notifier", "delivery", "ack_wait"}, c.Notifier.Delivery.AckWait},
	} {
		if err := checkDuration(file, root, d.value, d.path...); err != nil {
			return err
		}
	}
	for i, b := range c.Notifier.Delivery.Backoff {
		if err := checkDuration(file, root, b, "notifier", "delivery", "backoff", fmt.Sprint(i)); err != nil {
			return err
		}
	}
	if err := c.Limits.validate(file, root); err != nil {
		return err
	}
	feedNames := map[string]bool{}
	for i, f := range c.Feeds {
		at := func(key string) (int, string) {
			return lineOf(root, "feeds", fmt.Sprint(i), key), fmt.Sprintf("feeds[%d].%s", i, key)
		}
		if !feedName.MatchString(f.Name) {
			l, k := at("name")
			return configError(file, l, k, "%q must be 1 to 64 letters, digits, '-' or '_'", f.Name)
		}
		if feedNames[f.Name] {
			l, k := at("name")
			return configError(file, l, k, "%q is used by another feed", f.Name)
		}
		feedNames[f.Name] = true
		if f.Token != "" && len(f.Token) < MinTokenLength {
			l, k := at("token")
			return configError(file, l, k, "is shorter than %d characters", MinTokenLength)
		}
		if err := f.Filter.validate(file, root, "feeds", i); err != nil {
			return err
		}
		for _, l := range []struct {
			key  string
			list []string
		}{{"countries", f.Filter.Countries}, {"participants", f.Filter.Participants}, {"kinds", f.Filter.Kinds}} {
			if len(l.list) > projections.MaxFilterValues {
				return configError(file, lineOf(root, "feeds", fmt.Sprint(i), "filter", l.key), fmt.Sprintf("feeds[%d].filter.%s", i, l.key),
					"has %d values; a feed takes at most %d", len(l.list), projections.MaxFilterValues)
			}
		}
	}
	return c.validateNotifier(file, root)
}

// checkDuration checks that value, at path, is empty or a positive Go
// duration.
func checkDuration(file string, root *yaml.Node, value string, path ...string) error {
	if value == "" {
		return nil
	}
	if d, err := time.ParseDuration(value); err != nil || d <= 0 {
		key := strings.Join(path, ".")
		if n := len(path); n > 0 && strings.Trim(path[n-1], "0123456789") == "" {
			key = fmt.Sprintf("%s[%s]", strings.Join(path[:n-1], "."), path[n-1])
		}
		return configError(file, lineOf(root, path...), key, "%q must be a positive duration such as 5s", value)
	}
	return nil
}

// validate checks the filter at section[i].filter.
func (f FilterConfig) validate(file string, root *yaml.Node, section string, i int) error {
	for j, cc := range f.Countries {
		if !events.ValidCountry(cc) {
			return configError(file, lineOf(root, section, fmt.Sprint(i), "filter", "countries", fmt.Sprint(j)),
				fmt.Sprintf("%s[%d].filter.countries[%d]", section, i, j), "%q is not an ISO 3166-1 alpha-2 code", cc)
		}
	}
	for j, kd := range f.Kinds {
		if !slices.Contains(events.Kinds, kd) && kd != "visit" {
			return configError(file, lineOf(root, section, fmt.Sprint(i), "filter", "kinds", fmt.Sprint(j)),
				fmt.Sprintf("%s[%d].filter.kinds[%d]", section, i, j), "%q is not one of %s, visit", kd, strings.Join(events.Kinds, ", "))
		}
	}
	return nil
}

// calendarFeeds returns the named feeds of the config.
func (c *Config) CalendarFeeds() []calendar.Feed {
	out := make([]calendar.Feed, len(c.Feeds))
	for i, f := range c.Feeds {
		out[i] = calendar.Feed{Name: f.Name, Token: f.Token, Filter: calendar.Filter{
			Countries: f.Filter.Countries, Participants: f.Filter.Participants, Kinds: f.Filter.Kinds,
		}}
	}
	return out
}

// snapshotLimits returns the bounds of ?as_of= snapshots.
func (c *Config) SnapshotLimits() projections.SnapshotLimits {
	return projections.SnapshotLimits{Builds: c.Snapshots.Builds, CacheBytes: c.Snapshots.CacheMiB << 20, Files: c.Snapshots.Files}
}
