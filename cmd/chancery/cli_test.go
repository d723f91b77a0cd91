package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chancery/chancery/internal/config"
	"github.com/chancery/chancery/internal/natstest"
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

// With tokens configured, DATA/api-token is not read: serve says so at
// start, and a 401 says where tokens come from.
func TestConfiguredTokensSayTheTokenFileIsNotRead(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "api-token"), []byte("a-token-from-an-earlier-start\n"), 0o600)
	var logs natstest.LogBuffer
	cfg := config.Config{APITokens: []config.TokenConfig{{Name: "desk", Token: "a-long-enough-secret-token", Scope: "write"}}}
	if _, err := cfg.GatherTokens(dir, "", slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), filepath.Join(dir, "api-token")+" is not read") {
		t.Errorf("log %q; want a line saying the token file is not read", logs.String())
	}

	s := startService(t, t.TempDir())
	r := s.Do("POST", "/api/v1/meetings", seedTalks(), "Authorization", "-").Must(t, 401)
	if !strings.Contains(r.Str("detail"), "api-token") || !strings.Contains(r.Str("detail"), "api_tokens") {
		t.Errorf("401 detail %q; want it to say where tokens come from", r.Str("detail"))
	}
}

func TestServeHelpNamesTheTokenVariable(t *testing.T) {
	code, out, errOut := runCLI(t, context.Background(), nil, "serve", "--help")
	if code != 0 || !strings.Contains(out+errOut, "CHANCERY_API_TOKEN") {
		t.Errorf("serve --help: exit %d, %q; want CHANCERY_API_TOKEN explained", code, out+errOut)
	}
}

func TestImportEventsHelpSaysDataIsWritten(t *testing.T) {
	_, out, errOut := runCLI(t, context.Background(), nil, "import-events", "--help")
	help := out + errOut
	i := strings.Index(help, "  -data string")
	if i < 0 {
		t.Fatalf("import-events --help has no --data: %q", help)
	}
	line := help[i:]
	line = line[:strings.Index(line, "[CHANCERY_DATA]")]
	if !strings.Contains(line, "write") || strings.Contains(line, "read") {
		t.Errorf("import-events --help says of --data: %q; want it to say the stream there is written", line)
	}
}

// A port in use is reported before the data directory, its token and the
// NATS store are made.
func TestServeOnAPortInUseCreatesNothing(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := filepath.Join(t.TempDir(), "data")
	_, err = tryStartService(t, dir, func(o *testServe) { o.http = busy.Addr().String() })
	if err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("serve on a port in use: %v; want a listen error", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the data directory was made (%v) before the port was found in use", err)
	}
}
