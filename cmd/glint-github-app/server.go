package main

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// health is what GET /health reports: when a pass was last attempted and
// last succeeded, and a one-line summary of the last error. It never holds
// a secret: errors reaching it come from packages that never put one in.
type health struct {
	mu          sync.Mutex
	started     time.Time
	maxAge      time.Duration
	lastAttempt time.Time
	lastSuccess time.Time
	lastError   string
	lastSummary string
	now         func() time.Time
}

func newHealth(maxAge time.Duration, now func() time.Time) *health {
	return &health{started: now(), maxAge: maxAge, now: now}
}

func (h *health) attempt() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastAttempt = h.now()
}

func (h *health) finish(summary string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastSummary = summary
	if err != nil {
		h.lastError = truncate(err.Error(), 500)
		return
	}
	h.lastError = ""
	h.lastSuccess = h.now()
}

type healthReport struct {
	Status      string     `json:"status"` // ok, starting or stale
	LastAttempt *time.Time `json:"lastAttempt,omitempty"`
	LastSuccess *time.Time `json:"lastSuccess,omitempty"`
	LastError   string     `json:"lastError,omitempty"`
	LastPass    string     `json:"lastPass,omitempty"`
	MaxAge      string     `json:"maxAge"`
}

// report says ok while a pass succeeded within maxAge, starting while the
// process is younger than maxAge and none has yet, and stale otherwise.
func (h *health) report() (healthReport, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	r := healthReport{LastError: h.lastError, LastPass: h.lastSummary, MaxAge: h.maxAge.String()}
	if !h.lastAttempt.IsZero() {
		t := h.lastAttempt.UTC()
		r.LastAttempt = &t
	}
	if !h.lastSuccess.IsZero() {
		t := h.lastSuccess.UTC()
		r.LastSuccess = &t
	}
	switch {
	case !h.lastSuccess.IsZero() && now.Sub(h.lastSuccess) <= h.maxAge:
		r.Status = "ok"
		return r, http.StatusOK
	case h.lastSuccess.IsZero() && now.Sub(h.started) <= h.maxAge:
		r.Status = "starting"
		return r, http.StatusOK
	}
	r.Status = "stale"
	return r, http.StatusServiceUnavailable
}

// newServer serves GET /health and GET /metrics on addr, and nothing else.
func newServer(addr string, h *health, reg *prometheus.Registry) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		r, code := h.report()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(r)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		http.NotFound(w, r)
	})
	return &http.Server{
		Addr:              addr,
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}

func listenAddr(port int) string { return net.JoinHostPort("", strconv.Itoa(port)) }
