package config

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/chancery/chancery/api"
)

// tokenFile is the file in the data directory that holds the token for
// writes generated on first start, when no token is configured.
const tokenFile = "api-token"

// MinTokenLength is the shortest bearer or feed token accepted, wherever
// it comes from.
const MinTokenLength = 16

// ErrShortToken is an environment's token shorter than MinTokenLength.
var ErrShortToken = fmt.Errorf("CHANCERY_API_TOKEN is shorter than %d characters", MinTokenLength)

// GatherTokens returns the bearer tokens: envToken (the value of
// CHANCERY_API_TOKEN, admin scope) and the config's api_tokens, or else the
// one in DATA/api-token, generated there on first start.
func (c *Config) GatherTokens(dataDir, envToken string, logger *slog.Logger) ([]api.Token, error) {
	tokens := c.Tokens()
	if t := strings.TrimSpace(envToken); t != "" {
		if len(t) < MinTokenLength {
			return nil, ErrShortToken
		}
		tokens = append(tokens, api.Token{Name: "env", Token: t, Scope: api.ScopeAdmin})
	}
	path := filepath.Join(dataDir, tokenFile)
	if len(tokens) > 0 {
		if _, err := os.Stat(path); err == nil {
			logger.Warn(path + " is not read: CHANCERY_API_TOKEN or the config's api_tokens give the tokens")
		}
		return tokens, nil
	}
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		logger.Info("using the API token in " + path)
		return []api.Token{{Name: "local", Token: strings.TrimSpace(string(b)), Scope: api.ScopeAdmin}}, nil
	}
	buf := make([]byte, 32)
	rand.Read(buf)
	t := base64.RawURLEncoding.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(t+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write api token: %w", err)
	}
	logger.Info("generated an API token for writes; it is in " + path)
	return []api.Token{{Name: "local", Token: t, Scope: api.ScopeAdmin}}, nil
}

// Tokens returns the API tokens of the config.
func (c *Config) Tokens() []api.Token {
	out := make([]api.Token, len(c.APITokens))
	for i, t := range c.APITokens {
		out[i] = api.Token{Name: t.Name, Token: t.Token, Scope: t.Scope}
	}
	return out
}
