package glint

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// tokenServer issues tokens tok-1, tok-2, ... with the given expiresIn
// (left out when 0), checking each token request.
type tokenServer struct {
	t         *testing.T
	expiresIn int
	issued    atomic.Int32
}

func (ts *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	checkTokenRequest(ts.t, r)
	n := ts.issued.Add(1)
	body := map[string]any{"ok": true, "accessToken": fmt.Sprintf("tok-%d", n), "tokenType": "Bearer"}
	if ts.expiresIn != 0 {
		body["expiresIn"] = ts.expiresIn
	}
	serveJSON(ts.t, w, http.StatusOK, body)
}

func (ts *tokenServer) current() string { return fmt.Sprintf("tok-%d", ts.issued.Load()) }

func TestTokenReuseAndRefresh(t *testing.T) {
	tests := []struct {
		name       string
		expiresIn  int
		wantTokens int32
	}{
		{name: "long-lived token is reused", expiresIn: 10800, wantTokens: 1},
		{name: "token without expiry is reused", expiresIn: 0, wantTokens: 1},
		// Replaced halfway through its life: 0.5s, less than the
		// reuse margin, so every call fetches one.
		{name: "short-lived token is refreshed", expiresIn: 1, wantTokens: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := setupBare(t)
			ts := &tokenServer{t: t, expiresIn: tt.expiresIn}
			mux.Handle("POST /v1/auth/access_token", ts)
			mux.HandleFunc("GET /v1/blueprints", func(w http.ResponseWriter, r *http.Request) {
				checkAuth(t, r, ts.current())
				serveFile(t, w, http.StatusOK, "blueprints.json")
			})
			for range 3 {
				if _, err := c.Blueprints(t.Context()); err != nil {
					t.Fatalf("Blueprints: %v", err)
				}
			}
			if got := ts.issued.Load(); got != tt.wantTokens {
				t.Errorf("tokens fetched = %d, want %d", got, tt.wantTokens)
			}
		})
	}
}

func TestConcurrentCallsShareOneToken(t *testing.T) {
	c, mux := setupBare(t)
	ts := &tokenServer{t: t, expiresIn: 10800}
	mux.Handle("POST /v1/auth/access_token", ts)
	mux.HandleFunc("GET /v1/blueprints", func(w http.ResponseWriter, r *http.Request) {
		checkAuth(t, r, "tok-1")
		serveFile(t, w, http.StatusOK, "blueprints.json")
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c.Blueprints(t.Context()); err != nil {
				t.Errorf("Blueprints: %v", err)
			}
		})
	}
	wg.Wait()
	if got := ts.issued.Load(); got != 1 {
		t.Errorf("tokens fetched = %d, want 1", got)
	}
}

func TestUnauthorizedFetchesTokenAndRetriesOnce(t *testing.T) {
	tests := []struct {
		name       string
		rejected   int32 // how many first tokens the API rejects
		wantErr    bool
		wantCalls  int32
		wantTokens int32
	}{
		{name: "stale token replaced", rejected: 1, wantCalls: 2, wantTokens: 2},
		{name: "no loop when the new token is refused too", rejected: 100, wantErr: true, wantCalls: 2, wantTokens: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := setupBare(t)
			ts := &tokenServer{t: t, expiresIn: 10800}
			mux.Handle("POST /v1/auth/access_token", ts)
			var calls atomic.Int32
			mux.HandleFunc("GET /v1/teams", func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				checkAuth(t, r, ts.current())
				if ts.issued.Load() <= tt.rejected {
					serveFile(t, w, http.StatusUnauthorized, "error_unauthorized.json", "x-trace-id", "trace-401")
					return
				}
				serveFile(t, w, http.StatusOK, "teams.json")
			})
			_, err := c.Teams(t.Context())
			if tt.wantErr {
				var ae *APIError
				if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized || ae.TraceID != "trace-401" {
					t.Errorf("error = %v, want a 401 APIError with trace id trace-401", err)
				}
			} else if err != nil {
				t.Fatalf("Teams: %v", err)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("API calls = %d, want %d", got, tt.wantCalls)
			}
			if got := ts.issued.Load(); got != tt.wantTokens {
				t.Errorf("tokens fetched = %d, want %d", got, tt.wantTokens)
			}
		})
	}
}

// TestSecretsNeverInErrorsOrLogs runs failing calls with a debug logger and
// a token endpoint that echoes the secret, and looks for the secret and the
// token in every error and log line.
func TestSecretsNeverInErrorsOrLogs(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))

	t.Run("token endpoint refuses and echoes the secret", func(t *testing.T) {
		c, mux := setupBare(t, WithLogger(logger))
		var tokenCalls, apiCalls atomic.Int32
		mux.HandleFunc("POST /v1/auth/access_token", func(w http.ResponseWriter, r *http.Request) {
			tokenCalls.Add(1)
			checkTokenRequest(t, r)
			serveJSON(t, w, http.StatusUnauthorized, map[string]any{
				"ok": false, "error": "unauthorized", "message": "invalid clientSecret " + testSecret,
			}, "x-trace-id", "trace-token")
		})
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { apiCalls.Add(1) })
		_, err := c.Blueprints(t.Context())
		var ae *APIError
		if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized || ae.TraceID != "trace-token" {
			t.Fatalf("error = %v, want the token endpoint's 401", err)
		}
		if !strings.Contains(err.Error(), "[REDACTED]") {
			t.Errorf("error %q does not show the redaction", err)
		}
		if got := tokenCalls.Load(); got != 1 {
			t.Errorf("token calls = %d, want 1 (a refused credential is not retried)", got)
		}
		if got := apiCalls.Load(); got != 0 {
			t.Errorf("API calls without a token = %d", got)
		}
		checkNoSecrets(t, err.Error())
	})

	t.Run("API echoes the token", func(t *testing.T) {
		c, mux := setup(t, WithLogger(logger))
		mux.HandleFunc("GET /v1/teams", func(w http.ResponseWriter, r *http.Request) {
			serveJSON(t, w, http.StatusInternalServerError, map[string]any{
				"ok": false, "error": "internal_error", "message": "failed for " + r.Header.Get("Authorization"),
			})
		})
		_, err := c.Teams(t.Context())
		if err == nil {
			t.Fatal("Teams succeeded")
		}
		checkNoSecrets(t, err.Error())
	})

	t.Run("repeated 401", func(t *testing.T) {
		c, mux := setup(t, WithLogger(logger))
		mux.HandleFunc("GET /v1/teams", func(w http.ResponseWriter, r *http.Request) {
			serveFile(t, w, http.StatusUnauthorized, "error_unauthorized.json")
		})
		_, err := c.Teams(t.Context())
		if err == nil {
			t.Fatal("Teams succeeded")
		}
		checkNoSecrets(t, err.Error())
	})

	mu.Lock()
	defer mu.Unlock()
	if logs.Len() == 0 {
		t.Fatal("nothing was logged")
	}
	if !strings.Contains(logs.String(), "trace_id=") {
		t.Errorf("logs have no trace id:\n%s", logs.String())
	}
	checkNoSecrets(t, logs.String())
}

func checkNoSecrets(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{testSecret, testToken, "tok-1"} {
		if strings.Contains(s, secret) {
			t.Errorf("%q appears in %q", secret, s)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
