package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chancery/chancery/api"
)

func TestRateLimitsInTheDocsAreTheDefaults(t *testing.T) {
	raw, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct {
		key        string
		rate, want float64
	}{
		{"token", api.DefaultTokenRate, api.DefaultTokenBurst},
		{"client", api.DefaultClientRate, api.DefaultClientBurst},
	} {
		m := regexp.MustCompile(`(?m)^  ` + d.key + `: \{rate: ([0-9.]+), burst: (\d+)\}`).FindSubmatch(raw)
		if m == nil {
			t.Errorf("configuration.md does not give the default of limits.%s", d.key)
			continue
		}
		rate, _ := strconv.ParseFloat(string(m[1]), 64)
		burst, _ := strconv.ParseFloat(string(m[2]), 64)
		if rate != d.rate || burst != d.want {
			t.Errorf("configuration.md gives limits.%s %v/%v, the code %v/%v", d.key, rate, burst, d.rate, d.want)
		}
	}
	if !strings.Contains(string(raw), "max_clients: "+strconv.Itoa(api.DefaultMaxClients)+" ") {
		t.Errorf("configuration.md does not give max_clients %d", api.DefaultMaxClients)
	}
}

func TestConfigLimitsAreCheckedNamingTheKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	for body, want := range map[string]string{
		"limits:\n  token: {rate: 5, burst: -1}\n":            ":2: limits.token.burst:",
		"limits:\n  trusted_proxies: [10.0.0.1, proxy.lan]\n": ":2: limits.trusted_proxies[1]:",
		"limits:\n  clients: {rate: 1}\n":                     ":2: limits.clients: unknown key",
	} {
		if _, err := loadText(t, p, body); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", body, err, want)
		}
	}
	cfg, err := loadText(t, p, "limits:\n  token: {rate: 0.5, burst: 3}\n  loopback: true\n  trusted_proxies: [10.0.0.0/8, \"::ffff:192.0.2.1\"]\n")
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Limits.APILimits()
	if got.TokenRate != 0.5 || got.TokenBurst != 3 || !got.Loopback || len(got.TrustedProxies) != 2 ||
		got.TrustedProxies[0] != netip.MustParsePrefix("10.0.0.0/8") || got.TrustedProxies[1] != netip.MustParsePrefix("192.0.2.1/32") {
		t.Errorf("limits %+v", got)
	}
}
