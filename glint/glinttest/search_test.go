package glinttest

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/kozmoai/glint-github-app/glint"
)

func and(rules ...any) map[string]any { return group("and", rules) }
func or(rules ...any) map[string]any  { return group("or", rules) }

func group(combinator string, rules []any) map[string]any {
	if rules == nil {
		rules = []any{}
	}
	return map[string]any{"combinator": combinator, "rules": rules}
}
func r(p, op string, v ...any) map[string]any {
	r := map[string]any{"property": p, "operator": op}
	if len(v) > 0 {
		r["value"] = v[0]
	}
	return r
}

func TestSearchPaging(t *testing.T) {
	s := newServer(t, Options{})
	c := newClient(t, s)
	const n = 2500
	want := make([]string, 0, n)
	for i := range n {
		id := fmt.Sprintf("svc-%04d", i)
		ds := "glint-github-app/1.0 (gitops)"
		if i%10 == 0 {
			ds = "person"
		}
		s.PutEntity("service", glint.Entity{Identifier: id, Properties: map[string]any{"name": id}}, ds)
		if i%10 != 0 {
			want = append(want, id)
		}
	}
	query := and(r("$datasource", "beginsWith", "glint-github-app/"))
	var got []string
	var pages []int
	from := ""
	for {
		req := map[string]any{"query": query, "limit": 1000}
		if from != "" {
			req["from"] = from
		}
		code, _, body := c.do("POST", "/v1/blueprints/service/entities/search", req)
		if code != http.StatusOK {
			t.Fatalf("page %d: %d %v", len(pages), code, body)
		}
		page := ids(body)
		pages = append(pages, len(page))
		got = append(got, page...)
		next, ok := body["next"].(string)
		if !ok {
			break
		}
		from = next
		if len(pages) > 10 {
			t.Fatal("paging does not end")
		}
	}
	if !slices.Equal(pages, []int{1000, 1000, 250}) {
		t.Errorf("page sizes = %v, want [1000 1000 250]", pages)
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged identifiers differ: got %d, want %d", len(got), len(want))
	}

	// Default limit 200; a page that ends exactly at the last match has no next.
	code, _, body := c.do("POST", "/v1/blueprints/service/entities/search", map[string]any{"query": and()})
	if code != http.StatusOK || len(ids(body)) != 200 || body["next"] == nil {
		t.Errorf("default limit: %d, %d entities, next %v", code, len(ids(body)), body["next"])
	}
	code, _, body = c.do("POST", "/v1/blueprints/service/entities/search", map[string]any{"query": and(r("$identifier", "beginsWith", "svc-000")), "limit": 10})
	if code != http.StatusOK || len(ids(body)) != 10 || body["next"] != nil {
		t.Errorf("exact last page: %d, %v, next %v", code, ids(body), body["next"])
	}

	// A cursor belongs to its query; garbage is refused; limits are checked.
	code, _, body = c.do("POST", "/v1/blueprints/service/entities/search", map[string]any{"query": and(), "limit": 10})
	if code != http.StatusOK || body["next"] == nil {
		t.Fatalf("first page: %d, next %v", code, body["next"])
	}
	cur := body["next"].(string)
	for name, req := range map[string]map[string]any{
		"cursor of another query": {"query": and(r("$identifier", "beginsWith", "svc")), "from": cur},
		"garbage cursor":          {"query": and(), "from": "!!!"},
		"limit 0":                 {"query": and(), "limit": 0},
		"limit 1001":              {"query": and(), "limit": 1001},
		"no query":                {"limit": 10},
		"unknown field":           {"query": and(), "include": []string{"identifier"}},
	} {
		t.Run(name, func(t *testing.T) {
			c.t = t
			code, _, body := c.do("POST", "/v1/blueprints/service/entities/search", req)
			wantError(t, code, body, http.StatusBadRequest, "invalid_request")
		})
	}
	c.t = t
	code, _, body = c.do("POST", "/v1/blueprints/service/entities/search", map[string]any{"query": and(), "limit": 10, "from": cur})
	if code != http.StatusOK || ids(body)[0] != "svc-0010" {
		t.Errorf("second page from cursor: %d %v", code, ids(body))
	}
	code, _, body = c.do("POST", "/v1/blueprints/nope/entities/search", map[string]any{"query": and()})
	wantError(t, code, body, http.StatusNotFound, "not_found")
}

func TestSearchOperators(t *testing.T) {
	clock := newClock()
	s := newServer(t, Options{Now: clock.Now})
	title := func(v string) *string { return &v }
	s.PutEntity("service", glint.Entity{Identifier: "alpha", Title: title("Alpha API"), Team: "platform",
		Properties: map[string]any{"name": "alpha", "stars": 1, "language": "go", "tags": []any{"api", "core"}, "public": true}}, "glint-github-app/1 (gitops)")
	clock.Advance(time.Hour)
	s.PutEntity("service", glint.Entity{Identifier: "beta", Title: title("Beta worker"), Team: []string{"platform", "payments"},
		Properties: map[string]any{"name": "beta", "stars": 2.0, "language": "python", "tags": []any{}}}, "person")
	s.PutEntity("service", glint.Entity{Identifier: "gamma",
		Properties: map[string]any{"name": "gamma", "language": "", "public": false}}, "other-integration/3")
	s.PutEntity("system", glint.Entity{Identifier: "alpha-sys", Properties: map[string]any{"description": "core"}}, "person")
	c := newClient(t, s)
	betaUpdated := clock.Now().UTC().Format(time.RFC3339Nano)

	tests := []struct {
		name  string
		query map[string]any
		want  []string
	}{
		{"= string", and(r("language", "=", "go")), []string{"alpha"}},
		{"= number 2 matches 2.0", and(r("stars", "=", 2)), []string{"beta"}},
		{"= boolean", and(r("public", "=", false)), []string{"gamma"}},
		{"!=", and(r("language", "!=", "go")), []string{"beta", "gamma"}},
		{"!= absent matches", and(r("stars", "!=", 1)), []string{"beta", "gamma"}},
		{"in", and(r("language", "in", []any{"go", "python"})), []string{"alpha", "beta"}},
		{"in identifiers", and(r("$identifier", "in", []any{"gamma", "zeta"})), []string{"gamma"}},
		{"contains string", and(r("$title", "contains", "work")), []string{"beta"}},
		{"contains array", and(r("tags", "contains", "core")), []string{"alpha"}},
		{"beginsWith", and(r("$identifier", "beginsWith", "al")), []string{"alpha"}},
		{"endsWith", and(r("$title", "endsWith", "API")), []string{"alpha"}},
		{"isEmpty", and(r("language", "isEmpty")), []string{"gamma"}},
		{"isEmpty absent and empty list", and(r("tags", "isEmpty")), []string{"beta", "gamma"}},
		{"isNotEmpty", and(r("$title", "isNotEmpty")), []string{"alpha", "beta"}},
		{"$team =", and(r("$team", "=", "payments")), []string{"beta"}},
		{"$team in", and(r("$team", "in", []any{"platform"})), []string{"alpha", "beta"}},
		{"$team isEmpty", and(r("$team", "isEmpty")), []string{"gamma"}},
		{"$blueprint", and(r("$blueprint", "=", "service")), []string{"alpha", "beta", "gamma"}},
		{"$datasource", and(r("$datasource", "=", "person")), []string{"beta"}},
		{"$updatedAt", and(r("$updatedAt", "=", betaUpdated)), []string{"beta", "gamma"}},
		{"or", or(r("$identifier", "=", "alpha"), r("$identifier", "=", "gamma")), []string{"alpha", "gamma"}},
		{"nested", and(r("$team", "isNotEmpty"), or(r("stars", "=", 1), r("language", "=", "python"))), []string{"alpha", "beta"}},
		{"empty and", and(), []string{"alpha", "beta", "gamma"}},
		{"empty or", or(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			code, _, body := c.do("POST", "/v1/blueprints/service/entities/search", map[string]any{"query": tt.query})
			if code != http.StatusOK {
				t.Fatalf("%d %v", code, body)
			}
			if got := ids(body); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	bad := []struct {
		name  string
		query map[string]any
	}{
		{"unknown operator", and(r("language", "like", "go"))},
		{"unknown combinator", map[string]any{"combinator": "xor", "rules": []any{}}},
		{"unknown meta-property", and(r("$owner", "=", "x"))},
		{"unknown property", and(r("colour", "=", "x"))},
		{"in without a list", and(r("language", "in", "go"))},
		{"contains without a string", and(r("tags", "contains", 1))},
		{"missing value", and(r("language", "="))},
		{"rules not a list", map[string]any{"combinator": "and", "rules": "x"}},
		{"rules null", map[string]any{"combinator": "and", "rules": nil}},
		{"unknown rule field", and(map[string]any{"property": "language", "operator": "=", "value": "go", "relation": "x"})},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			code, _, body := c.do("POST", "/v1/blueprints/service/entities/search", map[string]any{"query": tt.query})
			wantError(t, code, body, http.StatusBadRequest, "invalid_request")
		})
	}

	t.Run("across blueprints", func(t *testing.T) {
		c.t = t
		code, _, body := c.do("POST", "/v1/entities/search", or(r("$identifier", "beginsWith", "alpha"), r("description", "=", "core")))
		if code != http.StatusOK {
			t.Fatalf("%d %v", code, body)
		}
		var got []string
		for _, e := range body["entities"].([]any) {
			m := e.(map[string]any)
			got = append(got, m["blueprint"].(string)+"/"+m["identifier"].(string))
		}
		if want := []string{"service/alpha", "system/alpha-sys"}; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
		code, _, body = c.do("POST", "/v1/entities/search", and(r("x", "~", 1)))
		wantError(t, code, body, http.StatusBadRequest, "invalid_request", "operator")
	})
}
