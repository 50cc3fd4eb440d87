package ghetest

import "github.com/kozmoai/glint-github-app/internal/fakehttp"

// Stats counts what the server answered since it started or ResetStats.
type Stats struct {
	// Requests counts requests by route kind (RouteInstallations, ...,
	// RouteOther) and then by status; status 0 means no answer (a hang
	// the client gave up on, or a reset connection).
	Requests fakehttp.Requests
	// GraphQLRequests counts requests to the GraphQL endpoint.
	GraphQLRequests int
	// GraphQLQueries counts GraphQL queries executed (valid, authorized,
	// within limits).
	GraphQLQueries int
	// PointsUsed is the sum of the rateLimit cost of executed queries.
	PointsUsed int
	// NodesRequested counts the repositories executed queries asked for:
	// ids of nodes(ids:), node(id:) and repository() fields.
	NodesRequested int
	// Faults counts injected faults.
	Faults int
}

// Count returns the number of requests to route answered with status.
func (st Stats) Count(route string, status int) int { return st.Requests.Count(route, status) }

// Total returns the number of requests to route, whatever their status.
func (st Stats) Total(route string) int { return st.Requests.Total(route) }

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.smu.Lock()
	defer s.smu.Unlock()
	st := s.stats
	st.Requests = s.stats.Requests.Clone()
	return st
}

// ResetStats zeroes the counters. Rate limit budgets are left as they are.
func (s *Server) ResetStats() {
	s.smu.Lock()
	defer s.smu.Unlock()
	s.stats = Stats{Requests: fakehttp.Requests{}}
}
