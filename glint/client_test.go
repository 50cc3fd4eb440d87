package glint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the requests the client sends")

const (
	testClientID = "client-id-1"
	testSecret   = "s3cr3t-client-secret"
	testToken    = "tok-abc-123" // testdata/access_token.json
	testUA       = "glint-test/1.0"
	writeUA      = "glint-github-app/1.0 (gitops)"
)

// setupBare starts a server with an empty mux and a client of it, with tiny
// retry waits. opts come after the defaults.
func setupBare(t *testing.T, opts ...Option) (*Client, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	base := []Option{
		WithLogger(slog.New(slog.DiscardHandler)),
		WithRetry(3, time.Millisecond, 5*time.Millisecond),
		WithUserAgent(testUA),
	}
	c, err := New(srv.URL, testClientID, testSecret, append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, mux
}

// setup is setupBare with a token endpoint serving testdata/access_token.json.
func setup(t *testing.T, opts ...Option) (*Client, *http.ServeMux) {
	t.Helper()
	c, mux := setupBare(t, opts...)
	mux.HandleFunc("POST /v1/auth/access_token", func(w http.ResponseWriter, r *http.Request) {
		checkTokenRequest(t, r)
		serveFile(t, w, http.StatusOK, "access_token.json")
	})
	return c, mux
}

// checkTokenRequest checks a token request: no Authorization, the credential
// pair as the only body fields.
func checkTokenRequest(t *testing.T, r *http.Request) {
	t.Helper()
	if got := r.Header.Get("Authorization"); got != "" {
		t.Errorf("token request has Authorization %q, want none", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("token request Content-Type = %q", got)
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		t.Errorf("decode token request: %v", err)
	}
	want := map[string]any{"clientId": testClientID, "clientSecret": testSecret}
	if d := cmp.Diff(want, body); d != "" {
		t.Errorf("token request body (-want +got):\n%s", d)
	}
}

// checkAuth checks the bearer token of an API request.
func checkAuth(t *testing.T, r *http.Request, token string) {
	t.Helper()
	if got, want := r.Header.Get("Authorization"), "Bearer "+token; got != want {
		t.Errorf("%s %s: Authorization = %q, want %q", r.Method, r.URL.Path, got, want)
	}
}

// checkRequest checks the escaped path, query and User-Agent of an API
// request, and its bearer token.
func checkRequest(t *testing.T, r *http.Request, path string, query url.Values, ua string) {
	t.Helper()
	checkAuth(t, r, testToken)
	if got := r.URL.EscapedPath(); got != path {
		t.Errorf("path = %q, want %q", got, path)
	}
	if query == nil {
		query = url.Values{}
	}
	if d := cmp.Diff(query, r.URL.Query()); d != "" {
		t.Errorf("%s %s: query (-want +got):\n%s", r.Method, path, d)
	}
	if got := r.Header.Get("User-Agent"); got != ua {
		t.Errorf("%s %s: User-Agent = %q, want %q", r.Method, path, got, ua)
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		t.Errorf("%s %s: Accept = %q", r.Method, path, got)
	}
}

// readBody reads a JSON request body, checking its Content-Type and size.
func readBody(t *testing.T, r *http.Request) []byte {
	t.Helper()
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("%s %s: Content-Type = %q", r.Method, r.URL.Path, got)
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("read request body: %v", err)
	}
	if len(b) >= maxBodyBytes {
		t.Errorf("%s %s: body of %d bytes, want < 1 MiB", r.Method, r.URL.Path, len(b))
	}
	if !json.Valid(b) {
		t.Errorf("%s %s: body is not JSON: %.200s", r.Method, r.URL.Path, b)
	}
	return b
}

// decodeBody decodes a JSON request body into v.
func decodeBody(t *testing.T, r *http.Request, v any) {
	t.Helper()
	if err := json.Unmarshal(readBody(t, r), v); err != nil {
		t.Errorf("decode request body: %v", err)
	}
}

// checkGolden compares a JSON request body with testdata/name (indented),
// or writes it there with -update.
func checkGolden(t *testing.T, name string, body []byte) {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, body, "", "  "); err != nil {
		t.Errorf("indent %s: %v", name, err)
		return
	}
	b.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Errorf("write %s: %v", path, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("read golden file (run with -update to create it): %v", err)
		return
	}
	if d := cmp.Diff(string(want), b.String()); d != "" {
		t.Errorf("request body differs from %s (-want +got):\n%s", path, d)
	}
}

// serveFile answers with testdata/name, an x-trace-id and the headers given
// as name, value pairs.
func serveFile(t *testing.T, w http.ResponseWriter, status int, name string, headers ...string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Errorf("read testdata: %v", err)
	}
	serveBytes(w, status, b, headers...)
}

func serveJSON(t *testing.T, w http.ResponseWriter, status int, v any, headers ...string) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Errorf("encode answer: %v", err)
	}
	serveBytes(w, status, b, headers...)
}

func serveBytes(w http.ResponseWriter, status int, b []byte, headers ...string) {
	w.Header().Set("Content-Type", "application/json")
	if w.Header().Get("x-trace-id") == "" {
		w.Header().Set("x-trace-id", "trace-test")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		w.Header().Set(headers[i], headers[i+1])
	}
	w.WriteHeader(status)
	w.Write(b)
}

func TestNew(t *testing.T) {
	tests := []struct {
		name         string
		baseURL      string
		id, secret   string
		opts         []Option
		wantErr      bool
		wantBaseURL  string
		secretInErrs bool
	}{
		{name: "default base url", id: "a", secret: "b", wantBaseURL: DefaultBaseURL},
		{name: "trailing slash", baseURL: "http://glint.local:8080/api/", id: "a", secret: "b", wantBaseURL: "http://glint.local:8080/api"},
		{name: "no scheme", baseURL: "glint.local", id: "a", secret: "b", wantErr: true},
		{name: "query", baseURL: "https://glint.local/?x=1", id: "a", secret: "b", wantErr: true},
		{name: "no client id", baseURL: "https://glint.local", secret: "b", wantErr: true},
		{name: "no secret", baseURL: "https://glint.local", id: "a", wantErr: true},
		{name: "bad retry", baseURL: "https://glint.local", id: "a", secret: "b", opts: []Option{WithRetry(-1, 0, 0)}, wantErr: true},
		{name: "max delay below base", baseURL: "https://glint.local", id: "a", secret: "b", opts: []Option{WithRetry(1, time.Second, time.Millisecond)}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.baseURL, tt.id, tt.secret, tt.opts...)
			if tt.wantErr {
				if err == nil {
					t.Fatal("New succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if c.baseURL != tt.wantBaseURL {
				t.Errorf("base url = %q, want %q", c.baseURL, tt.wantBaseURL)
			}
		})
	}
}

// countingTransport counts the requests it carries.
type countingTransport struct {
	n    atomic.Int32
	base http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

func TestWithHTTPClientWrapsTransport(t *testing.T) {
	ct := &countingTransport{base: http.DefaultTransport}
	hc := &http.Client{Transport: ct, Timeout: 5 * time.Second}
	c, mux := setup(t, WithHTTPClient(hc))
	mux.HandleFunc("GET /v1/blueprints", func(w http.ResponseWriter, r *http.Request) {
		checkRequest(t, r, "/v1/blueprints", nil, testUA)
		serveFile(t, w, http.StatusOK, "blueprints.json")
	})
	if _, err := c.Blueprints(t.Context()); err != nil {
		t.Fatalf("Blueprints: %v", err)
	}
	if hc.Transport != ct {
		t.Error("the caller's client's Transport was replaced")
	}
	if got := ct.n.Load(); got != 2 { // token + blueprints
		t.Errorf("requests through the caller's transport = %d, want 2", got)
	}
}

func TestRetries(t *testing.T) {
	type step struct {
		status  int
		file    string
		headers []string
	}
	ok := step{http.StatusOK, "blueprints.json", nil}
	tests := []struct {
		name      string
		retry     Option
		steps     []step // answers in order; the last repeats
		wantErr   int    // status of the APIError; 0 for success
		wantCalls int
		minWait   time.Duration
	}{
		{
			name:      "5xx then success",
			steps:     []step{{500, "error_internal.json", nil}, {503, "error_internal.json", nil}, ok},
			wantCalls: 3,
		},
		{
			name:      "5xx until retries run out",
			steps:     []step{{502, "error_internal.json", nil}},
			wantErr:   502,
			wantCalls: 4,
		},
		{
			name:      "no retries",
			retry:     WithRetry(0, time.Millisecond, time.Millisecond),
			steps:     []step{{500, "error_internal.json", nil}},
			wantErr:   500,
			wantCalls: 1,
		},
		{
			name:      "429 with reset in seconds",
			retry:     WithRetry(3, time.Millisecond, 60*time.Millisecond),
			steps:     []step{{429, "error_rate_limited.json", []string{"x-ratelimit-reset", "1"}}, ok},
			wantCalls: 2,
			minWait:   50 * time.Millisecond, // 1s, capped at the max delay
		},
		{
			name:      "429 with reset as epoch seconds",
			retry:     WithRetry(3, time.Millisecond, 60*time.Millisecond),
			steps:     []step{{429, "error_rate_limited.json", []string{"x-ratelimit-reset", "EPOCH+2"}}, ok},
			wantCalls: 2,
			minWait:   50 * time.Millisecond,
		},
		{
			name:      "429 with Retry-After",
			retry:     WithRetry(3, time.Millisecond, 60*time.Millisecond),
			steps:     []step{{429, "error_rate_limited.json", []string{"Retry-After", "3", "x-ratelimit-reset", "0"}}, ok},
			wantCalls: 2,
			minWait:   50 * time.Millisecond,
		},
		{
			name:      "429 until retries run out",
			steps:     []step{{429, "error_rate_limited.json", []string{"x-ratelimit-reset", "0"}}},
			wantErr:   429,
			wantCalls: 4,
		},
		{
			name:      "404 is not retried",
			steps:     []step{{404, "error_not_found.json", nil}},
			wantErr:   404,
			wantCalls: 1,
		},
		{
			name:      "ok false on a 200 is an error, not retried",
			steps:     []step{{200, "not_ok.json", nil}},
			wantErr:   200,
			wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []Option
			if tt.retry != nil {
				opts = append(opts, tt.retry)
			}
			c, mux := setup(t, opts...)
			var calls atomic.Int32
			mux.HandleFunc("GET /v1/blueprints", func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				s := tt.steps[min(n, len(tt.steps))-1]
				h := append([]string(nil), s.headers...)
				for i := range h {
					if h[i] == "EPOCH+2" {
						h[i] = strconv.FormatInt(time.Now().Unix()+2, 10)
					}
				}
				w.Header().Set("x-trace-id", "trace-"+strconv.Itoa(n))
				serveFile(t, w, s.status, s.file, h...)
			})
			start := time.Now()
			bps, err := c.Blueprints(t.Context())
			elapsed := time.Since(start)
			if got := int(calls.Load()); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if elapsed < tt.minWait {
				t.Errorf("waited %s, want at least %s", elapsed, tt.minWait)
			}
			if tt.wantErr == 0 {
				if err != nil {
					t.Fatalf("Blueprints: %v", err)
				}
				if len(bps) != 2 {
					t.Errorf("got %d blueprints, want 2", len(bps))
				}
				return
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an *APIError", err)
			}
			if ae.StatusCode != tt.wantErr {
				t.Errorf("status = %d, want %d", ae.StatusCode, tt.wantErr)
			}
			wantTrace := "trace-" + strconv.Itoa(tt.wantCalls)
			if ae.TraceID != wantTrace || !strings.Contains(err.Error(), wantTrace) {
				t.Errorf("trace id = %q, error %q; want %q in both", ae.TraceID, err, wantTrace)
			}
			if ae.Method != http.MethodGet || ae.Path != "/v1/blueprints" {
				t.Errorf("request = %s %s, want GET /v1/blueprints", ae.Method, ae.Path)
			}
		})
	}
}

func TestRetryAfterConnectionReset(t *testing.T) {
	c, mux := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("GET /v1/blueprints", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			conn.Close() // the client sees the connection end without an answer
			return
		}
		serveFile(t, w, http.StatusOK, "blueprints.json")
	})
	if _, err := c.Blueprints(t.Context()); err != nil {
		t.Fatalf("Blueprints: %v", err)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("calls = %d, want 2", got)
	}
}

func TestInvalidSuccessBodies(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"empty", 200, ""},
		{"not json", 200, "<html>hello</html>"},
		{"ok false", 200, `{"ok": false}`},
		{"no ok", 200, `{"blueprints": []}`},
		{"ok false with error", 200, `{"ok": false, "error": "invalid_request", "message": "nope"}`},
		{"wrong shape", 200, `{"ok": true, "blueprints": {"a": 1}}`},
		{"empty 204", 204, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := setup(t)
			mux.HandleFunc("GET /v1/blueprints", func(w http.ResponseWriter, r *http.Request) {
				serveBytes(w, tt.status, []byte(tt.body), "x-trace-id", "trace-bad")
			})
			_, err := c.Blueprints(t.Context())
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an *APIError", err)
			}
			if ae.StatusCode != tt.status || ae.TraceID != "trace-bad" {
				t.Errorf("APIError = %+v, want status %d, trace id trace-bad", ae, tt.status)
			}
		})
	}
}

func TestContextCanceledDuringBackoff(t *testing.T) {
	c, mux := setup(t, WithRetry(5, time.Hour, time.Hour))
	mux.HandleFunc("GET /v1/blueprints", func(w http.ResponseWriter, r *http.Request) {
		serveFile(t, w, http.StatusServiceUnavailable, "error_internal.json")
	})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Blueprints(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want DeadlineExceeded", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 503 {
		t.Errorf("error = %v, want the last answer's APIError too", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Error("the wait ignored the context")
	}
}

func TestRateLimitDelay(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	tests := []struct {
		name    string
		headers map[string]string
		want    time.Duration
		wantOK  bool
	}{
		{"none", nil, 0, false},
		{"reset as seconds until", map[string]string{"x-ratelimit-reset": "12"}, 12 * time.Second, true},
		{"reset as zero seconds", map[string]string{"x-ratelimit-reset": "0"}, 0, true},
		{"reset as epoch", map[string]string{"x-ratelimit-reset": "1750000030"}, 30 * time.Second, true},
		{"reset as past epoch", map[string]string{"x-ratelimit-reset": "1749999990"}, 0, true},
		{"reset as fractional seconds", map[string]string{"x-ratelimit-reset": "1.5"}, 1500 * time.Millisecond, true},
		{"retry-after seconds wins", map[string]string{"Retry-After": "7", "x-ratelimit-reset": "1750000030"}, 7 * time.Second, true},
		{"retry-after date", map[string]string{"Retry-After": now.Add(20 * time.Second).UTC().Format(http.TimeFormat)}, 20 * time.Second, true},
		{"garbage", map[string]string{"x-ratelimit-reset": "soon"}, 0, false},
		{"negative", map[string]string{"x-ratelimit-reset": "-3"}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.headers {
				h.Set(k, v)
			}
			got, ok := rateLimitDelay(h, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("rateLimitDelay = %s, %v; want %s, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	c := &Client{retryBase: 100 * time.Millisecond, retryMax: time.Second}
	for n, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second} {
		for range 20 {
			if got := c.backoff(n); got < want/2 || got > want {
				t.Errorf("backoff(%d) = %s, want within [%s, %s]", n, got, want/2, want)
			}
		}
	}
}

func TestAPIError(t *testing.T) {
	e := &APIError{StatusCode: 404, Code: "not_found", Message: "entity service/x was not found", TraceID: "t-1", Method: "DELETE", Path: "/v1/blueprints/service/entities/x"}
	want := "glint: DELETE /v1/blueprints/service/entities/x: 404 not_found: entity service/x was not found (trace id t-1)"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(e, ErrNotFound) {
		t.Error("a 404 does not match ErrNotFound")
	}
	if errors.Is(&APIError{StatusCode: 422}, ErrNotFound) {
		t.Error("a 422 matches ErrNotFound")
	}
	if !errors.Is(&APIError{StatusCode: 413}, ErrTooLarge) {
		t.Error("a 413 does not match ErrTooLarge")
	}
	if got := (&APIError{StatusCode: 502, Method: "GET", Path: "/v1/teams"}).Error(); got != "glint: GET /v1/teams: 502 Bad Gateway" {
		t.Errorf("Error() without a code = %q", got)
	}
}
