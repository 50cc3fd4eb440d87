package glinttest

import (
	"maps"
	"math/rand/v2"
	"slices"
	"time"
)

// RandomFaults makes requests fail at random, for soak tests. Queued
// faults (InjectFault) are used first.
type RandomFaults struct {
	// Rand decides which requests fail and how; seed it for reproducible
	// runs. The server serializes its use.
	Rand *rand.Rand
	// Probability is the chance that one request fails, in [0, 1].
	Probability float64
	// Kinds are the kinds to pick from, uniformly. A kind that does not
	// fit the route picked for (Partial207 off the bulk route, Status401 on
	// the token route, where it would mean bad credentials rather than an
	// expired token) leaves that request alone.
	Kinds []Kind
	// Routes restricts the faults to these routes; empty means any.
	Routes []string
	// RetryAfter is, for Status429, the time until x-ratelimit-reset
	// (default 1s).
	RetryAfter time.Duration
}

// randomFaults is the server's copy of a RandomFaults, with its counts.
type randomFaults struct {
	RandomFaults
	counts map[Kind]int
}

// SetRandomFaults makes requests fail at random as rf says; nil turns it
// off. The counts of RandomFaultCounts start again from zero.
func (s *Server) SetRandomFaults(rf *RandomFaults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rf == nil || rf.Rand == nil || len(rf.Kinds) == 0 {
		s.random = nil
		return
	}
	cp := *rf
	cp.Kinds = slices.Clone(rf.Kinds)
	cp.Routes = slices.Clone(rf.Routes)
	s.random = &randomFaults{RandomFaults: cp, counts: make(map[Kind]int)}
}

// RandomFaultCounts returns how many requests took each kind of random
// fault since SetRandomFaults.
func (s *Server) RandomFaultCounts() map[Kind]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.random == nil {
		return map[Kind]int{}
	}
	return maps.Clone(s.random.counts)
}

// takeRandomLocked draws the random fault of a request to route, if any.
func (s *Server) takeRandomLocked(route string) *Fault {
	rf := s.random
	if rf == nil || route == RouteUnknown || (len(rf.Routes) > 0 && !slices.Contains(rf.Routes, route)) {
		return nil
	}
	if rf.Rand.Float64() >= rf.Probability {
		return nil
	}
	k := rf.Kinds[rf.Rand.IntN(len(rf.Kinds))]
	if (k == Partial207 && route != RouteBulk) || (k == Status401 && route == RouteToken) {
		return nil
	}
	rf.counts[k]++
	s.stats.FaultsInjected++
	return &Fault{Route: route, Kind: k, Count: 1, RetryAfter: rf.RetryAfter}
}
