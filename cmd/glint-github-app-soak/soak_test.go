package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSoakShort is the CI form of `make soak`: 40 passes with random faults
// on both sides, every invariant checked after every pass.
func TestSoakShort(t *testing.T) {
	passes := 40
	if testing.Short() {
		passes = 15
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	// A new seed each run, printed so that a failure can be replayed with
	// go run ./cmd/glint-github-app-soak -passes 40 -fault-rate 0.08 -seed N
	// (request order varies with scheduling, so a replay is close, not exact).
	cfg := config{Passes: passes, Seed: uint64(time.Now().UnixNano()), FaultRate: 0.08, FreshEvery: 10,
		Logger: slog.New(slog.DiscardHandler)}
	rep, err := runSoak(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	printReport(&out, cfg, rep)
	t.Log("\n" + out.String())
	if len(rep.Violations) > 0 {
		t.Errorf("%d violations:\n%s", len(rep.Violations), strings.Join(rep.Violations, "\n"))
	}
	if rep.Passes != passes+3 {
		t.Errorf("%d passes, want %d", rep.Passes, passes+3)
	}
	if len(rep.GHEFaults) == 0 || len(rep.GlintFaults) == 0 {
		t.Errorf("no faults injected: GHE %v, Glint %v", rep.GHEFaults, rep.GlintFaults)
	}
	if rep.Created == 0 || rep.Deleted == 0 {
		t.Errorf("the soak wrote nothing or deleted nothing: %d created, %d deleted", rep.Created, rep.Deleted)
	}
}

// TestCheckerCatchesViolations shows the oracle is not vacuous: a deleted
// declared entity, a changed foreign entity and a kept undeclared entity on
// a successful pass are all reported.
func TestCheckerCatchesViolations(t *testing.T) {
	o := oracle{appID: 1, host: "h", version: "v", foreign: map[string]bool{"theirs": true}}
	m := &model{}
	in := &instModel{id: 5, account: "acme"}
	r := &repoModel{inst: in, name: "app", hasFile: true, entities: []declared{{id: "a", title: "A", tier: "gold", n: 1}}}
	in.repos = []*repoModel{r}
	m.insts = []*instModel{in}
	ds := o.datasource(5, "acme/app")
	title := func(s string) *string { return &s }
	good := state{
		"service/a":      {Identifier: "a", Title: title("A"), Properties: map[string]any{"tier": "gold", "n": 1.0}, Datasource: ds},
		"service/theirs": {Identifier: "theirs", Title: title("T"), Datasource: "alice"},
	}
	seeds := map[string][]byte{"service/theirs": []byte(`{"identifier":"theirs","title":"T","datasource":"alice"}`)}
	explain := func(string) string { return "" }

	tests := []struct {
		name    string
		after   state
		success bool
		want    string
	}{
		{name: "clean", after: good, success: true},
		{name: "declared entity deleted", after: state{"service/theirs": good["service/theirs"]}, want: "still declares it"},
		{name: "foreign changed", after: state{"service/a": good["service/a"], "service/theirs": {Identifier: "theirs", Title: title("X"), Datasource: "alice"}}, want: "foreign entity service/theirs changed"},
		{name: "undeclared kept", success: true, after: state{"service/a": good["service/a"], "service/theirs": good["service/theirs"],
			"service/old": {Identifier: "old", Datasource: o.datasource(5, "acme/app")}}, want: "no longer declared but was kept"},
		{name: "wrong content written", after: state{"service/a": {Identifier: "a", Title: title("B"), Datasource: ds}, "service/theirs": good["service/theirs"]}, want: "wrong content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &checker{o: o, seeds: seeds}
			before := state{"service/a": good["service/a"], "service/theirs": good["service/theirs"]}
			if tt.name == "undeclared kept" {
				before["service/old"] = tt.after["service/old"]
			}
			c.checkPass(1, m, before, tt.after, tt.success, explain)
			got := strings.Join(c.violations, "\n")
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("violations %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	gql, _ := http.NewRequest(http.MethodPost, "http://x/api/graphql", nil)
	rest, _ := http.NewRequest(http.MethodGet, "http://x/api/v3/app/installations", nil)
	tests := []struct {
		req    *http.Request
		status int
		header map[string]string
		body   string
		want   string
	}{
		{rest, 200, map[string]string{"Content-Type": "application/json"}, `[]`, ""},
		{rest, 500, nil, `{}`, "Status500"},
		{rest, 403, map[string]string{"Retry-After": "1"}, `{}`, "SecondaryRateLimit"},
		{rest, 403, map[string]string{"X-RateLimit-Remaining": "0"}, `{}`, "PrimaryRateLimit"},
		{rest, 403, nil, `{}`, ""},
		{rest, 200, map[string]string{"Content-Type": "text/html"}, `<html>`, "HTMLMaintenance"},
		{rest, 200, nil, ``, "EmptyBody"},
		{rest, 200, nil, `{"a":`, "TruncatedJSON"},
		{gql, 200, nil, `{"data":null,"errors":[{"type":"RATE_LIMITED","message":"x"}]}`, "GraphQLRateLimited"},
		{gql, 200, nil, `{"data":{"nodes":[null]},"errors":[{"type":"NOT_FOUND","message":"x"}]}`, "PartialData"},
		{gql, 200, nil, `{"data":null,"errors":[{"message":"This may be the result of a timeout"}]}`, "GraphQLTimeout"},
	}
	for _, tt := range tests {
		resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}
		for k, v := range tt.header {
			resp.Header.Set(k, v)
		}
		if got := classify(tt.req, resp, []byte(tt.body)); got != tt.want {
			t.Errorf("classify(%d %q) = %q, want %q", tt.status, tt.body, got, tt.want)
		}
	}
}
