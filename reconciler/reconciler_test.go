package reconciler

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kozmoai/glint-github-app/ghe"
	"github.com/kozmoai/glint-github-app/glint"
)

func newTestReconciler(gh GitHub, cat Catalog, mod func(*Options)) (*Reconciler, *prometheus.Registry) {
	opts := tOpts()
	opts.CreateMissingRelatedEntities = true
	if mod != nil {
		mod(&opts)
	}
	reg := prometheus.NewRegistry()
	return New(gh, cat, opts, slog.New(slog.DiscardHandler), reg), reg
}

// twoRepos declares service/a and service/b in acme/a and service/c in acme/b.
func twoRepos() *ghe.Snapshot {
	s := snap(inst(7,
		repo(7, "acme/a", spec("glint.yml",
			ghe.SpecEntity{Blueprint: "service", Identifier: "a", Title: ptr("A"), Properties: map[string]any{"tier": "1", "replicas": 2.0}},
			se("service", "b", map[string]any{"tags": []any{"x"}}))),
		repo(7, "acme/b", spec("glint.yml", ghe.SpecEntity{Blueprint: "service", Identifier: "c", Team: []string{"payments"}, Relations: map[string]any{"deps": []any{"a", "b"}}})),
	))
	s.RateLimit = ghe.RateLimit{Cost: 3, Remaining: 4990, ResetAt: time.Unix(1700000000, 0)}
	return s
}

func TestRunOnceCreatesThenWritesNothing(t *testing.T) {
	gh := &fakeGitHub{snap: twoRepos()}
	cat := newFakeCatalog(testBlueprints())
	r, reg := newTestReconciler(gh, cat, nil)

	res, err := r.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("first RunOnce: %v", err)
	}
	if res.Created != 3 || res.Updated != 0 || res.Deleted != 0 || res.Repositories != 2 || res.Desired != 3 {
		t.Errorf("first pass: created %d, updated %d, deleted %d, repositories %d, desired %d; want 3, 0, 0, 2, 3",
			res.Created, res.Updated, res.Deleted, res.Repositories, res.Desired)
	}
	wantUpserts := []upsertCall{
		{Blueprint: "service", IDs: []string{"a", "b"}, Opts: glint.WriteOptions{UserAgent: ours(7, "acme/a"), Merge: true, CreateMissingRelatedEntities: true}},
		{Blueprint: "service", IDs: []string{"c"}, Opts: glint.WriteOptions{UserAgent: ours(7, "acme/b"), Merge: true, CreateMissingRelatedEntities: true}},
	}
	if d := cmp.Diff(wantUpserts, cat.sortedUpserts()); d != "" {
		t.Errorf("upsert calls mismatch (-want +got):\n%s", d)
	}
	if e, _ := cat.entity("service", "a"); e.Datasource != ours(7, "acme/a") || e.Title == nil || *e.Title != "A" {
		t.Errorf("stored service/a = %+v", e)
	}

	searches := len(cat.searches)
	res, err = r.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("second RunOnce: %v", err)
	}
	if n := cat.writes(); n != 2 {
		t.Errorf("second pass made %d write calls, want none", n-2)
	}
	if res.Created+res.Updated+res.Deleted != 0 || res.Owned != 3 {
		t.Errorf("second pass: %+v; want no changes and 3 owned", res)
	}
	if len(cat.searches) == searches {
		t.Error("second pass did not read Glint")
	}

	want := `
# HELP glint_github_app_changes_total Entity writes that succeeded, by action (create, update, delete).
# TYPE glint_github_app_changes_total counter
glint_github_app_changes_total{action="create"} 3
glint_github_app_changes_total{action="delete"} 0
glint_github_app_changes_total{action="update"} 0
# HELP glint_github_app_entities Entities in the last pass: declared in glint.yml files (desired) or owned in Glint (owned).
# TYPE glint_github_app_entities gauge
glint_github_app_entities{side="desired"} 3
glint_github_app_entities{side="owned"} 3
# HELP glint_github_app_graphql_rate_limit_remaining GitHub GraphQL rate limit points remaining, as last seen.
# TYPE glint_github_app_graphql_rate_limit_remaining gauge
glint_github_app_graphql_rate_limit_remaining 4990
# HELP glint_github_app_repositories Repositories in the last pass, by state: read in full, failed to read, or with an invalid spec file or entity.
# TYPE glint_github_app_repositories gauge
glint_github_app_repositories{state="failed"} 0
glint_github_app_repositories{state="invalid"} 0
glint_github_app_repositories{state="read"} 2
# HELP glint_github_app_runs_total Reconcile passes, by result (success or failure).
# TYPE glint_github_app_runs_total counter
glint_github_app_runs_total{result="failure"} 0
glint_github_app_runs_total{result="success"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"glint_github_app_changes_total", "glint_github_app_entities", "glint_github_app_graphql_rate_limit_remaining",
		"glint_github_app_repositories", "glint_github_app_runs_total"); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(r.metrics.lastSuccess); got < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last_success_timestamp_seconds = %v, want about now", got)
	}
	if got := testutil.CollectAndCount(r.metrics.duration); got != 1 {
		t.Errorf("run_duration_seconds has %d series, want 1", got)
	}
}

func TestRunOncePerEntityErrorIsAttributed(t *testing.T) {
	gh := &fakeGitHub{snap: twoRepos()}
	cat := newFakeCatalog(testBlueprints())
	rejected := &glint.APIError{StatusCode: 422, Code: "blueprint_schema_mismatch", Message: `"tags" must be an array`}
	cat.reject = map[string]error{"service/b": rejected}
	r, _ := newTestReconciler(gh, cat, nil)

	res, err := r.RunOnce(t.Context())
	if err == nil {
		t.Fatal("RunOnce succeeded, want the rejected entity's error")
	}
	if want := "acme/a: glint.yml:2: service/b: glint: "; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not attribute the entity (want %q)", err, want)
	}
	var ae *glint.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 422 {
		t.Errorf("errors.As(err, *glint.APIError) = %v, %+v; want the 422", errors.As(err, &ae), ae)
	}
	if _, ok := cat.entity("service", "a"); !ok {
		t.Error("service/a was not written: one entity's error stopped the others")
	}
	if _, ok := cat.entity("service", "c"); !ok {
		t.Error("service/c was not written: one entity's error stopped the others")
	}
	if res.Created != 2 || res.WriteErrors != 1 {
		t.Errorf("created %d, write errors %d; want 2, 1", res.Created, res.WriteErrors)
	}
	if d := cmp.Diff([]Problem{{Repo: "acme/a", File: "glint.yml", Message: "acme/a: glint.yml:2: service/b: " + rejected.Error()}}, res.Problems); d != "" {
		t.Errorf("problems mismatch (-want +got):\n%s", d)
	}
	if got := testutil.ToFloat64(r.metrics.writeErrors); got != 1 {
		t.Errorf("entity_write_errors_total = %v, want 1", got)
	}
	if got := testutil.ToFloat64(r.metrics.runs.WithLabelValues("failure")); got != 1 {
		t.Errorf("runs_total{result=failure} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(r.metrics.lastSuccess); got != 0 {
		t.Errorf("last_success_timestamp_seconds = %v after a failed pass, want 0", got)
	}
}

func TestRunOnceUpsertCallFailure(t *testing.T) {
	cat := newFakeCatalog(testBlueprints())
	cat.upsertErr = errors.New("glint: 503 Service Unavailable")
	r, _ := newTestReconciler(&fakeGitHub{snap: twoRepos()}, cat, nil)
	res, err := r.RunOnce(t.Context())
	if err == nil || !strings.Contains(err.Error(), "acme/a: upsert 2 entities of service: glint: 503") {
		t.Errorf("RunOnce error = %v, want the failed call attributed to acme/a", err)
	}
	if res.WriteErrors != 3 || len(cat.upserts) != 2 {
		t.Errorf("write errors %d after %d calls, want 3 after 2 (one call's failure does not stop the other)", res.WriteErrors, len(cat.upserts))
	}
}

func TestRunOnceReadFailureWritesNothing(t *testing.T) {
	boom := errors.New("glint: 500 Internal Server Error")
	tests := []struct {
		name  string
		gh    *fakeGitHub
		setup func(*fakeCatalog)
	}{
		{name: "github snapshot", gh: &fakeGitHub{err: errors.New("list installations: 401 Bad credentials")}},
		{name: "glint blueprints", gh: &fakeGitHub{snap: twoRepos()}, setup: func(c *fakeCatalog) { c.blueprintsErr = boom }},
		{name: "glint owned search of one blueprint", gh: &fakeGitHub{snap: twoRepos()}, setup: func(c *fakeCatalog) { c.searchErr = map[string]error{"library": boom} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// service/old would be deleted and a, b, c created if the read succeeded.
			cat := newFakeCatalog(testBlueprints(), cur("service", "old", ours(7, "acme/a"), nil), cur("service", "keep", ours(7, "acme/a"), nil))
			if tt.setup != nil {
				tt.setup(cat)
			}
			r, _ := newTestReconciler(tt.gh, cat, nil)
			res, err := r.RunOnce(t.Context())
			if err == nil {
				t.Fatal("RunOnce succeeded, want the read error")
			}
			if !errors.Is(err, errRead) {
				t.Errorf("error %v does not say the read failed", err)
			}
			if n := cat.writes(); n != 0 {
				t.Errorf("%d write calls after a failed read, want none", n)
			}
			if res == nil {
				t.Fatal("no Result")
			}
			if got := testutil.ToFloat64(r.metrics.runs.WithLabelValues("failure")); got != 1 {
				t.Errorf("runs_total{result=failure} = %v, want 1", got)
			}
		})
	}
}

func TestRunOnceDeletesAndKeeps(t *testing.T) {
	s := snap(
		inst(7,
			repo(7, "acme/a", spec("glint.yml", se("service", "a", nil))),
			failedRepo(7, "acme/f"),
		),
	)
	cat := newFakeCatalog(testBlueprints(),
		cur("service", "a", ours(7, "acme/a"), nil),
		cur("service", "gone", ours(7, "acme/a"), nil),
		cur("service", "f1", ours(7, "acme/f"), nil),
		cur("service", "f2", ours(7, "acme/f"), nil),
		cur("library", "lib", ours(9, "beta/lib"), map[string]any{"lang": "go"}), // installation 9 is gone
		cur("service", "human", "", nil),
	)
	r, _ := newTestReconciler(&fakeGitHub{snap: s}, cat, func(o *Options) { o.DeleteDependents = true })
	res, err := r.RunOnce(t.Context())
	if err == nil || !strings.Contains(err.Error(), "read acme/f: graphql: NOT_FOUND") {
		t.Errorf("RunOnce error = %v, want the failed repository", err)
	}
	deleteUA := "glint-github-app/1.4.0 (app/12@ghe.example.com; gitops)"
	want := []deleteCall{
		{Blueprint: "library", IDs: []string{"lib"}, Opts: glint.DeleteOptions{UserAgent: deleteUA, DeleteDependents: true}},
		{Blueprint: "service", IDs: []string{"gone"}, Opts: glint.DeleteOptions{UserAgent: deleteUA, DeleteDependents: true}},
	}
	got := slices.SortedFunc(slices.Values(cat.deletes), func(a, b deleteCall) int { return strings.Compare(a.Blueprint, b.Blueprint) })
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("delete calls mismatch (-want +got):\n%s", d)
	}
	for _, id := range []string{"a", "f1", "f2", "human"} {
		if _, ok := cat.entity("service", id); !ok {
			t.Errorf("service/%s was deleted", id)
		}
	}
	if res.Deleted != 2 || res.BlockedDeletes != 2 || res.RepositoriesFailed != 1 || res.Repositories != 1 {
		t.Errorf("deleted %d, blocked %d, failed repos %d, read repos %d; want 2, 2, 1, 1",
			res.Deleted, res.BlockedDeletes, res.RepositoriesFailed, res.Repositories)
	}
}

func TestRunOnceThreshold(t *testing.T) {
	cat := newFakeCatalog(testBlueprints(), nOwned(4, 7, "acme/a")...)
	r, reg := newTestReconciler(&fakeGitHub{snap: snap(inst(7, repo(7, "acme/a")))}, cat, nil)
	res, err := r.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("RunOnce: %v (a withheld deletion is a notice, not an error)", err)
	}
	if n := cat.writes(); n != 0 {
		t.Errorf("%d write calls, want none", n)
	}
	want := []string{"deletion threshold exceeded: 4 of 4 owned entities would be deleted (threshold 0.9); nothing is deleted"}
	if d := cmp.Diff(want, res.Notices); d != "" {
		t.Errorf("notices mismatch (-want +got):\n%s", d)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP glint_github_app_deletions_blocked_total Passes whose deletions exceeded the deletion threshold, so nothing was deleted.
# TYPE glint_github_app_deletions_blocked_total counter
glint_github_app_deletions_blocked_total 1
`), "glint_github_app_deletions_blocked_total"); err != nil {
		t.Error(err)
	}
}

func TestRunOnceConflictsAndInvalidAreNotErrors(t *testing.T) {
	s := snap(inst(7,
		repo(7, "acme/a", spec("glint.yml", se("service", "taken", nil), se("service", "bad", map[string]any{"replicas": "x"}))),
		repo(7, "acme/b", spec("glint.yml", se("service", "ok", nil)), brokenSpec("svc/glint.yml")),
	))
	cat := newFakeCatalog(testBlueprints(), cur("service", "taken", "terraform", nil))
	r, _ := newTestReconciler(&fakeGitHub{snap: s}, cat, nil)
	res, err := r.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if e, _ := cat.entity("service", "taken"); e.Datasource != "terraform" {
		t.Errorf("the foreign entity was taken over: %+v", e)
	}
	if res.Conflicts != 1 || res.Invalid != 1 || res.Created != 1 || res.RepositoriesInvalid != 2 || res.Repositories != 0 {
		t.Errorf("conflicts %d, invalid %d, created %d, invalid repos %d, read repos %d; want 1, 1, 1, 2, 0",
			res.Conflicts, res.Invalid, res.Created, res.RepositoriesInvalid, res.Repositories)
	}
	if got := testutil.ToFloat64(r.metrics.conflicts); got != 1 {
		t.Errorf("conflicts gauge = %v, want 1", got)
	}
	if got := testutil.ToFloat64(r.metrics.invalid); got != 1 {
		t.Errorf("invalid_entities gauge = %v, want 1", got)
	}
	if d := cmp.Diff([]Problem{{Repo: "acme/b", File: "svc/glint.yml", Message: "yaml: line 2: mapping values are not allowed here"}}, res.Problems); d != "" {
		t.Errorf("problems mismatch (-want +got):\n%s", d)
	}
	if _, err := json.Marshal(res); err != nil {
		t.Errorf("Result does not encode to JSON: %v", err)
	}
}

func TestPlanWritesNothing(t *testing.T) {
	cat := newFakeCatalog(testBlueprints(), cur("service", "a", ours(7, "acme/a"), nil),
		cur("service", "gone", ours(7, "acme/a"), nil), cur("service", "x", ours(7, "acme/a"), nil), cur("service", "y", ours(7, "acme/a"), nil))
	r, _ := newTestReconciler(&fakeGitHub{snap: twoRepos()}, cat, nil)
	res, err := r.Plan(t.Context())
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if n := cat.writes(); n != 0 {
		t.Errorf("Plan made %d write calls", n)
	}
	if len(res.Changes.Create) != 2 || len(res.Changes.Update) != 1 || len(res.Changes.Delete) != 3 {
		t.Errorf("Plan: %d creates, %d updates, %d deletes; want 2, 1, 3", len(res.Changes.Create), len(res.Changes.Update), len(res.Changes.Delete))
	}
	if got := testutil.ToFloat64(r.metrics.runs.WithLabelValues("success")); got != 0 {
		t.Errorf("Plan counted a run")
	}
}

func TestReadGlintQueries(t *testing.T) {
	var es []ghe.SpecEntity
	for i := range 2500 {
		es = append(es, se("service", fmt.Sprintf("s%04d", i), nil))
	}
	es = append(es, se("nope", "x", nil), se("service", "bad id", nil))
	cat := newFakeCatalog(testBlueprints(), cur("service", "s0000", ours(7, "acme/a"), nil))
	r, _ := newTestReconciler(&fakeGitHub{snap: snap(inst(7, repo(7, "acme/a", spec("glint.yml", es...))))}, cat, nil)
	if _, err := r.Plan(t.Context()); err != nil {
		t.Fatalf("Plan: %v", err)
	}
	ownedQuery := glint.Query{Combinator: "and", Rules: []any{
		glint.Rule{Property: "$datasource", Operator: "beginsWith", Value: "glint-github-app/"},
		glint.Rule{Property: "$datasource", Operator: "contains", Value: "(app/12@ghe.example.com;"},
	}}
	var owned, byID []searchCall
	for _, s := range cat.searches {
		if cmp.Equal(s.Query, ownedQuery) {
			owned = append(owned, s)
		} else {
			byID = append(byID, s)
		}
	}
	if len(owned) != 2 {
		t.Errorf("%d ownership searches, want one per blueprint (2)", len(owned))
	}
	if len(byID) != 3 {
		t.Fatalf("%d identifier searches, want 3 (2499 identifiers in chunks of 1000)", len(byID))
	}
	total := 0
	for _, s := range byID {
		rule := s.Query.Rules[0].(glint.Rule)
		ids := rule.Value.([]any)
		if s.Blueprint != "service" || rule.Property != "$identifier" || rule.Operator != "in" || len(ids) > 1000 {
			t.Errorf("identifier search %+v", s)
		}
		for _, id := range ids {
			if id == "s0000" || id == "bad id" {
				t.Errorf("identifier search asks for %q", id)
			}
		}
		total += len(ids)
	}
	if total != 2499 {
		t.Errorf("identifier searches ask for %d identifiers, want 2499", total)
	}
}

func TestApplyBoundedConcurrency(t *testing.T) {
	var repos []ghe.RepoResult
	for i := range 6 {
		full := fmt.Sprintf("acme/r%d", i)
		repos = append(repos, repo(7, full, spec("glint.yml", se("service", full[5:], nil))))
	}
	cat := newFakeCatalog(testBlueprints())
	cat.writeDelay = 20 * time.Millisecond
	r, _ := newTestReconciler(&fakeGitHub{snap: snap(inst(7, repos...))}, cat, func(o *Options) { o.Concurrency = 2 })
	res, err := r.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if res.Created != 6 || len(cat.upserts) != 6 {
		t.Errorf("created %d in %d calls, want 6 in 6 (one call per repository)", res.Created, len(cat.upserts))
	}
	if cat.maxInFlt > 2 {
		t.Errorf("%d writes in flight, want at most 2", cat.maxInFlt)
	}
	if cat.maxInFlt < 2 {
		t.Errorf("writes ran one at a time, want 2 in flight")
	}
}

func TestRunOnceMoveBetweenRepositories(t *testing.T) {
	// service/x moves from acme/a to acme/b in one commit.
	s := snap(inst(7,
		repo(7, "acme/a", spec("glint.yml", se("service", "y", nil))),
		repo(7, "acme/b", spec("glint.yml", se("service", "x", map[string]any{"tier": "1"}))),
	))
	cat := newFakeCatalog(testBlueprints(), cur("service", "x", ours(7, "acme/a"), map[string]any{"tier": "1"}), cur("service", "y", ours(7, "acme/a"), nil))
	r, _ := newTestReconciler(&fakeGitHub{snap: s}, cat, nil)
	res, err := r.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if res.Updated != 1 || res.Deleted != 0 || len(cat.deletes) != 0 {
		t.Errorf("updated %d, deleted %d; want 1, 0", res.Updated, res.Deleted)
	}
	if e, _ := cat.entity("service", "x"); e.Datasource != ours(7, "acme/b") {
		t.Errorf("service/x datasource = %q, want acme/b's", e.Datasource)
	}
	if _, err := r.RunOnce(t.Context()); err != nil || len(cat.upserts) != 1 {
		t.Errorf("second pass: %v, %d upsert calls in all; want no new write", err, len(cat.upserts))
	}
}

// The real clients satisfy the interfaces: drift fails to compile.
var (
	_ GitHub  = (*ghe.Client)(nil)
	_ Catalog = (*glint.Client)(nil)
)
