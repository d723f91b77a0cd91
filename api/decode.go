package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// readBody reads a request body, refusing more than MaxBody bytes and
// anything that is not UTF-8.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if err != nil && !errors.As(err, &mbe) {
		return nil, errBodyUnread{err}
	}
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(body) {
		return nil, invalid("body", "is not valid UTF-8")
	}
	return body, nil
}

// errBodyUnread is a request body that did not arrive whole: the client
// sent it too slowly for the server's read timeout, or went away. The
// client's doing, not the server's: a 408 or a 400, logged as a warning.
type errBodyUnread struct{ err error }

func (e errBodyUnread) Error() string { return "read the request body: " + e.err.Error() }
func (e errBodyUnread) Unwrap() error { return e.err }

// timeout reports whether the server's read timeout ended the body.
func (e errBodyUnread) timeout() bool {
	var ne net.Error
	return errors.As(e.err, &ne) && ne.Timeout()
}

// decodeStrict decodes a JSON object into v, rejecting unknown fields, so a
// misspelt field is an error instead of a silently ignored value. An empty
// body decodes as {}.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := checkMembers(body, reflect.TypeOf(v)); err != nil {
		return err
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
// validation errors name fields: "participants[1].name".
func pathAt(body []byte, offset int64) string {
	w := newJSONWalk(body, nil)
	last := ""
	for {
		s, err := w.step()
		if err != nil || s.start >= offset {
			return last
		}
		if !s.key && !s.close {
			last = s.path
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

// parseIfMatch reads an If-Match header carrying a version ETag: "3",
// W/"3" or a bare 3. It returns 0 when the header is absent or "*".
// Anything else ("""3""", "+3", a list) is refused rather than read as
// some version it might mean.
func parseIfMatch(h string) (int, error) {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return 0, nil
	}
	tag := strings.TrimPrefix(h, "W/")
	if inner, ok := strings.CutPrefix(tag, `"`); ok {
		tag, ok = strings.CutSuffix(inner, `"`)
		if !ok {
			tag = "" // an opening quote without its closing one
		}
	}
	v, err := strconv.Atoi(tag)
	if err != nil || v < 1 || strings.Trim(tag, "0123456789") != "" {
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
