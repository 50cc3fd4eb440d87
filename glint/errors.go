package glint

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrNotFound is what a 404 answer matches with errors.Is: an unknown
// blueprint, entity or team.
var ErrNotFound = errors.New("glint: not found")

// ErrTooLarge is what a request body over Glint's 1 MiB limit matches with
// errors.Is, whether the client refused to send it or Glint answered 413.
var ErrTooLarge = errors.New("glint: request body too large")

// APIError is an answer from Glint that is not a success: an error status, or
// a 2xx answer whose body is not a valid success body (Code
// "invalid_response"). It never holds a token or a client secret.
type APIError struct {
	StatusCode int    // HTTP status of the answer
	Code       string // Glint's error code: "not_found", "blueprint_schema_mismatch", ...
	Message    string // Glint's message
	TraceID    string // the answer's x-trace-id header
	Method     string // the request's method
	Path       string // the request's URL path, escaped, without the query
}

// codeInvalidResponse is the Code of an APIError for a 2xx answer that is not
// a valid success body.
const codeInvalidResponse = "invalid_response"

// Error reports the request, status, code, message and trace id.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "glint: %s %s: %d", e.Method, e.Path, e.StatusCode)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	} else if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" " + t)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.TraceID != "" {
		fmt.Fprintf(&b, " (trace id %s)", e.TraceID)
	}
	return b.String()
}

// Is reports whether e is a 404 (target ErrNotFound) or a 413 (target
// ErrTooLarge).
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrTooLarge:
		return e.StatusCode == http.StatusRequestEntityTooLarge
	}
	return false
}

// tokenError is a failure to get an access token. It ends a whole operation:
// no other request can succeed without a token.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return "fetch access token: " + e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// statusOf returns the HTTP status of err's APIError, or 0.
func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

// isFatal reports whether err ends a multi-request operation (bulk upsert or
// delete) rather than belonging to the entities of one request: no token, a
// network failure or canceled context, a 401 after a fresh token, a 429 or
// 5xx after retries, or a 2xx answer that cannot be read.
func isFatal(err error) bool {
	var te *tokenError
	if errors.As(err, &te) {
		return true
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		return true
	}
	s := ae.StatusCode
	return s == http.StatusUnauthorized || s == http.StatusTooManyRequests || s >= 500 || s < 400
}
