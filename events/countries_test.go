package events

import (
	"errors"
	"strings"
	"testing"
)

// TestKosovoIsACountry: XK is user-assigned, not ISO's, but in wide use
// (the EU, the IMF); a desk records engagements in Pristina with it.
func TestKosovoIsACountry(t *testing.T) {
	t.Parallel()
	if !ValidCountry("XK") || CountryName("XK") != "Kosovo" || CapitalZone("XK") != "Europe/Belgrade" {
		t.Fatalf("XK: valid %v, name %q, zone %q", ValidCountry("XK"), CountryName("XK"), CapitalZone("XK"))
	}
	var f Fields
	if got := f.country("location.country", "XK", true); got != "XK" || f.Err() != nil {
		t.Fatalf("country(XK) = %q, %v", got, f.Err())
	}
}

func TestSuggestCountryFromNamesAndCodes(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Russia":             "RU",
		"RUS":                "RU",
		"rus":                "RU",
		"russian federation": "RU",
		"rs":                 "RS",
		"Serbia":             "RS",
		"SRB":                "RS",
		"Kosovo":             "XK",
		"Côte d'Ivoire":      "CI",
		"cote divoire":       "CI",
		"Turkey":             "TR",
		"UK":                 "GB",
		"United States":      "US",
		"Holy See":           "VA",
		"Atlantis":           "",
		"":                   "",
	} {
		if got := SuggestCountry(in); got != want {
			t.Errorf("SuggestCountry(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestUnknownCountryNamesTheFieldAndSuggestsTheCode: the 400 a desk sees
// for "Russia" says what to write instead.
func TestUnknownCountryNamesTheFieldAndSuggestsTheCode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"Russia": "did you mean RU (Russian Federation)?", "RUS": "did you mean RU", "Atlantis": ""} {
		var f Fields
		f.country("location.country", in, true)
		var de *Error
		if !errors.As(f.Err(), &de) || len(de.Fields) != 1 || de.Fields[0].Field != "location.country" {
			t.Fatalf("%q: err = %v, want one error naming location.country", in, f.Err())
		}
		detail := de.Fields[0].Detail
		if !strings.Contains(detail, "is not an ISO 3166-1 alpha-2 country code") || !strings.Contains(detail, want) || (want == "" && strings.Contains(detail, "did you mean")) {
			t.Errorf("%q: detail %q, want it to say %q", in, detail, want)
		}
	}
}

// TestEveryCountryNameFoldsToItsOwnCode: a name in the tables that folded
// to another country's code would suggest the wrong one.
func TestEveryCountryNameFoldsToItsOwnCode(t *testing.T) {
	t.Parallel()
	for code, c := range countries {
		if got := SuggestCountry(c.name); got != code {
			t.Errorf("SuggestCountry(%q) = %q, want %q", c.name, got, code)
		}
	}
	for code := range countryAlternatives {
		if !ValidCountry(code) {
			t.Errorf("countryAlternatives has %s, which is no code", code)
		}
	}
	for code := range countryShortNames {
		if !ValidCountry(code) {
			t.Errorf("countryShortNames has %s, which is no code", code)
		}
	}
}
