package glinttest

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kozmoai/glint-github-app/glint"
)

func TestTeamsCRUD(t *testing.T) {
	s := newServer(t, Options{})
	c := newClient(t, s)

	code, _, body := c.do("POST", "/v1/teams", map[string]any{"name": "Site Reliability", "description": "SRE", "users": []string{"x@example.com", "y@example.com"}})
	if code != http.StatusCreated || body["team"].(map[string]any)["datasource"] != testUA || body["team"].(map[string]any)["createdBy"] != s.ClientID() {
		t.Fatalf("create: %d %v", code, body)
	}

	code, _, body = c.do("GET", "/v1/teams?fields=name&fields=users.email", nil)
	if code != http.StatusOK {
		t.Fatal(code)
	}
	want := []any{
		map[string]any{"name": "Site Reliability", "users": []any{map[string]any{"email": "x@example.com"}, map[string]any{"email": "y@example.com"}}},
		map[string]any{"name": "payments", "users": []any{}},
		map[string]any{"name": "platform", "users": []any{map[string]any{"email": "a@example.com"}}},
	}
	if diff := cmp.Diff(want, body["teams"]); diff != "" {
		t.Errorf("teams (-want +got):\n%s", diff)
	}

	esc := "/v1/teams/" + url.PathEscape("Site Reliability")
	code, _, body = c.do("PATCH", esc, map[string]any{"users": []string{"z@example.com"}})
	if code != http.StatusOK {
		t.Fatalf("patch: %d %v", code, body)
	}
	code, _, body = c.do("PATCH", esc, map[string]any{"description": nil})
	if code != http.StatusOK {
		t.Fatalf("patch description: %d %v", code, body)
	}
	got := s.Teams()[0]
	if got.Name != "Site Reliability" || got.Description != "" || !slices.Equal(got.Users, []glint.TeamUser{{Email: "z@example.com"}}) {
		t.Errorf("after patches: %+v", got)
	}

	if ds, ok := s.TeamDatasource("Site Reliability"); !ok || ds != testUA {
		t.Errorf("TeamDatasource = %q, %v", ds, ok)
	}
	c.ua = "someone-else/1"
	c.do("PATCH", esc, map[string]any{"description": "x"})
	if ds, _ := s.TeamDatasource("Site Reliability"); ds != "someone-else/1" {
		t.Errorf("TeamDatasource after another writer = %q", ds)
	}
	c.ua = testUA
	code, _, body = c.do("PATCH", esc, map[string]any{"description": nil})
	if code != http.StatusOK {
		t.Fatalf("patch description: %d %v", code, body)
	}

	code, _, body = c.do("GET", esc, nil)
	if code != http.StatusOK || body["team"].(map[string]any)["name"] != "Site Reliability" {
		t.Errorf("get: %d %v", code, body)
	}

	// Entities name teams; deleting a team takes it off them.
	c.upsert("service", "upsert=true", map[string]any{"identifier": "a", "team": []string{"Site Reliability", "platform"}, "properties": map[string]any{"name": "a"}}, http.StatusCreated)
	code, _, _ = c.do("DELETE", esc, nil)
	if code != http.StatusOK {
		t.Fatalf("delete: %d", code)
	}
	if e, _ := s.Entity("service", "a"); !cmp.Equal(e.Team, []any{"platform"}) {
		t.Errorf("entity team after team delete = %v", e.Team)
	}
	if len(s.Teams()) != 2 {
		t.Errorf("teams = %+v", s.Teams())
	}
	if got := s.Stats().TeamWrites; got != 6 {
		t.Errorf("TeamWrites = %d, want 6", got)
	}
}

func TestTeamErrors(t *testing.T) {
	s := newServer(t, Options{})
	c := newClient(t, s)
	tests := []struct {
		name     string
		method   string
		path     string
		body     any
		want     int
		wantCode string
	}{
		{"get missing", "GET", "/v1/teams/ghosts", nil, 404, "team_not_found"},
		{"patch missing", "PATCH", "/v1/teams/ghosts", map[string]any{"users": []string{}}, 404, "team_not_found"},
		{"delete missing", "DELETE", "/v1/teams/ghosts", nil, 404, "team_not_found"},
		{"create existing", "POST", "/v1/teams", map[string]any{"name": "platform"}, 409, "team_already_exists"},
		{"rename onto existing", "PATCH", "/v1/teams/platform", map[string]any{"name": "payments"}, 409, "team_already_exists"},
		{"name with slash", "POST", "/v1/teams", map[string]any{"name": "a/b"}, 422, "invalid_request"},
		{"name with leading space", "POST", "/v1/teams", map[string]any{"name": " ab"}, 422, "invalid_request"},
		{"name of one character", "POST", "/v1/teams", map[string]any{"name": "a"}, 422, "invalid_request"},
		{"name with hash", "POST", "/v1/teams", map[string]any{"name": "a#b"}, 422, "invalid_request"},
		{"no name", "POST", "/v1/teams", map[string]any{"users": []string{}}, 400, "invalid_request"},
		{"bad email", "POST", "/v1/teams", map[string]any{"name": "ok-team", "users": []string{"nope"}}, 422, "invalid_request"},
		{"users as objects", "POST", "/v1/teams", map[string]any{"name": "ok-team", "users": []any{map[string]any{"email": "a@example.com"}}}, 400, "invalid_request"},
		{"unknown field", "PATCH", "/v1/teams/platform", map[string]any{"members": []string{}}, 400, "invalid_request"},
		{"unknown fields param", "GET", "/v1/teams?fields=secret", nil, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			code, _, body := c.do(tt.method, tt.path, tt.body)
			wantError(t, code, body, tt.want, tt.wantCode)
		})
	}
	c.t = t
	if got := len(s.Teams()); got != 2 {
		t.Errorf("%d teams after refused calls, want 2", got)
	}

	// Renaming a team renames it on entities.
	s.PutEntity("service", glint.Entity{Identifier: "a", Team: "platform", Properties: map[string]any{"name": "a"}}, "x")
	code, _, body := c.do("PATCH", "/v1/teams/platform", map[string]any{"name": "Platform Team"})
	if code != http.StatusOK {
		t.Fatalf("rename: %d %v", code, body)
	}
	if e, _ := s.Entity("service", "a"); !cmp.Equal(e.Team, []any{"Platform Team"}) {
		t.Errorf("entity team after rename = %v", e.Team)
	}
}
