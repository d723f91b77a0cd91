package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/notifier"
)

// validateNotifier checks the notifier and subscribers sections.
func (c *Config) validateNotifier(file string, root *yaml.Node) error {
	n := c.Notifier
	at := func(path ...string) int { return lineOf(root, path...) }
	if n.Sweep != "" {
		if _, err := cron.ParseStandard(n.Sweep); err != nil {
			return configError(file, at("notifier", "sweep"), "notifier.sweep", "%q is not a cron spec: %v", n.Sweep, err)
		}
	}
	if n.Digest != "" {
		if _, err := notifier.ParseDaily(n.Digest, time.UTC); err != nil {
			return configError(file, at("notifier", "digest"), "notifier.digest", "%v", err)
		}
	}
	for i, r := range n.Reminders {
		d, err := time.ParseDuration(r)
		if err != nil || d <= 0 || d > 30*24*time.Hour {
			return configError(file, at("notifier", "reminders", fmt.Sprint(i)), fmt.Sprintf("notifier.reminders[%d]", i),
				"%q is not a lead time such as 24h or 90m (at most 720h)", r)
		}
	}
	if n.AllDayReminder != "" {
		if _, err := notifier.ParseClock(n.AllDayReminder); err != nil {
			return configError(file, at("notifier", "all_day_reminder"), "notifier.all_day_reminder", "%v", err)
		}
	}
	if n.PublicURL != "" {
		if u, err := url.Parse(n.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return configError(file, at("notifier", "public_url"), "notifier.public_url", "%q is not an http(s) URL", n.PublicURL)
		}
	}
	if u := c.Calendar.PublicURL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return configError(file, at("calendar", "public_url"), "calendar.public_url", "%q is not an http(s) URL", u)
		}
	}
	if n.Templates != "" {
		if _, err := notifier.LoadTemplates(n.Templates); err != nil {
			return configError(file, at("notifier", "templates"), "notifier.templates", "%v", err)
		}
	}
	switch n.SMTP.TLS {
	case "", "starttls", "tls", "none":
	default:
		return configError(file, at("notifier", "smtp", "tls"), "notifier.smtp.tls", "%q is not one of starttls, tls, none", n.SMTP.TLS)
	}
	if n.SMTP.From != "" {
		if _, err := mail.ParseAddress(n.SMTP.From); err != nil {
			return configError(file, at("notifier", "smtp", "from"), "notifier.smtp.from", "%q is not a mail address: %v", n.SMTP.From, err)
		}
	}
	if n.SMTP.Port < 0 || n.SMTP.Port > 65535 {
		return configError(file, at("notifier", "smtp", "port"), "notifier.smtp.port", "must be from 1 to 65535")
	}

	names := map[string]bool{}
	for i, s := range c.Subscribers {
		key := func(k string) (int, string) {
			return at("subscribers", fmt.Sprint(i), k), fmt.Sprintf("subscribers[%d].%s", i, k)
		}
		fail := func(k, format string, args ...any) error {
			l, name := key(k)
			return configError(file, l, name, format, args...)
		}
		if !feedName.MatchString(s.Name) {
			return fail("name", "%q must be 1 to 64 letters, digits, '-' or '_'", s.Name)
		}
		if names[s.Name] {
			return fail("name", "%q is used by another subscriber", s.Name)
		}
		names[s.Name] = true
		if field, err := notifier.ValidateTarget(notifier.Target{Name: s.Name, Channel: s.Channel, To: s.To, Secret: s.Secret}); err != nil {
			return fail(field, "%v", err)
		}
		if s.Timezone != "" && !events.ValidZone(s.Timezone) {
			return fail("timezone", "%q is not an IANA time zone", s.Timezone)
		}
		for j, a := range s.Alerts {
			if !slices.Contains([]string{notifier.CategoryReminder, notifier.CategoryDigest, notifier.CategoryChange}, a) {
				return configError(file, at("subscribers", fmt.Sprint(i), "alerts", fmt.Sprint(j)),
					fmt.Sprintf("subscribers[%d].alerts[%d]", i, j), "%q is not one of reminder, digest, change", a)
			}
		}
		if s.QuietHours != "" {
			if _, err := notifier.ParseQuietHours(s.QuietHours); err != nil {
				return fail("quiet_hours", "%v", err)
			}
		}
		if err := s.Filter.validate(file, root, "subscribers", i); err != nil {
			return err
		}
	}
	return nil
}

// The mail relay of a config without notifier.smtp (see Warnings).
const (
	defaultSMTPHost = "localhost"
	defaultSMTPPort = 25
	defaultSMTPFrom = "chancery@localhost"
)

// NotifierConfig turns a checked config into the notifier's.
func (c *Config) NotifierConfig(publicURL string) (notifier.Config, notifier.ChannelsConfig, error) {
	n := c.Notifier
	cfg := notifier.Config{Sweep: n.Sweep, Digest: n.Digest, BaseURL: n.PublicURL, Queue: notifier.QueueConfig{Replicas: c.NATS.Replicas}}
	if cfg.BaseURL == "" {
		cfg.BaseURL = c.Calendar.PublicURL
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = publicURL
	}
	cfg.Queue.AckWait, _ = time.ParseDuration(n.Delivery.AckWait) // checked by validate; empty: the default
	for _, b := range n.Delivery.Backoff {
		d, _ := time.ParseDuration(b)
		cfg.Queue.Backoff = append(cfg.Queue.Backoff, d)
	}
	cfg.Rules.Reminders = notifier.DefaultReminders
	if len(n.Reminders) > 0 {
		cfg.Rules.Reminders = nil
		for _, r := range n.Reminders {
			d, _ := time.ParseDuration(r)
			cfg.Rules.Reminders = append(cfg.Rules.Reminders, d)
		}
	}
	allDay := n.AllDayReminder
	if allDay == "" {
		allDay = notifier.DefaultAllDayReminder
	}
	var err error
	if cfg.Rules.AllDayReminder, err = notifier.ParseClock(allDay); err != nil {
		return cfg, notifier.ChannelsConfig{}, err
	}
	if cfg.Templates, err = notifier.LoadTemplates(n.Templates); err != nil {
		return cfg, notifier.ChannelsConfig{}, err
	}
	for _, s := range c.Subscribers {
		sub := notifier.Subscriber{
			Target: notifier.Target{Name: s.Name, Channel: s.Channel, To: s.To, Secret: s.Secret},
			Zone:   time.UTC, Alerts: s.Alerts,
			Filter: notifier.Filter{Countries: s.Filter.Countries, Participants: s.Filter.Participants, Kinds: s.Filter.Kinds},
		}
		if s.Timezone != "" {
			if sub.Zone, err = events.LoadZone(s.Timezone); err != nil {
				return cfg, notifier.ChannelsConfig{}, err
			}
		}
		if s.QuietHours != "" {
			if sub.Quiet, err = notifier.ParseQuietHours(s.QuietHours); err != nil {
				return cfg, notifier.ChannelsConfig{}, err
			}
		}
		cfg.Subscribers = append(cfg.Subscribers, sub)
	}
	smtp := n.SMTP
	if smtp.Host == "" {
		smtp.Host = defaultSMTPHost
	}
	if smtp.Port == 0 {
		smtp.Port = defaultSMTPPort
	}
	if smtp.From == "" {
		smtp.From = defaultSMTPFrom
	}
	if smtp.TLS == "" {
		smtp.TLS = "starttls"
	}
	cfg.Invites.UIDHost = c.Calendar.UIDHost // the feeds' UIDs: one event in the reader's calendar
	if addr, err := mail.ParseAddress(smtp.From); err == nil {
		cfg.Invites.Organizer = addr.Address
	}
	host := c.Calendar.UIDHost
	if host == "" {
		host = "chancery"
	}
	return cfg, notifier.ChannelsConfig{
		SMTP:          notifier.SMTPConfig{Host: smtp.Host, Port: smtp.Port, Username: smtp.Username, Password: smtp.Password, From: smtp.From, TLS: smtp.TLS},
		MessageIDHost: host,
	}, nil
}
