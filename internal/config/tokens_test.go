package config

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chancery/chancery/api"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// With no token configured, the first start generates one into
// DATA/api-token, readable by the owner only, and later starts use it.
func TestFirstStartGeneratesATokenLaterStartsReadIt(t *testing.T) {
	dir := t.TempDir()
	var c Config
	first, err := c.GatherTokens(dir, "", quiet)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 1 || len(first[0].Token) < 16 || first[0].Scope != api.ScopeAdmin {
		t.Fatalf("first start: %+v, want one generated admin token", first)
	}
	fi, err := os.Stat(filepath.Join(dir, "api-token"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("api-token: %v %v, want a file with mode 0600", fi, err)
	}
	again, err := c.GatherTokens(dir, "", quiet)
	if err != nil || len(again) != 1 || again[0].Token != first[0].Token {
		t.Errorf("second start: %+v %v, want the token of the first", again, err)
	}
}

// CHANCERY_API_TOKEN and the config's api_tokens both count, and the token
// file is then not read.
func TestConfiguredAndEnvironmentTokensReplaceTheTokenFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "api-token"), []byte("a-token-from-an-earlier-start\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Config{APITokens: []TokenConfig{{Name: "desk", Token: "a-long-enough-secret-token", Scope: api.ScopeWrite}}}
	got, err := c.GatherTokens(dir, "  an-admin-token-from-env \n", quiet)
	if err != nil {
		t.Fatal(err)
	}
	want := []api.Token{
		{Name: "desk", Token: "a-long-enough-secret-token", Scope: api.ScopeWrite},
		{Name: "env", Token: "an-admin-token-from-env", Scope: api.ScopeAdmin},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("tokens = %+v, want %+v", got, want)
	}
}

// A short token in the environment is refused, and nothing is written.
func TestShortEnvironmentTokenIsRefused(t *testing.T) {
	dir := t.TempDir()
	var c Config
	_, err := c.GatherTokens(dir, "short", quiet)
	if !errors.Is(err, ErrShortToken) || !strings.Contains(err.Error(), "CHANCERY_API_TOKEN") {
		t.Errorf("GatherTokens with a 5-character token = %v, want ErrShortToken naming CHANCERY_API_TOKEN", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "api-token")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused start wrote api-token (%v)", err)
	}
}
