package glinttest

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/kozmoai/glint-github-app/glint"
)

// BenchmarkBulkUpsert measures one bulk upsert of 20 entities over loopback.
func BenchmarkBulkUpsert(b *testing.B) {
	s := New(Options{})
	defer s.Close()
	s.AddBlueprint(glint.Blueprint{Identifier: "service", Schema: glint.Schema{Properties: map[string]glint.Property{"n": {Type: "number"}}}})
	c := newClient(b, s)
	var ents []any
	for i := range MaxBulkUpsert {
		ents = append(ents, map[string]any{"identifier": fmt.Sprintf("s%d", i), "properties": map[string]any{"n": i}})
	}
	body := map[string]any{"entities": ents}
	for b.Loop() {
		if code, _, _ := c.do("POST", "/v1/blueprints/service/entities/bulk?upsert=true&merge=true", body); code != http.StatusOK {
			b.Fatalf("bulk: %d", code)
		}
	}
}

// BenchmarkSearchAll pages through 10,000 entities, 1,000 a page.
func BenchmarkSearchAll(b *testing.B) {
	s := New(Options{})
	defer s.Close()
	for i := range 10_000 {
		s.PutEntity("service", glint.Entity{Identifier: fmt.Sprintf("s%05d", i)}, "glint-github-app/1")
	}
	c := newClient(b, s)
	query := map[string]any{"combinator": "and", "rules": []any{map[string]any{"property": "$datasource", "operator": "beginsWith", "value": "glint-github-app/"}}}
	for b.Loop() {
		n, from := 0, ""
		for {
			req := map[string]any{"query": query, "limit": MaxSearchLimit}
			if from != "" {
				req["from"] = from
			}
			code, _, body := c.do("POST", "/v1/blueprints/service/entities/search", req)
			if code != http.StatusOK {
				b.Fatalf("search: %d", code)
			}
			n += len(body["entities"].([]any))
			next, ok := body["next"].(string)
			if !ok {
				break
			}
			from = next
		}
		if n != 10_000 {
			b.Fatalf("found %d entities", n)
		}
	}
}
