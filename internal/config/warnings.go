package config

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Warnings are what is allowed in the file but likely a mistake, each as
// FILE:LINE: key: why. Serve logs them; config check prints them.
func (c *Config) Warnings() []string { return c.warnings }

// warn notes what a checked config allows but likely did not mean.
func (c *Config) warn(file string, root *yaml.Node) {
	if c.Notifier.SMTP.Host != "" {
		return
	}
	for i, s := range c.Subscribers {
		if s.Channel != "email" {
			continue
		}
		c.warnings = append(c.warnings, fmt.Sprintf(
			"%s:%d: subscribers[%d]: email subscriber %q has no notifier.smtp block: its alerts go to %s:%d as %s",
			file, lineOf(root, "subscribers", fmt.Sprint(i)), i, s.Name, defaultSMTPHost, defaultSMTPPort, defaultSMTPFrom))
	}
}
