package events

import (
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
// case less often than encoding/json; Chancery never writes one.)
// FuzzUnmarshalJSON holds it to this.
func UnmarshalJSON(data []byte, v any) error {
	if !utf8.Valid(data) {
		return json.Unmarshal(data, v)
	}
	return fastjson.Unmarshal(data, v)
}
