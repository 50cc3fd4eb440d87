package glinttest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/kozmoai/glint-github-app/glint"
)

// seedGraph stores services a, b, c (c depends on a, not required), and
// deployments d1 -> a, d2 -> b (required relations).
func seedGraph(s *Server) {
	for _, id := range []string{"a", "b", "c"} {
		e := glint.Entity{Identifier: id, Properties: map[string]any{"name": id}}
		if id == "c" {
			e.Relations = map[string]any{"dependsOn": []any{"a", "b"}}
		}
		s.PutEntity("service", e, "glint-github-app/1")
	}
	s.PutEntity("deployment", glint.Entity{Identifier: "d1", Relations: map[string]any{"service": "a"}}, "glint-github-app/1")
	s.PutEntity("deployment", glint.Entity{Identifier: "d2", Relations: map[string]any{"service": "b"}}, "glint-github-app/1")
}

func identifiers(es []glint.Entity) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Identifier)
	}
	return out
}

func TestDelete(t *testing.T) {
	s := newServer(t, Options{})
	c := newClient(t, s)
	seedGraph(s)

	code, _, body := c.do("DELETE", "/v1/blueprints/service/entities/zz", nil)
	wantError(t, code, body, http.StatusNotFound, "not_found", "zz")
	code, _, body = c.do("DELETE", "/v1/blueprints/nope/entities/a", nil)
	wantError(t, code, body, http.StatusNotFound, "not_found", "nope")

	// a is the target of d1's required relation.
	code, _, body = c.do("DELETE", "/v1/blueprints/service/entities/a", nil)
	wantError(t, code, body, 422, "has_dependents", "d1")
	code, _, body = c.do("DELETE", "/v1/blueprints/service/entities/a?delete_dependents=false", nil)
	wantError(t, code, body, 422, "has_dependents")
	if _, ok := s.Entity("service", "a"); !ok {
		t.Fatal("blocked delete deleted the entity")
	}

	code, _, body = c.do("DELETE", "/v1/blueprints/service/entities/a?delete_dependents=true", nil)
	if code != http.StatusOK {
		t.Fatalf("delete with dependents: %d %v", code, body)
	}
	if got := identifiers(s.Entities("deployment")); !slices.Equal(got, []string{"d2"}) {
		t.Errorf("deployments = %v, want [d2]", got)
	}
	// A relation that is not required loses the deleted target.
	if e, _ := s.Entity("service", "c"); !slices.Equal(toStrings(e.Relations["dependsOn"]), []string{"b"}) {
		t.Errorf("c.dependsOn = %v, want [b]", e.Relations["dependsOn"])
	}
	if got := s.Stats().Deletes; got != 2 {
		t.Errorf("Deletes = %d, want 2", got)
	}

	// No dependents: plain delete. A deployment is nobody's target.
	code, _, _ = c.do("DELETE", "/v1/blueprints/deployment/entities/d2", nil)
	if code != http.StatusOK {
		t.Fatalf("delete d2: %d", code)
	}
}

func TestDeleteEscapedIdentifier(t *testing.T) {
	s := newServer(t, Options{})
	c := newClient(t, s)
	for _, id := range []string{"acme/checkout", "a+b=c:d@e", "ünï", "x\\y", "a/../b", "a/./b", "a//b", "..."} {
		t.Run(id, func(t *testing.T) {
			c.t = t
			c.upsert("service", "upsert=true", svc(id, nil), http.StatusCreated)
			code, _, body := c.do("GET", "/v1/blueprints/service/entities/"+url.PathEscape(id), nil)
			if code != http.StatusOK || body["entity"].(map[string]any)["identifier"] != id {
				t.Fatalf("get %q: %d %v", id, code, body)
			}
			code, _, body = c.do("DELETE", "/v1/blueprints/service/entities/"+url.PathEscape(id), nil)
			if code != http.StatusOK {
				t.Fatalf("delete %q: %d %v", id, code, body)
			}
			if _, ok := s.Entity("service", id); ok {
				t.Errorf("%q not deleted", id)
			}
		})
	}
	// An unescaped slash is another path.
	c.t = t
	c.upsert("service", "upsert=true", svc("acme/x", nil), http.StatusCreated)
	code, _, body := c.do("DELETE", "/v1/blueprints/service/entities/acme/x", nil)
	wantError(t, code, body, http.StatusNotFound, "not_found")
	if _, ok := s.Entity("service", "acme/x"); !ok {
		t.Error("unescaped delete deleted the entity")
	}
}

func TestBulkDelete(t *testing.T) {
	s := newServer(t, Options{})
	c := newClient(t, s)
	seedGraph(s)
	path := "/v1/blueprints/service/bulk/entities/delete"

	tests := []struct {
		name     string
		query    string
		ids      []string
		want     int
		wantCode string
	}{
		{"one missing fails all", "", []string{"c", "missing"}, 404, "not_found"},
		{"one blocked fails all", "", []string{"c", "b"}, 422, "has_dependents"},
		{"empty", "", []string{}, 400, "invalid_request"},
		{"too many", "", make([]string, 101), 400, "invalid_request"},
		{"bad flag", "?delete_dependents=1", []string{"c"}, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			code, _, body := c.do("POST", path+tt.query, map[string]any{"entities": tt.ids})
			wantError(t, code, body, tt.want, tt.wantCode)
			if n := len(s.Entities("service")) + len(s.Entities("deployment")); n != 5 {
				t.Errorf("%d entities left, want all 5", n)
			}
		})
	}
	c.t = t
	if got := s.Stats().Deletes; got != 0 {
		t.Errorf("Deletes = %d after refused bulk deletes", got)
	}

	code, _, body := c.do("POST", path+"?delete_dependents=true", map[string]any{"entities": []string{"c", "b", "c"}})
	if code != http.StatusOK || !slices.Equal(toStrings(body["deletedEntities"]), []string{"c", "b"}) {
		t.Fatalf("bulk delete: %d %v", code, body)
	}
	if got := identifiers(s.Entities("service")); !slices.Equal(got, []string{"a"}) {
		t.Errorf("services left = %v", got)
	}
	if got := identifiers(s.Entities("deployment")); !slices.Equal(got, []string{"d1"}) {
		t.Errorf("deployments left = %v", got)
	}

	// A dependent inside the same call does not block it.
	s.PutEntity("deployment", glint.Entity{Identifier: "d3", Relations: map[string]any{"service": "a"}}, "x")
	code, _, body = c.do("POST", "/v1/blueprints/deployment/bulk/entities/delete", map[string]any{"entities": []string{"d1", "d3"}})
	if code != http.StatusOK {
		t.Fatalf("delete deployments: %d %v", code, body)
	}
	var many []string
	for i := range 100 {
		id := fmt.Sprintf("m%03d", i)
		s.PutEntity("system", glint.Entity{Identifier: id}, "x")
		many = append(many, id)
	}
	code, _, body = c.do("POST", "/v1/blueprints/system/bulk/entities/delete", map[string]any{"entities": many})
	if code != http.StatusOK || len(s.Entities("system")) != 0 {
		t.Errorf("bulk delete of 100: %d %v", code, body)
	}
}

func toStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		out = append(out, x.(string))
	}
	return out
}
