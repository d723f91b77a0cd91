package events

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// letters that Unicode decomposition does not reduce to a base letter.
var foldExtra = strings.NewReplacer("đ", "d", "ł", "l", "ø", "o", "ß", "ss", "æ", "ae", "œ", "oe", "ı", "i")

// FoldName reduces a name to lowercase words without diacritics, separated
// by single spaces, so that "Dačić", "dacic" and "DAČIĆ" compare equal and a
// search for a surname matches the whole word only.
func FoldName(s string) string {
	if isASCII(s) { // decomposition is the costly part; ASCII has nothing to decompose
		s = strings.ToLower(s)
	} else {
		s = foldExtra.Replace(strings.ToLower(norm.NFD.String(s)))
	}
	var b strings.Builder
	space := true
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r):
			// combining mark left by decomposition: drop it
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mc, r):
			// Mc: spacing vowel signs of Indic scripts belong to the word
			b.WriteRune(r)
			space = false
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	return strings.TrimSpace(b.String())
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
