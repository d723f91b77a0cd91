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
	}
	for _, tt := range tests {
		err := decodeStrict([]byte(tt.body), &events.ScheduleMeeting{})
		de, ok := err.(*events.Error)
		if !ok || len(de.Fields) != 1 || de.Fields[0].Field != tt.want {
			t.Errorf("decodeStrict(%s) = %v, want one error naming %q", tt.body, err, tt.want)
		}
	}
}
