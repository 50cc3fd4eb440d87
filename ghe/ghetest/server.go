package ghetest

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/kozmoai/glint-github-app/internal/fakehttp"
)

// Route kinds, as Fault.Target and Stats.Requests name them.
const (
	RouteInstallations = "installations" // GET /app/installations (and /app/installations/{id})
	RouteAccessTokens  = "access_tokens" // POST /app/installations/{id}/access_tokens
	RouteRepositories  = "repositories"  // GET /installation/repositories
	RouteGraphQL       = "graphql"       // POST /api/graphql
	RouteOther         = "other"         // anything else (answered 404)
)

// Options configures a Server.
type Options struct {
	// Schema is GitHub's GraphQL schema (LoadSchema). Nil disables query
	// validation; only the demo may do that, when no schema is present.
	Schema *ast.Schema
	// AppID is the GitHub App's id: App JWTs must carry it as iss.
	AppID int64
	// PublicKey verifies App JWTs (RS256).
	PublicKey *rsa.PublicKey
	// TokenTTL is the lifetime of installation tokens; default 1h.
	TokenTTL time.Duration
	// Latency is added to every request.
	Latency time.Duration
	// Logger receives one debug line a request; default discards.
	Logger *slog.Logger
	// NoRateLimitHeaders leaves out the X-RateLimit-* headers, as a GHES
	// with rate limiting disabled does. SetRateLimitHeaders changes it later.
	NoRateLimitHeaders bool
	// RateLimit is the hourly budget of REST requests and of GraphQL points
	// per installation; default 5000, as GitHub's.
	RateLimit int
	// Addr is the address to listen on; default 127.0.0.1 on a free port.
	Addr string
}

// Server is a fake GitHub Enterprise server on loopback. Its methods are safe
// for concurrent use.
type Server struct {
	opts    Options
	ts      *httptest.Server
	closing chan struct{}
	once    sync.Once
	logger  *slog.Logger
	// resolvers is the GraphQL executor's resolver table.
	resolvers resolverTable

	// mu guards the model.
	mu               sync.RWMutex
	installations    []*installation
	repos            map[int64]*repoState
	names            map[string]int64 // lower-case full name -> repository id
	tokens           map[string]*token
	nextInstallation int64
	nextAccount      int64
	nextRepo         int64
	teams            *teamModel // teams and their members (teams.go); nil until a team is added

	// smu guards the counters, budgets, faults and settings below.
	smu           sync.Mutex
	stats         Stats
	budgets       map[string]*budget
	faults        []Fault
	random        *RandomFaults
	invalid       []invalidQuery
	unimplemented []string
	maxBatch      int
	latency       time.Duration
	rateHeaders   bool

	// clock, when set before the first request, replaces time.Now (tests).
	clock func() time.Time

	// generatedKey is the App key NewForTest generated, if it did.
	generatedKey    *rsa.PrivateKey
	generatedKeyPEM []byte
}

// invalidQuery is a query GitHub would have refused outright.
type invalidQuery struct {
	query  string
	errors []string
}

// budget is one hourly rate limit window.
type budget struct {
	used  int
	reset time.Time
}

// New starts a Server on 127.0.0.1 (or opts.Addr). It works outside tests.
// It panics when it cannot listen, as httptest.NewServer does.
func New(opts Options) *Server {
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = 5000
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:        opts,
		closing:     make(chan struct{}),
		logger:      logger,
		repos:       map[int64]*repoState{},
		names:       map[string]int64{},
		tokens:      map[string]*token{},
		budgets:     map[string]*budget{},
		latency:     opts.Latency,
		rateHeaders: !opts.NoRateLimitHeaders,
		resolvers:   newResolvers(),
	}
	s.stats.Requests = fakehttp.Requests{}
	// Ids start in distinct ranges, shaped like GitHub's, so that a client
	// mixing up installation, account and repository ids fails.
	s.nextInstallation, s.nextAccount, s.nextRepo = 40_000_000, 9_000_000, 500_000_000
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	if opts.Addr != "" {
		l, err := net.Listen("tcp", opts.Addr)
		if err != nil {
			panic(fmt.Sprintf("ghetest: listen on %s: %v", opts.Addr, err))
		}
		s.ts.Listener.Close()
		s.ts.Listener = l
	}
	s.ts.Start()
	return s
}

// URL returns the server's base URL. REST is under URL()+"/api/v3" and
// GraphQL at URL()+"/api/graphql", as on GitHub Enterprise Server.
func (s *Server) URL() string { return s.ts.URL }

// APIURL returns the REST base URL, URL()+"/api/v3".
func (s *Server) APIURL() string { return s.ts.URL + "/api/v3" }

// GraphQLURL returns the GraphQL endpoint, URL()+"/api/graphql".
func (s *Server) GraphQLURL() string { return s.ts.URL + "/api/graphql" }

// AppID returns the App id the server accepts JWTs for.
func (s *Server) AppID() int64 { return s.opts.AppID }

// Close stops the server. Requests that hang (Timeout faults, latency) are
// cut off.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closing) })
	s.ts.Close()
}

// SetLatency sets the latency added to every request.
func (s *Server) SetLatency(d time.Duration) {
	s.smu.Lock()
	defer s.smu.Unlock()
	s.latency = d
}

// SetMaxBatch makes GraphQL queries that select more than n repositories
// (ids of nodes(ids:), node() and repository() fields) fail with
// RESOURCE_LIMITS_EXCEEDED; 0 removes the limit.
func (s *Server) SetMaxBatch(n int) {
	s.smu.Lock()
	defer s.smu.Unlock()
	s.maxBatch = n
}

// SetRateLimitHeaders turns the X-RateLimit-* response headers on or off
// (a GHES with rate limiting disabled sends none).
func (s *Server) SetRateLimitHeaders(on bool) {
	s.smu.Lock()
	defer s.smu.Unlock()
	s.rateHeaders = on
}

// InvalidQueries returns the GraphQL queries GitHub would have refused
// outright: unparsable, invalid against the schema, with bad variables,
// without pagination bounds or over GitHub's limits. A correct client sends
// none; NewForTest fails the test when there are any.
func (s *Server) InvalidQueries() []string {
	s.smu.Lock()
	defer s.smu.Unlock()
	out := make([]string, len(s.invalid))
	for i, q := range s.invalid {
		out[i] = q.query
	}
	return out
}

// UnimplementedFields returns the fields (Type.field) queries asked for that
// the fake does not implement. They were answered with an error, never a
// silent null.
func (s *Server) UnimplementedFields() []string {
	s.smu.Lock()
	defer s.smu.Unlock()
	return append([]string(nil), s.unimplemented...)
}

func (s *Server) recordInvalid(query string, errs []*gqlError) {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Message
	}
	s.smu.Lock()
	defer s.smu.Unlock()
	s.invalid = append(s.invalid, invalidQuery{query: query, errors: msgs})
}

func (s *Server) recordUnimplemented(field string) {
	s.smu.Lock()
	defer s.smu.Unlock()
	for _, f := range s.unimplemented {
		if f == field {
			return
		}
	}
	s.unimplemented = append(s.unimplemented, field)
}

func (s *Server) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

// routeOf classifies a request and returns its handler.
func (s *Server) routeOf(r *http.Request) (string, http.HandlerFunc) {
	p := r.URL.Path
	switch {
	case p == "/api/graphql":
		if r.Method != http.MethodPost {
			return RouteGraphQL, s.notFound
		}
		return RouteGraphQL, s.handleGraphQL
	case p == "/api/v3/app/installations" || p == "/api/v3/app/installations/":
		if r.Method != http.MethodGet {
			return RouteInstallations, s.notFound
		}
		return RouteInstallations, s.handleInstallations
	case strings.HasPrefix(p, "/api/v3/app/installations/"):
		rest := strings.TrimPrefix(p, "/api/v3/app/installations/")
		id, tail, _ := strings.Cut(rest, "/")
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return RouteOther, s.notFound
		}
		switch {
		case tail == "access_tokens" && r.Method == http.MethodPost:
			return RouteAccessTokens, func(w http.ResponseWriter, r *http.Request) { s.handleAccessToken(w, r, n) }
		case tail == "" && r.Method == http.MethodGet:
			return RouteInstallations, func(w http.ResponseWriter, r *http.Request) { s.handleInstallation(w, r, n) }
		}
		return RouteOther, s.notFound
	case p == "/api/v3/installation/repositories":
		if r.Method != http.MethodGet {
			return RouteRepositories, s.notFound
		}
		return RouteRepositories, s.handleRepositories
	}
	return RouteOther, s.notFound
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	route, handler := s.routeOf(r)
	sw := &fakehttp.StatusWriter{ResponseWriter: w}
	sw.Header().Set("X-GitHub-Request-Id", requestID())
	defer func() {
		s.smu.Lock()
		s.stats.Requests.Record(route, sw.Status)
		if route == RouteGraphQL {
			s.stats.GraphQLRequests++
		}
		s.smu.Unlock()
		s.logger.Debug("ghetest request", "method", r.Method, "path", r.URL.Path, "route", route,
			"status", sw.Status, "duration", time.Since(start))
	}()

	s.smu.Lock()
	latency := s.latency
	s.smu.Unlock()
	if !s.sleep(r, latency) {
		return
	}
	if r.Header.Get("User-Agent") == "" {
		// GitHub refuses requests without a User-Agent.
		sw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		sw.WriteHeader(http.StatusForbidden)
		_, _ = fmt.Fprint(sw, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header "+
			"(https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). "+
			"Check https://developer.github.com for other possible causes.\n")
		return
	}
	if route != RouteOther {
		if f, ok := s.takeFault(route); ok {
			if s.applyFault(sw, r, route, f, handler) {
				return
			}
		}
	}
	handler(sw, r)
}

// sleep waits d, and reports false when the request or the server ended
// first.
func (s *Server) sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.closing:
		return false
	}
}

// requestID returns a request id shaped like GitHub's X-GitHub-Request-Id.
func requestID() string {
	return fmt.Sprintf("%04X:%04X:%06X:%07X:%08X", rand.Uint32N(1<<16), rand.Uint32N(1<<16),
		rand.Uint32N(1<<24), rand.Uint32N(1<<28), rand.Uint32())
}

// docsURL is the documentation_url of GitHub's generic errors.
const docsURL = "https://docs.github.com/rest"

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "ghetest: encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeError writes GitHub's REST error body.
func writeError(w http.ResponseWriter, status int, message, doc string) {
	if doc == "" {
		doc = docsURL
	}
	writeJSON(w, status, map[string]any{"message": message, "documentation_url": doc, "status": strconv.Itoa(status)})
}

func (s *Server) notFound(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusNotFound, "Not Found", docsURL)
}

// spend charges cost to the budget key and reports whether it was within
// the budget, with the window's state after the charge.
func (s *Server) spend(key string, cost int) (ok bool, b budget) {
	s.smu.Lock()
	defer s.smu.Unlock()
	now := s.now()
	bt := s.budgets[key]
	if bt == nil || !now.Before(bt.reset) {
		bt = &budget{reset: now.Add(time.Hour).Truncate(time.Second)}
		s.budgets[key] = bt
	}
	if bt.used+cost > s.opts.RateLimit {
		return false, *bt
	}
	bt.used += cost
	return true, *bt
}

// budgetState returns the window of key without charging it.
func (s *Server) budgetState(key string) budget {
	s.smu.Lock()
	defer s.smu.Unlock()
	now := s.now()
	bt := s.budgets[key]
	if bt == nil || !now.Before(bt.reset) {
		return budget{reset: now.Add(time.Hour).Truncate(time.Second)}
	}
	return *bt
}

// setRateHeaders writes the X-RateLimit-* headers of window b, unless they
// are turned off.
func (s *Server) setRateHeaders(w http.ResponseWriter, resource string, b budget) {
	s.smu.Lock()
	on := s.rateHeaders
	s.smu.Unlock()
	if !on {
		return
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.opts.RateLimit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, s.opts.RateLimit-b.used)))
	h.Set("X-RateLimit-Used", strconv.Itoa(b.used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(b.reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", resource)
}
