package ghe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
)

// maxResponseBytes bounds one response body held in memory. A GraphQL page
// of 100 repositories with spec files of up to MaxSpecBytes stays below it.
const maxResponseBytes = 256 << 20

// limitTransport bounds the requests in flight across every installation,
// so that a pass does not trip GitHub's secondary rate limits. A slot is held
// from sending the request until the response headers arrive; waiting
// between retries holds none.
type limitTransport struct {
	sem  chan struct{}
	next http.RoundTripper
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	select {
	case t.sem <- struct{}{}:
	case <-req.Context().Done():
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, req.Context().Err()
	}
	defer func() { <-t.sem }()
	return t.next.RoundTrip(req)
}

// retryPolicy says how often and how long retryTransport retries.
type retryPolicy struct {
	maxRetries int
	timeout    time.Duration // per attempt, body included
	baseDelay  time.Duration // first backoff
	maxDelay   time.Duration // longest single backoff
	maxWait    time.Duration // longest wait for a rate limit to reset
}

// backoff returns the exponential backoff with jitter before retry n (0-based).
func (p retryPolicy) backoff(n int) time.Duration {
	d := p.baseDelay
	for i := 0; i < n && d < p.maxDelay; i++ {
		d *= 2
	}
	d = min(d, p.maxDelay)
	if d <= 0 {
		return 0
	}
	// Full jitter in [d/2, d].
	return d/2 + rand.N(d/2+1)
}

// retryTransport retries requests that are safe to repeat (GETs, GraphQL
// queries marked with withRetrySafe, installation token POSTs) on 5xx
// answers, timeouts, connection resets, truncated or non-JSON bodies, and
// rate limits that reset soon enough. It reads each response body in full,
// under the per-attempt timeout, and hands it on in memory.
//
// It sits outside the ghinstallation transports, so that every attempt gets
// a fresh JWT and a valid installation token, and a failed token request is
// retried like any other.
type retryTransport struct {
	policy retryPolicy
	next   http.RoundTripper
	logger *slog.Logger
}

type retrySafeKey struct{}

// withRetrySafe marks the requests made with ctx as safe to repeat (used for
// GraphQL queries, which are POSTs).
func withRetrySafe(ctx context.Context) context.Context {
	return context.WithValue(ctx, retrySafeKey{}, true)
}

func retrySafe(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	case http.MethodPost:
		if strings.HasSuffix(req.URL.Path, "/access_tokens") {
			return true
		}
		ok, _ := req.Context().Value(retrySafeKey{}).(bool)
		return ok
	}
	return false
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	safe := retrySafe(req) && (req.Body == nil || req.Body == http.NoBody || req.GetBody != nil)
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 {
			r = req.Clone(ctx)
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, fmt.Errorf("rewind request body: %w", err)
				}
				r.Body = body
			}
		}
		resp, err := t.try(r)
		if !safe || attempt >= t.policy.maxRetries || ctx.Err() != nil {
			return resp, err
		}
		wait, reason, retry := t.classify(resp, err, attempt)
		if !retry {
			return resp, err
		}
		if resp != nil {
			resp.Body.Close()
		}
		t.logger.LogAttrs(ctx, slog.LevelWarn, "retrying github request",
			slog.String("method", req.Method), slog.String("path", req.URL.Path),
			slog.Int("attempt", attempt+1), slog.String("reason", reason), slog.Duration("wait", wait))
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// try makes one attempt under the per-attempt timeout and reads the body.
func (t *retryTransport) try(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.policy.timeout)
	defer cancel()
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		var he *ghinstallation.HTTPError
		if errors.As(err, &he) && he.Response != nil && he.Response.Body != nil {
			// ghinstallation leaves the body of a failed token request open.
			he.Response.Body.Close()
		}
		if ctx.Err() != nil && req.Context().Err() == nil {
			return nil, &timeoutError{after: t.policy.timeout, err: err}
		}
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	resp.Body.Close()
	if err != nil {
		if ctx.Err() != nil && req.Context().Err() == nil {
			return nil, &timeoutError{after: t.policy.timeout, err: err}
		}
		return nil, fmt.Errorf("read response body: %w", err)
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("response body larger than %d bytes", maxResponseBytes)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// timeoutError is an attempt that ran out of its per-request timeout.
type timeoutError struct {
	after time.Duration
	err   error
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("request timed out after %s: %v", e.after, e.err)
}
func (e *timeoutError) Unwrap() error { return e.err }
func (e *timeoutError) Timeout() bool { return true }

// classify decides whether an attempt's outcome is worth another attempt and
// how long to wait first.
func (t *retryTransport) classify(resp *http.Response, err error, attempt int) (time.Duration, string, bool) {
	if err != nil {
		var he *ghinstallation.HTTPError
		if errors.As(err, &he) && he.Response != nil {
			return t.classifyStatus(he.Response, attempt, "installation token: ")
		}
		if transientError(err) {
			return t.policy.backoff(attempt), "transient error: " + errorKind(err), true
		}
		return 0, "", false
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		body, _ := peekBody(resp)
		if len(bytes.TrimSpace(body)) == 0 {
			return t.policy.backoff(attempt), "empty response body", true
		}
		if !json.Valid(body) {
			return t.policy.backoff(attempt), "response body is not JSON", true
		}
		return 0, "", false
	}
	return t.classifyStatus(resp, attempt, "")
}

func (t *retryTransport) classifyStatus(resp *http.Response, attempt int, prefix string) (time.Duration, string, bool) {
	code := resp.StatusCode
	reason := prefix + "status " + strconv.Itoa(code)
	switch {
	case code >= 500:
		if d, ok := retryAfter(resp.Header, time.Now()); ok && d <= t.policy.maxWait {
			return d, reason, true
		}
		return t.policy.backoff(attempt), reason, true
	case code == http.StatusForbidden || code == http.StatusTooManyRequests:
		d, ok := rateLimitWait(resp.Header, time.Now())
		if !ok {
			if code == http.StatusTooManyRequests {
				return t.policy.backoff(attempt), reason, true
			}
			return 0, "", false // a plain 403 is a permission problem
		}
		if d > t.policy.maxWait {
			return 0, "", false
		}
		return d, reason + " (rate limited)", true
	}
	return 0, "", false
}

// rateLimitWait reads GitHub's rate-limit headers: Retry-After (secondary
// limits) or x-ratelimit-remaining: 0 with x-ratelimit-reset (primary).
// GHES with rate limiting disabled sends neither.
func rateLimitWait(h http.Header, now time.Time) (time.Duration, bool) {
	if d, ok := retryAfter(h, now); ok {
		return d, true
	}
	if h.Get("X-Ratelimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(h.Get("X-Ratelimit-Reset"), 10, 64); err == nil {
			return max(time.Unix(reset, 0).Sub(now)+time.Second, 0), true
		}
	}
	return 0, false
}

func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		return time.Duration(secs * float64(time.Second)), true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// transientError reports whether err is a network failure that a retry may
// cure: timeouts, resets, refused connections, bodies cut short, and token
// responses that were not JSON.
func transientError(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var te *timeoutError
	var ne net.Error
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &se):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) && !strings.Contains(oe.Err.Error(), "certificate")
}

// errorKind names an error's class for logs without echoing its text, which
// for token failures may include URLs but never secrets; still, keep logs
// short.
func errorKind(err error) string {
	var te *timeoutError
	switch {
	case errors.As(err, &te):
		return "timeout"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "invalid JSON"
	}
	return "network"
}

// peekBody returns a response's (in-memory) body and puts it back.
func peekBody(resp *http.Response) ([]byte, error) {
	if resp.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return body, err
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// gqlError is one entry of a GraphQL response's "errors", with the "type"
// and "path" that githubv4's error type drops.
type gqlError struct {
	Type    string `json:"type"`
	Path    []any  `json:"path"`
	Message string `json:"message"`
}

// gqlSink receives what captureTransport saw of one GraphQL request's final
// response.
type gqlSink struct {
	status   int
	header   http.Header
	errs     []gqlError
	dataNull bool
	bodyErr  error // the body was empty or not JSON
}

type sinkKey struct{}

func withSink(ctx context.Context, s *gqlSink) context.Context {
	return context.WithValue(ctx, sinkKey{}, s)
}

// captureTransport reads each GraphQL response into the request's gqlSink
// (carried in its context) and restores the body for githubv4.
type captureTransport struct {
	next http.RoundTripper
}

func (t *captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	sink, _ := req.Context().Value(sinkKey{}).(*gqlSink)
	if err != nil || sink == nil {
		return resp, err
	}
	*sink = gqlSink{status: resp.StatusCode, header: resp.Header.Clone()}
	body, rerr := peekBody(resp)
	if rerr != nil {
		sink.bodyErr = fmt.Errorf("read body: %w", rerr)
		return resp, nil
	}
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		sink.bodyErr = fmt.Errorf("%w: empty body (status %d)", ErrInvalidResponse, resp.StatusCode)
	case !json.Valid(trimmed):
		sink.bodyErr = fmt.Errorf("%w: body is not JSON (status %d, content type %q)", ErrInvalidResponse, resp.StatusCode, resp.Header.Get("Content-Type"))
	default:
		var out struct {
			Data   json.RawMessage `json:"data"`
			Errors []gqlError      `json:"errors"`
		}
		if err := json.Unmarshal(trimmed, &out); err != nil {
			sink.bodyErr = fmt.Errorf("%w: body is not a GraphQL response (status %d)", ErrInvalidResponse, resp.StatusCode)
			break
		}
		sink.errs = out.Errors
		sink.dataNull = len(out.Data) == 0 || string(out.Data) == "null"
	}
	return resp, nil
}
