package glinttest

import (
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestTokenSameUntilExpiry(t *testing.T) {
	clock := newClock()
	s := newServer(t, Options{ClientID: "id", ClientSecret: "secret", Now: clock.Now})
	c := &client{t: t, s: s, ua: testUA, http: http.DefaultClient}

	code, _, body := c.do("POST", "/v1/auth/access_token", map[string]string{"clientId": "id", "clientSecret": "secret"})
	if code != http.StatusOK || body["expiresIn"] != float64(10800) || body["tokenType"] != "Bearer" {
		t.Fatalf("token: %d %v", code, body)
	}
	first := body["accessToken"].(string)
	clock.Advance(time.Hour)
	if second := c.fetchToken(); second != first {
		t.Errorf("second token %q differs from the live token %q", second, first)
	}

	c.token = first
	if code, _, _ := c.do("GET", "/v1/blueprints", nil); code != http.StatusOK {
		t.Fatalf("call with live token: %d", code)
	}
	clock.Advance(2 * time.Hour) // 3h after issue: expired
	code, _, body = c.do("GET", "/v1/blueprints", nil)
	wantError(t, code, body, http.StatusUnauthorized, "unauthorized", "expired")

	third := c.fetchToken()
	if third == first {
		t.Fatal("token endpoint returned the expired token")
	}
	if got := s.Stats().TokensIssued; got != 2 {
		t.Errorf("TokensIssued = %d, want 2", got)
	}
}

func TestTokenErrors(t *testing.T) {
	s := newServer(t, Options{ClientID: "id", ClientSecret: "secret"})
	c := &client{t: t, s: s, ua: testUA, http: http.DefaultClient}
	tests := []struct {
		name     string
		body     any
		auth     string
		want     int
		wantCode string
	}{
		{"wrong secret", map[string]string{"clientId": "id", "clientSecret": "nope"}, "", 401, "unauthorized"},
		{"wrong id", map[string]string{"clientId": "other", "clientSecret": "secret"}, "", 401, "unauthorized"},
		{"missing secret", map[string]string{"clientId": "id"}, "", 400, "invalid_request"},
		{"unknown field", map[string]string{"clientId": "id", "clientSecret": "secret", "grant": "x"}, "", 400, "invalid_request"},
		{"not json", "{", "", 400, "invalid_request"},
		{"stale authorization", map[string]string{"clientId": "id", "clientSecret": "secret"}, "old-token", 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			c.token = tt.auth
			code, _, body := c.do("POST", "/v1/auth/access_token", tt.body)
			wantError(t, code, body, tt.want, tt.wantCode)
		})
	}
	if got := s.Stats().TokenRequestsWithAuthorization; got != 1 {
		t.Errorf("TokenRequestsWithAuthorization = %d, want 1", got)
	}
	if got := s.Stats().TokensIssued; got != 0 {
		t.Errorf("TokensIssued = %d, want 0", got)
	}
}

func TestAuthRequired(t *testing.T) {
	s := newServer(t, Options{})
	c := newClient(t, s)
	for _, tok := range []string{"", "not-a-token"} {
		c.token = tok
		code, _, body := c.do("GET", "/v1/blueprints/service", nil)
		wantError(t, code, body, http.StatusUnauthorized, "unauthorized")
		code, _, body = c.do("POST", "/v1/blueprints/service/entities/search", map[string]any{"query": map[string]any{"combinator": "and", "rules": []any{}}})
		wantError(t, code, body, http.StatusUnauthorized, "unauthorized")
	}
}

func TestExpireTokens(t *testing.T) {
	s := newServer(t, Options{})
	c := newClient(t, s)
	old := c.token
	s.ExpireTokens()
	code, _, body := c.do("GET", "/v1/blueprints", nil)
	wantError(t, code, body, http.StatusUnauthorized, "unauthorized", "expired")
	c.token = c.fetchToken()
	if c.token == old {
		t.Fatal("a new token was not issued after ExpireTokens")
	}
	if code, _, _ := c.do("GET", "/v1/blueprints", nil); code != http.StatusOK {
		t.Fatalf("call with new token: %d", code)
	}
}

func TestRateLimit(t *testing.T) {
	for _, asDelay := range []bool{false, true} {
		t.Run("asDelay="+strconv.FormatBool(asDelay), func(t *testing.T) {
			clock := newClock()
			s := newServer(t, Options{RateLimit: 3, RatePeriod: 10 * time.Second, ResetAsDelay: asDelay, Now: clock.Now})
			c := newClient(t, s) // 1 request
			for i := range 2 {
				code, h, _ := c.do("GET", "/v1/blueprints", nil)
				if code != http.StatusOK {
					t.Fatalf("request %d: %d", i, code)
				}
				if got, want := h.Get("x-ratelimit-remaining"), strconv.Itoa(1-i); got != want {
					t.Errorf("remaining = %s, want %s", got, want)
				}
			}
			code, h, body := c.do("GET", "/v1/blueprints", nil)
			wantError(t, code, body, http.StatusTooManyRequests, "rate_limit_exceeded")
			wantReset := strconv.FormatInt(clock.Now().Add(10*time.Second).Unix(), 10)
			if asDelay {
				wantReset = "10"
			}
			if h.Get("x-ratelimit-limit") != "3" || h.Get("x-ratelimit-remaining") != "0" ||
				h.Get("x-ratelimit-period") != "10" || h.Get("x-ratelimit-reset") != wantReset {
				t.Errorf("429 headers: %v, want reset %s", h, wantReset)
			}
			clock.Advance(10 * time.Second)
			if code, _, _ := c.do("GET", "/v1/blueprints", nil); code != http.StatusOK {
				t.Fatalf("after the window: %d", code)
			}
		})
	}
}

func TestUnknownRoute(t *testing.T) {
	s := newServer(t, Options{})
	c := newClient(t, s)
	code, _, body := c.do("GET", "/v1/nothing", nil)
	wantError(t, code, body, http.StatusNotFound, "not_found")
	// A known path with a method it does not serve.
	code, _, body = c.do("PUT", "/v1/teams", nil)
	wantError(t, code, body, http.StatusNotFound, "not_found")
}

func TestBlueprints(t *testing.T) {
	s := newServer(t, Options{})
	c := newClient(t, s)
	code, _, body := c.do("GET", "/v1/blueprints", nil)
	if code != http.StatusOK {
		t.Fatal(code)
	}
	var got []string
	for _, b := range body["blueprints"].([]any) {
		got = append(got, b.(map[string]any)["identifier"].(string))
	}
	if want := []string{"deployment", "service", "system"}; !slices.Equal(got, want) {
		t.Errorf("blueprints = %v, want %v", got, want)
	}
	code, _, body = c.do("GET", "/v1/blueprints/service", nil)
	bp := body["blueprint"].(map[string]any)
	if code != http.StatusOK || bp["identifier"] != "service" || bp["relations"].(map[string]any)["dependsOn"].(map[string]any)["many"] != true {
		t.Errorf("get blueprint: %d %v", code, body)
	}
	code, _, body = c.do("GET", "/v1/blueprints/nope", nil)
	wantError(t, code, body, http.StatusNotFound, "not_found", "nope")
}
