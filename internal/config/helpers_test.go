package config

import (
	"os"
	"testing"
)

// loadText writes text to the config file at p and loads it with an empty
// environment; errors name p, so tests that check them choose it.
func loadText(t *testing.T, p, text string) (*Config, error) {
	t.Helper()
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(p, func(string) string { return "" })
}
