package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Scopes a token may have, each including the ones before it.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
	ScopeAdmin = "admin"
)

var scopeRank = map[string]int{ScopeRead: 1, ScopeWrite: 2, ScopeAdmin: 3}

// Token is a bearer token with a name (recorded as the actor of the events
// its requests cause) and a scope.
type Token struct {
	Name  string
	Token string
	Scope string
}

// authenticate returns the token a request carries, comparing in constant
// time against every configured token so timing reveals nothing.
func (s *Server) authenticate(r *http.Request) (Token, bool) {
	h := r.Header.Get("Authorization")
	scheme, given, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || given == "" {
		return Token{}, false
	}
	gs := sha256.Sum256([]byte(strings.TrimSpace(given)))
	var found Token
	match := 0
	for _, t := range s.tokens {
		ts := sha256.Sum256([]byte(t.Token))
		if subtle.ConstantTimeCompare(gs[:], ts[:]) == 1 {
			found, match = t, 1
		}
	}
	return found, match == 1
}

// require wraps h so that it runs only for a token with at least scope.
func (s *Server) require(scope string, h func(w http.ResponseWriter, r *http.Request, actor Token)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := s.callerOf(r)
		t, ok := c.token, c.authd
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="chancery"`)
			writeProblem(w, http.StatusUnauthorized, "a valid bearer token is required: Authorization: Bearer <token> (tokens come from CHANCERY_API_TOKEN and the config's api_tokens, or, when neither gives one, DATA/api-token)")
			return
		}
		if scopeRank[t.Scope] < scopeRank[scope] {
			writeProblem(w, http.StatusForbidden, "token "+t.Name+" has scope "+t.Scope+"; this needs "+scope)
			return
		}
		h(w, r, t)
	}
}
