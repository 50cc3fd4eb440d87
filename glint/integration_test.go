//go:build integration

package glint_test

import (
	"os"
	"testing"

	"github.com/kozmoai/glint-github-app/glint"
)

// TestLiveRead reads blueprints and the entities glint-github-app owns from
// the Glint organization of GLINT_CLIENT_ID and GLINT_CLIENT_SECRET at
// GLINT_URL. It only reads. Run with `make test-integration`.
func TestLiveRead(t *testing.T) {
	id, secret := os.Getenv("GLINT_CLIENT_ID"), os.Getenv("GLINT_CLIENT_SECRET")
	if id == "" || secret == "" {
		t.Skip("GLINT_CLIENT_ID/GLINT_CLIENT_SECRET not set: no live Glint to read")
	}
	c, err := glint.New(os.Getenv("GLINT_URL"), id, secret)
	if err != nil {
		t.Fatal(err)
	}
	bps, err := c.Blueprints(t.Context())
	if err != nil {
		t.Fatalf("blueprints: %v", err)
	}
	owned := glint.Query{Combinator: "and", Rules: []any{
		glint.Rule{Property: "$datasource", Operator: "beginsWith", Value: "glint-github-app/"},
	}}
	for _, bp := range bps {
		es, err := c.SearchEntities(t.Context(), bp.Identifier, owned)
		if err != nil {
			t.Errorf("search %s: %v", bp.Identifier, err)
			continue
		}
		t.Logf("blueprint %s: %d entities written by glint-github-app", bp.Identifier, len(es))
	}
}
