package calendar

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-ical"
)

// foldAll writes in through a FoldingWriter in chunks of the given sizes
// (cycled; nil means one write) and returns the output.
func foldAll(t *testing.T, in string, chunks []int) string {
	t.Helper()
	var out bytes.Buffer
	fw := NewFoldingWriter(&out)
	p := []byte(in)
	for k := 0; len(p) > 0; k++ {
		n := len(p)
		if len(chunks) > 0 {
			n = min(chunks[k%len(chunks)], len(p))
		}
		if m, err := fw.Write(p[:n]); err != nil || m != n {
			t.Fatalf("Write(%d bytes) = %d, %v", n, m, err)
		}
		p = p[n:]
	}
	if err := fw.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	return out.String()
}

// foldCheck asserts the RFC 5545 §3.1 shape of folded output and that
// unfolding it gives back want.
func foldCheck(t *testing.T, got, want string) {
	t.Helper()
	if u := strings.ReplaceAll(got, "\r\n ", ""); u != want {
		t.Fatalf("unfolded output differs from input\n got %q\nwant %q", u, want)
	}
	lines := strings.Split(got, "\r\n")
	for i, l := range lines {
		if len(l) > 75 {
			t.Errorf("line %d is %d octets: %q", i, len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("line %d is not valid UTF-8 (split sequence?): %q", i, l)
		}
		if strings.ContainsAny(l, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i, l)
		}
	}
}

func TestFoldTable(t *testing.T) {
	ascii75 := "SUMMARY:" + strings.Repeat("a", 75-len("SUMMARY:"))
	ascii76 := ascii75 + "b"
	tests := []struct {
		name string
		in   string
		want string // "" means: only check the shape and round trip
	}{
		{"empty", "", ""},
		{"short", "BEGIN:VCALENDAR\r\n", "BEGIN:VCALENDAR\r\n"},
		{"exactly 75", ascii75 + "\r\n", ascii75 + "\r\n"},
		{"76", ascii76 + "\r\n", ascii75 + "\r\n b\r\n"},
		{"75 then 74 per continuation",
			strings.Repeat("x", 75+74+3) + "\r\n",
			strings.Repeat("x", 75) + "\r\n " + strings.Repeat("x", 74) + "\r\n xxx\r\n"},
		{"several lines", "A:1\r\n" + ascii76 + "\r\nB:2\r\n", "A:1\r\n" + ascii75 + "\r\n b\r\nB:2\r\n"},
		{"bare LF becomes CRLF", "A:1\nB:2\n", "A:1\r\nB:2\r\n"},
		{"trailing partial line", "A:1\r\nB:" + strings.Repeat("z", 80),
			"A:1\r\nB:" + strings.Repeat("z", 73) + "\r\n " + strings.Repeat("z", 7)},
		// 74 ASCII + a 2-byte rune would make 76: the rune moves whole.
		{"rune at the limit", strings.Repeat("a", 74) + "ђ\r\n", strings.Repeat("a", 74) + "\r\n ђ\r\n"},
		{"4-byte rune at the limit", strings.Repeat("a", 73) + "😀\r\n", strings.Repeat("a", 73) + "\r\n 😀\r\n"},
		{"ascii 300", "DESCRIPTION:" + strings.Repeat("The quick brown fox. ", 15) + "\r\n", ""},
		{"cyrillic 300 bytes", "SUMMARY:" + strings.Repeat("Ж", 150) + "\r\n", ""},
		{"serbian diacritics", "LOCATION:" + strings.Repeat("čćžšđ ČĆŽŠĐ ", 14) + "\r\n", ""},
		{"emoji 4-byte", "SUMMARY:" + strings.Repeat("🇷🇸🤝", 25) + "\r\n", ""},
		{"mixed widths", "X:" + strings.Repeat("aЖ€😀", 30) + "\r\n", ""},
		{"invalid UTF-8 passes through", "X:\xff\xfe" + strings.Repeat("b", 80) + "\r\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := foldAll(t, tc.in, nil)
			if tc.want != "" && got != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
			if tc.name == "bare LF becomes CRLF" {
				return
			}
			if tc.name == "invalid UTF-8 passes through" {
				if u := strings.ReplaceAll(got, "\r\n ", ""); u != tc.in {
					t.Fatalf("unfolded %q", u)
				}
				return
			}
			foldCheck(t, got, tc.in)
			if strings.HasPrefix(tc.name, "cyrillic") || strings.HasPrefix(tc.name, "emoji") {
				if n := strings.Count(got, "\r\n "); n == 0 {
					t.Fatalf("long line was not folded: %q", got)
				}
			}
			// One byte at a time, and at awkward sizes, must not change a byte.
			for _, chunks := range [][]int{{1}, {2}, {3}, {5, 1, 7}, {74}, {76}} {
				if g := foldAll(t, tc.in, chunks); g != got {
					t.Fatalf("chunks %v: got %q\nwant %q", chunks, g, got)
				}
			}
		})
	}
}

// Lines fill as much of the 75 octets as the runes allow: a fold happens
// only when the next rune would not fit.
func TestFoldFillsLines(t *testing.T) {
	in := "SUMMARY:" + strings.Repeat("Ж", 150) + "\r\n"
	got := foldAll(t, in, nil)
	lines := strings.Split(strings.TrimSuffix(got, "\r\n"), "\r\n")
	for i, l := range lines[:len(lines)-1] {
		next := lines[i+1][1:] // without the leading space
		r, size := utf8.DecodeRuneInString(next)
		if r == utf8.RuneError || len(l)+size <= 75 {
			t.Errorf("line %d (%d octets) could have taken %q", i, len(l), r)
		}
		if lines[i+1][0] != ' ' {
			t.Errorf("continuation %d does not start with a space", i+1)
		}
	}
}

func TestFoldProperty(t *testing.T) {
	alphabet := []rune("abcXYZ019 :;,\\\"-ЖжЂђčćžšđČĆŽŠĐ€漢😀🇷🇸")
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 300; iter++ {
		var sb strings.Builder
		for l := rng.IntN(5); l >= 0; l-- {
			sb.WriteString("P")
			for n := rng.IntN(260); n > 0; n-- {
				sb.WriteRune(alphabet[rng.IntN(len(alphabet))])
			}
			sb.WriteString("\r\n")
		}
		in := sb.String()
		want := foldAll(t, in, nil)
		foldCheck(t, want, in)
		chunks := make([]int, 1+rng.IntN(6))
		for k := range chunks {
			chunks[k] = 1 + rng.IntN(9)
		}
		if got := foldAll(t, in, chunks); got != want {
			t.Fatalf("iteration %d, chunks %v: output depends on write sizes", iter, chunks)
		}
	}
}

type foldFailWriter struct{ n int }

func (w *foldFailWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

func TestFoldWriteError(t *testing.T) {
	fw := NewFoldingWriter(&foldFailWriter{n: 1})
	if _, err := fw.Write([]byte("A:1\r\n")); err != nil {
		t.Fatal(err)
	}
	if n, err := fw.Write([]byte("B:2\r\n")); err == nil || n != 0 {
		t.Fatalf("Write = %d, %v; want the writer's error", n, err)
	}
	if _, err := fw.Write([]byte("C")); err == nil {
		t.Fatal("error is not sticky")
	}
	if err := fw.Flush(); err == nil {
		t.Fatal("Flush lost the error")
	}
}

// go-ical's encoder writes into the FoldingWriter; go-ical's decoder reads
// the folded result back to the same values.
func TestFoldGoICalRoundTrip(t *testing.T) {
	summary := strings.Repeat("Састанак министара спољних послова Србије и Русије — čćžšđ 🤝 ", 4)
	location := strings.Repeat("Palata Srbija, Bulevar Mihajla Pupina 2, Novi Beograd; ", 3)

	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropProductID, "-//Chancery//fold test//EN")
	cal.Props.SetText(ical.PropVersion, "2.0")
	ev := ical.NewEvent()
	ev.Props.SetText(ical.PropUID, "fold-test@chancery")
	ev.Props.SetText(ical.PropDateTimeStamp, "20220822T080000Z")
	ev.Props.SetText(ical.PropSummary, summary)
	ev.Props.SetText(ical.PropLocation, location)
	cal.Children = append(cal.Children, ev.Component)

	var unfolded, folded bytes.Buffer
	if err := ical.NewEncoder(&unfolded).Encode(cal); err != nil {
		t.Fatal(err)
	}
	fw := NewFoldingWriter(&folded)
	if err := ical.NewEncoder(fw).Encode(cal); err != nil {
		t.Fatal(err)
	}
	if err := fw.Flush(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(folded.String(), "\r\n ") {
		t.Fatal("nothing was folded")
	}
	foldCheck(t, folded.String(), unfolded.String())

	got, err := ical.NewDecoder(&folded).Decode()
	if err != nil {
		t.Fatalf("decode folded output: %v", err)
	}
	evs := got.Events()
	if len(evs) != 1 {
		t.Fatalf("decoded %d events", len(evs))
	}
	for name, want := range map[string]string{ical.PropSummary: summary, ical.PropLocation: location} {
		if v, err := evs[0].Props.Text(name); err != nil || v != want {
			t.Errorf("%s = %q, %v\nwant %q", name, v, err, want)
		}
	}
}
