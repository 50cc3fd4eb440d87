package ghetest

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAppJWT(t *testing.T) {
	e := newEnv(t, Options{})
	other, _, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sign := func(key any, claims map[string]any) string {
		t.Helper()
		k := e.key
		if key != nil {
			k = other
		}
		j, err := signJWT(k, claims)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	good := map[string]any{"iat": now.Add(-30 * time.Second).Unix(), "exp": now.Add(2 * time.Minute).Unix(), "iss": "42"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range good {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		auth    string
		status  int
		message string
	}{
		{"good", "Bearer " + sign(nil, good), http.StatusOK, ""},
		{"good, SignAppJWT", "Bearer " + e.jwt(), http.StatusOK, ""},
		{"bad signature", "Bearer " + sign(other, good), http.StatusUnauthorized, msgJWTUndecodable},
		{"wrong iss", "Bearer " + sign(nil, with("iss", "43")), http.StatusUnauthorized, msgJWTWrongIssuer},
		{"iss as a number, as Octokit sends it", "Bearer " + sign(nil, with("iss", 42)), http.StatusOK, ""},
		{"wrong iss as a number", "Bearer " + sign(nil, with("iss", 43)), http.StatusUnauthorized, msgJWTWrongIssuer},
		{"iss as a fraction", "Bearer " + sign(nil, with("iss", 42.5)), http.StatusUnauthorized, msgJWTWrongIssuer},
		{"expired", "Bearer " + sign(nil, with("exp", now.Add(-time.Second).Unix())), http.StatusUnauthorized, msgJWTExpired},
		{"no exp", "Bearer " + sign(nil, with("exp", nil)), http.StatusUnauthorized, msgJWTExpired},
		{"exp too far", "Bearer " + sign(nil, with("exp", now.Add(11*time.Minute).Unix())), http.StatusUnauthorized, msgJWTTooFar},
		{"iat 5 minutes ago", "Bearer " + sign(nil, with("iat", now.Add(-5*time.Minute).Unix())), http.StatusOK, ""},
		{"exp-iat over 10 min", "Bearer " + sign(nil, map[string]any{"iat": now.Add(-9 * time.Minute).Unix(), "exp": now.Add(2 * time.Minute).Unix(), "iss": "42"}), http.StatusUnauthorized, msgJWTTooFar},
		{"iat in the future", "Bearer " + sign(nil, with("iat", now.Add(time.Minute).Unix())), http.StatusUnauthorized, msgJWTIssuedAt},
		{"not a jwt", "Bearer abc", http.StatusUnauthorized, msgJWTUndecodable},
		{"token scheme", "token " + sign(nil, good), http.StatusUnauthorized, msgJWTUndecodable},
		{"no credentials", "", http.StatusUnauthorized, msgRequiresAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.with(t)
			r := e.do("GET", "/api/v3/app/installations", tt.auth, nil)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if r.header.Get("X-GitHub-Request-Id") == "" {
				t.Error("no X-GitHub-Request-Id")
			}
			if tt.status == http.StatusOK {
				return
			}
			var body struct {
				Message          string `json:"message"`
				DocumentationURL string `json:"documentation_url"`
			}
			r.json(t, &body)
			if body.Message != tt.message || body.DocumentationURL == "" {
				t.Errorf("body %s, want message %q and a documentation_url", r.body, tt.message)
			}
		})
	}
}

func TestAccessTokens(t *testing.T) {
	e := newEnv(t, Options{TokenTTL: time.Hour})
	now := time.Now()
	var mu sync.Mutex
	clock := now
	e.s.clock = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); clock = clock.Add(d) }

	acme := e.s.AddInstallation("acme", "Organization")
	e.s.AddRepo(acme, Repo{Name: "checkout"})

	r := e.do("POST", fmt.Sprintf("/api/v3/app/installations/%d/access_tokens", acme), "Bearer "+e.jwt(), nil)
	if r.status != http.StatusCreated {
		t.Fatalf("create token: %d %s", r.status, r.body)
	}
	var tok struct {
		Token               string            `json:"token"`
		ExpiresAt           time.Time         `json:"expires_at"`
		Permissions         map[string]string `json:"permissions"`
		RepositorySelection string            `json:"repository_selection"`
	}
	r.json(t, &tok)
	if !regexp.MustCompile(`^ghs_[0-9A-Za-z]{36}$`).MatchString(tok.Token) {
		t.Errorf("token %q is not shaped like ghs_ and 36 alphanumerics", tok.Token)
	}
	if !strings.Contains(string(r.body), `"expires_at":"`+now.Add(time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)+`"`) {
		t.Errorf("expires_at not RFC 3339 UTC an hour ahead: %s", r.body)
	}
	if tok.Permissions["contents"] != "read" || tok.Permissions["metadata"] != "read" || tok.RepositorySelection != "all" {
		t.Errorf("token body %s", r.body)
	}

	for _, scheme := range []string{"token ", "Bearer ", "bearer "} {
		if r := e.do("GET", "/api/v3/installation/repositories", scheme+tok.Token, nil); r.status != http.StatusOK {
			t.Errorf("%s: status %d %s", scheme, r.status, r.body)
		}
	}
	// A token does not authenticate as the App, nor a JWT as an installation.
	if r := e.do("GET", "/api/v3/app/installations", "Bearer "+tok.Token, nil); r.status != http.StatusUnauthorized {
		t.Errorf("token as JWT: %d", r.status)
	}
	if r := e.do("GET", "/api/v3/installation/repositories", "Bearer "+e.jwt(), nil); r.status != http.StatusUnauthorized {
		t.Errorf("JWT as token: %d", r.status)
	}
	if r := e.do("GET", "/api/v3/installation/repositories", "token ghs_nope", nil); r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), `"Bad credentials"`) {
		t.Errorf("unknown token: %d %s", r.status, r.body)
	}

	t.Run("expired", func(t *testing.T) {
		e := e.with(t)
		advance(time.Hour)
		r := e.do("GET", "/api/v3/installation/repositories", "token "+tok.Token, nil)
		if r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), `"message":"Bad credentials"`) {
			t.Errorf("expired token: %d %s", r.status, r.body)
		}
		g := e.do("POST", "/api/graphql", "bearer "+tok.Token, map[string]any{"query": "{rateLimit{cost}}"})
		if g.status != http.StatusUnauthorized {
			t.Errorf("expired token on graphql: %d %s", g.status, g.body)
		}
	})
	t.Run("unknown installation", func(t *testing.T) {
		e := e.with(t)
		r := e.do("POST", "/api/v3/app/installations/999/access_tokens", "Bearer "+e.jwt(), nil)
		if r.status != http.StatusNotFound {
			t.Errorf("status %d %s", r.status, r.body)
		}
	})
	t.Run("uninstalled", func(t *testing.T) {
		e := e.with(t)
		other := e.s.AddInstallation("other", "User")
		tok := e.token(other)
		e.s.Uninstall(other)
		if r := e.do("POST", fmt.Sprintf("/api/v3/app/installations/%d/access_tokens", other), "Bearer "+e.jwt(), nil); r.status != http.StatusNotFound {
			t.Errorf("new token for uninstalled: %d %s", r.status, r.body)
		}
		if r := e.do("GET", "/api/v3/installation/repositories", "token "+tok, nil); r.status != http.StatusUnauthorized {
			t.Errorf("old token of uninstalled: %d %s", r.status, r.body)
		}
	})
	t.Run("restricted to repositories", func(t *testing.T) {
		e := e.with(t)
		e.s.AddRepo(acme, Repo{Name: "payments"})
		r := e.do("POST", fmt.Sprintf("/api/v3/app/installations/%d/access_tokens", acme), "Bearer "+e.jwt(), map[string]any{"repositories": []string{"payments"}})
		if r.status != http.StatusCreated {
			t.Fatalf("status %d %s", r.status, r.body)
		}
		var tok struct{ Token string }
		r.json(t, &tok)
		var list struct {
			TotalCount   int `json:"total_count"`
			Repositories []struct {
				FullName string `json:"full_name"`
			}
		}
		e.do("GET", "/api/v3/installation/repositories", "token "+tok.Token, nil).json(t, &list)
		if list.TotalCount != 1 || list.Repositories[0].FullName != "acme/payments" {
			t.Errorf("restricted token lists %+v", list)
		}
		r = e.do("POST", fmt.Sprintf("/api/v3/app/installations/%d/access_tokens", acme), "Bearer "+e.jwt(), map[string]any{"repositories": []string{"nope"}})
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("unknown repository: %d %s", r.status, r.body)
		}
	})
}

func TestPaging(t *testing.T) {
	e := newEnv(t, Options{})
	for i := range 75 {
		e.s.AddInstallation(fmt.Sprintf("org%02d", i), "Organization")
	}
	big := e.s.AddInstallation("big", "Organization")
	for i := range 150 {
		e.s.AddRepo(big, Repo{Name: fmt.Sprintf("r%03d", i)})
	}
	base := e.s.URL() + "/api/v3"
	tests := []struct {
		name, path string
		auth       func(e *env) string
		n          int
		first      string
		links      map[string]string
	}{
		{"installations default page", "/app/installations", (*env).jwt, 30, "org00", map[string]string{
			"next": base + "/app/installations?page=2&per_page=30",
			"last": base + "/app/installations?page=3&per_page=30",
		}},
		{"installations middle page", "/app/installations?per_page=30&page=2", (*env).jwt, 30, "org30", map[string]string{
			"prev":  base + "/app/installations?page=1&per_page=30",
			"next":  base + "/app/installations?page=3&per_page=30",
			"last":  base + "/app/installations?page=3&per_page=30",
			"first": base + "/app/installations?page=1&per_page=30",
		}},
		{"installations last page", "/app/installations?per_page=30&page=3", (*env).jwt, 16, "org60", map[string]string{
			"prev":  base + "/app/installations?page=2&per_page=30",
			"first": base + "/app/installations?page=1&per_page=30",
		}},
		{"installations one page", "/app/installations?per_page=100", (*env).jwt, 76, "org00", nil},
		{"installations past the end", "/app/installations?per_page=100&page=5", (*env).jwt, 0, "", map[string]string{
			"prev":  base + "/app/installations?page=1&per_page=100",
			"first": base + "/app/installations?page=1&per_page=100",
		}},
		{"repositories per_page clamped to 100", "/installation/repositories?per_page=1000", func(e *env) string { return e.token(big) }, 100, "r000", map[string]string{
			"next": base + "/installation/repositories?page=2&per_page=100",
			"last": base + "/installation/repositories?page=2&per_page=100",
		}},
		{"repositories second page", "/installation/repositories?per_page=100&page=2", func(e *env) string { return e.token(big) }, 50, "r100", map[string]string{
			"prev":  base + "/installation/repositories?page=1&per_page=100",
			"first": base + "/installation/repositories?page=1&per_page=100",
		}},
		{"repositories bad per_page is the default", "/installation/repositories?per_page=abc", func(e *env) string { return e.token(big) }, 30, "r000", map[string]string{
			"next": base + "/installation/repositories?page=2&per_page=30",
			"last": base + "/installation/repositories?page=5&per_page=30",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.with(t)
			r := e.do("GET", "/api/v3"+tt.path, "Bearer "+tt.auth(e), nil)
			if r.status != http.StatusOK {
				t.Fatalf("status %d %s", r.status, r.body)
			}
			var names []string
			if strings.HasPrefix(tt.path, "/app/") {
				var list []struct {
					Account struct{ Login string }
				}
				r.json(t, &list)
				for _, in := range list {
					names = append(names, in.Account.Login)
				}
			} else {
				var list struct {
					TotalCount   int `json:"total_count"`
					Repositories []struct{ Name string }
				}
				r.json(t, &list)
				if list.TotalCount != 150 {
					t.Errorf("total_count %d, want 150", list.TotalCount)
				}
				for _, repo := range list.Repositories {
					names = append(names, repo.Name)
				}
			}
			if len(names) != tt.n || (tt.n > 0 && names[0] != tt.first) {
				t.Errorf("got %d items starting %v, want %d starting %s", len(names), names[:min(1, len(names))], tt.n, tt.first)
			}
			got := parseLink(r.header.Get("Link"))
			if fmt.Sprint(got) != fmt.Sprint(tt.links) && !(len(got) == 0 && len(tt.links) == 0) {
				t.Errorf("Link %q\n got %v\nwant %v", r.header.Get("Link"), got, tt.links)
			}
		})
	}
}

// parseLink parses a Link header into rel -> URL.
func parseLink(h string) map[string]string {
	out := map[string]string{}
	for part := range strings.SplitSeq(h, ",") {
		m := regexp.MustCompile(`^\s*<([^>]+)>;\s*rel="(\w+)"\s*$`).FindStringSubmatch(part)
		if m != nil {
			out[m[2]] = m[1]
		}
	}
	return out
}

func TestInstallationAndRepositoryJSON(t *testing.T) {
	e := newEnv(t, Options{})
	acme := e.s.AddInstallation("acme", "Organization")
	pushed := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	repo := e.s.AddRepo(acme, Repo{Name: "checkout", Description: "Checkout service", Visibility: "INTERNAL",
		Topics: []string{"go", "payments"}, PushedAt: pushed, Files: map[string]string{"glint.yml": "x"}})
	if repo.ID == 0 || !strings.HasPrefix(repo.NodeID, "R_kgDO") || repo.Owner != "acme" || repo.DefaultBranch != "main" {
		t.Fatalf("AddRepo returned %+v", repo)
	}

	var ins []map[string]any
	e.do("GET", "/api/v3/app/installations", "Bearer "+e.jwt(), nil).json(t, &ins)
	if len(ins) != 1 {
		t.Fatalf("installations %v", ins)
	}
	in := ins[0]
	for k, want := range map[string]any{
		"id": float64(acme), "app_id": float64(42), "target_type": "Organization", "repository_selection": "all",
		"access_tokens_url": fmt.Sprintf("%s/api/v3/app/installations/%d/access_tokens", e.s.URL(), acme),
		"html_url":          fmt.Sprintf("%s/organizations/acme/settings/installations/%d", e.s.URL(), acme),
	} {
		if in[k] != want {
			t.Errorf("installation %s = %v, want %v", k, in[k], want)
		}
	}
	if dig(in, "account", "login") != "acme" || dig(in, "account", "type") != "Organization" || dig(in, "account", "id") == nil {
		t.Errorf("installation account %v", in["account"])
	}

	var list struct {
		TotalCount   int              `json:"total_count"`
		Repositories []map[string]any `json:"repositories"`
	}
	r := e.do("GET", "/api/v3/installation/repositories", "token "+e.token(acme), nil)
	r.json(t, &list)
	if list.TotalCount != 1 {
		t.Fatalf("repositories %s", r.body)
	}
	got := list.Repositories[0]
	for k, want := range map[string]any{
		"id": float64(repo.ID), "node_id": repo.NodeID, "name": "checkout", "full_name": "acme/checkout",
		"private": true, "html_url": e.s.URL() + "/acme/checkout", "description": "Checkout service",
		"fork": false, "archived": false, "default_branch": "main", "visibility": "internal",
		"pushed_at": "2024-05-06T07:08:09Z",
	} {
		if got[k] != want {
			t.Errorf("repository %s = %v, want %v", k, got[k], want)
		}
	}
	if fmt.Sprint(got["topics"]) != "[go payments]" || dig(got, "owner", "login") != "acme" || dig(got, "owner", "type") != "Organization" {
		t.Errorf("repository %v", got)
	}
	if r.header.Get("X-RateLimit-Limit") != "5000" || r.header.Get("X-RateLimit-Resource") != "core" || r.header.Get("X-RateLimit-Remaining") != "4999" {
		t.Errorf("rate limit headers %v", r.header)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("content type %q", r.header.Get("Content-Type"))
	}

	t.Run("deselect and delete", func(t *testing.T) {
		e := e.with(t)
		e.s.AddRepo(acme, Repo{Name: "payments"})
		e.s.AddRepo(acme, Repo{Name: "legacy"})
		e.s.DeselectRepo(acme, "acme/payments")
		e.s.RemoveRepo("acme/legacy")
		var list struct {
			Repositories []struct {
				Name string
			}
			RepositorySelection string `json:"repository_selection"`
		}
		e.do("GET", "/api/v3/installation/repositories", "token "+e.token(acme), nil).json(t, &list)
		var names []string
		for _, r := range list.Repositories {
			names = append(names, r.Name)
		}
		if !slices.Equal(names, []string{"checkout"}) || list.RepositorySelection != "selected" {
			t.Errorf("after deselect and delete: %v %s", names, list.RepositorySelection)
		}
	})
}

func TestRateLimitHeadersOff(t *testing.T) {
	e := newEnv(t, Options{NoRateLimitHeaders: true})
	r := e.do("GET", "/api/v3/app/installations", "Bearer "+e.jwt(), nil)
	for k := range r.header {
		if strings.HasPrefix(strings.ToLower(k), "x-ratelimit") {
			t.Errorf("header %s sent with rate limit headers off", k)
		}
	}
	e.s.SetRateLimitHeaders(true)
	if r := e.do("GET", "/api/v3/app/installations", "Bearer "+e.jwt(), nil); r.header.Get("X-RateLimit-Remaining") != "4998" {
		t.Errorf("X-RateLimit-Remaining %q, want 4998", r.header.Get("X-RateLimit-Remaining"))
	}
}

func TestRESTPrimaryRateLimit(t *testing.T) {
	e := newEnv(t, Options{RateLimit: 2})
	acme := e.s.AddInstallation("acme", "Organization")
	tok := e.token(acme)
	for i := range 3 {
		r := e.do("GET", "/api/v3/installation/repositories", "token "+tok, nil)
		want := http.StatusOK
		if i == 2 {
			want = http.StatusForbidden
		}
		if r.status != want {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
		if i == 2 && (r.header.Get("X-RateLimit-Remaining") != "0" || !strings.Contains(string(r.body), fmt.Sprintf("API rate limit exceeded for installation ID %d.", acme))) {
			t.Errorf("exhausted: %v %s", r.header, r.body)
		}
	}
}

func TestUnknownRoute(t *testing.T) {
	e := newEnv(t, Options{})
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v3/nope"}, {"DELETE", "/api/v3/app/installations"}, {"GET", "/api/graphql"},
	} {
		r := e.do(c.method, c.path, "Bearer "+e.jwt(), nil)
		if r.status != http.StatusNotFound || !strings.Contains(string(r.body), `"message":"Not Found"`) {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
}

func TestUserAgentRequired(t *testing.T) {
	e := newEnv(t, Options{})
	req, _ := http.NewRequestWithContext(t.Context(), "GET", e.s.APIURL()+"/app/installations", nil)
	req.Header.Set("Authorization", "Bearer "+e.jwt())
	req.Header.Set("User-Agent", "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("no User-Agent: %d", resp.StatusCode)
	}
}
