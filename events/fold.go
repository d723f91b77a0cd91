package events

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// letters that Unicode decomposition does not reduce to a base letter.
var foldExtra = strings.NewReplacer("đ", "d", "ł", "l", "ø", "o", "ß", "ss", "æ", "ae", "œ", "oe", "ı", "i")

// FoldName reduces a name to lowercase words without diacritics, separated
// by single spaces, so that "Dačić", "dacic" and "DAČIĆ" compare equal and a
// search for a surname matches the whole word only.
//
// It is foldWhole done rune by rune, with what each rune below U+3000
// decomposes to computed once: every command and every replayed engagement
// folds its people's names. FuzzFoldName holds the two equal. Text that is
// not UTF-8 (never stored: decoding JSON replaces invalid bytes) goes to
// foldWhole, whose decomposition treats invalid bytes its own way.
func FoldName(s string) string {
	if !utf8.ValidString(s) {
		return foldWhole(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	space := true
	for _, r := range s {
		if r < 0x80 {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			space = foldInto(&b, r, space)
			continue
		}
		f := foldRune(r)
		if f.reorders {
			return foldWhole(s)
		}
		for _, d := range f.s {
			space = foldInto(&b, d, space)
		}
	}
	return strings.TrimSpace(b.String())
}

// foldWhole folds a whole string at once: decompose, lower-case, replace
// the letters above, then keep letters, digits and spacing marks, drop
// combining marks and make anything else one space.
func foldWhole(s string) string {
	s = foldExtra.Replace(strings.ToLower(norm.NFD.String(s)))
	var b strings.Builder
	space := true
	for _, r := range s {
		space = foldInto(&b, r, space)
	}
	return strings.TrimSpace(b.String())
}

// foldInto writes one rune of a lower-cased, decomposed name: a letter,
// digit or spacing mark as it is, a combining mark not at all, anything else
// as one space (none at the start, none twice). It returns whether the
// output now ends in a space (or is empty).
func foldInto(b *strings.Builder, r rune, space bool) bool {
	switch {
	case r < 0x80:
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			b.WriteByte(byte(r))
			return false
		}
	case unicode.Is(unicode.Mn, r):
		return space // combining mark left by decomposition: drop it
	case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mc, r):
		// Mc: spacing vowel signs of Indic scripts belong to the word
		b.WriteRune(r)
		return false
	}
	if !space {
		b.WriteByte(' ')
	}
	return true
}

// runeFold is what a rune folds to before classification: its
// decomposition, lower-cased, with foldExtra's letters replaced. reorders
// marks a decomposition holding a mark that is kept (a spacing mark) and
// has a non-zero combining class: whole-string decomposition may move it
// past its neighbours' marks, so a name with one is folded whole.
type runeFold struct {
	s        string
	reorders bool
}

// runeFolds[r-0x80] is rune r's fold, for the runes below U+3000 (Latin,
// Greek, Cyrillic, Arabic, the Indic scripts...), computed on the first
// name that needs it.
var (
	runeFoldsOnce sync.Once
	runeFolds     []runeFold
)

const runeFoldsEnd = 0x3000

func foldRune(r rune) runeFold {
	if r >= runeFoldsEnd {
		return decomposeRune(r)
	}
	runeFoldsOnce.Do(func() {
		runeFolds = make([]runeFold, runeFoldsEnd-0x80)
		for i := range runeFolds {
			runeFolds[i] = decomposeRune(rune(i + 0x80))
		}
	})
	return runeFolds[r-0x80]
}

func decomposeRune(r rune) runeFold {
	d := norm.NFD.String(string(r))
	f := runeFold{s: foldExtra.Replace(strings.ToLower(d))}
	for _, m := range d {
		if !unicode.Is(unicode.Mn, m) && norm.NFD.PropertiesString(string(m)).CCC() != 0 {
			f.reorders = true
		}
	}
	return f
}
