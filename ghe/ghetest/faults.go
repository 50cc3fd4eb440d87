package ghetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/kozmoai/glint-github-app/internal/fakehttp"
)

// FaultKind is a kind of failure the server can inject.
type FaultKind int

// Fault kinds.
const (
	// Status500 answers 500 with GitHub's JSON error body.
	Status500 FaultKind = iota + 1
	// Status502HTML answers 502 with an HTML error page, as a proxy does.
	Status502HTML
	// Timeout never answers: the request hangs until the client gives up
	// (or the server closes).
	Timeout
	// ConnReset hijacks the connection and resets it.
	ConnReset
	// SecondaryRateLimit answers 403 with Retry-After and GitHub's
	// "You have exceeded a secondary rate limit" body.
	SecondaryRateLimit
	// PrimaryRateLimit answers 403 with X-RateLimit-Remaining: 0 and
	// X-RateLimit-Reset at now+RetryAfter.
	PrimaryRateLimit
	// Status429 answers 429 Too Many Requests with Retry-After.
	Status429
	// GraphQLRateLimited answers 200 with data null and a RATE_LIMITED
	// error (GraphQL only).
	GraphQLRateLimited
	// HTMLMaintenance answers 200 with a text/html maintenance page, as a
	// GHES in maintenance mode does.
	HTMLMaintenance
	// TruncatedJSON serves the real answer cut in half.
	TruncatedJSON
	// EmptyBody answers 200 with no body.
	EmptyBody
	// PartialData answers the GraphQL query with every other repository
	// (the 1st, 3rd, ...) null and a NOT_FOUND error with its path
	// (GraphQL only).
	PartialData
	// GraphQLTimeout answers 200 with data null and GitHub's "Something
	// went wrong while executing your query. This may be the result of a
	// timeout" error (GraphQL only).
	GraphQLTimeout
	// Slow delays the request by Fault.Delay, then serves it normally.
	Slow
)

// String returns the kind's Go name.
func (k FaultKind) String() string {
	switch k {
	case Status500:
		return "Status500"
	case Status502HTML:
		return "Status502HTML"
	case Timeout:
		return "Timeout"
	case ConnReset:
		return "ConnReset"
	case SecondaryRateLimit:
		return "SecondaryRateLimit"
	case PrimaryRateLimit:
		return "PrimaryRateLimit"
	case Status429:
		return "Status429"
	case GraphQLRateLimited:
		return "GraphQLRateLimited"
	case HTMLMaintenance:
		return "HTMLMaintenance"
	case TruncatedJSON:
		return "TruncatedJSON"
	case EmptyBody:
		return "EmptyBody"
	case PartialData:
		return "PartialData"
	case GraphQLTimeout:
		return "GraphQLTimeout"
	case Slow:
		return "Slow"
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// graphQLOnly reports whether the kind only makes sense on GraphQL.
func (k FaultKind) graphQLOnly() bool {
	return k == GraphQLRateLimited || k == PartialData || k == GraphQLTimeout
}

// Fault is a failure to inject into the next matching requests.
type Fault struct {
	// Target is the route kind to fail: RouteInstallations,
	// RouteAccessTokens, RouteRepositories, RouteGraphQL, or "" for any.
	// GraphQL-only kinds match GraphQL requests only.
	Target string
	Kind   FaultKind
	// Count is how many matching requests fail; 0 means 1.
	Count int
	// RetryAfter is the Retry-After (or rate limit reset) the answer gives;
	// default 1 second for Retry-After, 60 seconds for a reset.
	RetryAfter time.Duration
	// Delay is how long a Slow fault delays the request.
	Delay time.Duration
}

// RandomFaults injects faults at random, for soak tests.
type RandomFaults struct {
	// Rand decides which requests fail; seed it for reproducible runs. The
	// server serializes its use.
	Rand *rand.Rand
	// Probability is the chance that one request fails, in [0, 1].
	Probability float64
	// Kinds are the kinds to pick from, uniformly.
	Kinds []FaultKind
	// Target restricts the faults to one route kind; "" for any.
	Target string
	// RetryAfter and Delay are as in Fault.
	RetryAfter time.Duration
	Delay      time.Duration
}

// InjectFault queues f: the next f.Count requests that match it fail as
// f.Kind. Queued faults are used in order.
func (s *Server) InjectFault(f Fault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	s.smu.Lock()
	defer s.smu.Unlock()
	s.faults = append(s.faults, f)
}

// SetRandomFaults makes requests fail at random as rf says, after the
// queued faults; nil turns it off.
func (s *Server) SetRandomFaults(rf *RandomFaults) {
	s.smu.Lock()
	defer s.smu.Unlock()
	s.random = rf
}

// PendingFaults returns how many queued fault requests are still to come.
func (s *Server) PendingFaults() int {
	s.smu.Lock()
	defer s.smu.Unlock()
	n := 0
	for _, f := range s.faults {
		n += f.Count
	}
	return n
}

func (f Fault) matches(route string) bool {
	if f.Kind.graphQLOnly() && route != RouteGraphQL {
		return false
	}
	return f.Target == "" || f.Target == route
}

// takeFault returns the fault for the next request to route, if any.
func (s *Server) takeFault(route string) (Fault, bool) {
	s.smu.Lock()
	defer s.smu.Unlock()
	for i := range s.faults {
		f := s.faults[i]
		if !f.matches(route) {
			continue
		}
		s.faults[i].Count--
		if s.faults[i].Count <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		s.stats.Faults++
		return f, true
	}
	rf := s.random
	if rf == nil || rf.Rand == nil || len(rf.Kinds) == 0 || (rf.Target != "" && rf.Target != route) {
		return Fault{}, false
	}
	if rf.Rand.Float64() >= rf.Probability {
		return Fault{}, false
	}
	f := Fault{Target: rf.Target, Kind: rf.Kinds[rf.Rand.IntN(len(rf.Kinds))], Count: 1, RetryAfter: rf.RetryAfter, Delay: rf.Delay}
	if !f.matches(route) {
		return Fault{}, false
	}
	s.stats.Faults++
	return f, true
}

// retryAfterSeconds returns the Retry-After header value of f.
func (f Fault) retryAfterSeconds() int {
	if f.RetryAfter <= 0 {
		return 1
	}
	return int(math.Ceil(f.RetryAfter.Seconds()))
}

// applyFault answers r as f says. It reports false when the request must
// still be served normally (Slow, PartialData).
func (s *Server) applyFault(w *fakehttp.StatusWriter, r *http.Request, route string, f Fault, handler http.HandlerFunc) bool {
	switch f.Kind {
	case Status500:
		writeError(w, http.StatusInternalServerError, "Server Error", "")
	case Status502HTML:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = fmt.Fprint(w, badGatewayPage)
	case Timeout:
		select {
		case <-r.Context().Done():
		case <-s.closing:
			s.reset(w)
		}
	case ConnReset:
		s.reset(w)
	case SecondaryRateLimit, Status429:
		status := http.StatusForbidden
		if f.Kind == Status429 {
			status = http.StatusTooManyRequests
		}
		w.Header().Set("Retry-After", strconv.Itoa(f.retryAfterSeconds()))
		writeError(w, status, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "+
			"If you reach out to GitHub Support for help, please include the request ID "+w.Header().Get("X-GitHub-Request-Id")+".",
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
	case PrimaryRateLimit:
		who, resource := s.principal(r, route)
		s.setExhausted(w, resource, f)
		writeError(w, http.StatusForbidden, fmt.Sprintf("API rate limit exceeded for %s.", who), docsRateLimit)
	case GraphQLRateLimited:
		who, resource := s.principal(r, route)
		s.setExhausted(w, resource, f)
		writeJSON(w, http.StatusOK, map[string]any{"data": nil, "errors": []any{map[string]any{
			"type": "RATE_LIMITED", "code": "graphql_rate_limit", "message": fmt.Sprintf("API rate limit exceeded for %s.", who),
		}}})
	case GraphQLTimeout:
		writeJSON(w, http.StatusOK, map[string]any{"data": nil, "errors": []any{map[string]any{
			"message": "Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub bug. " +
				"Please include `" + w.Header().Get("X-GitHub-Request-Id") + "` when reporting this issue.",
		}}})
	case HTMLMaintenance:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprint(w, maintenancePage)
	case TruncatedJSON:
		rec := httptest.NewRecorder()
		handler(rec, r)
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		body := rec.Body.Bytes()
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body[:len(body)/2])
	case EmptyBody:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	case PartialData:
		handler(w, r.WithContext(withPartial(r.Context())))
	case Slow:
		if s.sleep(r, f.Delay) {
			return false
		}
	default:
		writeError(w, http.StatusInternalServerError, "ghetest: unknown fault kind "+f.Kind.String(), "")
	}
	return true
}

// reset hijacks the connection and closes it with a TCP reset.
func (s *Server) reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// principal names who r is charged to, as GitHub's rate limit messages do,
// and the rate limit resource of route.
func (s *Server) principal(r *http.Request, route string) (who, resource string) {
	resource = "core"
	if route == RouteGraphQL {
		resource = "graphql"
	}
	_, cred := credentials(r)
	s.mu.RLock()
	tok := s.tokens[cred]
	s.mu.RUnlock()
	if tok != nil {
		return fmt.Sprintf("installation ID %d", tok.installationID), resource
	}
	return fmt.Sprintf("app ID %d", s.opts.AppID), resource
}

// setExhausted writes the headers of an exhausted rate limit that resets
// after f.RetryAfter (default 60s). They are sent even when rate limit
// headers are off: a server that rate limits sends them.
func (s *Server) setExhausted(w http.ResponseWriter, resource string, f Fault) {
	after := f.RetryAfter
	if after <= 0 {
		after = time.Minute
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.opts.RateLimit))
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Used", strconv.Itoa(s.opts.RateLimit))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.now().Add(after).Unix(), 10))
	h.Set("X-RateLimit-Resource", resource)
}

const badGatewayPage = `<!DOCTYPE html>
<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
`

const maintenancePage = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Unicorn! &middot; GitHub Enterprise</title>
</head>
<body>
<h1>GitHub Enterprise is currently under maintenance</h1>
<p>Scheduled maintenance is taking place. Please check back soon.</p>
</body>
</html>
`
