package api

import (
	_ "embed"
	"net/http"
)

// openAPIDoc describes the API: every route of routes.go, what each takes
// and answers. Tests hold it and the routes to each other, and check every
// answer the tests receive against it.
//
//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the API's OpenAPI 3.1 description.
func OpenAPI() []byte { return openAPIDoc }

// openAPI makes the handler of GET /api/v1/openapi.json.
func openAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(openAPIDoc)
	})
}
