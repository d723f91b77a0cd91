package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// jsonWalk follows a JSON text token by token and knows, for each value,
// its path as validation errors name fields ("participants[1].name") and
// the Go type it decodes into. (encoding/json's own errors leave out array
// indexes, and say nothing of members given twice or in another case.)
type jsonWalk struct {
	body  []byte
	dec   *json.Decoder
	stack []jsonLevel
	next  reflect.Type // what the next value decodes into
}

type jsonLevel struct {
	array bool
	index int          // next element's index, in an array
	key   string       // the current member's name, in an object
	inKey bool         // the next string token is a member name
	typ   reflect.Type // what this object or array decodes into; nil when not known
	seen  map[string]bool
}

// jsonStep is one token of a walk.
type jsonStep struct {
	tok   json.Token
	start int64  // where the token starts in the body (before any separator)
	raw   []byte // the token's bytes, with any separator before it
	key   bool   // a member name; path is then the member's
	close bool   // the end of an object or array
	path  string // the value's path; "" for the body itself
	typ   reflect.Type
	level *jsonLevel // the object a key belongs to
}

func newJSONWalk(body []byte, t reflect.Type) *jsonWalk {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // a number no float64 holds (1e999) is still a token
	return &jsonWalk{body: body, dec: dec, next: t}
}

// step reads the next token; the error is the decoder's, io.EOF at the end.
func (w *jsonWalk) step() (jsonStep, error) {
	start := w.dec.InputOffset()
	tok, err := w.dec.Token()
	if err != nil {
		return jsonStep{}, err
	}
	s := jsonStep{tok: tok, start: start, raw: w.body[start:w.dec.InputOffset()]}
	if n := len(w.stack); n > 0 {
		top := &w.stack[n-1]
		if key, ok := tok.(string); ok && top.inKey {
			top.key, top.inKey = key, false
			w.next, _ = member(top.typ, key)
			s.key, s.path, s.typ, s.level = true, w.path(), top.typ, top
			return s, nil
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			w.stack = w.stack[:n-1]
			if len(w.stack) > 0 && !w.stack[len(w.stack)-1].array {
				w.stack[len(w.stack)-1].inKey = true
			}
			s.close = true
			return s, nil
		}
		if top.array {
			top.index++
			w.next = elemType(top.typ)
		}
	}
	s.path, s.typ = w.path(), w.next
	switch tok {
	case json.Delim('{'):
		w.stack = append(w.stack, jsonLevel{inKey: true, typ: deref(w.next), seen: map[string]bool{}})
	case json.Delim('['):
		w.stack = append(w.stack, jsonLevel{array: true, typ: deref(w.next)})
	default:
		if n := len(w.stack); n > 0 && !w.stack[n-1].array {
			w.stack[n-1].inKey = true
		}
	}
	return s, nil
}

func (w *jsonWalk) path() string {
	var b strings.Builder
	for _, l := range w.stack {
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

// member finds the field that a member named key decodes into: its type
// and its name as the field spells it; an empty name when there is none.
// (encoding/json matches names without regard to case; so does this, to
// tell the client the spelling it meant.)
func member(t reflect.Type, key string) (reflect.Type, string) {
	if t == nil || t.Kind() != reflect.Struct {
		return nil, ""
	}
	var folded reflect.Type
	foldedName := ""
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || (!f.IsExported() && !f.Anonymous):
			continue
		case f.Anonymous && name == "" && deref(f.Type).Kind() == reflect.Struct:
			// An embedded struct's fields are the outer struct's.
			if ft, n := member(deref(f.Type), key); n == key {
				return ft, n
			} else if n != "" && foldedName == "" {
				folded, foldedName = ft, n
			}
			continue
		case name == "":
			name = f.Name
		}
		if name == key {
			return f.Type, name
		}
		if foldedName == "" && strings.EqualFold(name, key) {
			folded, foldedName = f.Type, name
		}
	}
	return folded, foldedName
}

// elemType is what the elements of an array of type t decode into.
func elemType(t reflect.Type) reflect.Type {
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		return t.Elem()
	}
	return nil
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}
