package api

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chancery/chancery/internal/natstest"
)

func TestABodySlowerThanTheReadTimeoutIs408LoggedAsAWarning(t *testing.T) {
	t.Parallel()
	var logs natstest.LogBuffer
	const token = "slow-body-token-0123456789"
	srv := httptest.NewUnstartedServer(New(Config{
		Tokens: []Token{{Name: "desk", Token: token, Scope: ScopeWrite}},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}))
	// The client below never sends the rest of its body: the read timeout
	// ends it, however long it is.
	srv.Config.ReadTimeout = 200 * time.Millisecond
	srv.Start()
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /api/v1/meetings HTTP/1.1\r\nHost: chancery\r\nAuthorization: Bearer "+token+
		"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"kind\": \"ta")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusRequestTimeout || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("status %d %s: %s, want a 408 problem", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	if got := logs.String(); strings.Contains(got, "level=ERROR") || !strings.Contains(got, "level=WARN") {
		t.Errorf("log = %q, want a warning and no error", got)
	}
}
