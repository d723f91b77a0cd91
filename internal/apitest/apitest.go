// Package apitest holds HTTP test clients to the API's document: every
// answer a test receives through them is checked against the OpenAPI
// description (its status, content type and body), so the document cannot
// fall behind what the handlers answer.
package apitest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// Checker checks HTTP answers against an OpenAPI 3.1 document.
type Checker struct {
	v     validator.Validator
	model *v3.Document
}

// New reads an OpenAPI 3.1 document and checks that it is one.
func New(doc []byte) (*Checker, error) {
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("read the OpenAPI document: %w", err)
	}
	// 3.0 reads nullable and type differently; a 3.0 document would be
	// checked by rules it was not written for.
	if info := d.GetSpecInfo(); info.SpecFormat != datamodel.OAS31 {
		return nil, fmt.Errorf("the document is OpenAPI %q, not 3.1", info.Version)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		return nil, fmt.Errorf("build the OpenAPI document: %w", errors.Join(errs...))
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		return nil, fmt.Errorf("the OpenAPI document is not valid: %s", describe(verrs))
	}
	m, err := d.BuildV3Model() // the validator's own model, built once
	if err != nil {
		return nil, fmt.Errorf("build the OpenAPI document: %w", err)
	}
	return &Checker{v: v, model: &m.Model}, nil
}

// Check reports, as one error, how an answer to req departs from the
// document; nil when it matches. It reads res.Body and puts back a reader
// of the same bytes.
func (c *Checker) Check(req *http.Request, res *http.Response) error {
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("read the body: %w", err)
	}
	// The validator reads the body it is given; the caller gets its own.
	probe := *res
	probe.Body = io.NopCloser(bytes.NewReader(body))
	ok, errs := c.v.ValidateHttpResponse(req, &probe)
	if !ok && len(errs) == 1 && errs[0].ValidationType == helpers.PathValidation {
		if want, found := unrouted[errs[0].ValidationSubType]; found {
			errs = c.checkUnrouted(res, body, want.status, want.response)
			ok = len(errs) == 0
		}
	}
	if !ok {
		return fmt.Errorf("%s %s answered %d (%s), which the API document does not describe: %s",
			req.Method, req.URL.Path, res.StatusCode, res.Header.Get("Content-Type"), describe(errs))
	}
	return nil
}

// unrouted pairs what a request the document has no operation for must be
// answered with, by why it has none, with the document's shared response of
// that answer: an unknown path is 404, a method its path does not take 405.
var unrouted = map[string]struct {
	status   int
	response string
}{
	helpers.ValidationMissing:          {http.StatusNotFound, "NotFound"},
	helpers.ValidationMissingOperation: {http.StatusMethodNotAllowed, "MethodNotAllowed"},
}

// checkUnrouted checks an answer to a request the document has no
// operation for against the shared response components.responses[name]:
// its status, content type, headers and body.
func (c *Checker) checkUnrouted(res *http.Response, body []byte, status int, name string) []*liberrors.ValidationError {
	fail := func(format string, args ...any) []*liberrors.ValidationError {
		return []*liberrors.ValidationError{{Message: fmt.Sprintf(format, args...)}}
	}
	if res.StatusCode != status {
		return fail("a request the document has no operation for is answered %d, not %d", res.StatusCode, status)
	}
	var shared *v3.Response
	if c.model.Components != nil {
		shared = c.model.Components.Responses.GetOrZero(name)
	}
	if shared == nil {
		return fail("the document has no components.responses.%s for a %d", name, status)
	}
	mediaType, _, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	content := shared.Content.GetOrZero(mediaType)
	if err != nil || content == nil {
		return fail("components.responses.%s has no content %q", name, res.Header.Get("Content-Type"))
	}
	for header := range shared.Headers.FromOldest() {
		if res.Header.Get(header) == "" {
			return fail("no %s header, which components.responses.%s has", header, name)
		}
	}
	if content.Schema == nil {
		return nil
	}
	_, errs := schema_validation.NewSchemaValidator().ValidateSchemaBytes(content.Schema.Schema(), body)
	return errs
}

// describe joins validation errors into one line, each with its reason
// and the fields it names.
func describe(errs []*liberrors.ValidationError) string {
	var msgs []string
	for _, e := range errs {
		msg := e.Message
		if e.Reason != "" {
			msg += ": " + e.Reason
		}
		for _, se := range e.SchemaValidationErrors {
			msg += " [" + se.FieldPath + ": " + se.Reason + "]"
		}
		msgs = append(msgs, msg)
	}
	return strings.Join(msgs, "; ")
}

// Client returns an HTTP client whose every answer is checked against the
// document; a mismatch fails t, and the answer is handed on all the same.
// base is the transport to use (http.DefaultTransport when nil).
func (c *Checker) Client(t testing.TB, base http.RoundTripper) *http.Client {
	if base == nil {
		base = http.DefaultTransport
	}
	return &http.Client{Transport: checked{c: c, t: t, base: base}}
}

type checked struct {
	c    *Checker
	t    testing.TB
	base http.RoundTripper
}

func (ck checked) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := ck.base.RoundTrip(req)
	if err != nil {
		return res, err
	}
	if err := ck.c.Check(req, res); err != nil {
		ck.t.Errorf("%v", err)
	}
	return res, nil
}
