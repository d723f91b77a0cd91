package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigCheckHelpPrintsUsageInsteadOfOpeningAFile(t *testing.T) {
	for _, args := range [][]string{{"config", "check", "--help"}, {"config", "--help"}, {"config", "check", "-h"}} {
		code, out, errOut := runCLI(t, context.Background(), nil, args...)
		if code != 0 || !strings.Contains(out+errOut, "Usage: chancery config check FILE") || strings.Contains(errOut, "no such file") {
			t.Errorf("%q: exit %d, %q %q; want exit 0 and the usage", args, code, out, errOut)
		}
	}
}

func TestConfigCheckWarnsOfAnEmailSubscriberWithoutSMTP(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte("subscribers:\n  - {name: belgrade-desk, channel: email, to: desk@example.org}\n"), 0o600)
	code, out, errOut := runCLI(t, context.Background(), nil, "config", "check", p)
	if code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("exit %d, %q %q; want exit 0 and ok", code, out, errOut)
	}
	if !strings.Contains(errOut, "warning: "+p+":2: subscribers[0]") || !strings.Contains(errOut, `"belgrade-desk"`) {
		t.Errorf("stderr %q; want a warning line naming the subscriber", errOut)
	}
}
