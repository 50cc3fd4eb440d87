package glint

import (
	"errors"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTeams(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("GET /v1/teams", func(w http.ResponseWriter, r *http.Request) {
		checkRequest(t, r, "/v1/teams", url.Values{"fields": {"name", "description", "users.email"}}, testUA)
		serveFile(t, w, http.StatusOK, "teams.json")
	})
	got, err := c.Teams(t.Context())
	if err != nil {
		t.Fatalf("Teams: %v", err)
	}
	want := []Team{
		{Name: "platform", Description: "Platform engineering", Users: []TeamUser{{Email: "ada@example.com"}, {Email: "grace@example.com"}}},
		{Name: "sre"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Teams (-want +got):\n%s", d)
	}
}

func TestTeamWrites(t *testing.T) {
	const ua = "glint-github-app/1.0 (teams)"
	tests := []struct {
		name     string
		call     func(c *Client) error
		method   string
		path     string
		wantBody map[string]any // nil for no body
		golden   string
	}{
		{
			name: "create",
			call: func(c *Client) error {
				return c.CreateTeam(t.Context(), Team{Name: "platform", Description: "Platform engineering", Users: []TeamUser{{Email: "ada@example.com"}}}, ua)
			},
			method: http.MethodPost, path: "/v1/teams", golden: "team_create.golden",
		},
		{
			name:   "create without members",
			call:   func(c *Client) error { return c.CreateTeam(t.Context(), Team{Name: "sre"}, ua) },
			method: http.MethodPost, path: "/v1/teams",
			wantBody: map[string]any{"name": "sre", "users": []any{}},
		},
		{
			name: "update members",
			call: func(c *Client) error {
				return c.UpdateTeam(t.Context(), "data eng", Team{Users: []TeamUser{{Email: "a@x.io"}, {Email: "b@x.io"}}}, ua)
			},
			method: http.MethodPatch, path: "/v1/teams/data%20eng",
			wantBody: map[string]any{"users": []any{"a@x.io", "b@x.io"}},
		},
		{
			name:   "update description keeps members",
			call:   func(c *Client) error { return c.UpdateTeam(t.Context(), "sre", Team{Description: "On call"}, ua) },
			method: http.MethodPatch, path: "/v1/teams/sre",
			wantBody: map[string]any{"description": "On call"},
		},
		{
			name:   "update removes all members",
			call:   func(c *Client) error { return c.UpdateTeam(t.Context(), "sre", Team{Users: []TeamUser{}}, ua) },
			method: http.MethodPatch, path: "/v1/teams/sre",
			wantBody: map[string]any{"users": []any{}},
		},
		{
			name:   "delete",
			call:   func(c *Client) error { return c.DeleteTeam(t.Context(), "sre", ua) },
			method: http.MethodDelete, path: "/v1/teams/sre",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := setup(t)
			var calls atomic.Int32
			mux.HandleFunc("/v1/teams/", func(w http.ResponseWriter, r *http.Request) { t.Errorf("unexpected %s %s", r.Method, r.URL) })
			handler := func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				checkRequest(t, r, tt.path, nil, ua)
				switch {
				case tt.golden != "":
					checkGolden(t, tt.golden, readBody(t, r))
				case tt.wantBody != nil:
					var got map[string]any
					decodeBody(t, r, &got)
					if d := cmp.Diff(tt.wantBody, got); d != "" {
						t.Errorf("body (-want +got):\n%s", d)
					}
				case r.ContentLength > 0:
					t.Errorf("%s has a body", r.Method)
				}
				serveJSON(t, w, http.StatusOK, map[string]any{"ok": true})
			}
			if tt.path == "/v1/teams" {
				mux.HandleFunc(tt.method+" /v1/teams", handler)
			} else {
				mux.HandleFunc(tt.method+" /v1/teams/{name}", handler)
			}
			if err := tt.call(c); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("calls = %d, want 1", n)
			}
		})
	}
}

func TestTeamErrors(t *testing.T) {
	c, mux := setup(t)
	var creates atomic.Int32
	mux.HandleFunc("POST /v1/teams", func(w http.ResponseWriter, r *http.Request) {
		creates.Add(1)
		serveFile(t, w, http.StatusInternalServerError, "error_internal.json")
	})
	mux.HandleFunc("/v1/teams/{name}", func(w http.ResponseWriter, r *http.Request) {
		serveFile(t, w, http.StatusNotFound, "error_team_not_found.json", "x-trace-id", "trace-team")
	})

	if err := c.CreateTeam(t.Context(), Team{Name: "platform"}, ""); err == nil {
		t.Error("CreateTeam succeeded on a 500")
	}
	if n := creates.Load(); n != 1 {
		t.Errorf("create attempts = %d, want 1 (a create is not retried after a 5xx)", n)
	}
	for name, err := range map[string]error{
		"update": c.UpdateTeam(t.Context(), "ghosts", Team{Description: "x"}, ""),
		"delete": c.DeleteTeam(t.Context(), "ghosts", ""),
	} {
		var ae *APIError
		if !errors.Is(err, ErrNotFound) || !errors.As(err, &ae) || ae.Code != "team_not_found" || ae.TraceID != "trace-team" {
			t.Errorf("%s: error = %v, want team_not_found matching ErrNotFound with trace id trace-team", name, err)
		}
	}
}
