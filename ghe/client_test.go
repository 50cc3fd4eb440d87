package ghe

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// wrap76 breaks s into lines of 76 characters, as base64(1) does.
func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	b.WriteString(s + "\n")
	return b.String()
}

func TestParsePrivateKey(t *testing.T) {
	key, pkcs1 := mustKey(t)
	der8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8 := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der8})
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	derEC, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: derEC})
	pubDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	b64 := base64.StdEncoding.EncodeToString

	tests := []struct {
		name    string
		value   []byte
		want    []byte // nil: error expected
		wantErr string
	}{
		{name: "raw PKCS#1 PEM", value: pkcs1, want: pkcs1},
		{name: "raw PEM with surrounding whitespace", value: []byte("\n  " + string(pkcs1) + "\n\n"), want: pkcs1},
		{name: "base64 PKCS#1 on one line", value: []byte(b64(pkcs1)), want: pkcs1},
		{name: "base64 wrapped at 76 with CRLF", value: []byte(strings.ReplaceAll(wrap76(b64(pkcs1)), "\n", "\r\n")), want: pkcs1},
		{name: "base64 without padding", value: []byte(strings.TrimRight(b64(pkcs1), "=")), want: pkcs1},
		{name: "raw PKCS#8 PEM", value: pkcs8, want: pkcs8},
		{name: "base64 PKCS#8", value: []byte(wrap76(b64(pkcs8))), want: pkcs8},
		{name: "empty", value: []byte("  \n"), wantErr: "PRIVATE_KEY is empty"},
		{name: "garbage", value: []byte("not a key at all!"), wantErr: "neither a PEM nor base64"},
		{name: "base64 of garbage", value: []byte(b64([]byte("hello world, not a pem"))), wantErr: "does not decode to a PEM"},
		{name: "truncated PEM", value: pkcs1[:len(pkcs1)/2], wantErr: "no valid PEM block"},
		{name: "corrupt PKCS#1 body", value: corruptPEM(pkcs1), wantErr: "not a valid PKCS#1"},
		{name: "EC key", value: ecPEM, wantErr: "not an RSA key"},
		{name: "public key", value: pubPEM, wantErr: `type "PUBLIC KEY"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePrivateKey(tt.value)
			if tt.want != nil {
				if err != nil {
					t.Fatalf("ParsePrivateKey: %v", err)
				}
				if diff := cmp.Diff(string(tt.want), string(got)); diff != "" {
					t.Errorf("PEM (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatal("ParsePrivateKey succeeded, want error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			assertNoKeyMaterial(t, err.Error(), tt.value)
		})
	}
}

// corruptPEM keeps the PEM armour but breaks the DER inside.
func corruptPEM(p []byte) []byte {
	block, _ := pem.Decode(p)
	der := append([]byte(nil), block.Bytes...)
	for i := 10; i < len(der); i += 7 {
		der[i] ^= 0xff
	}
	return pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: der})
}

// assertNoKeyMaterial fails when msg contains any 6-character run of value
// other than the PEM armour.
func assertNoKeyMaterial(t *testing.T, msg string, value []byte) {
	t.Helper()
	s := string(value)
	for _, armour := range []string{"-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"} {
		s = strings.ReplaceAll(s, armour, "\n")
	}
	for _, line := range strings.Fields(s) {
		for i := 0; i+6 <= len(line); i++ {
			if strings.Contains(msg, line[i:i+6]) {
				t.Fatalf("error %q contains key material %q", msg, line[i:i+6])
			}
		}
	}
}

func TestNewValidates(t *testing.T) {
	_, pemKey := mustKey(t)
	secret := base64.StdEncoding.EncodeToString([]byte("-----BEGIN RSA PRIVATE KEY-----\nMIIEsecretsecretsecret\n-----END RSA PRIVATE KEY-----\n"))
	tests := []struct {
		name    string
		edit    func(*Options)
		wantErr string
	}{
		{name: "valid", edit: func(*Options) {}},
		{name: "base64 key accepted", edit: func(o *Options) { o.PrivateKey = []byte(base64.StdEncoding.EncodeToString(pemKey)) }},
		{name: "bad key", edit: func(o *Options) { o.PrivateKey = []byte(secret) }, wantErr: "PRIVATE_KEY"},
		{name: "no app id", edit: func(o *Options) { o.AppID = 0 }, wantErr: "APP_ID"},
		{name: "no api url", edit: func(o *Options) { o.APIURL = "" }, wantErr: "API URL is empty"},
		{name: "relative graphql url", edit: func(o *Options) { o.GraphQLURL = "/api/graphql" }, wantErr: "GraphQL URL"},
		{name: "absolute spec path", edit: func(o *Options) { o.SpecPaths = []string{"/glint.yml"} }, wantErr: "invalid spec path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := fastOptions("https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql", pemKey)
			tt.edit(&opts)
			_, err := New(opts)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want one containing %q", err, tt.wantErr)
			}
			assertNoKeyMaterial(t, err.Error(), opts.PrivateKey)
		})
	}
}

func TestEndpoints(t *testing.T) {
	tests := []struct {
		fn            func(string) (string, string)
		in            string
		wantAPI, want string
	}{
		{EndpointsForHost, "ghe.example.com", "https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql"},
		{EndpointsForHost, "ghe.example.com:8443", "https://ghe.example.com:8443/api/v3", "https://ghe.example.com:8443/api/graphql"},
		{EndpointsForHost, " ghe.example.com/ ", "https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql"},
		{EndpointsForHost, "github.com", "https://api.github.com", "https://api.github.com/graphql"},
		{EndpointsForBaseURL, "https://ghe.example.com", "https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql"},
		{EndpointsForBaseURL, "https://ghe.example.com/", "https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql"},
		{EndpointsForBaseURL, "http://10.0.0.5:8080", "http://10.0.0.5:8080/api/v3", "http://10.0.0.5:8080/api/graphql"},
		{EndpointsForBaseURL, "https://ghe.example.com/api/v3/", "https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql"},
		{EndpointsForBaseURL, "https://github.com", "https://api.github.com", "https://api.github.com/graphql"},
	}
	for _, tt := range tests {
		api, gql := tt.fn(tt.in)
		if api != tt.wantAPI || gql != tt.want {
			t.Errorf("endpoints(%q) = %q, %q; want %q, %q", tt.in, api, gql, tt.wantAPI, tt.want)
		}
	}
}

func TestInstallationsFollowsLink(t *testing.T) {
	c, mux, srv := setup(t, nil)
	var calls atomic.Int32
	mux.HandleFunc("GET /api/v3/app/installations", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			t.Errorf("installations listed without the app JWT")
		}
		if got := r.URL.Query().Get("per_page"); got != "100" {
			t.Errorf("per_page = %q, want 100", got)
		}
		switch r.URL.Query().Get("page") {
		case "":
			w.Header().Set("Link", fmt.Sprintf(`<%s/api/v3/app/installations?per_page=100&page=2>; rel="next", <%s/api/v3/app/installations?per_page=100&page=2>; rel="last"`, srv.URL, srv.URL))
			serveFile(t, w, "app_installations_page1.json")
		case "2":
			w.Header().Set("Link", fmt.Sprintf(`<%s/api/v3/app/installations?per_page=100&page=1>; rel="first", <%s/api/v3/app/installations?per_page=100&page=1>; rel="prev"`, srv.URL, srv.URL))
			serveFile(t, w, "app_installations_page2.json")
		default:
			t.Errorf("unexpected page %q", r.URL.Query().Get("page"))
		}
	})
	got, err := c.Installations(t.Context())
	if err != nil {
		t.Fatalf("Installations: %v", err)
	}
	want := []Installation{{1, "acme", "Organization"}, {2, "octocat", "User"}, {3, "globex", "Organization"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("installations (-want +got):\n%s", diff)
	}
	if calls.Load() != 2 {
		t.Errorf("%d requests, want 2", calls.Load())
	}
}

func TestLinkToOtherHostRefused(t *testing.T) {
	c, mux, _ := setup(t, nil)
	mux.HandleFunc("GET /api/v3/app/installations", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<https://evil.example.com/steal?page=2>; rel="next"`)
		serveFile(t, w, "app_installations_page1.json")
	})
	_, err := c.Installations(t.Context())
	if err == nil || !strings.Contains(err.Error(), "another host") {
		t.Fatalf("Installations error = %v, want refusal of another host", err)
	}
}

func TestRepositories(t *testing.T) {
	c, mux, _ := setup(t, nil)
	mux.HandleFunc("GET /api/v3/installation/repositories", func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "token ghs_test7" {
			t.Errorf("Authorization = %q, want the installation token", got)
		}
		serveFile(t, w, "installation_repositories.json")
	})
	got, err := c.Repositories(t.Context(), 7)
	if err != nil {
		t.Fatalf("Repositories: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("%d repositories, want 3", len(got))
	}
	want := Repository{
		InstallationID: 7, ID: 11, NodeID: "R_11", Owner: "acme", Name: "checkout", FullName: "acme/checkout",
		URL: "https://ghe.example.com/acme/checkout", Description: "Checkout service", DefaultBranch: "main",
		Visibility: "PRIVATE", Topics: []string{"payments"}, PushedAt: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
	}
	if diff := cmp.Diff(want, got[0]); diff != "" {
		t.Errorf("repository (-want +got):\n%s", diff)
	}
	if got[1].Visibility != "INTERNAL" || !got[2].Archived || !got[2].Fork {
		t.Errorf("visibility/archived/fork not mapped: %+v %+v", got[1], got[2])
	}
}

func TestRepositoriesIncompleteListing(t *testing.T) {
	c, mux, _ := setup(t, nil)
	var calls atomic.Int32
	mux.HandleFunc("GET /api/v3/installation/repositories", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		// total_count says 2, but only one repository comes: a listing that
		// changed while it was paged must not pass for complete.
		fmt.Fprint(w, `{"total_count":2,"repositories":[{"id":1,"node_id":"R_1","name":"a","full_name":"o/a","owner":{"login":"o"}}]}`)
	})
	_, err := c.Repositories(t.Context(), 1)
	if !errors.Is(err, ErrInvalidResponse) {
		t.Fatalf("Repositories error = %v, want ErrInvalidResponse", err)
	}
	if calls.Load() != 3 {
		t.Errorf("%d listings, want 3 (two retries)", calls.Load())
	}
}

func TestRESTInvalidBodies(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		wantInvalid bool
		wantStatus  int
	}{
		{name: "HTML maintenance page", status: 200, contentType: "text/html", body: "<html><body>maintenance</body></html>", wantInvalid: true},
		{name: "HTML labelled JSON", status: 200, contentType: "application/json", body: "<html></html>", wantInvalid: true},
		{name: "empty body", status: 200, contentType: "application/json", body: "", wantInvalid: true},
		{name: "truncated JSON", status: 200, contentType: "application/json", body: `[{"id": 1, "account": {"login": "acme"`, wantInvalid: true},
		{name: "401", status: 401, contentType: "application/json", body: `{"message":"Bad credentials"}`, wantStatus: 401},
		{name: "404", status: 404, contentType: "application/json", body: `{"message":"Not Found"}`, wantStatus: 404},
		{name: "503 HTML after retries", status: 503, contentType: "text/html", body: "<html>unavailable</html>", wantStatus: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux, _ := setup(t, nil)
			var calls atomic.Int32
			mux.HandleFunc("GET /api/v3/app/installations", func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			got, err := c.Installations(t.Context())
			if err == nil {
				t.Fatalf("Installations = %v, want error", got)
			}
			if tt.wantInvalid && !errors.Is(err, ErrInvalidResponse) {
				t.Errorf("error %v is not ErrInvalidResponse", err)
			}
			var ae *APIError
			if tt.wantStatus != 0 && (!errors.As(err, &ae) || ae.StatusCode != tt.wantStatus) {
				t.Errorf("error %v, want APIError with status %d", err, tt.wantStatus)
			}
			wantCalls := int32(1)
			if tt.wantInvalid || tt.status >= 500 {
				wantCalls = 4 // 1 + MaxRetries
			}
			if calls.Load() != wantCalls {
				t.Errorf("%d requests, want %d", calls.Load(), wantCalls)
			}
		})
	}
}

func TestRetryTransient(t *testing.T) {
	c, mux, _ := setup(t, nil)
	var calls atomic.Int32
	mux.HandleFunc("GET /api/v3/app/installations", func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			http.Error(w, "boom", http.StatusBadGateway)
		case 2:
			// Cut the connection without an answer.
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		default:
			serveFile(t, w, "app_installations_page2.json")
		}
	})
	got, err := c.Installations(t.Context())
	if err != nil {
		t.Fatalf("Installations: %v", err)
	}
	if len(got) != 1 || calls.Load() != 3 {
		t.Errorf("got %d installations after %d requests, want 1 after 3", len(got), calls.Load())
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	tests := []struct {
		name   string
		header func(http.Header)
		status int
	}{
		{"secondary rate limit Retry-After", func(h http.Header) { h.Set("Retry-After", "1") }, http.StatusForbidden},
		{"429 Retry-After", func(h http.Header) { h.Set("Retry-After", "1") }, http.StatusTooManyRequests},
		{"primary rate limit reset", func(h http.Header) {
			h.Set("X-Ratelimit-Remaining", "0")
			h.Set("X-Ratelimit-Reset", fmt.Sprint(time.Now().Add(time.Second).Unix()))
		}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux, _ := setup(t, nil)
			var calls atomic.Int32
			var first time.Time
			var gap time.Duration
			mux.HandleFunc("GET /api/v3/app/installations", func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					first = time.Now()
					tt.header(w.Header())
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(tt.status)
					fmt.Fprint(w, `{"message":"You have exceeded a rate limit."}`)
					return
				}
				gap = time.Since(first)
				serveFile(t, w, "app_installations_page2.json")
			})
			if _, err := c.Installations(t.Context()); err != nil {
				t.Fatalf("Installations: %v", err)
			}
			if calls.Load() != 2 {
				t.Fatalf("%d requests, want 2", calls.Load())
			}
			// The backoff alone is at most 5ms here; the wait must follow the header.
			if gap < 500*time.Millisecond {
				t.Errorf("retried after %s, want about a second", gap)
			}
		})
	}
}

func TestPlain403NotRetried(t *testing.T) {
	c, mux, _ := setup(t, nil)
	var calls atomic.Int32
	mux.HandleFunc("GET /api/v3/app/installations", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"message":"Resource not accessible by integration"}`)
	})
	_, err := c.Installations(t.Context())
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 403 || ae.Message != "Resource not accessible by integration" {
		t.Fatalf("error = %v, want APIError 403 with GitHub's message", err)
	}
	if calls.Load() != 1 {
		t.Errorf("%d requests, want 1", calls.Load())
	}
}

func TestRateLimitWaitTooLongNotRetried(t *testing.T) {
	c, mux, _ := setup(t, nil) // maxRateWait is 3s in tests
	var calls atomic.Int32
	mux.HandleFunc("GET /api/v3/app/installations", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("X-Ratelimit-Remaining", "0")
		w.Header().Set("X-Ratelimit-Reset", fmt.Sprint(time.Now().Add(time.Hour).Unix()))
		w.WriteHeader(http.StatusForbidden)
	})
	start := time.Now()
	if _, err := c.Installations(t.Context()); err == nil {
		t.Fatal("Installations succeeded, want error")
	}
	if calls.Load() != 1 || time.Since(start) > time.Second {
		t.Errorf("%d requests in %s, want 1 answered at once", calls.Load(), time.Since(start))
	}
}

func TestTokenRequestRetried(t *testing.T) {
	_, pemKey := mustKey(t)
	mux := http.NewServeMux()
	var tokenCalls atomic.Int32
	mux.HandleFunc("POST /api/v3/app/installations/{id}/access_tokens", func(w http.ResponseWriter, r *http.Request) {
		if tokenCalls.Add(1) == 1 {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, "<html>maintenance</html>")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"token":"ghs_ok","expires_at":%q}`, time.Now().Add(time.Hour).Format(time.RFC3339))
	})
	mux.HandleFunc("GET /api/v3/installation/repositories", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "token ghs_ok" {
			t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
		}
		serveFile(t, w, "installation_repositories.json")
	})
	srv := newServer(t, mux)
	c, err := New(fastOptions(srv+"/api/v3", srv+"/api/graphql", pemKey))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Repositories(t.Context(), 5); err != nil {
		t.Fatalf("Repositories: %v", err)
	}
	if tokenCalls.Load() != 2 {
		t.Errorf("%d token requests, want 2", tokenCalls.Load())
	}
}
