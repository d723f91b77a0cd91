package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chancery/chancery/internal/apitest"
)

// TestOpenAPIDocumentListsEveryRouteAndNoOther holds openapi.json and
// routes.go to each other: every route (method and path) is described, and
// every described operation is a route.
func TestOpenAPIDocumentListsEveryRouteAndNoOther(t *testing.T) {
	t.Parallel()
	if _, err := apitest.New(OpenAPI()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	// Every optional part served: the feeds, the deliveries, the metrics.
	var s *Server
	startAPI(t, func(c *Config) {
		c.Metrics = http.NotFoundHandler()
		s = New(*c)
	})
	var routed []string
	for _, rt := range s.routes() {
		routed = append(routed, rt.method+" "+rt.path)
	}
	for _, r := range routed {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routed, d) {
			t.Errorf("openapi.json describes %s, which routes.go does not serve", d)
		}
	}
}

func TestOpenAPIDocumentIsServedWithoutAToken(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	r := a.Do("GET", "/api/v1/openapi.json", nil, "Authorization", "-").Must(t, http.StatusOK)
	if !bytes.Equal(r.Raw, OpenAPI()) || r.Str("openapi") != "3.1.0" {
		t.Errorf("GET /api/v1/openapi.json answered %.80s..., want the embedded OpenAPI 3.1 document", r.Raw)
	}
}
