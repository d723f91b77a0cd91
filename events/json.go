package events

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	fastjson "github.com/goccy/go-json"
)

// UnmarshalJSON decodes JSON as encoding/json writes it (keys exactly as
// the struct tags spell them) to the values encoding/json.Unmarshal
// decodes, in about a third of the time: recorded events and stored
// documents are decoded once per event by every replay. It uses
// goccy/go-json for valid UTF-8 and encoding/json otherwise: given invalid
// bytes, encoding/json puts U+FFFD in their place where goccy/go-json keeps
// them, and a replay must fold an event exactly as the release that first
// projected it did. (goccy/go-json also matches a key written in another
// case less often than encoding/json; Chancery never writes one.) A text
// with a run of 19 or more digits also goes to encoding/json: goccy/go-json
// wraps a number just past an int64 or uint64 around where encoding/json
// refuses it, and an event published around Append could carry one.
// FuzzUnmarshalJSON and TestUnmarshalJSONRefusesOverflow hold it to this.
func UnmarshalJSON(data []byte, v any) error {
	if !utf8.Valid(data) || hasLongDigitRun(data) {
		return json.Unmarshal(data, v)
	}
	return fastjson.Unmarshal(data, v)
}

// hasLongDigitRun reports whether data holds 19 or more digits in a row,
// the shortest number that can overflow an int64 (in a string too: falling
// back there costs only time).
func hasLongDigitRun(data []byte) bool {
	run := 0
	for _, c := range data {
		if c-'0' < 10 {
			if run++; run >= 19 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// MarshalJSON encodes v to the bytes encoding/json.Marshal writes
// (FuzzMarshalJSON holds event payloads to that, and the read model's
// tests its documents), in a fraction of the time: every command encodes
// its events, and every replay a document for each engagement it writes.
// The one difference found, backspace and form feed written as \u0008 and
// \u000c where encoding/json writes \b and \f, is left to encoding/json:
// such a text is encoded again by it.
func MarshalJSON(v any) ([]byte, error) {
	b, err := fastjson.Marshal(v)
	if err != nil || bytes.Contains(b, []byte(`\u0008`)) || bytes.Contains(b, []byte(`\u000c`)) {
		return json.Marshal(v)
	}
	return b, nil
}
