package events

import (
	"fmt"
	"strings"
	"sync"
	"unicode"
)

// SuggestCountry returns the code that v most likely means, or "": v given
// as a code in another case ("rs"), an ISO alpha-3 code ("RUS") or a
// country's name ("Russia", "Russian Federation"), matched ignoring case,
// accents, spaces and punctuation. A name that fits two codes suggests
// neither.
func SuggestCountry(v string) string {
	if up := strings.ToUpper(strings.TrimSpace(v)); ValidCountry(up) {
		return up
	}
	return countryIndex()[foldCountry(v)]
}

// countryIndex maps each folded name and alpha-3 code to its alpha-2 code,
// built once, after the tables' init.
var countryIndex = sync.OnceValue(func() map[string]string {
	index := map[string]string{}
	ambiguous := map[string]bool{}
	add := func(name, code string) {
		k := foldCountry(name)
		if prev, ok := index[k]; ok && prev != code {
			ambiguous[k] = true
		}
		index[k] = code
	}
	for code, c := range countries {
		add(c.name, code)
	}
	for _, table := range []map[string][]string{countryAlternatives, countryShortNames} {
		for code, names := range table {
			for _, n := range names {
				add(n, code)
			}
		}
	}
	for k := range ambiguous {
		delete(index, k)
	}
	return index
})

// unaccent maps the accented letters of the tables' names, and the ones
// typed for them, to the letters a keyboard without them gives.
var unaccent = strings.NewReplacer("á", "a", "à", "a", "â", "a", "ã", "a", "ä", "a", "å", "a",
	"ç", "c", "é", "e", "è", "e", "ê", "e", "ë", "e", "í", "i", "î", "i", "ï", "i",
	"ñ", "n", "ó", "o", "ô", "o", "õ", "o", "ö", "o", "ú", "u", "ü", "u", "ý", "y",
	"č", "c", "ć", "c", "š", "s", "ž", "z", "đ", "d")

// foldCountry is name lowercased, unaccented, and with only its letters and
// digits: "Côte d'Ivoire" and "cote divoire" fold alike.
func foldCountry(name string) string {
	name = unaccent.Replace(strings.ToLower(name))
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, name)
}

// UnknownCountry is the detail of a field error for v, a value that is not
// a country code, with the code it most likely means when there is one.
func UnknownCountry(v string) string {
	detail := fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 country code (two capital letters, such as RS or RU)", v)
	if code := SuggestCountry(v); code != "" {
		detail += fmt.Sprintf("; did you mean %s (%s)?", code, CountryName(code))
	}
	return detail
}
