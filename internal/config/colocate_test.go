package config

import (
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
		cfg, err := loadText(t, p, text)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if got := cfg.NATS.Colocate(); got != want {
			t.Errorf("%q: colocate = %v, want %v", text, got, want)
		}
	}
}
