package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// readBody reads a request body, refusing more than MaxBody bytes and
// anything that is not UTF-8.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(body) {
		return nil, invalid("body", "is not valid UTF-8")
	}
	return body, nil
}

// decodeStrict decodes a JSON object into v, rejecting unknown fields, so a
// misspelt field is an error instead of a silently ignored value. An empty
// body decodes as {}.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.More() {
			return invalid("body", "has data after the JSON object")
		}
		return nil
	}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := pathAt(body, te.Offset)
		if field == "" {
			field = "body"
		}
		return invalid(field, fmt.Sprintf("must be a JSON %s, not %s", jsonKind(te.Type.Kind().String()), te.Value))
	case errors.As(err, &se):
		return invalid("body", fmt.Sprintf("is not valid JSON at byte %d: %s", se.Offset, se.Error()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid(name, "is not a known field")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("body", "is truncated JSON")
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return invalid("body", err.Error())
}

// pathAt names the JSON value that ends at byte offset of body the way
// validation errors name fields: "participants[1].name". (encoding/json's
// own UnmarshalTypeError.Field leaves out array indexes.)
func pathAt(body []byte, offset int64) string {
	type level struct {
		array bool
		index int    // next element's index, in an array
		key   string // the current member's name, in an object
		inKey bool   // the next string token is a member name
	}
	var stack []level
	path := func() string {
		var b strings.Builder
		for _, l := range stack {
			if l.array {
				fmt.Fprintf(&b, "[%d]", l.index-1)
			} else {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(l.key)
			}
		}
		return b.String()
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	last := ""
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil || start >= offset {
			return last
		}
		if n := len(stack); n > 0 {
			top := &stack[n-1]
			if key, ok := tok.(string); ok && top.inKey {
				top.key, top.inKey = key, false
				continue
			}
			if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
				stack = stack[:n-1]
				if len(stack) > 0 && !stack[len(stack)-1].array {
					stack[len(stack)-1].inKey = true
				}
				continue
			}
			if top.array {
				top.index++
			}
		}
		last = path()
		switch tok {
		case json.Delim('{'):
			stack = append(stack, level{inKey: true})
		case json.Delim('['):
			stack = append(stack, level{array: true})
		default:
			if n := len(stack); n > 0 && !stack[n-1].array {
				stack[n-1].inKey = true
			}
		}
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	case "int", "int64", "uint64", "float64":
		return "number"
	}
	return goKind
}

// parseIfMatch reads an If-Match header carrying a version ETag ("3").
// It returns 0 when the header is absent or "*".
func parseIfMatch(h string) (int, error) {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return 0, nil
	}
	v, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(h, "W/"), `"`))
	if err != nil || v < 1 {
		return 0, invalid("If-Match", `must be the ETag of a version, such as "3"`)
	}
	return v, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
