package glinttest

import "github.com/kozmoai/glint-github-app/internal/fakehttp"

// Stats counts what the server saw since it started or since ResetStats.
type Stats struct {
	// Requests counts requests by route (a Route* constant) and response
	// status. A request that never got an answer (Timeout fault, client
	// gone) counts under status 0.
	Requests fakehttp.Requests
	// Reads counts entity read calls (search and get), whatever their outcome.
	Reads int
	// Writes counts entity write calls (upsert, bulk, delete, bulk delete),
	// whatever their outcome.
	Writes int
	// EntityWrites counts entities written (created or updated) by
	// successful upserts, including related entities created on the way;
	// validation_only writes are not counted.
	EntityWrites int
	// EntityCreates counts the EntityWrites that created an entity.
	EntityCreates int
	// Deletes counts entities deleted, dependents included.
	Deletes int
	// TeamWrites counts teams created, updated or deleted.
	TeamWrites int
	// TokensIssued counts new access tokens.
	TokensIssued int
	// TokenRequestsWithAuthorization counts token requests refused because
	// they carried an Authorization header.
	TokenRequestsWithAuthorization int
	// FaultsInjected counts requests that took an injected fault.
	FaultsInjected int
}

func newStats() Stats { return Stats{Requests: fakehttp.Requests{}} }

func (st *Stats) record(route string, status int) {
	st.Requests.Record(route, status)
	switch route {
	case RouteSearch, RouteEntity:
		st.Reads++
	case RouteUpsert, RouteBulk, RouteDelete, RouteBulkDelete:
		st.Writes++
	}
}

// Count is the number of requests on route answered with status.
func (st Stats) Count(route string, status int) int { return st.Requests.Count(route, status) }

// Total is the number of requests on route, whatever their status.
func (st Stats) Total(route string) int { return st.Requests.Total(route) }

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stats
	out.Requests = s.stats.Requests.Clone()
	return out
}

// ResetStats zeroes the counters.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = newStats()
}
