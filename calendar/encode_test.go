package calendar

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzTextPropMatchesEscapeThenFold holds the one-pass encoder to the
// reference: escapeText, then FoldingWriter.
func FuzzTextPropMatchesEscapeThenFold(f *testing.F) {
	for _, s := range []string{
		"", "Talks", "a,b;c\\d", "line\r\nBEGIN:VEVENT", "\xff\xfe", "Переговоры: " + strings.Repeat("Лавров и Вулин, ", 8),
		strings.Repeat("x", 74) + "é", "tab\there\x7f\x01", strings.Repeat(",", 80),
	} {
		f.Add("SUMMARY:", s)
		f.Add("DESCRIPTION:", s)
	}
	f.Fuzz(func(t *testing.T, name, raw string) {
		if strings.ContainsAny(name, "\r\n") {
			return
		}
		var want bytes.Buffer
		fw := NewFoldingWriter(&want)
		fw.Write([]byte(name + escapeText(raw) + "\r\n"))
		fw.Flush()
		if got := appendTextProp(nil, name, raw); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("appendTextProp(%q, %q)\n got %q\nwant %q", name, raw, got, want.Bytes())
		}
		if got, want2 := appendProp(nil, name, raw), appendLine(nil, name+raw); !strings.ContainsAny(raw, "\r\n") && !bytes.Equal(got, want2) {
			t.Fatalf("appendProp(%q, %q) = %q, want %q", name, raw, got, want2)
		}
	})
}
