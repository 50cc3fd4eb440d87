package reconciler

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kozmoai/glint-github-app/ghe"
	"github.com/kozmoai/glint-github-app/glint"
)

// readOnlySnapshot declares entities with every field a pass may touch:
// team names to resolve, properties (nested), relations, title and icon.
func readOnlySnapshot() *ghe.Snapshot {
	ir := orgTeams(7, "acme", ghTeam("acme", 1, "platform", ""))
	ir.Repos = []ghe.RepoResult{
		repo(7, "acme/a", spec("glint.yml",
			ghe.SpecEntity{Blueprint: "service", Identifier: "a", Title: ptr("A"), Icon: ptr("Go"), Team: []string{"Platform", "payments"},
				Properties: map[string]any{"tier": "1", "replicas": 2.0, "tags": []any{"x", "y"}, "meta": map[string]any{"k": "v"}, "gone": nil},
				Relations:  map[string]any{"deps": []any{"b", "c"}}},
			se("service", "b", map[string]any{"tier": "2"}))),
		repo(7, "acme/b", spec("glint.yml", ghe.SpecEntity{Blueprint: "service", Identifier: "c", Team: []string{"platform"},
			Relations: map[string]any{"deps": "a"}})),
	}
	return snap(ir)
}

// The snapshot's entities are read-only (ghe.SpecEntity): ghe hands out its
// cached entities, shared across passes, and EntityFromSpec shares their
// maps. Neither planning (with team names resolved) nor applying may change
// them.
func TestPassLeavesSnapshotUnchanged(t *testing.T) {
	want := readOnlySnapshot()
	for _, mode := range []string{TeamsOff, TeamsEntities, TeamsGlint, TeamsBoth} {
		t.Run("plan "+mode, func(t *testing.T) {
			s := readOnlySnapshot()
			o := tOpts()
			o.TeamsSync = mode
			owned := []glint.Entity{{Blueprint: "service", Identifier: "a", Datasource: ours(7, "acme/a"),
				Team: []any{"other"}, Properties: map[string]any{"tier": "0", "extra": "kept"}}}
			ch := Plan(Input{Snapshot: s, Blueprints: testBlueprints(), Owned: owned, Options: o})
			if len(ch.Create)+len(ch.Update) == 0 {
				t.Fatalf("plan changes nothing; the test needs writes: %+v", ch)
			}
			if d := cmp.Diff(want, s); d != "" {
				t.Errorf("Plan changed the snapshot (-before +after):\n%s", d)
			}
		})
	}
	t.Run("run", func(t *testing.T) {
		gh := &fakeGitHub{snap: readOnlySnapshot()}
		cat := newFakeCatalog(testBlueprints(), glint.Entity{Blueprint: "service", Identifier: "a",
			Datasource: ours(7, "acme/a"), Properties: map[string]any{"tier": "0"}})
		r, _ := newTestReconciler(gh, cat, nil)
		for pass := range 2 {
			if _, err := r.RunOnce(t.Context()); err != nil {
				t.Fatalf("pass %d: %v", pass, err)
			}
			if d := cmp.Diff(want, gh.snap); d != "" {
				t.Fatalf("pass %d changed the snapshot (-before +after):\n%s", pass, d)
			}
		}
	})
}
