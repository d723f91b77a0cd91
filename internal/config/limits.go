package config

import (
	"fmt"
	"net/netip"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/chancery/chancery/api"
)

// LimitsConfig bounds how often each token, and each client address without
// one, is answered; beyond that the answer is 429 with Retry-After. Zero
// takes the default.
type LimitsConfig struct {
	// Disabled turns the limits off.
	Disabled bool       `yaml:"disabled"`
	Token    RateConfig `yaml:"token"`
	Client   RateConfig `yaml:"client"`
	// Loopback limits clients on 127.0.0.1 and ::1 as well.
	Loopback bool `yaml:"loopback"`
	// TrustedProxies are addresses or CIDR prefixes whose X-Forwarded-For
	// names the client; without them the header is ignored.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// MaxClients bounds the limiters kept in memory.
	MaxClients int `yaml:"max_clients"`
}

// RateConfig is a token bucket: Rate requests a second, Burst at once.
type RateConfig struct {
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

func (c LimitsConfig) validate(file string, root *yaml.Node) error {
	for _, n := range []struct {
		path []string
		val  float64
	}{
		{[]string{"token", "rate"}, c.Token.Rate}, {[]string{"token", "burst"}, float64(c.Token.Burst)},
		{[]string{"client", "rate"}, c.Client.Rate}, {[]string{"client", "burst"}, float64(c.Client.Burst)},
		{[]string{"max_clients"}, float64(c.MaxClients)},
	} {
		if n.val < 0 {
			return configError(file, lineOf(root, append([]string{"limits"}, n.path...)...), "limits."+strings.Join(n.path, "."),
				"must not be negative (0 or absent: the default)")
		}
	}
	for i, p := range c.TrustedProxies {
		if _, err := parsePrefix(p); err != nil {
			return configError(file, lineOf(root, "limits", "trusted_proxies", fmt.Sprint(i)), fmt.Sprintf("limits.trusted_proxies[%d]", i),
				"%q is not an IP address or CIDR prefix", p)
		}
	}
	return nil
}

// parsePrefix reads 10.0.0.0/8 or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	return p.Masked(), err
}

// apiLimits returns the limits the API applies.
func (c LimitsConfig) APILimits() api.Limits {
	l := api.Limits{
		Off:       c.Disabled,
		TokenRate: c.Token.Rate, TokenBurst: c.Token.Burst,
		ClientRate: c.Client.Rate, ClientBurst: c.Client.Burst,
		Loopback: c.Loopback, MaxClients: c.MaxClients,
	}
	for _, s := range c.TrustedProxies {
		p, _ := parsePrefix(s) // checked by validate
		l.TrustedProxies = append(l.TrustedProxies, p)
	}
	return l
}
