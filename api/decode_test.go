package api

import (
	"testing"

	"github.com/chancery/chancery/events"
)

func TestDecodeStrictNamesTheFieldWithItsIndex(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		want string
	}{
		{`{"title": 5}`, "title"},
		{`{"participants": [{"name": "Sergey Lavrov"}, {"name": 5}]}`, "participants[1].name"},
		{`{"participants": [{"name": "a", "office": "x"}, {"office": "y"}, {"name": "b", "country": ["RS"]}]}`, "participants[2].country"},
		{`{"location": {"city": "Moscow", "country": 7}}`, "location.country"},
		{`{"participants": "Lavrov"}`, "participants"},
		{`{"participants": [{"name": "a"}, "Vulin"]}`, "participants[1]"},
		{`[1, 2]`, "body"},
		{`{"title": 1e999}`, "title"},
		{`{"participants": [{"name": "a"}, {"name": -1e999}]}`, "participants[1].name"},
		{`{"title": "a", "title": "b"}`, "title"},
		{`{"location": {"city": "a", "CITY": "b"}}`, "location.CITY"},
		{`{"Title": "a"}`, "Title"},
		{`{"participants": [{"name": "a\ud800"}]}`, "participants[0].name"},
		{`{"title": "\udfff"}`, "title"},
	}
	for _, ok := range []string{`{"title": "\ud83d\ude00 \\ud800"}`, `{"location": {"city": "a"}, "participants": [{"name": "a"}, {"name": "b"}]}`} {
		if err := decodeStrict([]byte(ok), &events.ScheduleMeeting{}); err != nil {
			t.Errorf("decodeStrict(%s) = %v, want no error", ok, err)
		}
	}
	for _, tt := range tests {
		err := decodeStrict([]byte(tt.body), &events.ScheduleMeeting{})
		de, ok := err.(*events.Error)
		if !ok || len(de.Fields) != 1 || de.Fields[0].Field != tt.want {
			t.Errorf("decodeStrict(%s) = %v, want one error naming %q", tt.body, err, tt.want)
		}
	}
}

func TestParseIfMatchTakesOneVersionInItsForms(t *testing.T) {
	t.Parallel()
	for h, want := range map[string]int{``: 0, `*`: 0, `"5"`: 5, `W/"5"`: 5, `5`: 5, ` "12" `: 12} {
		if got, err := parseIfMatch(h); err != nil || got != want {
			t.Errorf("parseIfMatch(%s) = %d, %v, want %d", h, got, err, want)
		}
	}
	for _, h := range []string{`"""5"""`, `""5""`, `"5`, `5"`, `"+5"`, `-5`, `"0"`, `""`, `"5", "6"`, `W/`, `yesterday`} {
		if _, err := parseIfMatch(h); events.ErrorCode(err) != events.EINVALID {
			t.Errorf("parseIfMatch(%s) = %v, want an invalid If-Match", h, err)
		}
	}
}
