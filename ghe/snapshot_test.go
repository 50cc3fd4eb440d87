package ghe

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kozmoai/glint-github-app/ghe/ghetest"
)

// fake starts a ghetest server that validates every query against GitHub's
// schema, and a Client for it.
func fake(t *testing.T, fo ghetest.Options, edit func(*Options)) (*ghetest.Server, *Client) {
	t.Helper()
	key, pemKey := mustKey(t)
	fo.AppID = 42
	fo.PublicKey = &key.PublicKey
	s := ghetest.NewForTest(t, fo)
	opts := fastOptions(s.URL()+"/api/v3", s.URL()+"/api/graphql", pemKey)
	if edit != nil {
		edit(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if q := s.InvalidQueries(); len(q) > 0 {
			t.Errorf("the fake refused %d queries, first: %s", len(q), q[0])
		}
	})
	return s, c
}

func spec(id string, extra ...string) string {
	return fmt.Sprintf("identifier: %s\nblueprint: service\n%s", id, strings.Join(extra, ""))
}

// addRepos adds n repositories named prefix-i to installation inst, each
// with a glint.yml declaring one entity.
func addRepos(s *ghetest.Server, inst int64, owner, prefix string, n int) {
	for i := range n {
		name := fmt.Sprintf("%s-%d", prefix, i)
		s.AddRepo(inst, ghetest.Repo{Owner: owner, Name: name, Files: map[string]string{"glint.yml": spec(name)}})
	}
}

// byName indexes a snapshot's repositories by full name.
func byName(t *testing.T, snap *Snapshot) map[string]RepoResult {
	t.Helper()
	out := map[string]RepoResult{}
	for _, ir := range snap.Installations {
		if ir.Err != nil {
			t.Fatalf("installation %d: %v", ir.Installation.ID, ir.Err)
		}
		for _, rr := range ir.Repos {
			out[rr.Repo.FullName] = rr
		}
	}
	return out
}

func TestSnapshotFake(t *testing.T) {
	s, c := fake(t, ghetest.Options{}, nil)
	acme := s.AddInstallation("acme", "Organization")
	octo := s.AddInstallation("octocat", "User")
	s.AddRepo(acme, ghetest.Repo{Name: "checkout", Description: "Checkout", Topics: []string{"payments", "go"},
		Files: map[string]string{
			"glint.yml": spec("checkout", "properties:\n  readme: file://README.md\n  runbook: file://docs/runbook.md\n"),
			"README.md": "# Checkout\n", "docs/runbook.md": "restart it\n",
		}})
	s.AddRepo(acme, ghetest.Repo{Name: "both", Files: map[string]string{"glint.yml": spec("both-a"), "glint.yaml": spec("both-b")}})
	s.AddRepo(acme, ghetest.Repo{Name: "missing-target", Files: map[string]string{
		"glint.yml": spec("mt", "properties:\n  readme: file://NOPE.md\n"),
	}})
	s.AddRepo(acme, ghetest.Repo{Name: "broken", Files: map[string]string{"glint.yml": "identifier: [\n"}})
	s.AddRepo(acme, ghetest.Repo{Name: "none", Files: map[string]string{"README.md": "nothing\n"}})
	s.AddRepo(acme, ghetest.Repo{Name: "empty"})
	s.AddRepo(octo, ghetest.Repo{Name: "dotfiles", Archived: true, Files: map[string]string{"glint.yml": spec("dotfiles")}})
	s.SetBinaryFile("acme/none", "glint.yaml", []byte{0, 1, 2, 0xff, 0})

	snap, err := c.Snapshot(t.Context())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if len(snap.Installations) != 2 {
		t.Fatalf("%d installations, want 2", len(snap.Installations))
	}
	repos := byName(t, snap)
	if len(repos) != 7 {
		t.Fatalf("%d repositories, want 7: %v", len(repos), repos)
	}

	co := repos["acme/checkout"]
	if !co.Complete() || len(co.Specs) != 1 {
		t.Fatalf("acme/checkout = %+v", co)
	}
	props := co.Specs[0].Entities[0].Properties
	if props["readme"] != "# Checkout\n" || props["runbook"] != "restart it\n" {
		t.Errorf("file:// targets not resolved: %v", props)
	}
	if co.Repo.HeadOID != s.HeadOID("acme/checkout") || co.Repo.DefaultBranch != "main" || co.Repo.Description != "Checkout" ||
		strings.Join(co.Repo.Topics, ",") != "payments,go" || co.Repo.InstallationID != acme {
		t.Errorf("acme/checkout metadata = %+v", co.Repo)
	}

	if both := repos["acme/both"]; !both.Complete() || len(both.Specs) != 2 || both.Specs[0].Path != "glint.yml" || both.Specs[1].Path != "glint.yaml" {
		t.Errorf("acme/both = %+v", both)
	}
	mt := repos["acme/missing-target"]
	if mt.Err != nil || len(mt.Specs) != 1 || mt.Specs[0].Err == nil || len(mt.Specs[0].Entities) != 0 {
		t.Errorf("acme/missing-target = %+v, want a spec error only", mt)
	}
	if b := repos["acme/broken"]; b.Err != nil || len(b.Specs) != 1 || b.Specs[0].Err == nil || b.Complete() {
		t.Errorf("acme/broken = %+v, want a spec parse error", b)
	}
	if n := repos["acme/none"]; n.Err != nil || len(n.Specs) != 1 || n.Specs[0].Err == nil || !strings.Contains(n.Specs[0].Err.Error(), "binary") {
		t.Errorf("acme/none = %+v, want a binary glint.yaml error", n)
	}
	if e := repos["acme/empty"]; !e.Complete() || len(e.Specs) != 0 || e.Repo.HeadOID != "" {
		t.Errorf("acme/empty = %+v, want read, no specs", e)
	}
	if d := repos["octocat/dotfiles"]; !d.Complete() || !d.Repo.Archived || d.Repo.InstallationID != octo {
		t.Errorf("octocat/dotfiles = %+v", d)
	}
	if snap.RateLimit.ResetAt.IsZero() || snap.RateLimit.Remaining == 0 {
		t.Errorf("rate limit not kept: %+v", snap.RateLimit)
	}
}

func TestSnapshotBatching(t *testing.T) {
	s, c := fake(t, ghetest.Options{}, nil)
	inst := s.AddInstallation("acme", "Organization")
	addRepos(s, inst, "acme", "svc", 250)
	snap, err := c.Snapshot(t.Context())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	repos := byName(t, snap)
	if len(repos) != 250 {
		t.Fatalf("%d repositories, want 250", len(repos))
	}
	for name, rr := range repos {
		if !rr.Complete() || len(rr.Specs) != 1 || len(rr.Specs[0].Entities) != 1 {
			t.Fatalf("%s = %+v", name, rr)
		}
	}
	st := s.Stats()
	if st.GraphQLRequests != 3 {
		t.Errorf("%d GraphQL requests for 250 repositories, want 3", st.GraphQLRequests)
	}
	if got := st.Total(ghetest.RouteRepositories); got != 3 {
		t.Errorf("%d repository listing pages, want 3", got)
	}
}

func TestSnapshotFileTargetsOneMoreRequest(t *testing.T) {
	s, c := fake(t, ghetest.Options{}, nil)
	inst := s.AddInstallation("acme", "Organization")
	for i := range 60 {
		name := fmt.Sprintf("svc-%d", i)
		s.AddRepo(inst, ghetest.Repo{Owner: "acme", Name: name, Files: map[string]string{
			"glint.yml":    spec(name, "properties:\n  readme: file://README.md\n  api: file://./api.yaml\n"),
			"README.md":    "readme of " + name,
			"api.yaml":     "openapi: 3.0.0",
			"unrelated.md": "x",
		}})
	}
	snap, err := c.Snapshot(t.Context())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	for name, rr := range byName(t, snap) {
		if !rr.Complete() {
			t.Fatalf("%s: %v %+v", name, rr.Err, rr.Specs)
		}
		if got := rr.Specs[0].Entities[0].Properties["readme"]; got != "readme of "+rr.Repo.Name {
			t.Errorf("%s readme = %v", name, got)
		}
	}
	// One metadata request, then 120 files in two file requests (100 a request).
	if got := s.Stats().GraphQLRequests; got != 3 {
		t.Errorf("%d GraphQL requests, want 3", got)
	}
}

func TestSnapshotCachesParsedSpecs(t *testing.T) {
	s, c := fake(t, ghetest.Options{}, nil)
	inst := s.AddInstallation("acme", "Organization")
	addRepos(s, inst, "acme", "svc", 5)
	s.AddRepo(inst, ghetest.Repo{Name: "docs", Files: map[string]string{
		"glint.yml": spec("docs", "properties:\n  readme: file://README.md\n"), "README.md": "v1",
	}})

	if _, err := c.Snapshot(t.Context()); err != nil {
		t.Fatal(err)
	}
	if p, r := c.parses.Load(), c.resolves.Load(); p != 6 || r != 1 {
		t.Fatalf("first pass: %d parses, %d resolves; want 6, 1", p, r)
	}
	snap, err := c.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if p, r := c.parses.Load(), c.resolves.Load(); p != 6 || r != 1 {
		t.Errorf("unchanged second pass parsed again: %d parses, %d resolves", p, r)
	}
	if got := byName(t, snap)["acme/docs"].Specs[0].Entities[0].Properties["readme"]; got != "v1" {
		t.Errorf("cached readme = %v", got)
	}
	// An unchanged file hands out the cached entities themselves, read-only
	// (SpecEntity), in a slice an append cannot write into.
	again, err := c.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"acme/svc-2", "acme/docs"} {
		a, b := byName(t, snap)[name].Specs[0].Entities, byName(t, again)[name].Specs[0].Entities
		if &a[0] != &b[0] || reflect.ValueOf(a[0].Properties).UnsafePointer() != reflect.ValueOf(b[0].Properties).UnsafePointer() {
			t.Errorf("%s: two unchanged passes handed out different entities; want the cached ones", name)
		}
		if cap(a) != len(a) {
			t.Errorf("%s: entities have capacity %d for length %d; an append would write into the cache", name, cap(a), len(a))
		}
	}

	s.SetFile("acme/svc-0", "glint.yml", spec("svc-0-renamed"))
	s.SetFile("acme/docs", "README.md", "v2")
	s.RemoveRepo("acme/svc-1")
	snap, err = c.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if p, r := c.parses.Load(), c.resolves.Load(); p != 7 || r != 2 {
		t.Errorf("third pass: %d parses, %d resolves; want 7, 2", p, r)
	}
	repos := byName(t, snap)
	if got := repos["acme/docs"].Specs[0].Entities[0].Properties["readme"]; got != "v2" {
		t.Errorf("readme after change = %v", got)
	}
	if got := repos["acme/svc-0"].Specs[0].Entities[0].Identifier; got != "svc-0-renamed" {
		t.Errorf("svc-0 identifier = %q", got)
	}
	// Entries of the old svc-0 file and of the removed svc-1 are dropped.
	if parsed, resolved := c.cache.len(); parsed != 5 || resolved != 1 {
		t.Errorf("cache holds %d parsed, %d resolved; want 5, 1", parsed, resolved)
	}
}

func TestSnapshotRefreshesTokens(t *testing.T) {
	s, c := fake(t, ghetest.Options{TokenTTL: 2 * time.Second}, nil)
	inst := s.AddInstallation("acme", "Organization")
	addRepos(s, inst, "acme", "svc", 3)
	for pass := range 2 {
		if pass > 0 {
			time.Sleep(2100 * time.Millisecond) // the first token has expired
		}
		snap, err := c.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for name, rr := range byName(t, snap) {
			if rr.Err != nil {
				t.Fatalf("pass %d: %s: %v", pass, name, rr.Err)
			}
		}
	}
	st := s.Stats()
	if n := st.Count(ghetest.RouteAccessTokens, 201); n < 2 {
		t.Errorf("%d tokens issued, want a refresh", n)
	}
	for route, byStatus := range st.Requests {
		if byStatus[401] > 0 {
			t.Errorf("%d requests to %s answered 401", byStatus[401], route)
		}
	}
}

func TestSnapshotFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault ghetest.Fault
		// check inspects the snapshot; nil means every repository must be read.
		check    func(t *testing.T, snap *Snapshot)
		minWait  time.Duration
		graphql  int  // GraphQL requests expected, when not 0
		snapshot bool // Snapshot itself must fail
	}{
		{name: "graphql 500 retried", fault: ghetest.Fault{Target: ghetest.RouteGraphQL, Kind: ghetest.Status500, Count: 2}},
		{name: "graphql 502 HTML retried", fault: ghetest.Fault{Target: ghetest.RouteGraphQL, Kind: ghetest.Status502HTML, Count: 1}},
		{name: "graphql connection reset", fault: ghetest.Fault{Target: ghetest.RouteGraphQL, Kind: ghetest.ConnReset, Count: 2}},
		{name: "graphql timeout", fault: ghetest.Fault{Target: ghetest.RouteGraphQL, Kind: ghetest.Timeout, Count: 1}},
		{name: "graphql truncated JSON", fault: ghetest.Fault{Target: ghetest.RouteGraphQL, Kind: ghetest.TruncatedJSON, Count: 1}},
		{name: "graphql empty body", fault: ghetest.Fault{Target: ghetest.RouteGraphQL, Kind: ghetest.EmptyBody, Count: 1}},
		{name: "secondary rate limit", fault: ghetest.Fault{Target: ghetest.RouteGraphQL, Kind: ghetest.SecondaryRateLimit, RetryAfter: time.Second}, minWait: 900 * time.Millisecond},
		{name: "primary rate limit", fault: ghetest.Fault{Target: ghetest.RouteRepositories, Kind: ghetest.PrimaryRateLimit, RetryAfter: time.Second}, minWait: 500 * time.Millisecond},
		{name: "429", fault: ghetest.Fault{Target: ghetest.RouteInstallations, Kind: ghetest.Status429, RetryAfter: time.Second}, minWait: 900 * time.Millisecond},
		{name: "graphql RATE_LIMITED", fault: ghetest.Fault{Target: ghetest.RouteGraphQL, Kind: ghetest.GraphQLRateLimited, RetryAfter: time.Second}, minWait: 900 * time.Millisecond, graphql: 2},
		// The batch of 6 fails once, then is read as two halves of 3.
		{name: "graphql timeout error splits", fault: ghetest.Fault{Target: ghetest.RouteGraphQL, Kind: ghetest.GraphQLTimeout, Count: 1}, graphql: 3},
		{name: "token 500 retried", fault: ghetest.Fault{Target: ghetest.RouteAccessTokens, Kind: ghetest.Status500, Count: 1}},
		{name: "token HTML retried", fault: ghetest.Fault{Target: ghetest.RouteAccessTokens, Kind: ghetest.HTMLMaintenance, Count: 1}},
		{
			name:  "graphql HTML maintenance is an error, not empty",
			fault: ghetest.Fault{Target: ghetest.RouteGraphQL, Kind: ghetest.HTMLMaintenance, Count: 100},
			check: func(t *testing.T, snap *Snapshot) {
				for _, rr := range snap.Installations[0].Repos {
					if !errors.Is(rr.Err, ErrInvalidResponse) {
						t.Errorf("%s: Err = %v, want ErrInvalidResponse", rr.Repo.FullName, rr.Err)
					}
				}
			},
		},
		{
			name:  "NOT_FOUND fails only its repository",
			fault: ghetest.Fault{Target: ghetest.RouteGraphQL, Kind: ghetest.PartialData, Count: 1},
			check: func(t *testing.T, snap *Snapshot) {
				var failed, read int
				for _, rr := range snap.Installations[0].Repos {
					var ge *GraphQLError
					switch {
					case rr.Err == nil && rr.Complete():
						read++
					case errors.As(rr.Err, &ge) && ge.Type == "NOT_FOUND":
						failed++
					default:
						t.Errorf("%s: Err = %v", rr.Repo.FullName, rr.Err)
					}
				}
				if failed == 0 || read == 0 {
					t.Errorf("%d failed, %d read; want some of both", failed, read)
				}
			},
		},
		{
			name:  "failed repository listing fails the installation only",
			fault: ghetest.Fault{Target: ghetest.RouteRepositories, Kind: ghetest.HTMLMaintenance, Count: 100},
			check: func(t *testing.T, snap *Snapshot) {
				if len(snap.Installations) != 1 || snap.Installations[0].Err == nil || len(snap.Installations[0].Repos) != 0 {
					t.Errorf("installations = %+v, want one with Err", snap.Installations)
				}
			},
		},
		{name: "failed installation listing fails the snapshot", fault: ghetest.Fault{Target: ghetest.RouteInstallations, Kind: ghetest.Status500, Count: 100}, snapshot: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := fake(t, ghetest.Options{}, func(o *Options) { o.Timeout = 300 * time.Millisecond })
			inst := s.AddInstallation("acme", "Organization")
			addRepos(s, inst, "acme", "svc", 6)
			s.InjectFault(tt.fault)
			start := time.Now()
			snap, err := c.Snapshot(t.Context())
			if tt.snapshot {
				if err == nil {
					t.Fatal("Snapshot succeeded, want error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			if tt.check != nil {
				tt.check(t, snap)
				return
			}
			repos := byName(t, snap)
			if len(repos) != 6 {
				t.Fatalf("%d repositories, want 6", len(repos))
			}
			for name, rr := range repos {
				if !rr.Complete() || len(rr.Specs) != 1 {
					t.Errorf("%s: %v", name, rr.Err)
				}
			}
			if d := time.Since(start); d < tt.minWait {
				t.Errorf("snapshot took %s, want the rate limit (%s) waited for", d, tt.minWait)
			}
			if got := s.Stats().GraphQLRequests; tt.graphql != 0 && got != tt.graphql {
				t.Errorf("%d GraphQL requests, want %d", got, tt.graphql)
			}
			if s.PendingFaults() != 0 {
				t.Errorf("%d faults not consumed", s.PendingFaults())
			}
		})
	}
}

func TestSnapshotHalvesOnResourceLimits(t *testing.T) {
	s, c := fake(t, ghetest.Options{}, nil)
	inst := s.AddInstallation("acme", "Organization")
	addRepos(s, inst, "acme", "svc", 100)
	s.SetMaxBatch(30)
	snap, err := c.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for name, rr := range byName(t, snap) {
		if !rr.Complete() {
			t.Errorf("%s: %v", name, rr.Err)
		}
	}
	// 100 -> 2x50 -> 4x25: 1 + 2 + 4 requests.
	if got := s.Stats().GraphQLRequests; got != 7 {
		t.Errorf("%d GraphQL requests, want 7", got)
	}
}

// TestSnapshotCost measures the requests one pass needs for 1,000
// repositories across 3 installations.
func TestSnapshotCost(t *testing.T) {
	s, c := fake(t, ghetest.Options{}, nil)
	sizes := []int{400, 350, 250}
	for i, n := range sizes {
		owner := fmt.Sprintf("org%d", i)
		inst := s.AddInstallation(owner, "Organization")
		addRepos(s, inst, owner, "svc", n)
	}
	start := time.Now()
	snap, err := c.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	repos := byName(t, snap)
	if len(repos) != 1000 {
		t.Fatalf("%d repositories, want 1000", len(repos))
	}
	st := s.Stats()
	rest := st.Total(ghetest.RouteInstallations) + st.Total(ghetest.RouteAccessTokens) + st.Total(ghetest.RouteRepositories)
	t.Logf("1,000 repositories in 3 installations: %d REST requests (installations %d, tokens %d, repository pages %d), "+
		"%d GraphQL requests, %d points, in %s",
		rest, st.Total(ghetest.RouteInstallations), st.Total(ghetest.RouteAccessTokens), st.Total(ghetest.RouteRepositories),
		st.GraphQLRequests, st.PointsUsed, elapsed)
	if rest > 3*(2+10)+1 {
		t.Errorf("%d REST requests, want at most %d", rest, 3*(2+10)+1)
	}
	if st.GraphQLRequests > 12 {
		t.Errorf("%d GraphQL requests, want at most 12", st.GraphQLRequests)
	}

	// A second pass reuses the tokens and parses nothing.
	s.ResetStats()
	parses := c.parses.Load()
	if _, err := c.Snapshot(t.Context()); err != nil {
		t.Fatal(err)
	}
	st = s.Stats()
	t.Logf("second pass: %d token requests, %d GraphQL requests, %d new parses",
		st.Total(ghetest.RouteAccessTokens), st.GraphQLRequests, c.parses.Load()-parses)
	if st.Total(ghetest.RouteAccessTokens) != 0 || c.parses.Load() != parses {
		t.Errorf("second pass fetched %d tokens and parsed %d files, want 0 and 0", st.Total(ghetest.RouteAccessTokens), c.parses.Load()-parses)
	}
}
