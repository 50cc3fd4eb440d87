package reconciler

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kozmoai/glint-github-app/ghe"
	"github.com/kozmoai/glint-github-app/glint"
)

const (
	tApp     = 12
	tHost    = "ghe.example.com"
	tVersion = "1.4.0"
)

func tOpts() Options { return Options{AppID: tApp, GHEHost: tHost, Version: tVersion, Merge: true} }

// ours is the datasource this app writes for repo of installation inst.
func ours(inst int64, repo string) string { return FormatDatasource(tVersion, tApp, tHost, inst, repo) }

func se(bp, id string, props map[string]any) ghe.SpecEntity {
	return ghe.SpecEntity{Blueprint: bp, Identifier: id, Properties: props}
}

// spec is a parsed spec file; its entities get File and, unless set, Line.
func spec(path string, es ...ghe.SpecEntity) ghe.SpecFile {
	for i := range es {
		es[i].File = path
		if es[i].Line == 0 {
			es[i].Line = i + 1
		}
	}
	return ghe.SpecFile{Path: path, OID: "oid-" + path, Entities: es}
}

func brokenSpec(path string) ghe.SpecFile {
	return ghe.SpecFile{Path: path, Err: errors.New("yaml: line 2: mapping values are not allowed here")}
}

func repo(inst int64, full string, specs ...ghe.SpecFile) ghe.RepoResult {
	owner, name, _ := strings.Cut(full, "/")
	return ghe.RepoResult{Repo: ghe.Repository{InstallationID: inst, Owner: owner, Name: name, FullName: full}, Specs: specs}
}

func failedRepo(inst int64, full string) ghe.RepoResult {
	r := repo(inst, full)
	r.Err = errors.New("graphql: NOT_FOUND")
	return r
}

func inst(id int64, repos ...ghe.RepoResult) ghe.InstallationResult {
	return ghe.InstallationResult{Installation: ghe.Installation{ID: id, Account: fmt.Sprintf("org%d", id)}, Repos: repos}
}

func failedInst(id int64, repos ...ghe.RepoResult) ghe.InstallationResult {
	i := inst(id, repos...)
	i.Err = errors.New("list repositories: 502 Bad Gateway")
	return i
}

func snap(insts ...ghe.InstallationResult) *ghe.Snapshot {
	return &ghe.Snapshot{Installations: insts}
}

func cur(bp, id, datasource string, props map[string]any) glint.Entity {
	return glint.Entity{Blueprint: bp, Identifier: id, Datasource: datasource, Properties: props}
}

// planSummary is Changes in a form that table tests can spell out.
type planSummary struct {
	Create    []string // "bp/id <- source"
	Update    []string // "bp/id <- source [fields]"
	Delete    []string // "bp/id (repo)"
	Withheld  []string
	Conflicts []string // messages
	Invalid   []string // "source: bp/id: message"
	Blocked   []string // "bp/id: reason"
	Threshold *ThresholdExceeded
}

func summarize(c Changes) planSummary {
	var s planSummary
	for _, x := range c.Create {
		s.Create = append(s.Create, fmt.Sprintf("%s/%s <- %s", x.Blueprint, x.Identifier, x.Source))
	}
	for _, x := range c.Update {
		s.Update = append(s.Update, fmt.Sprintf("%s/%s <- %s %v", x.Blueprint, x.Identifier, x.Source, x.Fields))
	}
	for _, x := range c.Delete {
		s.Delete = append(s.Delete, fmt.Sprintf("%s/%s (%s)", x.Blueprint, x.Identifier, x.Source.Repo))
	}
	for _, x := range c.Withheld {
		s.Withheld = append(s.Withheld, fmt.Sprintf("%s/%s (%s)", x.Blueprint, x.Identifier, x.Source.Repo))
	}
	for _, x := range c.Conflicts {
		s.Conflicts = append(s.Conflicts, x.Message)
	}
	for _, x := range c.Invalid {
		s.Invalid = append(s.Invalid, fmt.Sprintf("%s: %s/%s: %s", x.Source, x.Blueprint, x.Identifier, x.Message))
	}
	for _, x := range c.Blocked {
		s.Blocked = append(s.Blocked, fmt.Sprintf("%s/%s: %s", x.Blueprint, x.Identifier, x.Reason))
	}
	s.Threshold = c.Threshold
	return s
}

// nOwned returns n owned service entities s0..s<n-1> declared by repo.
func nOwned(n int, inst int64, repo string) []glint.Entity {
	out := make([]glint.Entity, n)
	for i := range out {
		out[i] = cur("service", fmt.Sprintf("s%d", i), ours(inst, repo), nil)
	}
	return out
}

// nSpec returns a spec file declaring service entities s<from>..s<to-1>.
func nSpec(from, to int) ghe.SpecFile {
	var es []ghe.SpecEntity
	for i := from; i < to; i++ {
		es = append(es, se("service", fmt.Sprintf("s%d", i), nil))
	}
	return spec("glint.yml", es...)
}

func TestPlan(t *testing.T) {
	other := "glint-github-app/1.4.0 (app/99@ghe.example.com; installation/7; repo/acme/a; gitops)"
	otherHost := "glint-github-app/1.4.0 (app/12@ghe.other.com; installation/7; repo/acme/a; gitops)"
	tests := []struct {
		name    string
		snap    *ghe.Snapshot
		owned   []glint.Entity
		foreign []glint.Entity
		opts    func(*Options)
		want    planSummary
	}{
		{
			name: "create",
			snap: snap(inst(7, repo(7, "acme/a", spec("glint.yml", se("service", "a", map[string]any{"tier": "1"}))))),
			want: planSummary{Create: []string{"service/a <- acme/a: glint.yml:1"}},
		},
		{
			name: "nothing declared, nothing owned",
			snap: snap(inst(7, repo(7, "acme/a"))),
		},
		{
			name:  "unchanged: 1 and 1.0, key order, absent property under merge",
			snap:  snap(inst(7, repo(7, "acme/a", spec("glint.yml", se("service", "a", map[string]any{"replicas": 1.0, "meta": map[string]any{"x": 1.0, "y": "z"}}))))),
			owned: []glint.Entity{cur("service", "a", ours(7, "acme/a"), map[string]any{"meta": map[string]any{"y": "z", "x": json.Number("1")}, "replicas": 1, "extra": "kept"})},
		},
		{
			name:  "update on a real difference",
			snap:  snap(inst(7, repo(7, "acme/a", spec("glint.yml", se("service", "a", map[string]any{"tier": "1", "replicas": 2.0}))))),
			owned: []glint.Entity{cur("service", "a", ours(7, "acme/a"), map[string]any{"tier": "1", "replicas": 1})},
			want:  planSummary{Update: []string{"service/a <- acme/a: glint.yml:1 [properties.replicas]"}},
		},
		{
			name:  "absent property under replace is an update",
			snap:  snap(inst(7, repo(7, "acme/a", spec("glint.yml", se("service", "a", map[string]any{"tier": "1"}))))),
			owned: []glint.Entity{cur("service", "a", ours(7, "acme/a"), map[string]any{"tier": "1", "extra": "x"})},
			opts:  func(o *Options) { o.Merge = false },
			want:  planSummary{Update: []string{"service/a <- acme/a: glint.yml:1 [properties.extra]"}},
		},
		{
			name:  "absent equals null under replace",
			snap:  snap(inst(7, repo(7, "acme/a", spec("glint.yml", se("service", "a", map[string]any{"tier": "1", "old": nil}))))),
			owned: []glint.Entity{cur("service", "a", ours(7, "acme/a"), map[string]any{"tier": "1", "extra": nil})},
			opts:  func(o *Options) { o.Merge = false },
		},
		{
			name:  "null under merge: absent in Glint is no update",
			snap:  snap(inst(7, repo(7, "acme/a", spec("glint.yml", se("service", "a", map[string]any{"old": nil}))))),
			owned: []glint.Entity{cur("service", "a", ours(7, "acme/a"), map[string]any{"tier": "1"})},
		},
		{
			name:  "null under merge: set in Glint is cleared",
			snap:  snap(inst(7, repo(7, "acme/a", spec("glint.yml", se("service", "a", map[string]any{"old": nil}))))),
			owned: []glint.Entity{cur("service", "a", ours(7, "acme/a"), map[string]any{"old": "x"})},
			want:  planSummary{Update: []string{"service/a <- acme/a: glint.yml:1 [properties.old]"}},
		},
		{
			name: "meta fields never cause an update",
			snap: snap(inst(7, repo(7, "acme/a", spec("glint.yml", se("service", "a", map[string]any{"tier": "1"}))))),
			owned: []glint.Entity{{Blueprint: "service", Identifier: "a", Datasource: ours(7, "acme/a"), Properties: map[string]any{"tier": "1"},
				CreatedBy: "someone", UpdatedBy: "else", Title: ptr("Set in the UI")}},
		},
		{
			name:  "version upgrade keeps ownership and writes nothing",
			snap:  snap(inst(7, repo(7, "acme/a", spec("glint.yml", se("service", "a", nil))))),
			owned: []glint.Entity{cur("service", "a", FormatDatasource("0.9.0", tApp, tHost, 7, "acme/a"), nil), cur("service", "gone", FormatDatasource("0.9.0", tApp, tHost, 7, "acme/a"), nil)},
			want:  planSummary{Delete: []string{"service/gone (acme/a)"}},
		},
		{
			name:    "foreign entity: conflict, left alone",
			snap:    snap(inst(7, repo(7, "acme/a", spec("glint.yml", se("service", "a", nil), se("service", "b", nil))))),
			foreign: []glint.Entity{cur("service", "a", "", nil), cur("service", "b", "terraform-provider-glint/2.1", nil)},
			want: planSummary{Conflicts: []string{
				"acme/a: glint.yml:1: service/a exists in Glint and was written by another writer; left alone",
				"acme/a: glint.yml:2: service/b exists in Glint and was written by terraform-provider-glint/2.1; left alone",
			}},
		},
		{
			name:    "another app id or host: conflict if declared, never deleted",
			snap:    snap(inst(7, repo(7, "acme/a", spec("glint.yml", se("service", "a", nil))))),
			owned:   []glint.Entity{cur("service", "x", other, nil), cur("service", "y", otherHost, nil)},
			foreign: []glint.Entity{cur("service", "a", other, nil)},
			want: planSummary{Conflicts: []string{
				"acme/a: glint.yml:1: service/a exists in Glint and was written by " + other + "; left alone",
			}},
		},
		{
			name:    "another feature of this app is not ours to manage",
			snap:    snap(inst(7, repo(7, "acme/a", spec("glint.yml", se("service", "a", nil))))),
			foreign: []glint.Entity{cur("service", "a", "glint-github-app/1.4.0 (app/12@ghe.example.com; teams)", nil)},
			want: planSummary{Conflicts: []string{
				"acme/a: glint.yml:1: service/a exists in Glint and was written by glint-github-app/1.4.0 (app/12@ghe.example.com; teams); left alone",
			}},
		},
		{
			name: "two repositories: the current owner keeps it",
			snap: snap(inst(7,
				repo(7, "acme/a", spec("glint.yml", se("service", "x", map[string]any{"tier": "a"}))),
				repo(7, "acme/b", spec("glint.yml", se("service", "x", map[string]any{"tier": "b"}))))),
			owned: []glint.Entity{cur("service", "x", ours(7, "acme/b"), map[string]any{"tier": "b"})},
			want: planSummary{Conflicts: []string{
				"acme/a: glint.yml:1: service/x is also declared by acme/b: glint.yml:1, which keeps it; left alone",
			}},
		},
		{
			name: "two repositories, no owner: the lowest repository takes it",
			snap: snap(inst(7,
				repo(7, "acme/b", spec("glint.yml", se("service", "x", nil))),
				repo(7, "acme/a", spec("z/glint.yml", se("service", "x", nil))))),
			want: planSummary{
				Create:    []string{"service/x <- acme/a: z/glint.yml:1"},
				Conflicts: []string{"acme/b: glint.yml:1: service/x is also declared by acme/a: z/glint.yml:1, which keeps it; left alone"},
			},
		},
		{
			name: "two files of one repository: the lowest path takes it",
			snap: snap(inst(7, repo(7, "acme/a",
				spec("svc/glint.yml", se("service", "x", nil)),
				spec("glint.yml", se("service", "y", nil), se("service", "x", nil))))),
			want: planSummary{
				Create:    []string{"service/x <- acme/a: glint.yml:2", "service/y <- acme/a: glint.yml:1"},
				Conflicts: []string{"acme/a: svc/glint.yml:1: service/x is also declared by acme/a: glint.yml:2, which keeps it; left alone"},
			},
		},
		{
			name: "an identifier moves from repository A to B in one pass",
			snap: snap(inst(7,
				repo(7, "acme/a", spec("glint.yml", se("service", "other", nil))),
				repo(7, "acme/b", spec("glint.yml", se("service", "x", nil))))),
			owned: []glint.Entity{cur("service", "x", ours(7, "acme/a"), nil), cur("service", "other", ours(7, "acme/a"), nil)},
			want:  planSummary{Update: []string{"service/x <- acme/b: glint.yml:1 [datasource]"}},
		},
		{
			name: "no move while the owner could not be read",
			snap: snap(inst(7,
				failedRepo(7, "acme/a"),
				repo(7, "acme/b", spec("glint.yml", se("service", "x", nil))))),
			owned: []glint.Entity{cur("service", "x", ours(7, "acme/a"), nil)},
			want: planSummary{Conflicts: []string{
				"acme/b: glint.yml:1: service/x belongs to acme/a, which could not be read in full (reading acme/a failed: graphql: NOT_FOUND); left alone",
			}},
		},
		{
			name:  "repository moved to another installation: re-written with the new datasource",
			snap:  snap(inst(8, repo(8, "acme/a", spec("glint.yml", se("service", "x", nil))))),
			owned: []glint.Entity{cur("service", "x", ours(7, "acme/a"), nil)},
			want:  planSummary{Update: []string{"service/x <- acme/a: glint.yml:1 [datasource]"}},
		},
		{
			name:  "deleted when its repository was read in full and declares it no more",
			snap:  snap(inst(7, repo(7, "acme/a", spec("glint.yml", se("service", "s0", nil), se("service", "s1", nil))))),
			owned: nOwned(3, 7, "acme/a"),
			want:  planSummary{Delete: []string{"service/s2 (acme/a)"}},
		},
		{
			name:  "deleted when the repository has no spec file any more",
			snap:  snap(inst(7, repo(7, "acme/a"), repo(7, "acme/b", nSpec(0, 2)))),
			owned: append(nOwned(2, 7, "acme/b"), cur("service", "a", ours(7, "acme/a"), nil)),
			want:  planSummary{Delete: []string{"service/a (acme/a)"}},
		},
		{
			name:  "kept when its repository could not be read",
			snap:  snap(inst(7, failedRepo(7, "acme/a"))),
			owned: []glint.Entity{cur("service", "a", ours(7, "acme/a"), nil)},
			want:  planSummary{Blocked: []string{"service/a: reading acme/a failed: graphql: NOT_FOUND"}},
		},
		{
			name:  "kept when a spec file of its repository does not parse",
			snap:  snap(inst(7, repo(7, "acme/a", spec("glint.yml", se("service", "s0", nil)), brokenSpec("svc/glint.yml")))),
			owned: nOwned(2, 7, "acme/a"),
			want:  planSummary{Blocked: []string{"service/s1: acme/a: svc/glint.yml: yaml: line 2: mapping values are not allowed here"}},
		},
		{
			name:  "kept when its installation's listing failed",
			snap:  snap(failedInst(7, repo(7, "acme/b"))),
			owned: []glint.Entity{cur("service", "a", ours(7, "acme/a"), nil)},
			want:  planSummary{Blocked: []string{"service/a: listing the repositories of installation 7 failed: list repositories: 502 Bad Gateway"}},
		},
		{
			name:  "deleted when its repository is gone from a complete listing",
			snap:  snap(inst(7, repo(7, "acme/b", nSpec(0, 2)))),
			owned: append(nOwned(2, 7, "acme/b"), cur("service", "a", ours(7, "acme/a"), nil)),
			want:  planSummary{Delete: []string{"service/a (acme/a)"}},
		},
		{
			name:  "deleted when its installation is gone",
			snap:  snap(inst(8, repo(8, "beta/b", nSpec(0, 2)))),
			owned: append(nOwned(2, 8, "beta/b"), cur("service", "a", ours(7, "acme/a"), nil)),
			want:  planSummary{Delete: []string{"service/a (acme/a)"}},
		},
		{
			name:  "kept when the datasource names no repository",
			snap:  snap(inst(7, repo(7, "acme/b", nSpec(0, 2)))),
			owned: append(nOwned(2, 7, "acme/b"), cur("service", "a", "glint-github-app/1.0.0 (app/12@ghe.example.com; gitops)", nil)),
			want:  planSummary{Blocked: []string{"service/a: its datasource names no repository"}},
		},
		{
			name:  "repository names match without regard to case",
			snap:  snap(inst(7, failedRepo(7, "Acme/A"))),
			owned: []glint.Entity{cur("service", "a", ours(7, "acme/a"), nil)},
			want:  planSummary{Blocked: []string{"service/a: reading Acme/A failed: graphql: NOT_FOUND"}},
		},
		{
			name:  "threshold: deleting at the threshold goes ahead",
			snap:  snap(inst(7, repo(7, "acme/a", nSpec(0, 1)))),
			owned: nOwned(10, 7, "acme/a"),
			want: planSummary{Delete: []string{"service/s1 (acme/a)", "service/s2 (acme/a)", "service/s3 (acme/a)", "service/s4 (acme/a)",
				"service/s5 (acme/a)", "service/s6 (acme/a)", "service/s7 (acme/a)", "service/s8 (acme/a)", "service/s9 (acme/a)"}},
		},
		{
			name:  "threshold: deleting above it deletes nothing",
			snap:  snap(inst(7, repo(7, "acme/a"))),
			owned: nOwned(3, 7, "acme/a"),
			want: planSummary{
				Withheld:  []string{"service/s0 (acme/a)", "service/s1 (acme/a)", "service/s2 (acme/a)"},
				Threshold: &ThresholdExceeded{Deletes: 3, Owned: 3, Threshold: 0.9},
			},
		},
		{
			name:  "threshold: a custom share",
			snap:  snap(inst(7, repo(7, "acme/a", nSpec(0, 1)))),
			owned: nOwned(3, 7, "acme/a"),
			opts:  func(o *Options) { o.DeleteThreshold = 0.5 },
			want: planSummary{
				Withheld:  []string{"service/s1 (acme/a)", "service/s2 (acme/a)"},
				Threshold: &ThresholdExceeded{Deletes: 2, Owned: 3, Threshold: 0.5},
			},
		},
		{
			name:  "upsert-only never deletes",
			snap:  snap(inst(7, repo(7, "acme/a", nSpec(0, 1), spec("more.yml", se("service", "new", nil))))),
			owned: nOwned(3, 7, "acme/a"),
			opts:  func(o *Options) { o.Policy = PolicyUpsertOnly },
			want:  planSummary{Create: []string{"service/new <- acme/a: more.yml:1"}},
		},
		{
			name: "invalid: unknown blueprint and schema mismatch are not sent",
			snap: snap(inst(7, repo(7, "acme/a", spec("glint.yml",
				se("nope", "a", nil),
				se("service", "b", map[string]any{"replicas": "three"}),
				se("library", "c", map[string]any{"desc": "no lang"}))))),
			want: planSummary{Invalid: []string{
				`acme/a: glint.yml:1: nope/a: blueprint "nope" does not exist in Glint`,
				`acme/a: glint.yml:2: service/b: property "replicas": want a number, got a string`,
				`acme/a: glint.yml:3: library/c: property "lang" is required; relation "owner" is required`,
			}},
		},
		{
			name:  "an invalid declaration keeps its entity",
			snap:  snap(inst(7, repo(7, "acme/a", spec("glint.yml", se("service", "a", map[string]any{"replicas": "three"}))))),
			owned: []glint.Entity{cur("service", "a", ours(7, "acme/a"), map[string]any{"replicas": 3})},
			want:  planSummary{Invalid: []string{`acme/a: glint.yml:1: service/a: property "replicas": want a number, got a string`}},
		},
		{
			name:  "no snapshot proves nothing",
			owned: []glint.Entity{cur("service", "a", ours(7, "acme/a"), nil)},
			want:  planSummary{Blocked: []string{"service/a: no snapshot of GitHub Enterprise"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tOpts()
			if tt.opts != nil {
				tt.opts(&opts)
			}
			got := Plan(Input{Snapshot: tt.snap, Blueprints: testBlueprints(), Owned: tt.owned, Foreign: tt.foreign, Options: opts})
			if d := cmp.Diff(tt.want, summarize(got)); d != "" {
				t.Errorf("Plan mismatch (-want +got):\n%s", d)
			}
		})
	}
}

// TestPlanChange checks the whole of a create, an update and a delete: the
// datasource each is written with and the entity sent.
func TestPlanChange(t *testing.T) {
	s := snap(inst(7,
		repo(7, "acme/a", spec("glint.yml", ghe.SpecEntity{Blueprint: "service", Identifier: "new", Title: ptr("New"), Team: []string{"t"}, Properties: map[string]any{"tier": "1"}, Line: 4})),
		repo(7, "acme/b", spec("glint.yml", se("service", "moved", map[string]any{"tier": "2"}))),
		repo(7, "acme/c", spec("glint.yml", se("service", "keep", nil))),
	))
	owned := []glint.Entity{
		cur("service", "moved", ours(7, "acme/a"), map[string]any{"tier": "1"}),
		cur("service", "keep", ours(7, "acme/c"), nil),
		cur("service", "gone", ours(7, "acme/c"), nil),
		cur("service", "keep2", ours(7, "acme/c"), nil),
	}
	s.Installations[0].Repos[2].Specs[0].Entities = append(s.Installations[0].Repos[2].Specs[0].Entities, ghe.SpecEntity{Blueprint: "service", Identifier: "keep2", File: "glint.yml", Line: 2})
	got := Plan(Input{Snapshot: s, Blueprints: testBlueprints(), Owned: owned, Options: tOpts()})
	want := Changes{
		Create: []Change{{
			Blueprint: "service", Identifier: "new",
			Source:     Source{InstallationID: 7, Repo: "acme/a", File: "glint.yml", Line: 4},
			Datasource: "glint-github-app/1.4.0 (app/12@ghe.example.com; installation/7; repo/acme/a; gitops)",
			Entity:     &glint.Entity{Blueprint: "service", Identifier: "new", Title: ptr("New"), Team: []string{"t"}, Properties: map[string]any{"tier": "1"}},
		}},
		Update: []Change{{
			Blueprint: "service", Identifier: "moved",
			Source:     Source{InstallationID: 7, Repo: "acme/b", File: "glint.yml", Line: 1},
			Datasource: "glint-github-app/1.4.0 (app/12@ghe.example.com; installation/7; repo/acme/b; gitops)",
			Previous:   ours(7, "acme/a"),
			Fields:     []string{"properties.tier", "datasource"},
			Entity:     &glint.Entity{Blueprint: "service", Identifier: "moved", Properties: map[string]any{"tier": "2"}},
		}},
		Delete: []Change{{
			Blueprint: "service", Identifier: "gone",
			Source:     Source{InstallationID: 7, Repo: "acme/c"},
			Datasource: ours(7, "acme/c"),
		}},
		Desired: 4,
		Owned:   4,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Plan mismatch (-want +got):\n%s", d)
	}

	var b strings.Builder
	if _, err := got.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	wantText := `+ service/new  (acme/a: glint.yml)
~ service/moved  (acme/b: glint.yml)  properties.tier, datasource
- service/gone  (acme/c)
1 to create, 1 to update, 1 to delete, 0 conflicts, 0 invalid, 0 kept
`
	if d := cmp.Diff(wantText, b.String()); d != "" {
		t.Errorf("WriteTo mismatch (-want +got):\n%s", d)
	}

	js, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("encode Changes: %v", err)
	}
	var back Changes
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatalf("decode Changes: %v", err)
	}
	again, err := json.Marshal(back)
	if err != nil {
		t.Fatalf("encode decoded Changes: %v", err)
	}
	if d := cmp.Diff(string(js), string(again)); d != "" {
		t.Errorf("Changes does not survive JSON (-before +after):\n%s", d)
	}
	for _, key := range []string{`"create":[{"blueprint":"service","identifier":"new"`, `"fields":["properties.tier","datasource"]`, `"desired":4`} {
		if !strings.Contains(string(js), key) {
			t.Errorf("JSON of Changes lacks %s:\n%s", key, js)
		}
	}
}

func TestChangesWriteToReports(t *testing.T) {
	c := Plan(Input{
		Snapshot: snap(inst(7,
			repo(7, "acme/a", spec("glint.yml", se("service", "a", nil), se("nope", "b", nil))),
			failedRepo(7, "acme/f"))),
		Blueprints: testBlueprints(),
		Owned:      []glint.Entity{cur("service", "f", ours(7, "acme/f"), nil)},
		Foreign:    []glint.Entity{cur("service", "a", "", nil)},
		Options:    tOpts(),
	})
	var b strings.Builder
	if _, err := c.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := `! conflict acme/a: glint.yml:1: service/a exists in Glint and was written by another writer; left alone
! invalid acme/a: glint.yml:2: nope/b: blueprint "nope" does not exist in Glint
! kept service/f  (acme/f): reading acme/f failed: graphql: NOT_FOUND
0 to create, 0 to update, 0 to delete, 1 conflicts, 1 invalid, 1 kept
`
	if d := cmp.Diff(want, b.String()); d != "" {
		t.Errorf("WriteTo mismatch (-want +got):\n%s", d)
	}
}

// TestPlanDeterministic checks that the output does not depend on map order.
func TestPlanDeterministic(t *testing.T) {
	in := benchInput(500)
	first := Plan(in)
	for range 5 {
		if d := cmp.Diff(first, Plan(in)); d != "" {
			t.Fatalf("Plan is not deterministic (-first +again):\n%s", d)
		}
	}
}

// benchInput returns n desired entities over n/50 repositories, of which a
// tenth are new, a tenth changed, and n/20 owned entities no longer declared.
func benchInput(n int) Input {
	const perRepo = 50
	var repos []ghe.RepoResult
	var owned []glint.Entity
	for r := 0; r*perRepo < n; r++ {
		full := fmt.Sprintf("acme/r%d", r)
		var es []ghe.SpecEntity
		for i := r * perRepo; i < min(n, (r+1)*perRepo); i++ {
			id := fmt.Sprintf("svc-%d", i)
			props := map[string]any{"tier": "1", "replicas": float64(i % 7), "tags": []any{"a", "b"}}
			es = append(es, ghe.SpecEntity{Blueprint: "service", Identifier: id, Title: ptr(id), Team: []string{"team"}, Properties: props,
				Relations: map[string]any{"system": "shop", "deps": []any{"x", "y"}}})
			switch i % 10 {
			case 0: // new
			case 1: // changed
				owned = append(owned, glint.Entity{Blueprint: "service", Identifier: id, Title: ptr(id), Team: "team", Datasource: ours(7, full),
					Properties: map[string]any{"tier": "2", "replicas": i % 7, "tags": []any{"a", "b"}}})
			default:
				owned = append(owned, glint.Entity{Blueprint: "service", Identifier: id, Title: ptr(id), Team: []any{"team"}, Datasource: ours(7, full),
					Properties: map[string]any{"tier": "1", "replicas": i % 7, "tags": []any{"a", "b"}},
					Relations:  map[string]any{"system": "shop", "deps": []any{"y", "x"}}})
			}
		}
		for i := range n / perRepo / 20 {
			owned = append(owned, cur("service", fmt.Sprintf("old-%d-%d", r, i), ours(7, full), nil))
		}
		repos = append(repos, repo(7, full, spec("glint.yml", es...)))
	}
	return Input{Snapshot: snap(inst(7, repos...)), Blueprints: testBlueprints(), Owned: owned, Options: tOpts()}
}

func TestBenchInputShape(t *testing.T) {
	c := Plan(benchInput(1000))
	if len(c.Create) != 100 || len(c.Update) != 100 || len(c.Delete) != 0 && len(c.Conflicts) != 0 || len(c.Invalid) != 0 {
		t.Errorf("benchInput(1000) plans %d creates, %d updates, %d deletes, %d conflicts, %d invalid; want 100, 100, -, 0, 0",
			len(c.Create), len(c.Update), len(c.Delete), len(c.Conflicts), len(c.Invalid))
	}
}

func BenchmarkPlan(b *testing.B) {
	in := benchInput(50000)
	b.ReportAllocs()
	for b.Loop() {
		c := Plan(in)
		if len(c.Create) == 0 {
			b.Fatal("no creates")
		}
	}
}
