package glinttest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kozmoai/glint-github-app/glint"
	"github.com/kozmoai/glint-github-app/internal/fakehttp"
)

// MaxBodyBytes is the largest request body Glint accepts; a larger one gets 413.
const MaxBodyBytes = 1 << 20

// Route names, used by Fault.Route and Stats.Requests.
const (
	RouteToken      = "token"      // POST /v1/auth/access_token
	RouteBlueprints = "blueprints" // GET /v1/blueprints, GET /v1/blueprints/{b}
	RouteUpsert     = "upsert"     // POST /v1/blueprints/{b}/entities
	RouteBulk       = "bulk"       // POST /v1/blueprints/{b}/entities/bulk
	RouteDelete     = "delete"     // DELETE /v1/blueprints/{b}/entities/{id}
	RouteBulkDelete = "bulkDelete" // POST /v1/blueprints/{b}/bulk/entities/delete
	RouteSearch     = "search"     // POST /v1/blueprints/{b}/entities/search, POST /v1/entities/search
	RouteEntity     = "entity"     // GET /v1/blueprints/{b}/entities/{id}
	RouteTeams      = "teams"      // /v1/teams and /v1/teams/{name}
	RouteUnknown    = "unknown"    // anything else (404)
)

// Options configures a Server.
type Options struct {
	// ClientID and ClientSecret are the only credentials the token endpoint
	// accepts. Empty values default to "glinttest-client" and
	// "glinttest-secret".
	ClientID, ClientSecret string
	// TokenTTL is the lifetime of an access token (default 3h, expiresIn 10800).
	TokenTTL time.Duration
	// Latency is added to every request.
	Latency time.Duration
	// RateLimit is the number of requests per RatePeriod (per organization;
	// the fake serves one) before 429. 0 means unlimited.
	RateLimit int
	// RatePeriod is the rate limit window (default 1 minute).
	RatePeriod time.Duration
	// ResetAsDelay makes x-ratelimit-reset carry seconds until the reset
	// instead of epoch seconds, as some deployments do.
	ResetAsDelay bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives one debug line per request (default: discarded).
	// Tokens and secrets are never logged.
	Logger *slog.Logger
}

// Server is a fake Glint server listening on 127.0.0.1.
type Server struct {
	opts    Options
	log     *slog.Logger
	srv     *httptest.Server
	closing chan struct{}
	close   sync.Once

	mu         sync.Mutex
	blueprints map[string]glint.Blueprint
	tables     map[string]*table
	teams      map[string]*teamRecord
	tokens     map[string]tokenState // token -> state
	current    map[string]string     // clientID -> live token
	faults     []*Fault
	random     *randomFaults // SetRandomFaults; nil: off
	stats      Stats
	window     time.Time // start of the rate limit window
	windowUsed int
}

type tokenState struct {
	clientID string
	expires  time.Time
}

// New starts a Server on 127.0.0.1. It works outside tests too (the demo
// uses it). Close it when done.
func New(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = "glinttest-client"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "glinttest-secret"
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 3 * time.Hour
	}
	if opts.RateLimit < 0 {
		opts.RateLimit = 0
	}
	if opts.RatePeriod <= 0 {
		opts.RatePeriod = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:       opts,
		log:        opts.Logger,
		closing:    make(chan struct{}),
		blueprints: make(map[string]glint.Blueprint),
		tables:     make(map[string]*table),
		teams:      make(map[string]*teamRecord),
		tokens:     make(map[string]tokenState),
		current:    make(map[string]string),
		stats:      newStats(),
	}
	s.srv = httptest.NewServer(s.routes())
	return s
}

// TB is the part of testing.TB that Start needs.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Start starts a Server for a test and closes it when the test ends.
func Start(t TB, opts Options) *Server {
	t.Helper()
	s := New(opts)
	if s.URL() == "" {
		t.Fatalf("glinttest: server did not start")
	}
	t.Cleanup(s.Close)
	return s
}

// URL is the server's base URL, like http://127.0.0.1:PORT (paths are under /v1).
func (s *Server) URL() string { return s.srv.URL }

// ClientID is the client ID the token endpoint accepts.
func (s *Server) ClientID() string { return s.opts.ClientID }

// ClientSecret is the client secret the token endpoint accepts.
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// Close stops the server; requests hanging on a Timeout fault return.
func (s *Server) Close() {
	s.close.Do(func() {
		close(s.closing)
		s.srv.Close()
	})
}

// ExpireTokens expires every live token: the next call with an old token
// gets 401, and the token endpoint issues a new one.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireTokensLocked()
}

func (s *Server) expireTokensLocked() {
	now := s.opts.Now()
	for tok, st := range s.tokens {
		st.expires = now
		s.tokens[tok] = st
	}
	clear(s.current)
}

// call is what the middleware hands a route handler.
type call struct {
	route     string
	body      []byte
	userAgent string
	actor     string // client ID of the token
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern, route string, fn handlerFunc) {
		mux.Handle(pattern, s.wrap(route, fn))
	}
	h("POST /v1/auth/access_token", RouteToken, s.handleToken)
	h("GET /v1/blueprints", RouteBlueprints, s.handleListBlueprints)
	h("GET /v1/blueprints/{b}", RouteBlueprints, s.handleGetBlueprint)
	h("POST /v1/blueprints/{b}/entities", RouteUpsert, s.handleUpsert)
	h("POST /v1/blueprints/{b}/entities/bulk", RouteBulk, s.handleBulk)
	h("POST /v1/blueprints/{b}/entities/search", RouteSearch, s.handleSearch)
	h("GET /v1/blueprints/{b}/entities/{id}", RouteEntity, s.handleGetEntity)
	h("DELETE /v1/blueprints/{b}/entities/{id}", RouteDelete, s.handleDelete)
	h("POST /v1/blueprints/{b}/bulk/entities/delete", RouteBulkDelete, s.handleBulkDelete)
	h("POST /v1/entities/search", RouteSearch, s.handleSearchAll)
	h("GET /v1/teams", RouteTeams, s.handleListTeams)
	h("POST /v1/teams", RouteTeams, s.handleCreateTeam)
	h("GET /v1/teams/{name}", RouteTeams, s.handleGetTeam)
	h("PATCH /v1/teams/{name}", RouteTeams, s.handlePatchTeam)
	h("DELETE /v1/teams/{name}", RouteTeams, s.handleDeleteTeam)
	// Anything else, including a known path with another method: 404, as Port.
	mux.Handle("/", s.wrap(RouteUnknown, func(w http.ResponseWriter, r *http.Request, _ *call) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("route %s %s not found", r.Method, r.URL.Path))
	}))
	return mux
}

// wrap runs the steps common to every route: latency, trace and rate limit
// headers, rate limiting, faults, authentication, body limits, stats.
func (s *Server) wrap(route string, fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w := &fakehttp.StatusWriter{ResponseWriter: rw}
		trace := newID(8)
		defer func() {
			s.mu.Lock()
			s.stats.record(route, w.Status)
			s.mu.Unlock()
			s.log.Debug("glinttest request", "method", r.Method, "path", r.URL.Path, "route", route,
				"status", w.Status, "trace_id", trace, "user_agent", r.UserAgent(), "duration", time.Since(start))
		}()

		if s.opts.Latency > 0 {
			t := time.NewTimer(s.opts.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			case <-s.closing:
				t.Stop()
				return
			}
		}
		w.Header().Set("x-trace-id", trace)

		s.mu.Lock()
		limited := s.rateLimitLocked(w.Header())
		fault := s.takeFaultLocked(route)
		s.mu.Unlock()
		if limited {
			writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "too many requests, see x-ratelimit-reset")
			return
		}
		if fault != nil && fault.Kind != Partial207 {
			s.serveFault(w, r, route, fault)
			return
		}

		c := &call{route: route, userAgent: r.UserAgent()}
		if route == RouteToken {
			if r.Header.Get("Authorization") != "" {
				s.mu.Lock()
				s.stats.TokenRequestsWithAuthorization++
				s.mu.Unlock()
				writeError(w, http.StatusBadRequest, "invalid_request", "the token endpoint must not be called with an Authorization header")
				return
			}
		} else if route != RouteUnknown {
			actor, msg := s.authenticate(r)
			if msg != "" {
				writeError(w, http.StatusUnauthorized, "unauthorized", msg)
				return
			}
			c.actor = actor
		}

		if route != RouteUnknown && (r.Method == http.MethodPost || r.Method == http.MethodPatch) {
			if r.ContentLength > MaxBodyBytes {
				writeError(w, http.StatusRequestEntityTooLarge, "request_too_large", fmt.Sprintf("request body is over %d bytes", MaxBodyBytes))
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
			if err != nil {
				if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
					writeError(w, http.StatusRequestEntityTooLarge, "request_too_large", fmt.Sprintf("request body is over %d bytes", MaxBodyBytes))
					return
				}
				writeError(w, http.StatusBadRequest, "invalid_request", "read request body: "+err.Error())
				return
			}
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
				writeError(w, http.StatusUnsupportedMediaType, "invalid_request", "Content-Type must be application/json")
				return
			}
			c.body = body
		}
		if fault != nil { // Partial207: only bulk takes it
			r = r.WithContext(withFault(r.Context(), fault))
		}
		fn(w, r, c)
	})
}

// authenticate checks the bearer token; it returns the token's client ID,
// or a message for a 401.
func (s *Server) authenticate(r *http.Request) (string, string) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if h == "" {
		return "", "missing Authorization header"
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", "Authorization header must be Bearer <accessToken>"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, found := s.tokens[tok]
	if !found {
		return "", "invalid access token"
	}
	if !s.opts.Now().Before(st.expires) {
		return "", "access token expired"
	}
	return st.clientID, ""
}

// rateLimitLocked counts the request in the current window, sets the
// x-ratelimit-* headers and reports whether the request is over the limit.
func (s *Server) rateLimitLocked(h http.Header) bool {
	now := s.opts.Now()
	if s.window.IsZero() || !now.Before(s.window.Add(s.opts.RatePeriod)) {
		s.window = now
		s.windowUsed = 0
	}
	limit := s.opts.RateLimit
	if limit == 0 {
		limit = 1_000_000 // unlimited: advertise a limit that is never reached in practice
	}
	over := s.opts.RateLimit > 0 && s.windowUsed >= limit
	if !over {
		s.windowUsed++
	}
	remaining := max(limit-s.windowUsed, 0)
	s.setRateHeaders(h, limit, remaining, s.window.Add(s.opts.RatePeriod), s.opts.ResetAsDelay)
	return over
}

func (s *Server) setRateHeaders(h http.Header, limit, remaining int, reset time.Time, asDelay bool) {
	h.Set("x-ratelimit-limit", strconv.Itoa(limit))
	h.Set("x-ratelimit-remaining", strconv.Itoa(remaining))
	h.Set("x-ratelimit-period", strconv.Itoa(int((s.opts.RatePeriod+time.Second-1)/time.Second)))
	h.Set("x-ratelimit-reset", resetValue(s.opts.Now(), reset, asDelay))
}

// resetValue is x-ratelimit-reset: epoch seconds of the reset, rounded up,
// or the seconds until then.
func resetValue(now, reset time.Time, asDelay bool) string {
	epoch := reset.Unix()
	if reset.Nanosecond() > 0 {
		epoch++
	}
	if asDelay {
		return strconv.FormatInt(max(epoch-now.Unix(), 0), 10)
	}
	return strconv.FormatInt(epoch, 10)
}

func (s *Server) handleToken(w http.ResponseWriter, _ *http.Request, c *call) {
	var req struct {
		ClientID     *string `json:"clientId"`
		ClientSecret *string `json:"clientSecret"`
	}
	if err := decodeStrict(c.body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "decode token request: "+err.Error())
		return
	}
	if req.ClientID == nil || req.ClientSecret == nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "clientId and clientSecret are required")
		return
	}
	if *req.ClientID != s.opts.ClientID || *req.ClientSecret != s.opts.ClientSecret {
		writeError(w, http.StatusUnauthorized, "unauthorized", "invalid client credentials")
		return
	}
	s.mu.Lock()
	now := s.opts.Now()
	tok, ok := s.current[*req.ClientID]
	if ok && !now.Before(s.tokens[tok].expires) {
		ok = false
	}
	if !ok {
		tok = newID(32)
		s.tokens[tok] = tokenState{clientID: *req.ClientID, expires: now.Add(s.opts.TokenTTL)}
		s.current[*req.ClientID] = tok
		s.stats.TokensIssued++
	}
	expiresIn := int(s.tokens[tok].expires.Sub(now) / time.Second)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"ok": true, "accessToken": tok, "expiresIn": expiresIn, "tokenType": "Bearer",
	})
}

func (s *Server) handleListBlueprints(w http.ResponseWriter, r *http.Request, c *call) {
	if !checkQuery(w, r) {
		return
	}
	s.mu.Lock()
	bps := make([]glint.Blueprint, 0, len(s.blueprints))
	for _, id := range sortedKeys(s.blueprints) {
		bps = append(bps, s.blueprints[id])
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "blueprints": bps})
}

func (s *Server) handleGetBlueprint(w http.ResponseWriter, r *http.Request, c *call) {
	if !checkQuery(w, r) {
		return
	}
	s.mu.Lock()
	bp, ok := s.blueprints[r.PathValue("b")]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("blueprint %q not found", r.PathValue("b")))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "blueprint": bp})
}

// writeJSON writes v as the JSON response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal_error", "encode response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeError writes Glint's error body.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(map[string]any{"ok": false, "error": code, "message": msg})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// decodeStrict decodes one JSON value, refusing unknown fields and trailing data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// checkQuery refuses query parameters the route does not know.
func checkQuery(w http.ResponseWriter, r *http.Request, known ...string) bool {
	for k := range r.URL.Query() {
		ok := false
		for _, n := range known {
			ok = ok || k == n
		}
		if !ok {
			writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("unknown query parameter %q", k))
			return false
		}
	}
	return true
}

// boolParams parses the named boolean query parameters ("true" or "false",
// default false) after checkQuery.
func boolParams(w http.ResponseWriter, r *http.Request, names ...string) (map[string]bool, bool) {
	if !checkQuery(w, r, names...) {
		return nil, false
	}
	q := r.URL.Query()
	out := make(map[string]bool, len(names))
	for _, n := range names {
		vs := q[n]
		switch {
		case len(vs) == 0:
		case len(vs) == 1 && vs[0] == "true":
			out[n] = true
		case len(vs) == 1 && vs[0] == "false":
		default:
			writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("query parameter %s must be true or false", n))
			return nil, false
		}
	}
	return out, true
}

func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
