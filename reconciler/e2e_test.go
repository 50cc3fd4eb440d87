package reconciler_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kozmoai/glint-github-app/ghe/ghetest"
	"github.com/kozmoai/glint-github-app/glint"
	"github.com/kozmoai/glint-github-app/glint/glinttest"
)

// These tests run whole passes in process: the real ghe.Client against the
// fake GHE (ghetest, which validates every GraphQL query against GitHub's
// schema), the real glint.Client against the fake Glint (glinttest), and a
// reconciler.Reconciler between them. Each asserts what ends up in the
// fake Glint and how many calls it took.

func TestE2EFirstPassCreatesThenSecondWritesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})

	p := w.mustRun(t)
	// One bulk upsert per blueprint and repository: checkout (service),
	// shop (system, service), gateway (service).
	wantWrites(t, p, 4, 4, 0, 0)
	if got := [4]int{p.res.Created, p.res.Updated, p.res.Deleted, p.res.Conflicts}; got != [4]int{4, 0, 0, 0} {
		t.Errorf("created, updated, deleted, conflicts = %v, want [4 0 0 0]\n%s", got, changesText(p.res))
	}
	w.wantIDs(t, "service/checkout", "service/gateway", "service/storefront", "system/shop")

	checkout := w.entity(t, "service", "checkout")
	want := glint.Entity{
		Identifier: "checkout", Blueprint: "service", Title: ptr("Checkout"),
		Team: []any{"payments"},
		Properties: map[string]any{
			"language": "Go", "tier": "silver", "url": "https://checkout.acme.example",
			"onCall": "@alice", "readme": checkoutReadme,
		},
		Relations:  map[string]any{"system": "shop"},
		Datasource: fmt.Sprintf("glint-github-app/e2e (app/4242@%s; installation/%d; repo/acme/checkout; gitops)", w.host, w.acme),
	}
	if diff := cmp.Diff(want, managed(checkout)); diff != "" {
		t.Errorf("service/checkout (-want +got):\n%s", diff)
	}
	storefront := w.entity(t, "service", "storefront")
	if diff := cmp.Diff(glint.Entity{
		Identifier: "storefront", Blueprint: "service", Title: ptr("Storefront"), Team: []any{"storefront"},
		Properties: map[string]any{"language": "TypeScript", "tier": "gold", "replicas": float64(3)},
		Relations:  map[string]any{"system": "shop"},
		Datasource: w.ds(w.acme, "acme/shop"),
	}, managed(storefront)); diff != "" {
		t.Errorf("service/storefront (-want +got):\n%s", diff)
	}
	if got := w.entity(t, "system", "shop"); got.Datasource != w.ds(w.acme, "acme/shop") ||
		got.Properties["description"] != "Everything a customer touches" {
		t.Errorf("system/shop = %+v", managed(got))
	}
	if got := w.entity(t, "service", "gateway"); got.Datasource != w.ds(w.plat, "platform/gateway") ||
		got.Properties["replicas"] != float64(6) {
		t.Errorf("service/gateway = %+v", managed(got))
	}

	before := w.snapshot()
	p = w.mustRun(t)
	wantWrites(t, p, 0, 0, 0, 0)
	if p.gl.EntityWrites != 0 || p.res.Created+p.res.Updated+p.res.Deleted != 0 {
		t.Errorf("second pass: %d entity writes, result %+v; want none", p.gl.EntityWrites, p.res.Changes)
	}
	w.unchanged(t, before, "service/checkout", "service/gateway", "service/storefront", "system/shop")
}

func TestE2EEdits(t *testing.T) {
	t.Parallel()
	t.Run("merge", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{})
		w.mustRun(t)
		before := w.snapshot()

		// A changed property: exactly one write, for that entity.
		w.gh.SetFile("acme/checkout", "glint.yml", strings.Replace(checkoutYML, "tier: silver", "tier: gold", 1))
		p := w.mustRun(t)
		wantWrites(t, p, 1, 1, 0, 0)
		if p.gl.EntityWrites != 1 || p.res.Updated != 1 {
			t.Errorf("entity writes %d, updated %d; want 1 and 1\n%s", p.gl.EntityWrites, p.res.Updated, changesText(p.res))
		}
		if got := w.entity(t, "service", "checkout").Properties["tier"]; got != "gold" {
			t.Errorf("checkout tier = %v, want gold", got)
		}
		w.unchanged(t, before, "service/gateway", "service/storefront", "system/shop")

		// A property left out of the file under merge stays as it is.
		noOnCall := strings.Replace(strings.Replace(checkoutYML, "tier: silver", "tier: gold", 1), "  onCall: \"@alice\"\n", "", 1)
		w.gh.SetFile("acme/checkout", "glint.yml", noOnCall)
		p = w.mustRun(t)
		wantWrites(t, p, 0, 0, 0, 0)
		if got := w.entity(t, "service", "checkout").Properties["onCall"]; got != "@alice" {
			t.Errorf("checkout onCall = %v, want @alice kept under merge", got)
		}

		// A property set to null is cleared, once.
		w.gh.SetFile("acme/checkout", "glint.yml", strings.Replace(noOnCall, "  language: Go\n", "  language: Go\n  onCall: null\n", 1))
		p = w.mustRun(t)
		wantWrites(t, p, 1, 1, 0, 0)
		if got, ok := w.entity(t, "service", "checkout").Properties["onCall"]; ok {
			t.Errorf("checkout onCall = %v, want it cleared", got)
		}
		p = w.mustRun(t)
		wantWrites(t, p, 0, 0, 0, 0)
	})
	t.Run("replace", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{noMerge: true})
		w.mustRun(t)
		// Without merge, a property left out of the file is removed.
		w.gh.SetFile("acme/checkout", "glint.yml", strings.Replace(checkoutYML, "  onCall: \"@alice\"\n", "", 1))
		p := w.mustRun(t)
		wantWrites(t, p, 1, 1, 0, 0)
		if got, ok := w.entity(t, "service", "checkout").Properties["onCall"]; ok {
			t.Errorf("checkout onCall = %v, want it removed without merge", got)
		}
		p = w.mustRun(t)
		wantWrites(t, p, 0, 0, 0, 0)
	})
}

func TestE2ERemovals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		change  func(w *world)
		deleted []string // "blueprint/identifier"
		// bulkDeletes is the number of bulk delete calls (one per blueprint).
		bulkDeletes int
	}{
		{
			name: "entity removed from a list",
			change: func(w *world) {
				w.gh.SetFile("acme/shop", "glint.yml", shopYML[:strings.Index(shopYML, "- identifier: storefront")])
			},
			deleted: []string{"service/storefront"}, bulkDeletes: 1,
		},
		{
			name:    "glint.yml deleted",
			change:  func(w *world) { w.gh.RemoveFile("acme/checkout", "glint.yml") },
			deleted: []string{"service/checkout"}, bulkDeletes: 1,
		},
		{
			name:    "repository deselected",
			change:  func(w *world) { w.gh.DeselectRepo(w.plat, "platform/gateway") },
			deleted: []string{"service/gateway"}, bulkDeletes: 1,
		},
		{
			name:    "installation uninstalled",
			change:  func(w *world) { w.gh.Uninstall(w.plat) },
			deleted: []string{"service/gateway"}, bulkDeletes: 1,
		},
		{
			name:    "repository deleted",
			change:  func(w *world) { w.gh.RemoveRepo("acme/checkout") },
			deleted: []string{"service/checkout"}, bulkDeletes: 1,
		},
	}
	all := []string{"service/checkout", "service/gateway", "service/storefront", "system/shop"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOptions{})
			w.mustRun(t)
			before := w.snapshot()
			tt.change(w)
			p := w.mustRun(t)
			wantWrites(t, p, tt.bulkDeletes, 0, tt.bulkDeletes, len(tt.deleted))
			if p.res.Deleted != len(tt.deleted) {
				t.Errorf("result deleted %d, want %d", p.res.Deleted, len(tt.deleted))
			}
			var kept []string
			for _, k := range all {
				if !slices.Contains(tt.deleted, k) {
					kept = append(kept, k)
				}
			}
			w.wantIDs(t, kept...)
			w.unchanged(t, before, kept...)
			// And the next pass is quiet again.
			wantWrites(t, w.mustRun(t), 0, 0, 0, 0)
		})
	}
}

// TestE2ERelationTargetsSettle checks that entities that relations point to
// do not flap: Glint clears a relation whose target is deleted, so deleting
// a still-referenced target makes the next pass write the relation back,
// which recreates the target (create_missing_related_entities), which the
// pass after deletes again, and so on.
func TestE2ERelationTargetsSettle(t *testing.T) {
	t.Parallel()
	t.Run("target repository deselected", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{})
		w.mustRun(t)
		before := w.snapshot()
		w.gh.DeselectRepo(w.acme, "acme/shop")
		p := w.mustRun(t)
		// storefront goes; shop stays, as service/checkout points to it.
		wantWrites(t, p, 1, 0, 1, 1)
		w.absent(t, "service", "storefront")
		w.unchanged(t, before, "system/shop", "service/checkout")
		var reason string
		for _, b := range p.res.Changes.Blocked {
			if b.Identifier == "shop" {
				reason = b.Reason
			}
		}
		if !strings.Contains(reason, "service/checkout") {
			t.Errorf("system/shop kept for %q; want the relation of service/checkout named", reason)
		}
		for range 2 {
			wantWrites(t, w.mustRun(t), 0, 0, 0, 0)
		}
	})
	t.Run("target declared nowhere", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{})
		w.gh.RemoveFile("acme/shop", "glint.yml")
		w.mustRun(t)
		// checkout's relation creates an empty system/shop.
		if e := w.entity(t, "system", "shop"); e.Datasource != w.ds(w.acme, "acme/checkout") || len(e.Properties) != 0 {
			t.Errorf("system/shop = %+v; want an empty entity created for checkout's relation", managed(e))
		}
		before := w.snapshot()
		for range 3 {
			wantWrites(t, w.mustRun(t), 0, 0, 0, 0)
		}
		w.unchanged(t, before, "system/shop", "service/checkout")
	})
}

func TestE2ENewlyBrokenFileKeepsItsRepository(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	w.mustRun(t)
	before := w.snapshot()

	// acme/shop's file no longer parses: it drops both of its entities as
	// far as a parser can tell, but nothing of that repository may change.
	w.gh.SetFile("acme/shop", "glint.yml", "- identifier: shop\n  blueprint: system\n  title: [unclosed\n")
	// Another repository's change still goes ahead.
	w.gh.SetFile("platform/gateway", "glint.yaml", strings.Replace(gatewayYAML, "replicas: 6", "replicas: 8", 1))

	p := w.run(t)
	if p.err != nil {
		t.Errorf("a spec file that does not parse is reported, not an error of the pass: %v", p.err)
	}
	wantWrites(t, p, 1, 1, 0, 0)
	w.unchanged(t, before, "system/shop", "service/storefront", "service/checkout")
	if got := w.entity(t, "service", "gateway").Properties["replicas"]; got != float64(8) {
		t.Errorf("gateway replicas = %v, want 8", got)
	}
	if _, ok := problemFor(p.res, "acme/shop", "glint.yml"); !ok {
		t.Errorf("no problem reported against acme/shop glint.yml; problems: %+v", p.res.Problems)
	}
	if p.res.RepositoriesInvalid != 1 || p.res.BlockedDeletes != 2 {
		t.Errorf("repositories invalid %d, blocked deletes %d; want 1 and 2", p.res.RepositoriesInvalid, p.res.BlockedDeletes)
	}
}

// TestE2EFailedReadsDeleteNothing makes one read fail in each way GHE and
// Glint can fail, while the world holds a change that would delete
// entities if the failed read were taken for an empty one.
func TestE2EFailedReadsDeleteNothing(t *testing.T) {
	t.Parallel()
	t.Run("installations listing 502 after retries", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{})
		w.mustRun(t)
		before := w.snapshot()
		w.gh.Uninstall(w.plat)
		w.gh.RemoveFile("acme/checkout", "glint.yml")
		// ghe retries once: both attempts get the proxy's HTML page.
		w.gh.InjectFault(ghetest.Fault{Target: ghetest.RouteInstallations, Kind: ghetest.Status502HTML, Count: 2})
		p := w.run(t)
		if p.err == nil {
			t.Error("pass succeeded; want the failed installations listing reported")
		}
		if got := p.gh.Count(ghetest.RouteInstallations, http.StatusBadGateway); got != 2 {
			t.Errorf("installations answered 502 %d times, want 2 (one retry)", got)
		}
		wantWrites(t, p, 0, 0, 0, 0)
		if p.gl.Total(glinttest.RouteSearch) != 0 {
			t.Errorf("Glint was searched although GHE could not be read: %v", p.gl.Requests)
		}
		w.unchanged(t, before, "service/checkout", "service/gateway", "service/storefront", "system/shop")
	})
	t.Run("repository listing of one installation", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{})
		w.mustRun(t)
		before := w.snapshot()
		w.gh.DeselectRepo(w.acme, "acme/shop")
		// Installations are read one at a time, acme first: its listing
		// fails twice (attempt and retry).
		w.gh.InjectFault(ghetest.Fault{Target: ghetest.RouteRepositories, Kind: ghetest.Status500, Count: 2})
		p := w.run(t)
		if p.err == nil || p.res.InstallationsFailed != 1 {
			t.Errorf("err %v, installations failed %d; want the failed listing reported", p.err, p.res.InstallationsFailed)
		}
		wantWrites(t, p, 0, 0, 0, 0)
		w.unchanged(t, before, "service/checkout", "service/gateway", "service/storefront", "system/shop")
		if p.res.BlockedDeletes != 3 {
			t.Errorf("blocked deletes %d, want 3 (acme's entities)\n%s", p.res.BlockedDeletes, changesText(p.res))
		}
	})
	t.Run("graphql maintenance page", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{})
		w.mustRun(t)
		before := w.snapshot()
		w.gh.RemoveFile("acme/checkout", "glint.yml")
		w.gh.SetFile("acme/shop", "glint.yml", "identifier: shop\nblueprint: system\n")
		// acme's GraphQL page is read first and gets the maintenance page
		// twice (attempt and retry).
		w.gh.InjectFault(ghetest.Fault{Target: ghetest.RouteGraphQL, Kind: ghetest.HTMLMaintenance, Count: 2})
		p := w.run(t)
		if p.err == nil || p.res.RepositoriesFailed != 2 {
			t.Errorf("err %v, repositories failed %d; want acme's two repositories failed", p.err, p.res.RepositoriesFailed)
		}
		wantWrites(t, p, 0, 0, 0, 0)
		w.unchanged(t, before, "service/checkout", "service/gateway", "service/storefront", "system/shop")
		if _, ok := problemFor(p.res, "acme/checkout", ""); !ok {
			t.Errorf("no problem reported against acme/checkout: %+v", p.res.Problems)
		}
	})
	t.Run("graphql partial data NOT_FOUND", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{})
		w.mustRun(t)
		before := w.snapshot()
		w.gh.RemoveFile("acme/checkout", "glint.yml")
		w.gh.SetFile("acme/shop", "glint.yml", strings.Replace(shopYML, "replicas: 3", "replicas: 4", 1))
		// The first GraphQL page (acme: checkout, shop) comes back with
		// checkout null and a NOT_FOUND error; shop is read.
		w.gh.InjectFault(ghetest.Fault{Target: ghetest.RouteGraphQL, Kind: ghetest.PartialData})
		p := w.run(t)
		if p.err == nil || p.res.RepositoriesFailed != 1 {
			t.Errorf("err %v, repositories failed %d; want acme/checkout failed", p.err, p.res.RepositoriesFailed)
		}
		if _, ok := problemFor(p.res, "acme/checkout", "", "NOT_FOUND"); !ok {
			t.Errorf("no NOT_FOUND problem reported against acme/checkout: %+v", p.res.Problems)
		}
		// shop's change is applied; nothing is deleted.
		wantWrites(t, p, 1, 1, 0, 0)
		if got := w.entity(t, "service", "storefront").Properties["replicas"]; got != float64(4) {
			t.Errorf("storefront replicas = %v, want 4", got)
		}
		w.unchanged(t, before, "service/checkout", "service/gateway", "system/shop")
	})
	t.Run("glint search 500 mid-paging", func(t *testing.T) {
		t.Parallel()
		// 1,001 owned entities of a repository that no longer exists:
		// deletable, over two search pages. Once the second page is asked
		// for, every search fails with 500.
		var gl atomic.Pointer[glinttest.Server]
		var once sync.Once
		wrap := func(next http.RoundTripper) http.RoundTripper {
			return &hookTransport{next: next, before: func(r *http.Request, body []byte) {
				if strings.HasSuffix(r.URL.Path, "/entities/search") && bytes.Contains(body, []byte(`"from"`)) {
					once.Do(func() {
						gl.Load().InjectFault(glinttest.Fault{Route: glinttest.RouteSearch, Kind: glinttest.Status500, Count: -1})
					})
				}
			}}
		}
		w := newWorld(t, worldOptions{glintWrap: wrap, threshold: 1})
		gl.Store(w.gl)
		w.mustRun(t)
		gone := w.ds(w.acme, "acme/gone")
		for i := range 1001 {
			w.gl.PutEntity("service", glint.Entity{Identifier: fmt.Sprintf("old-%04d", i)}, gone)
		}
		before := w.snapshot()
		w.gh.RemoveFile("acme/checkout", "glint.yml")

		p := w.run(t)
		if p.err == nil {
			t.Error("pass succeeded; want the failed search reported")
		}
		if p.gl.Count(glinttest.RouteSearch, http.StatusOK) == 0 || p.gl.Count(glinttest.RouteSearch, http.StatusInternalServerError) < 3 {
			t.Errorf("search requests %v; want a first page, then 500s after retries", p.gl.Requests[glinttest.RouteSearch])
		}
		wantWrites(t, p, 0, 0, 0, 0)
		if diff := cmp.Diff(before, w.snapshot()); diff != "" {
			t.Errorf("Glint changed after a failed read (-before +after):\n%s", diff)
		}

		// The same world without the fault deletes them all: the entities
		// were deletable, so the first pass kept them for the failed read
		// alone.
		w.gl.ClearFaults()
		p = w.mustRun(t)
		if p.res.Deleted != 1002 {
			t.Errorf("deleted %d, want 1002\n%s", p.res.Deleted, changesText(p.res))
		}
	})
}

func TestE2EDeletionThreshold(t *testing.T) {
	t.Parallel()
	const repos = 20
	tests := []struct {
		name    string
		remove  int
		blocked bool
	}{
		{"95 percent withheld", 19, true},
		{"25 percent deleted", 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOptions{empty: true})
			w.gl.AddBlueprint(glint.Blueprint{Identifier: "service", Schema: glint.Schema{Properties: map[string]glint.Property{}}})
			inst := w.gh.AddInstallation("acme", "Organization")
			for i := range repos {
				id := fmt.Sprintf("svc-%02d", i)
				w.gh.AddRepo(inst, ghetest.Repo{Name: id, Files: map[string]string{"glint.yml": specFile(id, "")}})
			}
			w.mustRun(t)
			if n := len(w.gl.Entities("service")); n != repos {
				t.Fatalf("first pass created %d entities, want %d", n, repos)
			}
			for i := range tt.remove {
				w.gh.RemoveFile(fmt.Sprintf("acme/svc-%02d", i), "glint.yml")
			}
			p := w.mustRun(t)
			blockedTotal := metricValue(t, w.reg, "glint_github_app_deletions_blocked_total")
			if tt.blocked {
				wantWrites(t, p, 0, 0, 0, 0)
				if n := len(w.gl.Entities("service")); n != repos {
					t.Errorf("Glint holds %d entities, want all %d", n, repos)
				}
				if len(p.res.Notices) != 1 || !strings.Contains(p.res.Notices[0], "deletion threshold exceeded: 19 of 20") {
					t.Errorf("notices %q; want the threshold notice", p.res.Notices)
				}
				if blockedTotal != 1 {
					t.Errorf("glint_github_app_deletions_blocked_total = %v, want 1", blockedTotal)
				}
				return
			}
			wantWrites(t, p, 1, 0, 1, tt.remove)
			if n := len(w.gl.Entities("service")); n != repos-tt.remove {
				t.Errorf("Glint holds %d entities, want %d", n, repos-tt.remove)
			}
			if len(p.res.Notices) != 0 || blockedTotal != 0 {
				t.Errorf("notices %q, deletions_blocked_total %v; want none", p.res.Notices, blockedTotal)
			}
		})
	}
}

func TestE2EConflicts(t *testing.T) {
	t.Parallel()
	t.Run("a person's entity", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{})
		const alice = "alice@acme.example (Glint UI)"
		w.gl.PutEntity("service", glint.Entity{
			Identifier: "billing", Title: ptr("Billing (hand-made)"), Properties: map[string]any{"language": "COBOL"},
		}, alice)
		w.gh.AddRepo(w.acme, ghetest.Repo{Name: "billing", Files: map[string]string{
			"glint.yml": "identifier: billing\nblueprint: service\ntitle: Billing\nproperties: {language: Go}\n",
		}})
		before := w.snapshot()
		for range 2 { // and again: a conflict is never resolved by a takeover
			p := w.mustRun(t)
			w.unchanged(t, before, "service/billing")
			var found bool
			for _, c := range p.res.Changes.Conflicts {
				if c.Identifier == "billing" && c.Source.Repo == "acme/billing" && c.Source.File == "glint.yml" && c.Owner == alice {
					found = true
				}
			}
			if !found || p.res.Conflicts != 1 {
				t.Errorf("conflicts %+v; want one for service/billing owned by %s", p.res.Changes.Conflicts, alice)
			}
		}
	})
	t.Run("two repositories declare one identifier", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{})
		// The current owner sorts after the newcomer, so that a plan that
		// picked the first repository by name would move it.
		w.gh.AddRepo(w.acme, ghetest.Repo{Name: "zeta", Files: map[string]string{"glint.yml": specFile("dup", "{language: Go}")}})
		w.mustRun(t)
		w.gh.AddRepo(w.acme, ghetest.Repo{Name: "alpha", Files: map[string]string{"glint.yml": specFile("dup", "{language: Rust}")}})
		before := w.snapshot()
		p := w.mustRun(t)
		wantWrites(t, p, 0, 0, 0, 0)
		w.unchanged(t, before, "service/dup")
		if got := w.entity(t, "service", "dup").Datasource; got != w.ds(w.acme, "acme/zeta") {
			t.Errorf("dup datasource %q, want acme/zeta's", got)
		}
		if len(p.res.Changes.Conflicts) != 1 {
			t.Fatalf("conflicts %+v; want one", p.res.Changes.Conflicts)
		}
		c := p.res.Changes.Conflicts[0]
		if c.Source.Repo != "acme/alpha" || !strings.Contains(c.Message, "acme/alpha") || !strings.Contains(c.Message, "acme/zeta") {
			t.Errorf("conflict %+v; want it against acme/alpha, naming both repositories", c)
		}
	})
	t.Run("an identifier moves between repositories", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{})
		w.gh.AddRepo(w.acme, ghetest.Repo{Name: "a", Files: map[string]string{"glint.yml": specFile("mover", "{language: Go}")}})
		w.gh.AddRepo(w.plat, ghetest.Repo{Name: "b", Files: map[string]string{"glint.yml": specFile("other", "")}})
		w.mustRun(t)
		created := w.entity(t, "service", "mover")
		// One change: mover leaves acme/a for platform/b.
		w.gh.SetFile("acme/a", "glint.yml", "[]\n")
		w.gh.SetFile("platform/b", "glint.yml", "- "+strings.ReplaceAll(strings.TrimSpace(specFile("other", "")), "\n", "\n  ")+
			"\n- "+strings.ReplaceAll(strings.TrimSpace(specFile("mover", "{language: Go}")), "\n", "\n  ")+"\n")
		p := w.mustRun(t)
		wantWrites(t, p, 1, 1, 0, 0)
		if p.res.Deleted != 0 || p.res.Updated != 1 || p.res.Conflicts != 0 {
			t.Errorf("result %+v; want one update, no delete, no conflict\n%s", p.res, changesText(p.res))
		}
		moved := w.entity(t, "service", "mover")
		if moved.Datasource != w.ds(w.plat, "platform/b") {
			t.Errorf("mover datasource %q, want platform/b's", moved.Datasource)
		}
		if !moved.CreatedAt.Equal(*created.CreatedAt) {
			t.Errorf("mover was created again (%v, first %v); want it moved", moved.CreatedAt, created.CreatedAt)
		}
		wantWrites(t, w.mustRun(t), 0, 0, 0, 0)
	})
}

func TestE2EOtherDeploymentsAreNeverTouched(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	// Datasources of other writers that look like this app's.
	others := map[string]string{
		"other-app":       fmt.Sprintf("glint-github-app/1.0 (app/42@%s; installation/%d; repo/acme/legacy; gitops)", w.host, w.acme),
		"app-id-prefix":   fmt.Sprintf("glint-github-app/1.0 (app/42420@%s; installation/%d; repo/acme/legacy; gitops)", w.host, w.acme),
		"other-host":      "glint-github-app/1.0 (app/4242@ghe.other.example; installation/7; repo/acme/legacy; gitops)",
		"host-prefix":     fmt.Sprintf("glint-github-app/1.0 (app/4242@%s9; installation/%d; repo/acme/legacy; gitops)", w.host, w.acme),
		"other-feature":   fmt.Sprintf("glint-github-app/1.0 (app/4242@%s; installation/%d; repo/acme/legacy; teams)", w.host, w.acme),
		"gateway":         fmt.Sprintf("glint-github-app/1.0 (app/42@%s; installation/%d; repo/platform/gateway; gitops)", w.host, w.plat),
		"another-product": "glint-github-exporter/1.0 (app/4242; gitops)",
	}
	for id, ds := range others {
		w.gl.PutEntity("service", glint.Entity{Identifier: id, Properties: map[string]any{"language": "Java"}}, ds)
	}
	before := w.snapshot()
	keys := make([]string, 0, len(others))
	for id := range others {
		keys = append(keys, "service/"+id)
	}

	p := w.mustRun(t)
	w.unchanged(t, before, keys...)
	// gateway is declared here but written by another app: a conflict.
	if p.res.Conflicts != 1 || p.res.Changes.Conflicts[0].Identifier != "gateway" {
		t.Errorf("conflicts %+v; want one, for gateway", p.res.Changes.Conflicts)
	}

	// This app deletes its own entities; the others stay.
	w.gh.RemoveFile("acme/checkout", "glint.yml")
	w.gh.SetFile("acme/shop", "glint.yml", "identifier: shop\nblueprint: system\ntitle: Shop\nproperties: {description: Everything a customer touches}\n")
	p = w.mustRun(t)
	wantWrites(t, p, 1, 0, 1, 2)
	w.absent(t, "service", "checkout")
	w.absent(t, "service", "storefront")
	w.unchanged(t, before, keys...)
	if p.res.Owned != 3 {
		t.Errorf("owned %d, want 3 (checkout, storefront, shop)", p.res.Owned)
	}
}

func TestE2EPerEntityRefusals(t *testing.T) {
	t.Parallel()
	t.Run("checked against the blueprint before sending", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{})
		w.gh.AddRepo(w.acme, ghetest.Repo{Name: "bad", Files: map[string]string{"glint.yml": `- identifier: wrong-type
  blueprint: service
  properties: {replicas: three}
- identifier: enum-miss
  blueprint: service
  properties: {tier: platinum}
- identifier: fine
  blueprint: service
  properties: {tier: bronze}
`}})
		p := w.mustRun(t)
		w.wantIDs(t, "service/checkout", "service/fine", "service/gateway", "service/storefront", "system/shop")
		invalid := map[string]string{}
		for _, iv := range p.res.Changes.Invalid {
			if iv.Source.Repo != "acme/bad" || iv.Source.File != "glint.yml" || iv.Source.Line == 0 {
				t.Errorf("invalid %+v: want it attributed to acme/bad glint.yml and a line", iv)
			}
			invalid[iv.Identifier] = iv.Message
		}
		if !strings.Contains(invalid["wrong-type"], "replicas") || !strings.Contains(invalid["enum-miss"], "platinum") || len(invalid) != 2 {
			t.Errorf("invalid %v; want wrong-type (replicas) and enum-miss (platinum)", invalid)
		}
		// Reported every pass, sent never.
		p = w.mustRun(t)
		wantWrites(t, p, 0, 0, 0, 0)
		if p.res.Invalid != 2 {
			t.Errorf("second pass invalid %d, want 2", p.res.Invalid)
		}
	})
	t.Run("refused by Glint (207)", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{})
		w.gl.InjectFault(glinttest.Fault{Route: glinttest.RouteBulk, Kind: glinttest.Partial207, Count: -1, Identifiers: []string{"storefront"}})
		p := w.run(t)
		if p.err == nil || p.res.WriteErrors != 1 {
			t.Errorf("err %v, write errors %d; want storefront's refusal", p.err, p.res.WriteErrors)
		}
		if _, ok := problemFor(p.res, "acme/shop", "glint.yml", "service/storefront", "422"); !ok {
			t.Errorf("no problem against acme/shop glint.yml naming storefront and 422: %+v", p.res.Problems)
		}
		w.wantIDs(t, "service/checkout", "service/gateway", "system/shop")
		if p.res.Created != 3 {
			t.Errorf("created %d, want 3", p.res.Created)
		}
		w.gl.ClearFaults()
		p = w.mustRun(t)
		wantWrites(t, p, 1, 1, 0, 0)
		w.wantIDs(t, "service/checkout", "service/gateway", "service/storefront", "system/shop")
	})
}

func TestE2ETokenExpiry(t *testing.T) {
	t.Parallel()
	// GHE tokens live 3 seconds, less than ghinstallation's one-minute
	// refresh margin, so every request needs a fresh one; Glint's tokens
	// expire in the middle of a pass, just before its first write.
	var gl atomic.Pointer[glinttest.Server]
	var expired atomic.Int32
	wrap := func(next http.RoundTripper) http.RoundTripper {
		return &hookTransport{next: next, before: func(r *http.Request, _ []byte) {
			if strings.HasSuffix(r.URL.Path, "/entities/bulk") && expired.CompareAndSwap(0, 1) {
				gl.Load().ExpireTokens()
			}
		}}
	}
	w := newWorld(t, worldOptions{gheTokenTTL: 3 * time.Second, glintWrap: wrap})
	gl.Store(w.gl)

	p := w.mustRun(t)
	// The bulk calls in flight when the token expired (1 to 4 of them) get
	// 401 and are sent again with one new token.
	if n := p.gl.Count(glinttest.RouteBulk, http.StatusUnauthorized); p.res.Created != 4 || n < 1 || n > 4 ||
		p.gl.Count(glinttest.RouteBulk, http.StatusOK) != 4 || p.gl.TokensIssued != 2 {
		t.Errorf("created %d, tokens issued %d, requests %v; want 4 created, 1-4 bulk 401s then 4 bulk 200s, 2 tokens",
			p.res.Created, p.gl.TokensIssued, p.gl.Requests)
	}
	firstTokens := p.gh.Total(ghetest.RouteAccessTokens)

	// Between passes: every Glint token expires, and the GHE tokens of the
	// first pass are past their lifetime.
	w.gl.ExpireTokens()
	time.Sleep(3100 * time.Millisecond)
	w.gh.SetFile("acme/checkout", "glint.yml", strings.Replace(checkoutYML, "tier: silver", "tier: gold", 1))
	p = w.mustRun(t)
	if p.res.Updated != 1 || p.gl.TokensIssued != 1 {
		t.Errorf("updated %d, tokens issued %d; want 1 and 1", p.res.Updated, p.gl.TokensIssued)
	}
	if got := p.gh.Total(ghetest.RouteAccessTokens); got < 2 || firstTokens < 2 {
		t.Errorf("GHE tokens issued %d then %d; want fresh tokens for both installations each pass", firstTokens, got)
	}
	if n := p.gh.Count(ghetest.RouteRepositories, http.StatusUnauthorized) + p.gh.Count(ghetest.RouteGraphQL, http.StatusUnauthorized); n != 0 {
		t.Errorf("%d GHE requests were sent with an expired token", n)
	}
}

// TestScale1000Repos measures the requests of a cold pass and of an
// unchanged pass over 1,000 repositories in 3 installations, one entity
// each.
func TestScale1000Repos(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test; skipped with -short")
	}
	const repos = 1000
	w := newWorld(t, worldOptions{empty: true, gheInFlight: 4})
	w.gl.AddBlueprint(glint.Blueprint{Identifier: "system", Schema: glint.Schema{Properties: map[string]glint.Property{}}})
	w.gl.AddBlueprint(glint.Blueprint{Identifier: "service", Schema: glint.Schema{Properties: map[string]glint.Property{
		"language": {Type: "string"}, "replicas": {Type: "number"},
	}}})
	insts := []int64{
		w.gh.AddInstallation("org-a", "Organization"),
		w.gh.AddInstallation("org-b", "Organization"),
		w.gh.AddInstallation("org-c", "Organization"),
	}
	for i := range repos {
		id := fmt.Sprintf("svc-%04d", i)
		w.gh.AddRepo(insts[i%3], ghetest.Repo{Name: id, Files: map[string]string{
			"glint.yml": specFile(id, fmt.Sprintf("{language: Go, replicas: %d}", i%7)),
		}})
	}

	start := time.Now()
	cold := w.mustRun(t)
	coldTime := time.Since(start)
	start = time.Now()
	warm := w.mustRun(t)
	warmTime := time.Since(start)

	if cold.res.Created != repos || len(w.gl.Entities("service")) != repos {
		t.Fatalf("cold pass created %d, Glint holds %d; want %d", cold.res.Created, len(w.gl.Entities("service")), repos)
	}
	row := func(name string, p pass, d time.Duration) {
		t.Logf("%-9s | %5d %5d %5d %5d | %5d %5d %6d | %5d %5d %5d %5d %5d | %6d | %v",
			name,
			p.gh.Total(ghetest.RouteInstallations), p.gh.Total(ghetest.RouteAccessTokens), p.gh.Total(ghetest.RouteRepositories), p.gh.GraphQLRequests,
			p.gh.GraphQLQueries, p.gh.PointsUsed, p.gh.NodesRequested,
			p.gl.Total(glinttest.RouteToken), p.gl.Total(glinttest.RouteBlueprints), p.gl.Total(glinttest.RouteSearch), p.gl.Total(glinttest.RouteBulk),
			p.gl.Total(glinttest.RouteBulkDelete), p.gl.EntityWrites, d.Round(time.Millisecond))
	}
	t.Logf("%d repositories, 3 installations, 1 entity each", repos)
	t.Logf("%-9s | %5s %5s %5s %5s | %5s %5s %6s | %5s %5s %5s %5s %5s | %6s | %s",
		"pass", "insts", "tokns", "repos", "gql", "qries", "pts", "nodes", "token", "bps", "srch", "bulk", "bdel", "ent.w", "time")
	row("cold", cold, coldTime)
	row("unchanged", warm, warmTime)

	// GHE: REST only for installations, tokens and listings (100 a page);
	// GraphQL in pages of up to 100 repositories.
	for _, p := range []pass{cold, warm} {
		if got, max := p.gh.Total(ghetest.RouteRepositories), 3*(repos/3/100+1); got > max {
			t.Errorf("repository listing requests %d, want at most %d", got, max)
		}
		if got, max := p.gh.GraphQLRequests, 3*(repos/3/100+1); got > max {
			t.Errorf("GraphQL requests %d, want at most %d", got, max)
		}
		if got := p.gh.Total(ghetest.RouteInstallations); got != 1 {
			t.Errorf("installations requests %d, want 1", got)
		}
	}
	// Glint, cold: at most one bulk call per repository, nothing else
	// written.
	if got := cold.gl.Total(glinttest.RouteBulk); got > repos || cold.gl.Writes != got {
		t.Errorf("cold pass: %d bulk calls, %d writes; want at most %d bulk calls and no other write", got, cold.gl.Writes, repos)
	}
	// Glint, unchanged: no write; reads are the owned search, one page of
	// 1,000 per blueprint (plus one), the blueprint list and at most a token.
	if warm.gl.Writes != 0 || warm.gl.EntityWrites != 0 {
		t.Errorf("unchanged pass: %d writes; want 0", warm.gl.Writes)
	}
	if got, max := warm.gl.Total(glinttest.RouteSearch), (repos/1000+1)+(0/1000+1); got > max {
		t.Errorf("unchanged pass: %d searches, want at most %d", got, max)
	}
	if got := warm.gl.Total(glinttest.RouteBlueprints); got != 1 {
		t.Errorf("unchanged pass: %d blueprint requests, want 1", got)
	}
	if got := warm.gl.Total(glinttest.RouteToken); got > 1 {
		t.Errorf("unchanged pass: %d token requests, want at most 1", got)
	}
}

// managed returns e without the fields Glint sets on reads, other than the
// datasource.
func managed(e glint.Entity) glint.Entity {
	e.CreatedAt, e.UpdatedAt, e.CreatedBy, e.UpdatedBy = nil, nil, "", ""
	return e
}

func ptr[T any](v T) *T { return &v }
