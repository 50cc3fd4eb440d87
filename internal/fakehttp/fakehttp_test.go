package fakehttp

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRequests(t *testing.T) {
	q := Requests{}
	q.Record("search", 200)
	q.Record("search", 200)
	q.Record("search", 500)
	q.Record("bulk", 0)
	if q.Count("search", 200) != 2 || q.Total("search") != 3 || q.Total("bulk") != 1 || q.Total("none") != 0 {
		t.Fatalf("counts: %v", q)
	}
	c := q.Clone()
	q.Record("search", 200)
	if c.Count("search", 200) != 2 {
		t.Error("Clone shares the inner maps")
	}
}

func TestStatusWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	w := &StatusWriter{ResponseWriter: rec}
	_, _ = w.Write([]byte("x"))
	w.WriteHeader(http.StatusTeapot) // too late: the first status stays
	if w.Status != http.StatusOK {
		t.Errorf("status %d, want 200", w.Status)
	}
	w2 := &StatusWriter{ResponseWriter: httptest.NewRecorder()}
	w2.WriteHeader(http.StatusNotFound)
	if w2.Status != http.StatusNotFound || http.NewResponseController(w2) == nil {
		t.Errorf("status %d, want 404", w2.Status)
	}
}
