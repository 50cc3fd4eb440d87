package glint

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is Glint's API when New is given no base URL.
const DefaultBaseURL = "https://api.useglint.io"

const (
	// maxBodyBytes is Glint's limit on request bodies; bodies are kept below it.
	maxBodyBytes = 1 << 20
	// maxResponseBytes bounds what is read of one answer.
	maxResponseBytes = 256 << 20
	// defaultUserAgent is sent on reads when WithUserAgent is not used.
	defaultUserAgent = "glint-go"
	// rateLimitEpochThreshold separates x-ratelimit-reset values that are
	// epoch seconds from ones that are seconds until the reset.
	rateLimitEpochThreshold = 1e9
)

// Client is a client of Glint's REST API. It is safe for concurrent use.
type Client struct {
	baseURL      string // without a trailing slash
	clientID     string
	clientSecret string

	base      *http.Client // the caller's client, never modified
	hc        *http.Client // base with authTransport
	tokenHC   *http.Client // base without authentication, for the token endpoint
	tokens    *tokenSource
	logger    *slog.Logger
	userAgent string

	maxRetries int
	retryBase  time.Duration
	retryMax   time.Duration
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client requests go through. Its Transport is
// wrapped, not modified; its Timeout bounds each attempt.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.base = hc }
}

// WithLogger sets the logger for failed and retried requests.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) { c.logger = l }
}

// WithUserAgent sets the User-Agent of reads and of writes whose options
// name none.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// WithRetry sets how often a request is retried after a 429, a 5xx or a
// network failure (max, 0 for never), and the exponential backoff: base for
// the first retry, doubling up to maxDelay, with jitter. maxDelay also bounds
// a wait Glint asks for with Retry-After or x-ratelimit-reset.
func WithRetry(max int, base, maxDelay time.Duration) Option {
	return func(c *Client) {
		c.maxRetries, c.retryBase, c.retryMax = max, base, maxDelay
	}
}

// New returns a client of the Glint API at baseURL (DefaultBaseURL when
// empty), authenticating with the client ID and secret of a Glint
// credential pair.
func New(baseURL, clientID, clientSecret string, opts ...Option) (*Client, error) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("parse glint base url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("glint base url %q: want http(s)://host[/path]", baseURL)
	}
	if clientID == "" || clientSecret == "" {
		return nil, errors.New("glint client id and client secret are required")
	}
	c := &Client{
		baseURL:      strings.TrimSuffix(u.String(), "/"),
		clientID:     clientID,
		clientSecret: clientSecret,
		base:         &http.Client{Timeout: 60 * time.Second, Transport: defaultTransport()},
		logger:       slog.New(slog.DiscardHandler),
		userAgent:    defaultUserAgent,
		maxRetries:   4,
		retryBase:    500 * time.Millisecond,
		retryMax:     30 * time.Second,
	}
	for _, o := range opts {
		o(c)
	}
	if c.base == nil || c.logger == nil {
		return nil, errors.New("glint client: nil http client or logger")
	}
	if c.maxRetries < 0 || c.retryBase < 0 || c.retryMax < c.retryBase {
		return nil, fmt.Errorf("glint client: invalid retry policy (max %d, base %s, max delay %s)", c.maxRetries, c.retryBase, c.retryMax)
	}
	rt := c.base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.tokens = newTokenSource(c.fetchToken)
	c.hc = &http.Client{
		Transport:     &authTransport{base: rt, tokens: c.tokens},
		CheckRedirect: c.base.CheckRedirect,
		Jar:           c.base.Jar,
		Timeout:       c.base.Timeout,
	}
	c.tokenHC = &http.Client{
		Transport:     rt,
		CheckRedirect: c.base.CheckRedirect,
		Timeout:       c.base.Timeout,
	}
	return c, nil
}

// maxIdleConnsPerHost is the idle connections the default transport keeps
// to Glint: as many as the calls a reconciler keeps in flight
// (reconciler.DefaultConcurrency), where http.DefaultTransport keeps 2 and
// would open and close a connection for most calls.
const maxIdleConnsPerHost = 16

// defaultTransport is http.DefaultTransport keeping maxIdleConnsPerHost
// idle connections.
func defaultTransport() http.RoundTripper {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	t = t.Clone()
	t.MaxIdleConnsPerHost = maxIdleConnsPerHost
	return t
}

// request is one API call, before retries.
type request struct {
	method     string
	path       string // escaped, under the base URL: "/v1/blueprints/x"
	query      url.Values
	body       []byte // JSON; nil for none
	userAgent  string // "" for the client's
	idempotent bool   // safe to send again after a 5xx or a network failure
	noAuth     bool   // the token endpoint
}

// response is a received answer.
type response struct {
	status  int
	traceID string
	header  http.Header
	body    []byte
	// uncertain is set when an earlier attempt may have been applied
	// (it failed with a 5xx or a network error): a 404 from a delete then
	// means the earlier attempt deleted the entity.
	uncertain bool
}

// do sends r, retrying it as the policy allows, and decodes a 2xx answer's
// body into out (which may be nil). A 2xx answer must be a JSON object with
// "ok": true, or a 204 without a body.
//
// An error answer is returned as a bare *APIError, with the response.
func (c *Client) do(ctx context.Context, r request, out any) (*response, error) {
	if len(r.body) >= maxBodyBytes {
		return nil, fmt.Errorf("glint: %s %s: body of %d bytes: %w", r.method, r.path, len(r.body), ErrTooLarge)
	}
	hc := c.hc
	if r.noAuth {
		hc = c.tokenHC
	}
	var (
		authRetried bool // a 401 was retried with a new token
		uncertain   bool // an earlier attempt may have been applied
		retries     int  // retries after 429, 5xx and network failures
	)
	for attempt := 1; ; attempt++ {
		res, err := c.send(ctx, hc, r)
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return nil, fmt.Errorf("glint: %s %s: %w", r.method, r.path, ctx.Err())
			case isTokenError(err):
				c.logger.Warn("glint request failed", "method", r.method, "path", r.path, "err", err)
				var te *tokenError
				errors.As(err, &te)
				return nil, fmt.Errorf("glint: %s %s: %w", r.method, r.path, te)
			}
			// A certificate that does not verify will not verify on the
			// next attempt either.
			var cve *tls.CertificateVerificationError
			permanent := errors.As(err, &cve)
			err = fmt.Errorf("glint: %s %s: %w", r.method, r.path, err)
			if r.idempotent && retries < c.maxRetries && !permanent {
				d := c.backoff(retries)
				c.logger.Debug("glint request retrying", "method", r.method, "path", r.path, "attempt", attempt, "delay", d, "err", err)
				if werr := sleep(ctx, d); werr != nil {
					return nil, fmt.Errorf("%w (not retried: %w)", err, werr)
				}
				retries++
				uncertain = true
				continue
			}
			c.logger.Warn("glint request failed", "method", r.method, "path", r.path, "attempt", attempt, "err", err)
			return nil, err
		}
		res.uncertain = uncertain

		if res.status >= 200 && res.status < 300 {
			if err := c.decode(r, res, out); err != nil {
				c.logger.Warn("glint request failed", "method", r.method, "path", r.path, "status", res.status, "trace_id", res.traceID, "err", err)
				return res, err
			}
			return res, nil
		}

		if res.status == http.StatusUnauthorized && !r.noAuth && !authRetried {
			// authTransport has dropped the token; the next attempt fetches one.
			c.logger.Debug("glint request retrying with a new token", "method", r.method, "path", r.path, "trace_id", res.traceID)
			authRetried = true
			continue
		}

		apiErr := c.errorFrom(r, res)
		retryable := res.status == http.StatusTooManyRequests ||
			(r.idempotent && (res.status >= 500 || res.status == http.StatusRequestTimeout))
		if retryable && retries < c.maxRetries {
			d := c.retryDelay(res, retries)
			c.logger.Debug("glint request retrying", "method", r.method, "path", r.path, "status", res.status, "trace_id", res.traceID, "attempt", attempt, "delay", d)
			if werr := sleep(ctx, d); werr != nil {
				return res, fmt.Errorf("%w (not retried: %w)", apiErr, werr)
			}
			retries++
			if res.status != http.StatusTooManyRequests {
				uncertain = true
			}
			continue
		}
		level := slog.LevelWarn
		if res.status < 500 && res.status != http.StatusTooManyRequests && res.status != http.StatusUnauthorized {
			level = slog.LevelDebug // the caller decides what a 404 or a 422 means
		}
		c.logger.Log(ctx, level, "glint request failed", "method", r.method, "path", r.path, "status", res.status, "code", apiErr.Code, "trace_id", res.traceID, "attempt", attempt)
		return res, apiErr
	}
}

// send makes one attempt and reads the whole answer.
func (c *Client) send(ctx context.Context, hc *http.Client, r request) (*response, error) {
	u := c.baseURL + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	ua := r.userAgent
	if ua == "" {
		ua = c.userAgent
	}
	req.Header.Set("User-Agent", ua)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if len(b) > maxResponseBytes {
		return nil, fmt.Errorf("answer larger than %d bytes", maxResponseBytes)
	}
	return &response{status: resp.StatusCode, traceID: resp.Header.Get("x-trace-id"), body: b, header: resp.Header}, nil
}

// decode checks a 2xx answer and decodes it into out.
func (c *Client) decode(r request, res *response, out any) error {
	if len(bytes.TrimSpace(res.body)) == 0 {
		if res.status == http.StatusNoContent && out == nil {
			return nil
		}
		return c.apiError(r, res, codeInvalidResponse, "empty body")
	}
	var env struct {
		OK      *bool  `json:"ok"`
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(res.body, &env); err != nil {
		return c.apiError(r, res, codeInvalidResponse, "body is not a JSON object: "+err.Error())
	}
	if env.OK == nil || !*env.OK {
		code, msg := env.Error, env.Message
		if code == "" {
			code = codeInvalidResponse
		}
		if msg == "" {
			msg = `body has no "ok": true`
		}
		return c.apiError(r, res, code, msg)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(res.body, out); err != nil {
		return c.apiError(r, res, codeInvalidResponse, "decode body: "+err.Error())
	}
	return nil
}

// errorFrom builds the APIError of an error answer.
func (c *Client) errorFrom(r request, res *response) *APIError {
	var body struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(res.body, &body); err != nil {
		msg := strings.TrimSpace(string(res.body))
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		return c.apiError(r, res, "", msg)
	}
	return c.apiError(r, res, body.Error, body.Message)
}

// apiError builds an APIError for r and res, redacting credentials from msg.
func (c *Client) apiError(r request, res *response, code, msg string) *APIError {
	return &APIError{
		StatusCode: res.status,
		Code:       code,
		Message:    c.redact(msg),
		TraceID:    res.traceID,
		Method:     r.method,
		Path:       r.path,
	}
}

// redact removes the client secret and the access token from s, in case an
// answer echoes them.
func (c *Client) redact(s string) string {
	for _, secret := range []string{c.clientSecret, c.tokens.lastToken()} {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[REDACTED]")
		}
	}
	return s
}

// retryDelay is the wait before retry number n+1 after res: what a 429 asks
// for (Retry-After, else x-ratelimit-reset) when it asks for a positive
// wait, else the backoff; never more than the policy's maximum delay.
func (c *Client) retryDelay(res *response, n int) time.Duration {
	if res.status == http.StatusTooManyRequests {
		if d, ok := rateLimitDelay(res.header, time.Now()); ok && d > 0 {
			return min(d, c.retryMax)
		}
	}
	return c.backoff(n)
}

// backoff is the exponential wait before retry number n+1, with jitter: a
// random duration between half and all of base*2^n, capped at the maximum.
func (c *Client) backoff(n int) time.Duration {
	d := c.retryBase
	for i := 0; i < n && d < c.retryMax; i++ {
		d *= 2
	}
	d = min(d, c.retryMax)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// rateLimitDelay reads how long a 429 asks to wait: Retry-After (seconds or
// an HTTP date), else x-ratelimit-reset (epoch seconds, or seconds until the
// reset when below rateLimitEpochThreshold).
func rateLimitDelay(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(s * float64(time.Second)), true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	if v := strings.TrimSpace(h.Get("x-ratelimit-reset")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			if s < rateLimitEpochThreshold {
				return time.Duration(s * float64(time.Second)), true
			}
			reset := time.Unix(0, int64(s*float64(time.Second)))
			return max(reset.Sub(now), 0), true
		}
	}
	return 0, false
}

// sleep waits d or until ctx ends, and fails at once when ctx's deadline
// comes before d is over.
func sleep(ctx context.Context, d time.Duration) error {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return context.DeadlineExceeded
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// encodeJSON encodes v without HTML escaping and without a final newline.
func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
