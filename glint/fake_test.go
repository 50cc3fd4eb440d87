package glint_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kozmoai/glint-github-app/glint"
	"github.com/kozmoai/glint-github-app/glint/glinttest"
)

// These tests run the client against glinttest, the fake Glint server.

const fakeUA = "glint-github-app/1.0 (app/1@ghe.example.com; gitops)"

// startFake starts a fake Glint with a service blueprint and a client of it.
func startFake(t *testing.T, opts ...glint.Option) (*glint.Client, *glinttest.Server) {
	t.Helper()
	s := glinttest.Start(t, glinttest.Options{})
	s.AddBlueprint(glint.Blueprint{
		Identifier: "service",
		Title:      "Service",
		Schema: glint.Schema{Properties: map[string]glint.Property{
			"url": {Type: "string", Format: "url"},
			"n":   {Type: "number"},
		}},
	})
	base := []glint.Option{
		glint.WithLogger(slog.New(slog.DiscardHandler)),
		glint.WithRetry(3, time.Millisecond, 20*time.Millisecond),
		glint.WithUserAgent("glint-test/1.0"),
	}
	c, err := glint.New(s.URL(), s.ClientID(), s.ClientSecret(), append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, s
}

func services(n int) []glint.Entity {
	es := make([]glint.Entity, n)
	for i := range es {
		es[i] = glint.Entity{
			Identifier: fmt.Sprintf("svc-%d", i),
			Blueprint:  "service",
			Properties: map[string]any{"url": fmt.Sprintf("https://svc-%d.example.com", i), "n": i},
			Datasource: "ignored",
		}
	}
	return es
}

func TestFakeUpsertSearchDelete(t *testing.T) {
	c, s := startFake(t)
	ctx := t.Context()
	opts := glint.WriteOptions{UserAgent: fakeUA, Merge: true}

	res, err := c.UpsertEntities(ctx, "service", services(45), opts)
	if err != nil {
		t.Fatalf("UpsertEntities: %v", err)
	}
	for i, r := range res {
		if r.Err != nil || !r.Created || r.Index != i {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	if n := s.Stats().Total(glinttest.RouteBulk); n != 3 {
		t.Errorf("bulk calls = %d, want 3", n)
	}

	res, err = c.UpsertEntities(ctx, "service", services(2), opts)
	if err != nil || res[0].Created || res[1].Created || res[0].Err != nil {
		t.Errorf("second upsert = %+v, %v; want updates", res, err)
	}

	owned, err := c.SearchEntities(ctx, "service", glint.Query{Rules: []any{
		glint.Rule{Property: "$datasource", Operator: "=", Value: fakeUA},
	}})
	if err != nil {
		t.Fatalf("SearchEntities: %v", err)
	}
	if len(owned) != 45 {
		t.Fatalf("owned entities = %d, want 45", len(owned))
	}
	for _, e := range owned {
		if e.Datasource != fakeUA || e.Blueprint != "service" {
			t.Errorf("entity %s: datasource %q, blueprint %q", e.Identifier, e.Datasource, e.Blueprint)
		}
	}

	all, err := c.SearchAll(ctx, glint.Query{Rules: []any{glint.Rule{Property: "$identifier", Operator: "=", Value: "svc-7"}}})
	if err != nil || len(all) != 1 || all[0].Identifier != "svc-7" {
		t.Errorf("SearchAll = %v, %v", all, err)
	}

	ids := []string{"ghost"} // not there: the bulk call fails, singles count it as gone
	for _, e := range owned {
		ids = append(ids, e.Identifier)
	}
	dres, err := c.DeleteEntities(ctx, "service", ids, glint.DeleteOptions{UserAgent: fakeUA})
	if err != nil {
		t.Fatalf("DeleteEntities: %v", err)
	}
	for _, r := range dres {
		if r.Err != nil {
			t.Errorf("delete %s: %v", r.Identifier, r.Err)
		}
	}
	if left := s.Entities("service"); len(left) != 0 {
		t.Errorf("%d entities left after deleting all", len(left))
	}
	st := s.Stats()
	if st.TokensIssued != 1 || st.TokenRequestsWithAuthorization != 0 {
		t.Errorf("tokens issued %d, token requests with Authorization %d; want 1, 0", st.TokensIssued, st.TokenRequestsWithAuthorization)
	}

	err = c.DeleteEntity(ctx, "service", "svc-1", glint.DeleteOptions{})
	var ae *glint.APIError
	if !errors.Is(err, glint.ErrNotFound) || !errors.As(err, &ae) || ae.TraceID == "" {
		t.Errorf("deleting a missing entity: %v, want ErrNotFound with a trace id", err)
	}
}

func TestFakePartialBulk(t *testing.T) {
	c, s := startFake(t)
	// The first bulk call (svc-0 ... svc-19) fails its even indexes.
	s.InjectFault(glinttest.Fault{Route: glinttest.RouteBulk, Kind: glinttest.Partial207})
	es := services(45)
	es[30].Properties["url"] = "not a url"
	res, err := c.UpsertEntities(t.Context(), "service", es, glint.WriteOptions{UserAgent: fakeUA})
	if err != nil {
		t.Fatalf("UpsertEntities: %v", err)
	}
	var failed []string
	for i, r := range res {
		if r.Index != i || r.Identifier != es[i].Identifier {
			t.Errorf("result %d = %+v", i, r)
		}
		_, stored := s.Entity("service", r.Identifier)
		if (r.Err == nil) != stored {
			t.Errorf("%s: Err %v, stored %v", r.Identifier, r.Err, stored)
		}
		if r.Err != nil {
			var ae *glint.APIError
			if !errors.As(r.Err, &ae) || ae.StatusCode != 422 || ae.TraceID == "" {
				t.Errorf("%s: Err = %v, want a 422 APIError with a trace id", r.Identifier, r.Err)
			}
			failed = append(failed, r.Identifier)
		}
	}
	var want []string
	for i := 0; i < 20; i += 2 {
		want = append(want, fmt.Sprintf("svc-%d", i))
	}
	want = append(want, "svc-30")
	if d := cmp.Diff(want, failed); d != "" {
		t.Errorf("failed entities (-want +got):\n%s", d)
	}
}

func TestFakeRecovers(t *testing.T) {
	tests := []struct {
		name  string
		fault glinttest.Fault
		hc    *http.Client
	}{
		{name: "expired token", fault: glinttest.Fault{Route: glinttest.RouteSearch, Kind: glinttest.Status401}},
		{name: "5xx twice", fault: glinttest.Fault{Route: glinttest.RouteSearch, Kind: glinttest.Status503, Count: 2}},
		{name: "429 reset as epoch", fault: glinttest.Fault{Route: glinttest.RouteSearch, Kind: glinttest.Status429, RetryAfter: time.Second}},
		{name: "429 reset as delay", fault: glinttest.Fault{Route: glinttest.RouteSearch, Kind: glinttest.Status429, RetryAfter: time.Second, ResetAsDelay: true}},
		{name: "timeout", fault: glinttest.Fault{Route: glinttest.RouteSearch, Kind: glinttest.Timeout}, hc: &http.Client{Timeout: 200 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []glint.Option
			if tt.hc != nil {
				opts = append(opts, glint.WithHTTPClient(tt.hc))
			}
			c, s := startFake(t, opts...)
			s.PutEntity("service", glint.Entity{Identifier: "a"}, fakeUA)
			if _, err := c.Blueprints(t.Context()); err != nil { // gets a token
				t.Fatalf("Blueprints: %v", err)
			}
			s.InjectFault(tt.fault)
			got, err := c.SearchEntities(t.Context(), "service", glint.Query{})
			if err != nil {
				t.Fatalf("SearchEntities: %v", err)
			}
			if len(got) != 1 {
				t.Errorf("got %d entities, want 1", len(got))
			}
			if n := s.Stats().FaultsInjected; n == 0 {
				t.Error("the fault was not taken")
			}
		})
	}
}

func TestFakeSearchFailsWhole(t *testing.T) {
	c, s := startFake(t)
	for i := range 2500 {
		s.PutEntity("service", glint.Entity{Identifier: fmt.Sprintf("e-%04d", i)}, fakeUA)
	}
	got, err := c.SearchEntities(t.Context(), "service", glint.Query{})
	if err != nil || len(got) != 2500 {
		t.Fatalf("SearchEntities = %d entities, %v; want 2500", len(got), err)
	}
	if n := s.Stats().Total(glinttest.RouteSearch); n != 3 {
		t.Errorf("search pages = %d, want 3", n)
	}
	s.InjectFault(glinttest.Fault{Route: glinttest.RouteSearch, Kind: glinttest.Status500, Count: -1})
	got, err = c.SearchEntities(t.Context(), "service", glint.Query{})
	if err == nil || got != nil {
		t.Errorf("SearchEntities with a failing server = %d entities, %v; want an error only", len(got), err)
	}
}

func TestFakeValidate(t *testing.T) {
	c, s := startFake(t)
	opts := glint.WriteOptions{UserAgent: fakeUA}
	if err := c.ValidateEntity(t.Context(), "service", services(1)[0], opts); err != nil {
		t.Errorf("ValidateEntity: %v", err)
	}
	bad := glint.Entity{Identifier: "x", Properties: map[string]any{"n": "not a number"}}
	err := c.ValidateEntity(t.Context(), "service", bad, opts)
	var ae *glint.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 422 || ae.Code != "blueprint_schema_mismatch" {
		t.Errorf("ValidateEntity(bad) = %v, want 422 blueprint_schema_mismatch", err)
	}
	if len(s.Entities("service")) != 0 {
		t.Error("validation wrote an entity")
	}
	if _, err := c.Blueprint(t.Context(), "nope"); !errors.Is(err, glint.ErrNotFound) {
		t.Errorf("Blueprint(nope) = %v, want ErrNotFound", err)
	}
}

func TestFakeTeams(t *testing.T) {
	c, s := startFake(t)
	ctx := t.Context()
	const ua = "glint-github-app/1.0 (teams)"
	if err := c.CreateTeam(ctx, glint.Team{Name: "platform", Description: "Platform", Users: []glint.TeamUser{{Email: "ada@example.com"}}}, ua); err != nil {
		t.Fatalf("CreateTeam: %v", err)
	}
	if err := c.UpdateTeam(ctx, "platform", glint.Team{Users: []glint.TeamUser{{Email: "ada@example.com"}, {Email: "grace@example.com"}}}, ua); err != nil {
		t.Fatalf("UpdateTeam: %v", err)
	}
	got, err := c.Teams(ctx)
	if err != nil {
		t.Fatalf("Teams: %v", err)
	}
	want := []glint.Team{{Name: "platform", Description: "Platform", Users: []glint.TeamUser{{Email: "ada@example.com"}, {Email: "grace@example.com"}}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Teams (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, s.Teams()); d != "" {
		t.Errorf("stored teams (-want +got):\n%s", d)
	}
	if ds, ok := s.TeamDatasource("platform"); ds != ua || !ok {
		t.Errorf("team datasource = %q, %v; want %q", ds, ok, ua)
	}
	if err := c.DeleteTeam(ctx, "platform", ua); err != nil {
		t.Fatalf("DeleteTeam: %v", err)
	}
	if err := c.DeleteTeam(ctx, "platform", ua); !errors.Is(err, glint.ErrNotFound) {
		t.Errorf("second DeleteTeam = %v, want ErrNotFound", err)
	}
}
