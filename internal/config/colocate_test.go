package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLeadersAreColocatedUnlessTheConfigSaysNot(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	for text, want := range map[string]bool{
		"nats:\n  replicas: 3\n":                            true,
		"nats:\n  replicas: 3\n  colocate_leaders: true\n":  true,
		"nats:\n  replicas: 3\n  colocate_leaders: false\n": false,
	} {
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(p, func(string) string { return "" })
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if got := cfg.NATS.Colocate(); got != want {
			t.Errorf("%q: colocate = %v, want %v", text, got, want)
		}
	}
}
