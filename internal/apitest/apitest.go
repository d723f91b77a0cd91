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
	"net/http"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
)

// Checker checks HTTP answers against an OpenAPI 3.1 document.
type Checker struct {
	v validator.Validator
}

// New reads an OpenAPI document and checks that it is one.
func New(doc []byte) (*Checker, error) {
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("read the OpenAPI document: %w", err)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		return nil, fmt.Errorf("build the OpenAPI document: %w", errors.Join(errs...))
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		var msgs []string
		for _, e := range verrs {
			msgs = append(msgs, e.Error())
		}
		return nil, fmt.Errorf("the OpenAPI document is not valid: %s", strings.Join(msgs, "; "))
	}
	return &Checker{v: v}, nil
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
	if ok, errs := c.v.ValidateHttpResponse(req, &probe); !ok {
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
		return fmt.Errorf("%s %s answered %d (%s), which the API document does not describe: %s",
			req.Method, req.URL.Path, res.StatusCode, res.Header.Get("Content-Type"), strings.Join(msgs, "; "))
	}
	return nil
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
