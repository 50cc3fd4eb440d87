package glinttest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// Kind is the kind of an injected fault.
type Kind int

// Fault kinds.
const (
	// Status500 answers 500 internal_error.
	Status500 Kind = iota + 1
	// Status503 answers 503 service_unavailable.
	Status503
	// Timeout never answers: the request hangs until the client gives up
	// (or the server closes).
	Timeout
	// Status429 answers 429 with x-ratelimit-remaining 0 and
	// x-ratelimit-reset RetryAfter from now (epoch seconds, or seconds until
	// the reset with ResetAsDelay).
	Status429
	// Status401 answers 401 unauthorized ("access token expired") and
	// expires every live token, so the client must fetch a new one; on the
	// token route it answers as for bad credentials.
	Status401
	// Partial207 makes a bulk upsert fail some of its entities with 422
	// (the call answers 207); the rest are written. Only the bulk route
	// takes it.
	Partial207
	// Status413 answers 413 request_too_large.
	Status413
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case Status500:
		return "Status500"
	case Status503:
		return "Status503"
	case Timeout:
		return "Timeout"
	case Status429:
		return "Status429"
	case Status401:
		return "Status401"
	case Partial207:
		return "Partial207"
	case Status413:
		return "Status413"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Fault is a failure the server injects into matching requests.
type Fault struct {
	// Route is the route to fail (a Route* constant); "" matches any route.
	Route string
	// Kind is what happens.
	Kind Kind
	// Count is how many matching requests fail: 0 means 1, a negative
	// count means every one until ClearFaults.
	Count int

	// RetryAfter is, for Status429, the time until x-ratelimit-reset
	// (default 1s).
	RetryAfter time.Duration
	// ResetAsDelay makes Status429 send x-ratelimit-reset as seconds until
	// the reset instead of epoch seconds.
	ResetAsDelay bool
	// Identifiers are, for Partial207, the entities to fail; when empty,
	// the entities at even indexes (0, 2, 4, ...) fail.
	Identifiers []string
}

// InjectFault queues f. Faults are taken in the order they were injected;
// a request takes at most one.
// It panics on a route or kind it does not know, as a typo would
// otherwise make a test pass without its fault.
func (s *Server) InjectFault(f Fault) {
	if !knownRoute(f.Route) || f.Kind < Status500 || f.Kind > Status413 {
		panic(fmt.Sprintf("glinttest: InjectFault: unknown route %q or kind %v", f.Route, f.Kind))
	}
	if f.Count == 0 {
		f.Count = 1
	}
	f.Identifiers = slices.Clone(f.Identifiers)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFaultLocked returns a copy of the first fault matching route and uses
// one of its count.
func (s *Server) takeFaultLocked(route string) *Fault {
	if route == RouteUnknown {
		return nil
	}
	for i, f := range s.faults {
		if f.Route != "" && f.Route != route {
			continue
		}
		if f.Kind == Partial207 && route != RouteBulk {
			continue
		}
		taken := *f
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		s.stats.FaultsInjected++
		return &taken
	}
	return s.takeRandomLocked(route)
}

// serveFault answers a request with an injected fault.
func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, route string, f *Fault) {
	switch f.Kind {
	case Status500:
		writeError(w, http.StatusInternalServerError, "internal_error", "injected fault: internal error")
	case Status503:
		writeError(w, http.StatusServiceUnavailable, "service_unavailable", "injected fault: service unavailable")
	case Timeout:
		// Read the body so the server watches the connection and sees the
		// client give up.
		_, _ = io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
	case Status429:
		d := f.RetryAfter
		if d <= 0 {
			d = time.Second
		}
		s.mu.Lock()
		limit := s.opts.RateLimit
		if limit == 0 {
			limit = 1_000_000
		}
		s.setRateHeaders(w.Header(), limit, 0, s.opts.Now().Add(d), f.ResetAsDelay)
		s.mu.Unlock()
		writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "injected fault: too many requests, see x-ratelimit-reset")
	case Status401:
		if route == RouteToken {
			writeError(w, http.StatusUnauthorized, "unauthorized", "injected fault: invalid client credentials")
			return
		}
		s.mu.Lock()
		s.expireTokensLocked()
		s.mu.Unlock()
		writeError(w, http.StatusUnauthorized, "unauthorized", "access token expired")
	case Status413:
		writeError(w, http.StatusRequestEntityTooLarge, "request_too_large", "injected fault: request body too large")
	default:
		writeError(w, http.StatusInternalServerError, "internal_error", "injected fault of unknown kind "+f.Kind.String())
	}
}

// knownRoute reports whether a fault may name route ("" is any).
func knownRoute(route string) bool {
	switch route {
	case "", RouteToken, RouteBlueprints, RouteUpsert, RouteBulk, RouteDelete,
		RouteBulkDelete, RouteSearch, RouteEntity, RouteTeams:
		return true
	}
	return false
}

type faultKey struct{}

func withFault(ctx context.Context, f *Fault) context.Context {
	return context.WithValue(ctx, faultKey{}, f)
}

// partialFault is the Partial207 fault a bulk request took, if any.
func partialFault(ctx context.Context) *Fault {
	f, _ := ctx.Value(faultKey{}).(*Fault)
	return f
}

// failsEntity reports whether a Partial207 fault fails the entity at index.
func (f *Fault) failsEntity(index int, identifier string) bool {
	if len(f.Identifiers) == 0 {
		return index%2 == 0
	}
	return slices.Contains(f.Identifiers, identifier)
}
