package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// A config that is not YAML at all names the line of the problem as
// FILE:LINE:, like every other config error.
func TestYAMLSyntaxErrorNamesFileAndLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	for body, line := range map[string]string{
		"nats:\n  replicas: 1\n url: x\n":                  ":2: did not find expected key",
		"feeds: []\nnotifier:\n  sweep: \"@every 30s\n":    ":3: found unexpected end of stream",
		"nats: {}\nsubscribers:\n  - name: x\n  \tto: y\n": ":3: found a tab character",
	} {
		_, err := loadText(t, p, body)
		if err == nil || !strings.HasPrefix(err.Error(), p+line) {
			t.Errorf("%q: %v; want an error starting %q", body, err, p+line)
		}
	}
}

// An email subscriber with no smtp block would send through localhost:25
// as chancery@localhost: the config loads, with a warning naming the
// subscriber and its line.
func TestEmailSubscriberWithoutSMTPIsWarnedAbout(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	cfg, err := loadText(t, p, "subscribers:\n  - {name: hook, channel: webhook, to: \"https://example.org/h\"}\n  - name: desk\n    channel: email\n    to: desk@example.org\n")
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.Warnings()
	if len(w) != 1 || !strings.HasPrefix(w[0], p+":3: subscribers[1]") || !strings.Contains(w[0], `"desk"`) || !strings.Contains(w[0], "localhost:25") {
		t.Fatalf("warnings %q; want one naming line 3, subscribers[1] \"desk\" and localhost:25", w)
	}

	if cfg, err = loadText(t, p, "notifier:\n  smtp: {host: mail.example.org, from: chancery@example.org}\nsubscribers:\n  - {name: desk, channel: email, to: desk@example.org}\n"); err != nil || len(cfg.Warnings()) != 0 {
		t.Fatalf("with an smtp block: %v, warnings %q; want none", err, cfg.Warnings())
	}
}
