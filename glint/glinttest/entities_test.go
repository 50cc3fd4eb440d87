package glinttest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kozmoai/glint-github-app/glint"
)

func TestSchemaErrors(t *testing.T) {
	s := newServer(t, Options{})
	c := newClient(t, s)
	s.PutEntity("system", glint.Entity{Identifier: "sys"}, "person")
	tests := []struct {
		name     string
		entity   any
		query    string
		want     int
		wantCode string
		field    string
	}{
		{"string type", svc("a", map[string]any{"name": 5}), "", 422, "blueprint_schema_mismatch", "properties.name"},
		{"number type", svc("a", map[string]any{"stars": "5"}), "", 422, "blueprint_schema_mismatch", "properties.stars"},
		{"boolean type", svc("a", map[string]any{"public": "yes"}), "", 422, "blueprint_schema_mismatch", "properties.public"},
		{"object type", svc("a", map[string]any{"meta": []any{1}}), "", 422, "blueprint_schema_mismatch", "properties.meta"},
		{"array type", svc("a", map[string]any{"tags": "x"}), "", 422, "blueprint_schema_mismatch", "properties.tags"},
		{"url format", svc("a", map[string]any{"url": "not a url"}), "", 422, "blueprint_schema_mismatch", "properties.url"},
		{"relative url", svc("a", map[string]any{"url": "/x"}), "", 422, "blueprint_schema_mismatch", "properties.url"},
		{"email format", svc("a", map[string]any{"owner": "nobody"}), "", 422, "blueprint_schema_mismatch", "properties.owner"},
		{"date-time format", svc("a", map[string]any{"released": "2024-13-01"}), "", 422, "blueprint_schema_mismatch", "properties.released"},
		{"string enum", svc("a", map[string]any{"language": "rust"}), "", 422, "blueprint_schema_mismatch", "properties.language"},
		{"number enum", svc("a", map[string]any{"tier": 4}), "", 422, "blueprint_schema_mismatch", "properties.tier"},
		{"unknown property", svc("a", map[string]any{"colour": "red"}), "", 422, "blueprint_schema_mismatch", "properties.colour"},
		{"required property", map[string]any{"identifier": "a"}, "", 422, "blueprint_schema_mismatch", "properties.name"},
		{"required property null", svc("a", map[string]any{"name": nil}), "", 422, "blueprint_schema_mismatch", "properties.name"},
		{"unknown relation", map[string]any{"identifier": "a", "properties": map[string]any{"name": "a"}, "relations": map[string]any{"owner": "x"}}, "", 422, "blueprint_schema_mismatch", "relations.owner"},
		{"single relation given a list", map[string]any{"identifier": "a", "properties": map[string]any{"name": "a"}, "relations": map[string]any{"system": []string{"sys"}}}, "", 422, "blueprint_schema_mismatch", "relations.system"},
		{"many relation given a string", map[string]any{"identifier": "a", "properties": map[string]any{"name": "a"}, "relations": map[string]any{"dependsOn": "a"}}, "", 422, "blueprint_schema_mismatch", "relations.dependsOn"},
		{"required relation", map[string]any{"identifier": "d"}, "deployment", 422, "blueprint_schema_mismatch", "relations.service"},
		{"identifier dot", svc(".", nil), "", 422, "invalid_request", "identifier"},
		{"identifier dotdot", svc("..", nil), "", 422, "invalid_request", "identifier"},
		{"identifier space", svc("a b", nil), "", 422, "invalid_request", "identifier"},
		{"identifier too long", svc(strings.Repeat("x", 1001), nil), "", 422, "invalid_request", "identifier"},
		{"identifier empty", svc("", nil), "", 422, "invalid_request", "identifier"},
		{"no identifier", map[string]any{"properties": map[string]any{"name": "a"}}, "", 400, "invalid_request", "identifier"},
		{"read-only field sent", map[string]any{"identifier": "a", "properties": map[string]any{"name": "a"}, "datasource": "x"}, "", 400, "invalid_request", "datasource"},
		{"other blueprint in body", map[string]any{"identifier": "a", "blueprint": "system", "properties": map[string]any{"name": "a"}}, "", 400, "invalid_request", "blueprint"},
		{"title not a string", map[string]any{"identifier": "a", "title": 1, "properties": map[string]any{"name": "a"}}, "", 400, "invalid_request", "title"},
		{"unknown team", map[string]any{"identifier": "a", "team": "ghosts", "properties": map[string]any{"name": "a"}}, "", 422, "team_not_found", "ghosts"},
		{"unknown team in list", map[string]any{"identifier": "a", "team": []string{"platform", "ghosts"}, "properties": map[string]any{"name": "a"}}, "", 422, "team_not_found", "ghosts"},
		{"not an object", []any{1}, "", 400, "invalid_request", "object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			bp := "service"
			if tt.query != "" {
				bp = tt.query
			}
			code, _, body := c.do("POST", "/v1/blueprints/"+bp+"/entities?upsert=true", tt.entity)
			wantError(t, code, body, tt.want, tt.wantCode, tt.field)
		})
	}
	if n := len(s.Entities("service")); n != 0 {
		t.Errorf("%d service entities stored by refused writes", n)
	}
}

func TestValidValues(t *testing.T) {
	s := newServer(t, Options{})
	c := newClient(t, s)
	e := map[string]any{
		"identifier": "checkout/api@v1:x+y=z_ü.-",
		"title":      "Checkout",
		"icon":       "Go",
		"team":       []string{"platform", "payments"},
		"properties": map[string]any{
			"name": "checkout", "url": "https://example.com/x", "owner": "a@example.com",
			"released": "2024-05-01T10:00:00Z", "language": "go", "stars": 1.0, "tier": 2,
			"public": false, "meta": map[string]any{"k": "v"}, "tags": []any{"a", 1},
		},
	}
	body := c.upsert("service", "upsert=false", e, http.StatusCreated)
	got := body["entity"].(map[string]any)
	if got["blueprint"] != "service" || got["datasource"] != testUA || got["createdBy"] != s.ClientID() ||
		got["createdAt"] == nil || got["updatedAt"] == nil || got["updatedBy"] != s.ClientID() {
		t.Errorf("entity meta fields: %v", got)
	}
	if !cmp.Equal(got["team"], []any{"platform", "payments"}) {
		t.Errorf("team = %v", got["team"])
	}
	// 1 and 1.0 are the same number.
	if got["properties"].(map[string]any)["stars"] != float64(1) {
		t.Errorf("stars = %v", got["properties"].(map[string]any)["stars"])
	}
	// upsert=false on an existing identifier: 409.
	code, _, resp := c.do("POST", "/v1/blueprints/service/entities?upsert=false", e)
	wantError(t, code, resp, http.StatusConflict, "entity_already_exists")
	// Bad query parameters are refused.
	code, _, resp = c.do("POST", "/v1/blueprints/service/entities?upsert=yes", e)
	wantError(t, code, resp, http.StatusBadRequest, "invalid_request", "upsert")
	code, _, resp = c.do("POST", "/v1/blueprints/service/entities?createMissingRelatedEntities=true", e)
	wantError(t, code, resp, http.StatusBadRequest, "invalid_request", "createMissingRelatedEntities")
	code, _, resp = c.do("POST", "/v1/blueprints/nope/entities?upsert=true", e)
	wantError(t, code, resp, http.StatusNotFound, "not_found", "nope")
}

func TestMerge(t *testing.T) {
	s := newServer(t, Options{})
	c := newClient(t, s)
	s.PutEntity("system", glint.Entity{Identifier: "sys"}, "person")
	base := map[string]any{
		"identifier": "a", "title": "A", "icon": "Go", "team": "platform",
		"properties": map[string]any{"name": "a", "stars": 3, "language": "go"},
		"relations":  map[string]any{"system": "sys", "dependsOn": []string{"a"}},
	}
	reset := func() { c.upsert("service", "upsert=true&merge=false", base, http.StatusCreated) }
	str := func(v string) *string { return &v }

	tests := []struct {
		name  string
		query string
		send  map[string]any
		want  glint.Entity
	}{
		{
			name:  "merge keeps what is not sent",
			query: "upsert=true&merge=true",
			send:  map[string]any{"identifier": "a", "properties": map[string]any{"stars": 4}},
			want: glint.Entity{Identifier: "a", Title: str("A"), Icon: str("Go"), Team: []any{"platform"},
				Properties: map[string]any{"name": "a", "stars": 4.0, "language": "go"},
				Relations:  map[string]any{"system": "sys", "dependsOn": []any{"a"}}},
		},
		{
			name:  "merge clears what is sent as null",
			query: "upsert=true&merge=true",
			send: map[string]any{"identifier": "a", "title": nil, "team": nil,
				"properties": map[string]any{"language": nil}, "relations": map[string]any{"system": nil}},
			want: glint.Entity{Identifier: "a", Icon: str("Go"), Team: []any{},
				Properties: map[string]any{"name": "a", "stars": 3.0},
				Relations:  map[string]any{"dependsOn": []any{"a"}}},
		},
		{
			name:  "merge replaces team and relation lists whole",
			query: "upsert=true&merge=true",
			send: map[string]any{"identifier": "a", "team": []string{"payments"},
				"relations": map[string]any{"dependsOn": []string{}}},
			want: glint.Entity{Identifier: "a", Title: str("A"), Icon: str("Go"), Team: []any{"payments"},
				Properties: map[string]any{"name": "a", "stars": 3.0, "language": "go"},
				Relations:  map[string]any{"system": "sys", "dependsOn": []any{}}},
		},
		{
			name:  "replace drops what is not sent",
			query: "upsert=true&merge=false",
			send:  map[string]any{"identifier": "a", "properties": map[string]any{"name": "b"}},
			want:  glint.Entity{Identifier: "a", Team: []any{}, Properties: map[string]any{"name": "b"}},
		},
		{
			name:  "merge is the default off",
			query: "upsert=true",
			send:  map[string]any{"identifier": "a", "properties": map[string]any{"name": "b", "stars": nil}},
			want:  glint.Entity{Identifier: "a", Team: []any{}, Properties: map[string]any{"name": "b"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			reset()
			c.upsert("service", tt.query, tt.send, http.StatusCreated)
			got, ok := s.Entity("service", "a")
			if !ok {
				t.Fatal("entity gone")
			}
			got.Blueprint, got.Datasource, got.CreatedAt, got.CreatedBy, got.UpdatedAt, got.UpdatedBy = "", "", nil, "", nil, ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("entity (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("merge cannot clear a required property", func(t *testing.T) {
		c.t = t
		reset()
		code, _, body := c.do("POST", "/v1/blueprints/service/entities?upsert=true&merge=true",
			map[string]any{"identifier": "a", "properties": map[string]any{"name": nil}})
		wantError(t, code, body, 422, "blueprint_schema_mismatch", "properties.name")
	})
	t.Run("validation_only writes nothing", func(t *testing.T) {
		c.t = t
		reset()
		before, _ := s.Entity("service", "a")
		c.upsert("service", "upsert=true&validation_only=true", svc("a", map[string]any{"name": "changed"}), http.StatusCreated)
		c.upsert("service", "upsert=true&validation_only=true", svc("new", nil), http.StatusCreated)
		code, _, body := c.do("POST", "/v1/blueprints/service/entities?upsert=true&validation_only=true", svc("bad", map[string]any{"stars": "x"}))
		wantError(t, code, body, 422, "blueprint_schema_mismatch", "properties.stars")
		after, _ := s.Entity("service", "a")
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("validation_only changed the entity:\n%s", diff)
		}
		if _, ok := s.Entity("service", "new"); ok {
			t.Error("validation_only created an entity")
		}
	})
}

func TestDatasourceFromUserAgent(t *testing.T) {
	clock := newClock()
	s := newServer(t, Options{Now: clock.Now})
	c := newClient(t, s)
	c.ua = "glint-github-app/1.0 (repo/acme/a; gitops)"
	c.upsert("service", "upsert=true", svc("a", nil), http.StatusCreated)
	first, _ := s.Entity("service", "a")
	if first.Datasource != c.ua || first.CreatedBy != s.ClientID() || first.UpdatedBy != s.ClientID() {
		t.Fatalf("after first write: %+v", first)
	}

	clock.Advance(time.Minute)
	c.ua = "someone-else/2.0"
	c.upsert("service", "upsert=true&merge=true", map[string]any{"identifier": "a", "properties": map[string]any{"stars": 1}}, http.StatusCreated)
	second, _ := s.Entity("service", "a")
	if second.Datasource != "someone-else/2.0" {
		t.Errorf("datasource = %q, want the last writer's User-Agent", second.Datasource)
	}
	if !second.CreatedAt.Equal(*first.CreatedAt) || !second.UpdatedAt.Equal(first.UpdatedAt.Add(time.Minute)) {
		t.Errorf("createdAt %v updatedAt %v, want %v and a minute later", second.CreatedAt, second.UpdatedAt, first.CreatedAt)
	}

	// Reads and searches carry the datasource.
	code, _, body := c.do("GET", "/v1/blueprints/service/entities/a", nil)
	if code != 200 || body["entity"].(map[string]any)["datasource"] != "someone-else/2.0" {
		t.Errorf("get entity: %d %v", code, body)
	}
	code, _, body = c.do("POST", "/v1/blueprints/service/entities/search", map[string]any{"query": map[string]any{
		"combinator": "and", "rules": []any{map[string]any{"property": "$datasource", "operator": "beginsWith", "value": "someone-else/"}},
	}})
	if code != 200 || !slices.Equal(ids(body), []string{"a"}) || body["entities"].([]any)[0].(map[string]any)["datasource"] != "someone-else/2.0" {
		t.Errorf("search by datasource: %d %v", code, body)
	}
}

func TestBulk(t *testing.T) {
	s := newServer(t, Options{})
	c := newClient(t, s)
	path := "/v1/blueprints/service/entities/bulk?upsert=true&merge=true"

	var ents []any
	for i := range 20 {
		ents = append(ents, svc(fmt.Sprintf("s%02d", i), nil))
	}
	code, _, body := c.do("POST", path, map[string]any{"entities": ents})
	if code != http.StatusOK || len(body["entities"].([]any)) != 20 || len(body["errors"].([]any)) != 0 {
		t.Fatalf("bulk of 20: %d %v", code, body)
	}
	if r := body["entities"].([]any)[3].(map[string]any); r["identifier"] != "s03" || r["index"] != 3.0 || r["created"] != true {
		t.Errorf("result 3 = %v", r)
	}

	code, _, body = c.do("POST", path, map[string]any{"entities": []any{
		svc("s00", map[string]any{"stars": 9}),
		svc("s01", map[string]any{"stars": "nine"}),
		svc("new", nil),
		map[string]any{"identifier": "ghost", "properties": map[string]any{"name": "g"}, "relations": map[string]any{"dependsOn": []string{"missing"}}},
	}})
	if code != http.StatusMultiStatus {
		t.Fatalf("partial bulk: %d %v", code, body)
	}
	wantResults := []any{
		map[string]any{"identifier": "s00", "index": 0.0, "created": false},
		map[string]any{"identifier": "new", "index": 2.0, "created": true},
	}
	if diff := cmp.Diff(wantResults, body["entities"]); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	errs := body["errors"].([]any)
	if len(errs) != 2 {
		t.Fatalf("errors = %v", errs)
	}
	e0, e1 := errs[0].(map[string]any), errs[1].(map[string]any)
	if e0["identifier"] != "s01" || e0["index"] != 1.0 || e0["statusCode"] != 422.0 || e0["error"] != "blueprint_schema_mismatch" ||
		!strings.Contains(e0["message"].(string), "properties.stars") {
		t.Errorf("error 0 = %v", e0)
	}
	if e1["identifier"] != "ghost" || e1["statusCode"] != 404.0 || e1["error"] != "not_found" {
		t.Errorf("error 1 = %v", e1)
	}
	if e, _ := s.Entity("service", "s00"); e.Properties["stars"] != 9.0 {
		t.Errorf("s00 not written: %v", e.Properties)
	}

	for _, n := range []int{0, 21} {
		code, _, body = c.do("POST", path, map[string]any{"entities": make([]any, n)})
		wantError(t, code, body, http.StatusBadRequest, "invalid_request", "entities")
	}
	code, _, body = c.do("POST", path, map[string]any{})
	wantError(t, code, body, http.StatusBadRequest, "invalid_request")
	code, _, body = c.do("POST", path, map[string]any{"entities": []any{svc("x", nil)}, "extra": 1})
	wantError(t, code, body, http.StatusBadRequest, "invalid_request")

	// upsert=false: existing identifiers fail one by one with 409.
	code, _, body = c.do("POST", "/v1/blueprints/service/entities/bulk?upsert=false", map[string]any{"entities": []any{svc("s00", nil), svc("fresh", nil)}})
	if code != http.StatusMultiStatus || body["errors"].([]any)[0].(map[string]any)["statusCode"] != 409.0 || !slices.Equal(ids(body), []string{"fresh"}) {
		t.Errorf("bulk upsert=false: %d %v", code, body)
	}
}

func TestBodyTooLarge(t *testing.T) {
	s := newServer(t, Options{})
	c := newClient(t, s)
	big := strings.Repeat("x", MaxBodyBytes)
	code, _, body := c.do("POST", "/v1/blueprints/service/entities?upsert=true", svc("a", map[string]any{"name": big}))
	wantError(t, code, body, http.StatusRequestEntityTooLarge, "request_too_large")
	code, _, body = c.do("POST", "/v1/blueprints/service/entities/bulk?upsert=true", map[string]any{"entities": []any{svc("a", map[string]any{"name": big})}})
	wantError(t, code, body, http.StatusRequestEntityTooLarge, "request_too_large")
	// Just under the limit is fine.
	under := strings.Repeat("x", MaxBodyBytes-100)
	c.upsert("service", "upsert=true", svc("a", map[string]any{"name": under}), http.StatusCreated)
	if len(s.Entities("service")) != 1 {
		t.Error("body under the limit was not written")
	}
}

func TestRelationTargets(t *testing.T) {
	s := newServer(t, Options{})
	c := newClient(t, s)
	e := map[string]any{"identifier": "a", "properties": map[string]any{"name": "a"},
		"relations": map[string]any{"system": "sys", "dependsOn": []string{"b", "a"}}}

	code, _, body := c.do("POST", "/v1/blueprints/service/entities?upsert=true", e)
	wantError(t, code, body, http.StatusNotFound, "not_found", "relations.dependsOn", `"b"`)
	if _, ok := s.Entity("service", "a"); ok {
		t.Fatal("entity written despite a missing relation target")
	}

	c.upsert("service", "upsert=true&create_missing_related_entities=true", e, http.StatusCreated)
	sys, ok := s.Entity("system", "sys")
	if !ok || len(sys.Properties) != 0 || sys.Datasource != testUA {
		t.Errorf("missing target system/sys: %v %+v", ok, sys)
	}
	if _, ok := s.Entity("service", "b"); !ok {
		t.Error("missing target service/b not created")
	}
	// Existing targets need nothing.
	c.upsert("service", "upsert=true", e, http.StatusCreated)
	if st := s.Stats(); st.EntityCreates != 3 || st.EntityWrites != 4 {
		t.Errorf("EntityCreates %d EntityWrites %d, want 3 and 4", st.EntityCreates, st.EntityWrites)
	}
}
