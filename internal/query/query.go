// Package query checks a request's query string against the parameters its
// endpoint reads, for the API and the feeds alike, so that a misspelt
// parameter (?participants= for ?participant=) is an error instead of a
// filter silently not applied: an unfiltered answer looks like a true one.
package query

import (
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/chancery/chancery/events"
)

// Check returns an invalid-input error naming each parameter of v that is
// not in known, or nil when there is none. Parameters are named in
// alphabetical order, so the answer does not depend on map order.
func Check(v url.Values, known ...string) error {
	var unknown []string
	for name := range v {
		if !slices.Contains(known, name) {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	var f events.Fields
	for _, name := range unknown {
		f.Add(name, "is not a known query parameter; this endpoint takes %s", strings.Join(known, ", "))
	}
	return f.Err()
}

// Single returns an invalid-input error naming each of names that v gives
// more than once, for the parameters an endpoint reads one value of: a
// second value would otherwise be dropped without a word.
func Single(v url.Values, names ...string) error {
	var f events.Fields
	for _, name := range names {
		if n := len(v[name]); n > 1 {
			f.Add(name, "is given %d times; this endpoint takes one value", n)
		}
	}
	return f.Err()
}
