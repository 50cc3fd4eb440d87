package ghetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawResult is an answer, or the transport error instead.
type rawResult struct {
	status int
	header http.Header
	body   []byte
	err    error // transport or body read error
}

// rawDo sends a request with a client that gives up after timeout.
func rawDo(t *testing.T, method, url, auth string, body []byte, timeout time.Duration) rawResult {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return rawResult{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return rawResult{status: resp.StatusCode, header: resp.Header, body: b, err: err}
}

func TestFaults(t *testing.T) {
	const query = `query($ids:[ID!]!){nodes(ids:$ids){... on Repository{name}}}`
	tests := []struct {
		name   string
		fault  Fault
		target string // route the request goes to
		check  func(t *testing.T, r rawResult, installationID int64)
	}{
		{"500", Fault{Kind: Status500}, RouteRepositories, func(t *testing.T, r rawResult, _ int64) {
			wantStatus(t, r, 500)
			wantJSONMessage(t, r, "Server Error")
		}},
		{"502 HTML", Fault{Kind: Status502HTML, Target: RouteGraphQL}, RouteGraphQL, func(t *testing.T, r rawResult, _ int64) {
			wantStatus(t, r, 502)
			if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), "<html>") {
				t.Errorf("not an HTML page: %v %s", r.header, r.body)
			}
		}},
		{"timeout", Fault{Kind: Timeout}, RouteInstallations, func(t *testing.T, r rawResult, _ int64) {
			if r.err == nil || !strings.Contains(r.err.Error(), "Timeout") {
				t.Errorf("want a client timeout, got %v (status %d)", r.err, r.status)
			}
		}},
		{"connection reset", Fault{Kind: ConnReset, Target: RouteAccessTokens}, RouteAccessTokens, func(t *testing.T, r rawResult, _ int64) {
			if r.err == nil {
				t.Errorf("want a transport error, got status %d", r.status)
			}
		}},
		{"secondary rate limit", Fault{Kind: SecondaryRateLimit, RetryAfter: 2500 * time.Millisecond}, RouteGraphQL, func(t *testing.T, r rawResult, _ int64) {
			wantStatus(t, r, 403)
			if r.header.Get("Retry-After") != "3" {
				t.Errorf("Retry-After %q, want 3", r.header.Get("Retry-After"))
			}
			wantJSONMessage(t, r, "You have exceeded a secondary rate limit")
		}},
		{"primary rate limit", Fault{Kind: PrimaryRateLimit, RetryAfter: time.Minute}, RouteRepositories, func(t *testing.T, r rawResult, in int64) {
			wantStatus(t, r, 403)
			reset, _ := strconv.ParseInt(r.header.Get("X-RateLimit-Reset"), 10, 64)
			if r.header.Get("X-RateLimit-Remaining") != "0" || reset < time.Now().Add(50*time.Second).Unix() || reset > time.Now().Add(70*time.Second).Unix() {
				t.Errorf("headers %v", r.header)
			}
			wantJSONMessage(t, r, fmt.Sprintf("API rate limit exceeded for installation ID %d.", in))
		}},
		{"429", Fault{Kind: Status429, RetryAfter: time.Second}, RouteRepositories, func(t *testing.T, r rawResult, _ int64) {
			wantStatus(t, r, 429)
			if r.header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
			}
		}},
		{"GraphQL rate limited", Fault{Kind: GraphQLRateLimited}, RouteGraphQL, func(t *testing.T, r rawResult, in int64) {
			wantStatus(t, r, 200)
			want := fmt.Sprintf(`{"data":null,"errors":[{"code":"graphql_rate_limit","message":"API rate limit exceeded for installation ID %d.","type":"RATE_LIMITED"}]}`, in)
			if strings.TrimSpace(string(r.body)) != want {
				t.Errorf("body %s\nwant %s", r.body, want)
			}
		}},
		{"GraphQL timeout", Fault{Kind: GraphQLTimeout}, RouteGraphQL, func(t *testing.T, r rawResult, _ int64) {
			wantStatus(t, r, 200)
			if !strings.Contains(string(r.body), `"data":null`) || !strings.Contains(string(r.body), "This may be the result of a timeout") {
				t.Errorf("body %s", r.body)
			}
		}},
		{"maintenance", Fault{Kind: HTMLMaintenance}, RouteInstallations, func(t *testing.T, r rawResult, _ int64) {
			wantStatus(t, r, 200)
			if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), "maintenance") {
				t.Errorf("not a maintenance page: %v %s", r.header, r.body)
			}
		}},
		{"truncated JSON", Fault{Kind: TruncatedJSON}, RouteRepositories, func(t *testing.T, r rawResult, _ int64) {
			wantStatus(t, r, 200)
			var v any
			if err := json.Unmarshal(r.body, &v); err == nil || len(r.body) == 0 {
				t.Errorf("body %q decodes", r.body)
			}
		}},
		{"empty body", Fault{Kind: EmptyBody}, RouteAccessTokens, func(t *testing.T, r rawResult, _ int64) {
			wantStatus(t, r, 200)
			if len(r.body) != 0 {
				t.Errorf("body %q", r.body)
			}
		}},
		{"partial data", Fault{Kind: PartialData}, RouteGraphQL, func(t *testing.T, r rawResult, _ int64) {
			wantStatus(t, r, 200)
			var res gqlResult
			if err := json.Unmarshal(r.body, &res); err != nil {
				t.Fatal(err)
			}
			nodes, _ := res.Data["nodes"].([]any)
			if len(nodes) != 3 || nodes[0] != nil || dig(nodes[1], "name") != "r1" || nodes[2] != nil {
				t.Errorf("nodes %v", nodes)
			}
			if len(res.Errors) != 2 || res.Errors[0].Type != "NOT_FOUND" || fmt.Sprint(res.Errors[1].Path) != "[nodes 2]" {
				t.Errorf("errors %+v", res.Errors)
			}
		}},
		{"slow", Fault{Kind: Slow, Delay: 100 * time.Millisecond}, RouteRepositories, func(t *testing.T, r rawResult, _ int64) {
			wantStatus(t, r, 200)
		}},
		{"GraphQL-only kind does not hit REST", Fault{Kind: PartialData}, RouteRepositories, func(t *testing.T, r rawResult, _ int64) {
			wantStatus(t, r, 200)
		}},
		{"other target does not match", Fault{Kind: Status500, Target: RouteGraphQL}, RouteRepositories, func(t *testing.T, r rawResult, _ int64) {
			wantStatus(t, r, 200)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			acme := e.s.AddInstallation("acme", "Organization")
			var nodeIDs []string
			for i := range 3 {
				nodeIDs = append(nodeIDs, e.s.AddRepo(acme, Repo{Name: fmt.Sprintf("r%d", i)}).NodeID)
			}
			tok := e.token(acme)
			jwt := e.jwt()
			send := func(timeout time.Duration) rawResult {
				switch tt.target {
				case RouteInstallations:
					return rawDo(t, "GET", e.s.APIURL()+"/app/installations", "Bearer "+jwt, nil, timeout)
				case RouteAccessTokens:
					return rawDo(t, "POST", fmt.Sprintf("%s/app/installations/%d/access_tokens", e.s.APIURL(), acme), "Bearer "+jwt, nil, timeout)
				case RouteRepositories:
					return rawDo(t, "GET", e.s.APIURL()+"/installation/repositories", "token "+tok, nil, timeout)
				default:
					b, _ := json.Marshal(map[string]any{"query": query, "variables": map[string]any{"ids": nodeIDs}})
					return rawDo(t, "POST", e.s.GraphQLURL(), "bearer "+tok, b, timeout)
				}
			}
			e.s.InjectFault(tt.fault)
			e.s.ResetStats()
			start := time.Now()
			r := send(300 * time.Millisecond)
			tt.check(t, r, acme)
			if tt.fault.Kind == Slow && time.Since(start) < tt.fault.Delay {
				t.Errorf("slow fault took %v", time.Since(start))
			}
			// The fault was used up: the next request is served normally.
			if r := send(5 * time.Second); r.err != nil || r.status/100 != 2 || !json.Valid(r.body) || strings.Contains(string(r.body), `"errors"`) {
				t.Errorf("request after the fault: %v %d %s", r.err, r.status, r.body)
			}
			// A request the client gave up on is counted when the server
			// notices the closed connection, which may come a little later.
			st := e.s.Stats()
			for deadline := time.Now().Add(5 * time.Second); st.Total(tt.target) < 2 && time.Now().Before(deadline); st = e.s.Stats() {
				time.Sleep(10 * time.Millisecond)
			}
			if st.Total(tt.target) != 2 {
				t.Errorf("stats %+v", st.Requests)
			}
			if e.s.PendingFaults() != 0 && tt.fault.Target == "" && !tt.fault.Kind.graphQLOnly() {
				t.Errorf("fault not used up")
			}
		})
	}
}

func wantStatus(t *testing.T, r rawResult, status int) {
	t.Helper()
	if r.err != nil && !errors.Is(r.err, io.ErrUnexpectedEOF) {
		t.Fatalf("transport error %v", r.err)
	}
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
}

func wantJSONMessage(t *testing.T, r rawResult, prefix string) {
	t.Helper()
	var body struct {
		Message          string `json:"message"`
		DocumentationURL string `json:"documentation_url"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if !strings.HasPrefix(body.Message, prefix) || body.DocumentationURL == "" {
		t.Errorf("body %s, want a message starting %q and a documentation_url", r.body, prefix)
	}
}

func TestFaultCount(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.InjectFault(Fault{Kind: Status500, Target: RouteInstallations, Count: 2})
	var got []int
	for range 3 {
		got = append(got, e.do("GET", "/api/v3/app/installations", "Bearer "+e.jwt(), nil).status)
	}
	if fmt.Sprint(got) != "[500 500 200]" {
		t.Errorf("statuses %v", got)
	}
	if st := e.s.Stats(); st.Faults != 2 || st.Count(RouteInstallations, 500) != 2 || st.Count(RouteInstallations, 200) != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestRandomFaults(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.SetRandomFaults(&RandomFaults{Rand: rand.New(rand.NewPCG(1, 2)), Probability: 0.5, Kinds: []FaultKind{Status500, Status502HTML}})
	counts := map[int]int{}
	for range 200 {
		counts[e.do("GET", "/api/v3/app/installations", "Bearer "+e.jwt(), nil).status]++
	}
	if counts[200] < 70 || counts[500] < 30 || counts[502] < 30 || counts[200]+counts[500]+counts[502] != 200 {
		t.Errorf("statuses %v", counts)
	}
	e.s.SetRandomFaults(nil)
	if r := e.do("GET", "/api/v3/app/installations", "Bearer "+e.jwt(), nil); r.status != 200 {
		t.Errorf("after turning random faults off: %d", r.status)
	}
}

func TestMaxBatch(t *testing.T) {
	e := newEnv(t, Options{})
	acme := e.s.AddInstallation("acme", "Organization")
	var nodeIDs []string
	for i := range 10 {
		nodeIDs = append(nodeIDs, e.s.AddRepo(acme, Repo{Name: fmt.Sprintf("r%d", i)}).NodeID)
	}
	e.s.SetMaxBatch(5)
	tok := e.token(acme)
	q := `query($ids:[ID!]!){nodes(ids:$ids){id}}`
	res, r := e.graphql(tok, q, map[string]any{"ids": nodeIDs})
	if len(res.Errors) != 1 || res.Errors[0].Type != "RESOURCE_LIMITS_EXCEEDED" || !strings.Contains(string(r.body), `"data":null`) {
		t.Errorf("10 ids: %s", r.body)
	}
	res, _ = e.graphql(tok, q, map[string]any{"ids": nodeIDs[:5]})
	if len(res.Errors) != 0 || len(res.Data["nodes"].([]any)) != 5 {
		t.Errorf("5 ids: %+v", res)
	}
	// Aliases count too.
	res, _ = e.graphql(tok, `{a:repository(owner:"acme",name:"r0"){id} b:repository(owner:"acme",name:"r1"){id} c:node(id:"x"){id} d:repository(owner:"acme",name:"r2"){id} e:repository(owner:"acme",name:"r3"){id} f:repository(owner:"acme",name:"r4"){id}}`, nil)
	if len(res.Errors) != 1 || res.Errors[0].Type != "RESOURCE_LIMITS_EXCEEDED" {
		t.Errorf("6 aliases: %+v", res)
	}
}

func TestLatency(t *testing.T) {
	e := newEnv(t, Options{Latency: 50 * time.Millisecond})
	start := time.Now()
	e.do("GET", "/api/v3/app/installations", "Bearer "+e.jwt(), nil)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("request took %v with 50ms latency", d)
	}
	e.s.SetLatency(0)
}

func TestCloseEndsHangingRequests(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.InjectFault(Fault{Kind: Timeout})
	done := make(chan rawResult, 1)
	go func() { done <- rawDo(t, "GET", e.s.APIURL()+"/app/installations", "Bearer x", nil, time.Minute) }()
	for e.s.Stats().Faults == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { e.s.Close(); close(closed) }()
	select {
	case r := <-done:
		if r.err == nil {
			t.Errorf("hanging request answered %d %s", r.status, r.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hanging request not ended by Close")
	}
	<-closed
}
