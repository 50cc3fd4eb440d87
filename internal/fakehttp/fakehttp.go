// Package fakehttp holds what the two fake servers (ghe/ghetest and
// glint/glinttest) share: counting requests by route and status, and a
// ResponseWriter that remembers the status a handler wrote.
package fakehttp

import (
	"maps"
	"net/http"
)

// Requests counts requests by route and then by response status. Status 0
// means no answer (a hang the client gave up on, or a reset connection).
type Requests map[string]map[int]int

// Record counts one request on route answered with status.
func (q Requests) Record(route string, status int) {
	m := q[route]
	if m == nil {
		m = make(map[int]int)
		q[route] = m
	}
	m[status]++
}

// Count returns the number of requests on route answered with status.
func (q Requests) Count(route string, status int) int { return q[route][status] }

// Total returns the number of requests on route, whatever their status.
func (q Requests) Total(route string) int {
	n := 0
	for _, c := range q[route] {
		n += c
	}
	return n
}

// Clone returns a deep copy.
func (q Requests) Clone() Requests {
	out := make(Requests, len(q))
	for r, m := range q {
		out[r] = maps.Clone(m)
	}
	return out
}

// StatusWriter remembers the status a handler wrote (200 when it wrote a
// body first).
type StatusWriter struct {
	http.ResponseWriter
	Status int
}

// WriteHeader records code and passes it on.
func (w *StatusWriter) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records 200 when no status was written yet.
func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (Hijack, Flush).
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
