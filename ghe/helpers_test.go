package ghe

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden files")

// testKey is one RSA key shared by the tests of this package (generating
// one costs a noticeable part of a second under -race).
var testKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
})

func mustKey(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := testKey()
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

// fastOptions returns Options with short waits, for tests.
func fastOptions(apiURL, graphqlURL string, pemKey []byte) Options {
	return Options{
		APIURL:         apiURL,
		GraphQLURL:     graphqlURL,
		AppID:          42,
		PrivateKey:     pemKey,
		Timeout:        2 * time.Second,
		MaxRetries:     3,
		Logger:         slog.New(slog.DiscardHandler),
		retryBaseDelay: time.Millisecond,
		retryMaxDelay:  5 * time.Millisecond,
		maxRateWait:    3 * time.Second,
	}
}

// setup starts an httptest server with a mux that already answers
// installation token requests, and returns a client for it.
func setup(t *testing.T, edit func(*Options)) (*Client, *http.ServeMux, *httptest.Server) {
	t.Helper()
	_, pemKey := mustKey(t)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v3/app/installations/{id}/access_tokens", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			http.Error(w, `{"message":"no JWT"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"token":"ghs_test%s","expires_at":%q}`, r.PathValue("id"), time.Now().Add(time.Hour).Format(time.RFC3339))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	opts := fastOptions(srv.URL+"/api/v3", srv.URL+"/api/graphql", pemKey)
	if edit != nil {
		edit(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, mux, srv
}

// serveFile answers with testdata/name.
func serveFile(t *testing.T, w http.ResponseWriter, name string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Errorf("read testdata: %v", err)
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(b)
}

// graphqlRequest is a decoded GraphQL request body.
type graphqlRequest struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables"`
}

func decodeGraphQL(t *testing.T, r *http.Request) graphqlRequest {
	t.Helper()
	var req graphqlRequest
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &req); err != nil {
		t.Errorf("decode graphql request: %v", err)
	}
	return req
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update): %v", err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n got: %s\nwant: %s", name, got, want)
	}
}

// newServer starts an httptest server for h and returns its URL.
func newServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
