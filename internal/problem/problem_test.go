package problem

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chancery/chancery/events"
)

// TestWriteKeepsAngleBrackets: a problem is read by people, in a terminal
// or a log, where \u003ctoken\u003e is noise; JSON needs no HTML escaping.
func TestWriteKeepsAngleBrackets(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	Write(rec, http.StatusUnauthorized, "Authorization: Bearer <token> & more", events.FieldError{Field: "<f>", Detail: "a > b"})
	body := rec.Body.String()
	for _, want := range []string{`"Authorization: Bearer <token> & more"`, `"<f>"`, `"a > b"`} {
		if !strings.Contains(body, want) {
			t.Errorf("body %s does not contain %s", body, want)
		}
	}
}
