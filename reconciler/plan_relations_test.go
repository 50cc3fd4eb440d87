package reconciler

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kozmoai/glint-github-app/ghe"
	"github.com/kozmoai/glint-github-app/glint"
)

// TestPlanKeepsReferencedRelationTargets: an owned entity no longer
// declared but still the target of a declared relation is kept, because
// Glint clears a relation whose target is deleted and the next pass would
// write it back, creating the target again: a delete and a write every
// other pass.
func TestPlanKeepsReferencedRelationTargets(t *testing.T) {
	withRels := func(e ghe.SpecEntity, rels map[string]any) ghe.SpecEntity { e.Relations = rels; return e }
	tests := []struct {
		name  string
		rels  map[string]any
		owned []glint.Entity
		want  planSummary
	}{
		{
			name:  "single relation",
			rels:  map[string]any{"system": "shop"},
			owned: []glint.Entity{cur("system", "shop", ours(7, "acme/a"), nil), cur("system", "old", ours(7, "acme/a"), nil)},
			want: planSummary{
				Delete:  []string{"system/old (acme/a)"},
				Blocked: []string{"system/shop: a relation of service/a (acme/a: glint.yml:1) points to it"},
			},
		},
		{
			name:  "many relation",
			rels:  map[string]any{"deps": []any{"x", "y"}},
			owned: []glint.Entity{cur("service", "x", ours(7, "acme/b"), nil), cur("service", "z", ours(7, "acme/b"), nil)},
			want: planSummary{
				Delete:  []string{"service/z (acme/b)"},
				Blocked: []string{"service/x: a relation of service/a (acme/a: glint.yml:1) points to it"},
			},
		},
		{
			name:  "same identifier in another blueprint is not a target",
			rels:  map[string]any{"system": "shop"},
			owned: []glint.Entity{cur("service", "shop", ours(7, "acme/a"), nil)},
			want:  planSummary{Delete: []string{"service/shop (acme/a)"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := snap(inst(7,
				repo(7, "acme/a", spec("glint.yml", withRels(se("service", "a", nil), tt.rels))),
				repo(7, "acme/b"),
			))
			owned := append([]glint.Entity{cur("service", "a", ours(7, "acme/a"), nil)}, tt.owned...)
			bps := append(testBlueprints(), glint.Blueprint{Identifier: "system"})
			opts := tOpts()
			opts.DeleteThreshold = 1
			got := summarize(Plan(Input{Snapshot: s, Blueprints: bps, Owned: owned, Options: opts}))
			got.Update = nil // the relation value itself is not under test
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}
