package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chancery/chancery/internal/natsconn"
	"github.com/chancery/chancery/internal/natstest"
)

// get answers a GET with its status, or 0 when nothing answers.
func get(t *testing.T, url string) int {
	res, err := checkedClient(t, 0).Get(url)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// Serve started before its NATS server does not exit: it answers /healthz,
// stays unready while it waits (saying so in the log), and serves once the
// server comes up.
func TestServeWaitsForNATSThatIsNotUpYet(t *testing.T) {
	natsPort, httpPort := natstest.FreePort(t), natstest.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	serve := serveInBackground(t, map[string]string{"CHANCERY_API_TOKEN": testToken},
		"--data", t.TempDir(), "--http", fmt.Sprintf("127.0.0.1:%d", httpPort), "--nats", fmt.Sprintf("nats://127.0.0.1:%d", natsPort))

	waitUntil(20*time.Second, func() bool { return get(t, base+"/healthz") == 200 })
	if code := get(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz while waiting for NATS: %d, want 200\n%s", code, serve.stderr.String())
	}
	// Several rounds of attempts later it is still up, and still unready.
	time.Sleep(1500 * time.Millisecond)
	select {
	case code := <-serve.done:
		t.Fatalf("serve exited %d with no NATS server yet:\n%s", code, serve.stderr.String())
	default:
	}
	if code := get(t, base+"/readyz"); code != 503 {
		t.Errorf("/readyz while waiting for NATS: %d, want 503", code)
	}
	if log := serve.stderr.String(); !strings.Contains(log, "waiting for it") || !strings.Contains(log, fmt.Sprintf("127.0.0.1:%d", natsPort)) {
		t.Errorf("the log does not say serve waits for NATS at its URL:\n%s", log)
	}

	natstest.StartOn(t, "", natsPort)
	waitUntil(30*time.Second, func() bool { return get(t, base+"/readyz") == 200 })
	if code := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz once NATS is up: %d, want 200\n%s", code, serve.stderr.String())
	}
	postCall(t, base, testToken, "once NATS is up")

	serve.stop(t)
}

// The waits the operations guide promises are the ones in the code.
func TestOperationsDocGivesTheNATSWaits(t *testing.T) {
	raw, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(string(raw)), " ")
	for _, want := range []string{
		fmt.Sprintf("tries every URL again after %d ms", natsconn.ReconnectFirst.Milliseconds()),
		fmt.Sprintf("up to %d s", int(natsconn.ReconnectMax.Seconds())),
		fmt.Sprintf("tries again for %d seconds", int(toolReconnectFor.Seconds())),
		fmt.Sprintf("not back within %s", toolReconnectFor),
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/operations.md does not say %q", want)
		}
	}
}
