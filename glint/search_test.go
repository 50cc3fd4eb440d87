package glint

import (
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBlueprints(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("GET /v1/blueprints", func(w http.ResponseWriter, r *http.Request) {
		checkRequest(t, r, "/v1/blueprints", nil, testUA)
		serveFile(t, w, http.StatusOK, "blueprints.json")
	})
	got, err := c.Blueprints(t.Context())
	if err != nil {
		t.Fatalf("Blueprints: %v", err)
	}
	want := []Blueprint{
		{
			Identifier: "service",
			Title:      "Service",
			Schema: Schema{
				Properties: map[string]Property{
					"url":  {Type: "string", Format: "url"},
					"tier": {Type: "string", Enum: []any{"gold", "silver"}},
				},
				Required: []string{"url"},
			},
			Relations: map[string]Relation{"system": {Target: "system", Required: true}},
		},
		{Identifier: "system", Title: "System", Schema: Schema{Properties: map[string]Property{}}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Blueprints (-want +got):\n%s", d)
	}
}

func TestBlueprint(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("GET /v1/blueprints/service", func(w http.ResponseWriter, r *http.Request) {
		checkRequest(t, r, "/v1/blueprints/service", nil, testUA)
		serveFile(t, w, http.StatusOK, "blueprint_service.json")
	})
	mux.HandleFunc("GET /v1/blueprints/{id}", func(w http.ResponseWriter, r *http.Request) {
		serveFile(t, w, http.StatusNotFound, "error_not_found.json", "x-trace-id", "trace-404")
	})
	bp, err := c.Blueprint(t.Context(), "service")
	if err != nil {
		t.Fatalf("Blueprint: %v", err)
	}
	if bp.Identifier != "service" || bp.Schema.Properties["url"].Format != "url" || !bp.Relations["system"].Required {
		t.Errorf("Blueprint = %+v", bp)
	}

	_, err = c.Blueprint(t.Context(), "ghost")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown blueprint: error %v does not match ErrNotFound", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.TraceID != "trace-404" || ae.Code != "not_found" {
		t.Errorf("unknown blueprint: error %v, want an APIError with code not_found, trace id trace-404", err)
	}
}

func TestQueryJSON(t *testing.T) {
	tests := []struct {
		name string
		q    Query
		want string
	}{
		{"empty", Query{}, `{"combinator":"and","rules":[]}`},
		{
			"nested",
			Query{Combinator: "or", Rules: []any{
				Rule{Property: "$identifier", Operator: "in", Value: []string{"a", "b"}},
				Query{Rules: []any{Rule{Property: "archived", Operator: "=", Value: false}, Rule{Property: "url", Operator: "isEmpty"}}},
			}},
			`{"combinator":"or","rules":[{"property":"$identifier","operator":"in","value":["a","b"]},` +
				`{"combinator":"and","rules":[{"property":"archived","operator":"=","value":false},{"property":"url","operator":"isEmpty"}]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// ownedQuery is the search the app runs for its own entities.
func ownedQuery() Query {
	return Query{Combinator: "and", Rules: []any{
		Rule{Property: "$datasource", Operator: "beginsWith", Value: "glint-github-app/"},
		Query{Combinator: "or", Rules: []any{
			Rule{Property: "$team", Operator: "in", Value: []string{"platform", "sre"}},
			Rule{Property: "$title", Operator: "isNotEmpty"},
		}},
	}}
}

func TestSearchEntitiesFollowsPages(t *testing.T) {
	c, mux := setup(t)
	pages := map[string]string{"": "search_page1.json", "cursor-2": "search_page2.json", "cursor-3": "search_page3.json"}
	var calls atomic.Int32
	mux.HandleFunc("POST /v1/blueprints/service/entities/search", func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		checkRequest(t, r, "/v1/blueprints/service/entities/search", nil, testUA)
		body := readBody(t, r)
		if n == 1 {
			checkGolden(t, "search_request.golden", body)
		}
		var req struct {
			Query json.RawMessage `json:"query"`
			Limit int             `json:"limit"`
			From  *string         `json:"from"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			t.Errorf("decode search request: %v", err)
		}
		if req.Limit != 1000 {
			t.Errorf("limit = %d, want 1000", req.Limit)
		}
		from := ""
		if req.From != nil {
			from = *req.From
			if from == "" {
				t.Error(`search request sends "from": ""`)
			}
		}
		serveFile(t, w, http.StatusOK, pages[from])
	})
	got, err := c.SearchEntities(t.Context(), "service", ownedQuery())
	if err != nil {
		t.Fatalf("SearchEntities: %v", err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("search calls = %d, want 3", n)
	}
	var ids []string
	for _, e := range got {
		ids = append(ids, e.Identifier)
	}
	if d := cmp.Diff([]string{"svc-1", "svc-2", "svc-3", "svc-4"}, ids); d != "" {
		t.Errorf("identifiers (-want +got):\n%s", d)
	}
	title := "One"
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	want0 := Entity{
		Identifier: "svc-1", Blueprint: "service", Title: &title, Team: "platform",
		Properties: map[string]any{"url": "https://one.example.com"},
		Relations:  map[string]any{"system": "core"},
		Datasource: "glint-github-app/1.0 (gitops)", CreatedAt: &created, UpdatedAt: &created,
	}
	if d := cmp.Diff(want0, got[0]); d != "" {
		t.Errorf("first entity (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]any{"platform", "sre"}, got[1].Team); d != "" {
		t.Errorf("team list (-want +got):\n%s", d)
	}
	if v, ok := got[1].Properties["url"]; !ok || v != nil {
		t.Errorf("explicit null property = %v, %v; want nil, true", v, ok)
	}
}

func TestSearchEntitiesFailsWhole(t *testing.T) {
	tests := []struct {
		name  string
		page2 func(t *testing.T, w http.ResponseWriter)
	}{
		{"5xx on page 2", func(t *testing.T, w http.ResponseWriter) {
			serveFile(t, w, http.StatusInternalServerError, "error_internal.json")
		}},
		{"ok false on page 2", func(t *testing.T, w http.ResponseWriter) {
			serveFile(t, w, http.StatusOK, "not_ok.json")
		}},
		{"cursor repeats", func(t *testing.T, w http.ResponseWriter) {
			serveJSON(t, w, http.StatusOK, map[string]any{"ok": true, "entities": []any{}, "next": "cursor-2"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := setup(t)
			mux.HandleFunc("POST /v1/blueprints/service/entities/search", func(w http.ResponseWriter, r *http.Request) {
				var req struct{ From string }
				decodeBody(t, r, &req)
				if req.From == "" {
					serveFile(t, w, http.StatusOK, "search_page1.json")
					return
				}
				tt.page2(t, w)
			})
			got, err := c.SearchEntities(t.Context(), "service", ownedQuery())
			if err == nil {
				t.Fatal("SearchEntities succeeded")
			}
			if got != nil {
				t.Errorf("SearchEntities returned %d entities with its error, want none", len(got))
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.TraceID == "" {
				t.Errorf("error %v has no APIError with a trace id", err)
			}
		})
	}
}

func TestSearchEntitiesEmpty(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("POST /v1/blueprints/{b}/entities/search", func(w http.ResponseWriter, r *http.Request) {
		checkRequest(t, r, "/v1/blueprints/my%20bp/entities/search", nil, testUA)
		serveJSON(t, w, http.StatusOK, map[string]any{"ok": true, "entities": []any{}})
	})
	got, err := c.SearchEntities(t.Context(), "my bp", Query{})
	if err != nil {
		t.Fatalf("SearchEntities: %v", err)
	}
	if got == nil || len(got) != 0 {
		t.Errorf("SearchEntities = %#v, want an empty non-nil slice", got)
	}
}

func TestSearchAll(t *testing.T) {
	c, mux := setup(t)
	q := Query{Rules: []any{Rule{Property: "$datasource", Operator: "beginsWith", Value: "glint-github-app/"}}}
	mux.HandleFunc("POST /v1/entities/search", func(w http.ResponseWriter, r *http.Request) {
		checkRequest(t, r, "/v1/entities/search", nil, testUA)
		var got map[string]any
		decodeBody(t, r, &got)
		want := map[string]any{"combinator": "and", "rules": []any{
			map[string]any{"property": "$datasource", "operator": "beginsWith", "value": "glint-github-app/"},
		}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("search body (-want +got):\n%s", d)
		}
		serveFile(t, w, http.StatusOK, "search_all.json")
	})
	got, err := c.SearchAll(t.Context(), q)
	if err != nil {
		t.Fatalf("SearchAll: %v", err)
	}
	if len(got) != 2 || got[1].Blueprint != "system" {
		t.Errorf("SearchAll = %+v", got)
	}
}
