package glinttest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	search := map[string]any{"query": and()}
	tests := []struct {
		name     string
		fault    Fault
		method   string
		path     string
		body     any
		want     int
		wantCode string
	}{
		{"500 on search", Fault{Route: RouteSearch, Kind: Status500}, "POST", "/v1/blueprints/service/entities/search", search, 500, "internal_error"},
		{"503 on any route", Fault{Kind: Status503}, "GET", "/v1/blueprints", nil, 503, "service_unavailable"},
		{"413 on upsert", Fault{Route: RouteUpsert, Kind: Status413}, "POST", "/v1/blueprints/service/entities?upsert=true", svc("a", nil), 413, "request_too_large"},
		{"401 on teams", Fault{Route: RouteTeams, Kind: Status401}, "GET", "/v1/teams", nil, 401, "unauthorized"},
		{"429 on delete", Fault{Route: RouteDelete, Kind: Status429}, "DELETE", "/v1/blueprints/service/entities/a", nil, 429, "rate_limit_exceeded"},
		{"401 on token", Fault{Route: RouteToken, Kind: Status401}, "POST", "/v1/auth/access_token", nil, 401, "unauthorized"},
		{"500 on bulk delete", Fault{Route: RouteBulkDelete, Kind: Status500}, "POST", "/v1/blueprints/service/bulk/entities/delete", map[string]any{"entities": []string{"a"}}, 500, "internal_error"},
		{"503 on blueprints", Fault{Route: RouteBlueprints, Kind: Status503}, "GET", "/v1/blueprints/service", nil, 503, "service_unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, Options{})
			c := newClient(t, s)
			body := tt.body
			if tt.path == "/v1/auth/access_token" {
				c.token = ""
				body = map[string]string{"clientId": s.ClientID(), "clientSecret": s.ClientSecret()}
			}
			// A fault on another route does not fire.
			other := RouteEntity
			if tt.fault.Route == RouteEntity {
				other = RouteTeams
			}
			s.InjectFault(Fault{Route: other, Kind: Status500})
			s.InjectFault(tt.fault)
			code, _, resp := c.do(tt.method, tt.path, body)
			wantError(t, code, resp, tt.want, tt.wantCode)
			// Count 0 means once: the same call now goes through.
			code, _, resp = c.do(tt.method, tt.path, body)
			if tt.fault.Kind == Status401 && tt.path != "/v1/auth/access_token" {
				// The token was expired by the fault: refetch and retry.
				wantError(t, code, resp, 401, "unauthorized", "expired")
				c.token = c.fetchToken()
				code, _, resp = c.do(tt.method, tt.path, body)
			}
			if code == tt.want {
				t.Errorf("second call: %d %v, want the fault gone", code, resp)
			}
			if got := s.Stats().FaultsInjected; got != 1 {
				t.Errorf("FaultsInjected = %d, want 1", got)
			}
		})
	}
}

func TestFaultCount(t *testing.T) {
	s := newServer(t, Options{})
	c := newClient(t, s)
	s.InjectFault(Fault{Route: RouteBlueprints, Kind: Status500, Count: 2})
	var got []int
	for range 3 {
		code, _, _ := c.do("GET", "/v1/blueprints", nil)
		got = append(got, code)
	}
	if !slices.Equal(got, []int{500, 500, 200}) {
		t.Errorf("statuses = %v", got)
	}
	s.InjectFault(Fault{Route: RouteBlueprints, Kind: Status503, Count: -1})
	for range 3 {
		if code, _, _ := c.do("GET", "/v1/blueprints", nil); code != 503 {
			t.Fatalf("persistent fault: %d", code)
		}
	}
	s.ClearFaults()
	if code, _, _ := c.do("GET", "/v1/blueprints", nil); code != 200 {
		t.Errorf("after ClearFaults: %d", code)
	}
}

func TestFault429Reset(t *testing.T) {
	clock := newClock()
	for _, asDelay := range []bool{false, true} {
		t.Run(strconv.FormatBool(asDelay), func(t *testing.T) {
			s := newServer(t, Options{Now: clock.Now})
			c := newClient(t, s)
			s.InjectFault(Fault{Route: RouteSearch, Kind: Status429, RetryAfter: 5 * time.Second, ResetAsDelay: asDelay})
			code, h, _ := c.do("POST", "/v1/blueprints/service/entities/search", map[string]any{"query": and()})
			want := strconv.FormatInt(clock.Now().Unix()+5, 10)
			if asDelay {
				want = "5"
			}
			if code != 429 || h.Get("x-ratelimit-reset") != want || h.Get("x-ratelimit-remaining") != "0" {
				t.Errorf("429: %d reset %q remaining %q, want reset %s", code, h.Get("x-ratelimit-reset"), h.Get("x-ratelimit-remaining"), want)
			}
			if h.Get("Retry-After") != "" {
				t.Error("429 carries Retry-After; clients must use x-ratelimit-reset")
			}
		})
	}
}

func TestFaultTimeout(t *testing.T) {
	s := newServer(t, Options{})
	c := newClient(t, s)
	s.InjectFault(Fault{Route: RouteSearch, Kind: Timeout})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", s.URL()+"/v1/blueprints/service/entities/search", strings.NewReader(`{"query":{"combinator":"and","rules":[]}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got %d, want the client to give up", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("err = %v after %v", err, time.Since(start))
	}
	// The server notices the client left and records no status.
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Count(RouteSearch, 0) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("stats = %v", s.Stats().Requests)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The next call is answered.
	if code, _, _ := c.do("POST", "/v1/blueprints/service/entities/search", map[string]any{"query": and()}); code != 200 {
		t.Errorf("after timeout: %d", code)
	}
}

func TestFaultTimeoutUnblocksOnClose(t *testing.T) {
	s := New(Options{})
	s.InjectFault(Fault{Kind: Timeout})
	done := make(chan error, 1)
	go func() {
		resp, err := http.Post(s.URL()+"/v1/auth/access_token", "application/json", strings.NewReader(`{}`))
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().FaultsInjected == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs on a Timeout fault")
	}
	<-done
}

func TestFaultPartial207(t *testing.T) {
	tests := []struct {
		name       string
		fault      Fault
		wantFailed []string
	}{
		{"even indexes by default", Fault{Route: RouteBulk, Kind: Partial207}, []string{"e0", "e2"}},
		{"named identifiers", Fault{Kind: Partial207, Identifiers: []string{"e1"}}, []string{"e1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, Options{})
			c := newClient(t, s)
			s.InjectFault(tt.fault)
			// Only bulk takes a Partial207 fault: a single upsert goes through.
			c.upsert("service", "upsert=true", svc("single", nil), http.StatusCreated)
			var ents []any
			for i := range 4 {
				ents = append(ents, svc(fmt.Sprintf("e%d", i), nil))
			}
			code, _, body := c.do("POST", "/v1/blueprints/service/entities/bulk?upsert=true", map[string]any{"entities": ents})
			if code != http.StatusMultiStatus {
				t.Fatalf("%d %v", code, body)
			}
			var failed []string
			for _, e := range body["errors"].([]any) {
				m := e.(map[string]any)
				if m["statusCode"] != 422.0 {
					t.Errorf("error %v, want statusCode 422", m)
				}
				failed = append(failed, m["identifier"].(string))
				if _, ok := s.Entity("service", m["identifier"].(string)); ok {
					t.Errorf("failed entity %v was written", m["identifier"])
				}
			}
			if !slices.Equal(failed, tt.wantFailed) {
				t.Errorf("failed = %v, want %v", failed, tt.wantFailed)
			}
			if got := len(ids(body)) + len(failed); got != 4 {
				t.Errorf("%d results and errors, want 4", got)
			}
			code, _, _ = c.do("POST", "/v1/blueprints/service/entities/bulk?upsert=true", map[string]any{"entities": ents})
			if code != http.StatusOK {
				t.Errorf("second bulk: %d, want the fault used up", code)
			}
		})
	}
}

func TestInjectFaultRefusesTypos(t *testing.T) {
	s := newServer(t, Options{})
	for _, f := range []Fault{{Route: "serch", Kind: Status500}, {Kind: 0}, {Kind: Status413 + 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("InjectFault(%+v) did not panic", f)
				}
			}()
			s.InjectFault(f)
		}()
	}
}

func TestLatency(t *testing.T) {
	s := newServer(t, Options{Latency: 50 * time.Millisecond})
	c := newClient(t, s)
	start := time.Now()
	c.do("GET", "/v1/blueprints", nil)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("request took %v, want at least the latency", d)
	}
}

func TestStats(t *testing.T) {
	s := newServer(t, Options{})
	c := newClient(t, s) // token 200
	c.upsert("service", "upsert=true", svc("a", nil), http.StatusCreated)
	c.do("POST", "/v1/blueprints/service/entities?upsert=true", svc("b", map[string]any{"stars": "x"})) // 422
	c.do("POST", "/v1/blueprints/service/entities/bulk?upsert=true", map[string]any{"entities": []any{svc("b", nil), svc("c", nil)}})
	c.do("POST", "/v1/blueprints/service/entities/search", map[string]any{"query": and()})
	c.do("GET", "/v1/blueprints/service/entities/a", nil)
	c.do("DELETE", "/v1/blueprints/service/entities/a", nil)
	c.do("POST", "/v1/blueprints/service/bulk/entities/delete", map[string]any{"entities": []string{"b", "c"}})
	c.do("GET", "/v1/teams", nil)

	st := s.Stats()
	checks := []struct {
		name      string
		got, want int
	}{
		{"token 200", st.Count(RouteToken, 200), 1},
		{"upsert 201", st.Count(RouteUpsert, 201), 1},
		{"upsert 422", st.Count(RouteUpsert, 422), 1},
		{"upsert total", st.Total(RouteUpsert), 2},
		{"bulk 200", st.Count(RouteBulk, 200), 1},
		{"search 200", st.Count(RouteSearch, 200), 1},
		{"entity 200", st.Count(RouteEntity, 200), 1},
		{"delete 200", st.Count(RouteDelete, 200), 1},
		{"bulk delete 200", st.Count(RouteBulkDelete, 200), 1},
		{"teams 200", st.Count(RouteTeams, 200), 1},
		{"reads", st.Reads, 2},
		{"writes", st.Writes, 5},
		{"entity writes", st.EntityWrites, 3},
		{"entity creates", st.EntityCreates, 3},
		{"deletes", st.Deletes, 3},
		{"tokens", st.TokensIssued, 1},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %d, want %d", ch.name, ch.got, ch.want)
		}
	}
	// Stats is a copy.
	st.Requests[RouteToken][200] = 99
	if s.Stats().Count(RouteToken, 200) != 1 {
		t.Error("Stats shares its maps with the server")
	}
	s.ResetStats()
	if st := s.Stats(); st.Writes != 0 || st.Total(RouteUpsert) != 0 || st.TokensIssued != 0 {
		t.Errorf("after ResetStats: %+v", st)
	}
}
