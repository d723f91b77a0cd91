package logging

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestFormatIsJSONOrTextAndJSONWhenNotATerminal(t *testing.T) {
	for format, wantJSON := range map[string]bool{"json": true, "text": false, "": true} { // "": a buffer is no terminal
		var buf bytes.Buffer
		New(format, &buf).Info("hello", "k", "v")
		if got := json.Valid(buf.Bytes()); got != wantJSON {
			t.Errorf("format %q wrote %q", format, buf.String())
		}
	}
}

func TestAFileIsNoTerminal(t *testing.T) {
	f, err := os.Create(t.TempDir() + "/log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if terminal(f) {
		t.Error("a regular file reads as a terminal")
	}
}

func TestQuietLogsWarningsOnly(t *testing.T) {
	var buf bytes.Buffer
	l := Quiet(&buf)
	l.Info("progress")
	l.Warn("trouble")
	if got := buf.String(); strings.Contains(got, "progress") || !strings.Contains(got, "trouble") {
		t.Errorf("quiet logger wrote %q; want the warning only", got)
	}
}
