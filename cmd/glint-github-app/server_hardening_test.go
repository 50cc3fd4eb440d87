package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestServerTimeouts(t *testing.T) {
	srv := newServer("127.0.0.1:0", newHealth(time.Minute, time.Now), prometheus.NewRegistry())
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		if d <= 0 || d > 2*time.Minute {
			t.Errorf("%s = %s, want a bound of at most 2m", name, d)
		}
	}
	if srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 64<<10 {
		t.Errorf("MaxHeaderBytes = %d", srv.MaxHeaderBytes)
	}
	if srv.Handler == nil || srv.Handler == http.DefaultServeMux {
		t.Error("the server uses http.DefaultServeMux, where imported packages register debug handlers")
	}
}

// TestServerOnlyGETAndNoDebugEndpoints: GET (and HEAD) of /health and
// /metrics are served; every other method is refused; no debug endpoint
// exists.
func TestServerOnlyGETAndNoDebugEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHealth(time.Minute, time.Now)
	srv := httptest.NewServer(newServer("", h, reg).Handler)
	defer srv.Close()
	do := func(method, path string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{"/health", "/metrics"} {
		if code, _ := do(http.MethodGet, path); code != http.StatusOK {
			t.Errorf("GET %s: %d", path, code)
		}
		if code, body := do(http.MethodHead, path); code != http.StatusOK || body != "" {
			t.Errorf("HEAD %s: %d %q", path, code, body)
		}
	}
	for _, path := range []string{"/health", "/metrics", "/", "/anything"} {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodTrace} {
			if code, _ := do(m, path); code != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d, want 405", m, path, code)
			}
		}
	}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline", "/debug/pprof/profile",
		"/debug/vars", "/debug/requests", "/debug/events", "/metrics/../debug/vars", "/", "/health/x"} {
		if code, _ := do(http.MethodGet, path); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
}
