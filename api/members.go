package api

import (
	"fmt"
	"reflect"
	"strconv"
)

// checkMembers walks a JSON body beside the Go type it decodes into and
// refuses what encoding/json would let pass without a word: a member given
// twice (the last one would silently win), a member spelt in another case
// than its field ("TITLE" would fill title), and a string with an escaped
// lone surrogate ("\ud800" would be stored as U+FFFD, not as what was
// sent). Syntax errors are left to the decoder, which words them.
func checkMembers(body []byte, t reflect.Type) error {
	w := newJSONWalk(body, t)
	for {
		s, err := w.step()
		if err != nil {
			return nil // the end, or a syntax error the decoder reports
		}
		str, isString := s.tok.(string)
		if !isString {
			continue
		}
		name := s.path
		if name == "" {
			name = "body"
		}
		if lone := loneSurrogate(s.raw); lone != "" {
			return invalid(name, "has an escaped lone surrogate "+lone+"; a UTF-16 surrogate must come in a pair")
		}
		if !s.key {
			continue
		}
		if s.level.seen[str] {
			return invalid(name, "is given more than once")
		}
		s.level.seen[str] = true
		if _, field := member(s.typ, str); field != "" && field != str {
			return invalid(name, fmt.Sprintf("is not a known field; names are case-sensitive: did you mean %q?", field))
		}
	}
}

// loneSurrogate returns the first escaped UTF-16 surrogate in a JSON string
// token that is not half of a pair ("\ud800"), or "".
func loneSurrogate(raw []byte) string {
	hex := func(i int) (rune, bool) {
		if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
		return rune(n), err == nil
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		r, ok := hex(i)
		if !ok {
			i++ // an escape of one character: skip it, it may be a backslash
			continue
		}
		switch {
		case r >= 0xd800 && r < 0xdc00:
			if lo, ok := hex(i + 6); ok && lo >= 0xdc00 && lo < 0xe000 {
				i += 11
				continue
			}
			return string(raw[i : i+6])
		case r >= 0xdc00 && r < 0xe000:
			return string(raw[i : i+6])
		}
		i += 5
	}
	return ""
}
