package glint

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

// testEntities returns n entities e-0 ... e-(n-1), with read-only fields set
// that must not be sent.
func testEntities(n int) []Entity {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	es := make([]Entity, n)
	for i := range es {
		es[i] = Entity{
			Identifier: fmt.Sprintf("e-%d", i),
			Blueprint:  "service",
			Properties: map[string]any{"n": i},
			Datasource: "someone-else",
			CreatedAt:  &now,
			UpdatedAt:  &now,
			CreatedBy:  "ada",
			UpdatedBy:  "ada",
		}
	}
	return es
}

var upsertQuery = url.Values{
	"upsert":                          {"true"},
	"merge":                           {"true"},
	"create_missing_related_entities": {"false"},
}

var writeOpts = WriteOptions{UserAgent: writeUA, Merge: true}

// bulkRequest is the decoded body of a bulk upsert.
type bulkRequest struct {
	Entities []map[string]any `json:"entities"`
}

// serveBulkOK answers a bulk upsert with every entity created.
func serveBulkOK(t *testing.T, w http.ResponseWriter, req bulkRequest) {
	t.Helper()
	var out []map[string]any
	for i, e := range req.Entities {
		out = append(out, map[string]any{"identifier": e["identifier"], "index": i, "created": true})
	}
	serveJSON(t, w, http.StatusOK, map[string]any{"ok": true, "entities": out, "errors": []any{}})
}

func TestUpsertEntitiesChunks(t *testing.T) {
	c, mux := setup(t)
	var (
		mu    sync.Mutex
		sizes []int
	)
	mux.HandleFunc("POST /v1/blueprints/service/entities/bulk", func(w http.ResponseWriter, r *http.Request) {
		checkRequest(t, r, "/v1/blueprints/service/entities/bulk", upsertQuery, writeUA)
		var req bulkRequest
		decodeBody(t, r, &req)
		for _, e := range req.Entities {
			for _, k := range []string{"blueprint", "datasource", "createdAt", "updatedAt", "createdBy", "updatedBy"} {
				if _, ok := e[k]; ok {
					t.Errorf("entity %v sends read-only field %s", e["identifier"], k)
				}
			}
		}
		mu.Lock()
		sizes = append(sizes, len(req.Entities))
		mu.Unlock()
		serveBulkOK(t, w, req)
	})
	es := testEntities(45)
	got, err := c.UpsertEntities(t.Context(), "service", es, writeOpts)
	if err != nil {
		t.Fatalf("UpsertEntities: %v", err)
	}
	if d := cmp.Diff([]int{20, 20, 5}, sizes); d != "" {
		t.Errorf("bulk call sizes (-want +got):\n%s", d)
	}
	if len(got) != len(es) {
		t.Fatalf("got %d results, want %d", len(got), len(es))
	}
	for i, r := range got {
		if r.Index != i || r.Identifier != es[i].Identifier || r.Err != nil || !r.Created {
			t.Errorf("result %d = %+v", i, r)
		}
	}
}

func TestUpsertEntitiesBody(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("POST /v1/blueprints/{b}/entities/bulk", func(w http.ResponseWriter, r *http.Request) {
		checkRequest(t, r, "/v1/blueprints/service/entities/bulk", url.Values{
			"upsert":                          {"true"},
			"merge":                           {"false"},
			"create_missing_related_entities": {"true"},
		}, writeUA)
		body := readBody(t, r)
		checkGolden(t, "upsert_bulk.golden", body)
		serveJSON(t, w, http.StatusOK, map[string]any{"ok": true, "entities": []any{
			map[string]any{"identifier": "checkout", "index": 0, "created": true},
			map[string]any{"identifier": "docs/site", "index": 1, "created": false},
		}})
	})
	es := []Entity{
		{
			Identifier: "checkout",
			Blueprint:  "service",
			Title:      ptr("Checkout <beta> & co"),
			Icon:       ptr("Go"),
			Team:       []string{"payments", "sre"},
			Properties: map[string]any{"url": "https://checkout.example.com", "tier": nil, "readme": "# Checkout\n"},
			Relations:  map[string]any{"system": "shop", "depends": []string{"db", "cache"}, "old": nil},
			Datasource: "glint-github-app/0.9",
		},
		{Identifier: "docs/site", Team: "docs"},
	}
	got, err := c.UpsertEntities(t.Context(), "service", es, WriteOptions{UserAgent: writeUA, CreateMissingRelatedEntities: true})
	if err != nil {
		t.Fatalf("UpsertEntities: %v", err)
	}
	want := []BulkResult{{Identifier: "checkout", Index: 0, Created: true}, {Identifier: "docs/site", Index: 1}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("results (-want +got):\n%s", d)
	}
}

func TestUpsertEntitiesPartialFailure(t *testing.T) {
	c, mux := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("POST /v1/blueprints/service/entities/bulk", func(w http.ResponseWriter, r *http.Request) {
		var req bulkRequest
		decodeBody(t, r, &req)
		if calls.Add(1) == 1 {
			serveBulkOK(t, w, req)
			return
		}
		// The second call holds e-20 ... e-24; bulk_207.json lists their
		// outcomes out of order.
		if len(req.Entities) != 5 || req.Entities[0]["identifier"] != "e-20" {
			t.Errorf("second bulk call = %v", req.Entities)
		}
		serveFile(t, w, http.StatusMultiStatus, "bulk_207.json", "x-trace-id", "trace-207")
	})
	got, err := c.UpsertEntities(t.Context(), "service", testEntities(25), writeOpts)
	if err != nil {
		t.Fatalf("UpsertEntities: %v", err)
	}
	for i := range 20 {
		if got[i].Err != nil || !got[i].Created {
			t.Errorf("result %d = %+v", i, got[i])
		}
	}
	tests := []struct {
		i       int
		created bool
		status  int
		code    string
	}{
		{20, true, 0, ""},
		{21, false, 422, "blueprint_schema_mismatch"},
		{22, true, 0, ""},
		{23, false, 0, ""},
		{24, false, 404, "not_found"},
	}
	for _, tt := range tests {
		r := got[tt.i]
		if r.Index != tt.i || r.Identifier != fmt.Sprintf("e-%d", tt.i) || r.Created != tt.created {
			t.Errorf("result %d = %+v", tt.i, r)
		}
		if tt.status == 0 {
			if r.Err != nil {
				t.Errorf("result %d: Err = %v", tt.i, r.Err)
			}
			continue
		}
		var ae *APIError
		if !errors.As(r.Err, &ae) {
			t.Fatalf("result %d: Err = %v, want an *APIError", tt.i, r.Err)
		}
		if ae.StatusCode != tt.status || ae.Code != tt.code || ae.TraceID != "trace-207" || ae.Message == "" {
			t.Errorf("result %d: APIError = %+v", tt.i, ae)
		}
	}
	if !errors.Is(got[24].Err, ErrNotFound) {
		t.Errorf("missing related entity does not match ErrNotFound: %v", got[24].Err)
	}
}

func TestUpsertEntitiesBulkAnswerMissesAnEntity(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("POST /v1/blueprints/service/entities/bulk", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(t, w, http.StatusOK, map[string]any{"ok": true, "entities": []any{
			map[string]any{"identifier": "e-0", "index": 0, "created": true},
			map[string]any{"identifier": "e-9", "index": 1, "created": true}, // wrong identifier
		}})
	})
	got, err := c.UpsertEntities(t.Context(), "service", testEntities(3), writeOpts)
	if err != nil {
		t.Fatalf("UpsertEntities: %v", err)
	}
	if got[0].Err != nil {
		t.Errorf("e-0: %v", got[0].Err)
	}
	for _, r := range got[1:] {
		var ae *APIError
		if !errors.As(r.Err, &ae) || ae.Code != "invalid_response" {
			t.Errorf("%s: Err = %v, want an invalid_response APIError", r.Identifier, r.Err)
		}
	}
}

func TestUpsertEntitiesTooLarge(t *testing.T) {
	tests := []struct {
		name       string
		bulkLimit  int // the bulk endpoint answers 413 above this many entities
		n          int
		wantBulk   []int // sizes of bulk calls, in order
		wantSingle int
	}{
		{name: "split in halves", bulkLimit: 2, n: 5, wantBulk: []int{5, 2, 3, 1, 2}},
		{name: "down to single upserts", bulkLimit: 0, n: 3, wantBulk: []int{3, 1, 2, 1, 1}, wantSingle: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := setup(t)
			var (
				mu     sync.Mutex
				bulk   []int
				single int
			)
			mux.HandleFunc("POST /v1/blueprints/service/entities/bulk", func(w http.ResponseWriter, r *http.Request) {
				var req bulkRequest
				decodeBody(t, r, &req)
				mu.Lock()
				bulk = append(bulk, len(req.Entities))
				mu.Unlock()
				if len(req.Entities) > tt.bulkLimit {
					serveFile(t, w, http.StatusRequestEntityTooLarge, "error_too_large.json")
					return
				}
				serveBulkOK(t, w, req)
			})
			mux.HandleFunc("POST /v1/blueprints/service/entities", func(w http.ResponseWriter, r *http.Request) {
				q := url.Values{"validation_only": {"false"}}
				for k, v := range upsertQuery {
					q[k] = v
				}
				checkRequest(t, r, "/v1/blueprints/service/entities", q, writeUA)
				var e map[string]any
				decodeBody(t, r, &e)
				mu.Lock()
				single++
				mu.Unlock()
				serveFile(t, w, http.StatusCreated, "entity_created.json")
			})
			got, err := c.UpsertEntities(t.Context(), "service", testEntities(tt.n), writeOpts)
			if err != nil {
				t.Fatalf("UpsertEntities: %v", err)
			}
			for i, r := range got {
				if r.Err != nil || r.Index != i {
					t.Errorf("result %d = %+v", i, r)
				}
			}
			if d := cmp.Diff(tt.wantBulk, bulk); d != "" {
				t.Errorf("bulk call sizes (-want +got):\n%s", d)
			}
			if single != tt.wantSingle {
				t.Errorf("single upserts = %d, want %d", single, tt.wantSingle)
			}
		})
	}
}

func TestUpsertEntitiesSplitsBySize(t *testing.T) {
	c, mux := setup(t)
	var (
		mu     sync.Mutex
		bulk   []int
		single []string
	)
	mux.HandleFunc("POST /v1/blueprints/service/entities/bulk", func(w http.ResponseWriter, r *http.Request) {
		var req bulkRequest
		decodeBody(t, r, &req) // checks < 1 MiB
		mu.Lock()
		bulk = append(bulk, len(req.Entities))
		mu.Unlock()
		serveBulkOK(t, w, req)
	})
	mux.HandleFunc("POST /v1/blueprints/service/entities", func(w http.ResponseWriter, r *http.Request) {
		var e map[string]any
		decodeBody(t, r, &e)
		mu.Lock()
		single = append(single, e["identifier"].(string))
		mu.Unlock()
		serveFile(t, w, http.StatusCreated, "entity_updated.json")
	})
	big := func(id string, n int) Entity {
		return Entity{Identifier: id, Properties: map[string]any{"readme": strings.Repeat("x", n)}}
	}
	es := []Entity{
		big("a", 400_000),
		big("b", 400_000),
		big("c", 400_000),         // a third would pass 1 MiB
		big("d", maxBodyBytes-50), // fits alone, not in a bulk envelope
		big("e", maxBodyBytes),    // never fits
		big("f", 10),
	}
	got, err := c.UpsertEntities(t.Context(), "service", es, writeOpts)
	if err != nil {
		t.Fatalf("UpsertEntities: %v", err)
	}
	if d := cmp.Diff([]int{2, 1, 1}, bulk); d != "" {
		t.Errorf("bulk call sizes (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"d"}, single); d != "" {
		t.Errorf("single upserts (-want +got):\n%s", d)
	}
	for i, r := range got {
		if r.Identifier == "e" {
			if !errors.Is(r.Err, ErrTooLarge) {
				t.Errorf("e: Err = %v, want ErrTooLarge", r.Err)
			}
			continue
		}
		if r.Err != nil || r.Index != i {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	if got[3].Created {
		t.Error("d counts as created, but its createdAt is before its updatedAt")
	}
}

func TestUpsertEntitiesFallsBackToSingles(t *testing.T) {
	c, mux := setup(t)
	var bulkCalls atomic.Int32
	mux.HandleFunc("POST /v1/blueprints/service/entities/bulk", func(w http.ResponseWriter, r *http.Request) {
		bulkCalls.Add(1)
		serveFile(t, w, http.StatusBadRequest, "error_invalid_request.json")
	})
	mux.HandleFunc("POST /v1/blueprints/service/entities", func(w http.ResponseWriter, r *http.Request) {
		var e map[string]any
		decodeBody(t, r, &e)
		if e["identifier"] == "e-1" {
			serveFile(t, w, http.StatusUnprocessableEntity, "error_schema_mismatch.json", "x-trace-id", "trace-422")
			return
		}
		serveFile(t, w, http.StatusCreated, "entity_created.json")
	})
	got, err := c.UpsertEntities(t.Context(), "service", testEntities(3), writeOpts)
	if err != nil {
		t.Fatalf("UpsertEntities: %v", err)
	}
	if n := bulkCalls.Load(); n != 1 {
		t.Errorf("bulk calls = %d, want 1", n)
	}
	var ae *APIError
	if !errors.As(got[1].Err, &ae) || ae.StatusCode != 422 || ae.TraceID != "trace-422" {
		t.Errorf("e-1: Err = %v, want the 422", got[1].Err)
	}
	if got[0].Err != nil || got[2].Err != nil || !got[0].Created || !got[2].Created {
		t.Errorf("results = %+v", got)
	}
}

func TestUpsertEntitiesFatal(t *testing.T) {
	tests := []struct {
		name       string
		second     int // status of every bulk call after the first
		wantStatus int
		wantCalls  int32
	}{
		{"5xx after retries", http.StatusBadGateway, http.StatusBadGateway, 1 + 4},
		{"unknown blueprint", http.StatusNotFound, http.StatusNotFound, 2},
		{"rate limited after retries", http.StatusTooManyRequests, http.StatusTooManyRequests, 1 + 4},
	}
	files := map[int]string{502: "error_internal.json", 404: "error_not_found.json", 429: "error_rate_limited.json"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := setup(t)
			var calls atomic.Int32
			mux.HandleFunc("POST /v1/blueprints/service/entities/bulk", func(w http.ResponseWriter, r *http.Request) {
				var req bulkRequest
				decodeBody(t, r, &req)
				if calls.Add(1) == 1 {
					serveBulkOK(t, w, req)
					return
				}
				serveFile(t, w, tt.second, files[tt.second], "x-ratelimit-reset", "0")
			})
			mux.HandleFunc("POST /v1/blueprints/service/entities", func(w http.ResponseWriter, r *http.Request) {
				t.Error("fell back to single upserts")
			})
			got, err := c.UpsertEntities(t.Context(), "service", testEntities(45), writeOpts)
			var ae *APIError
			if !errors.As(err, &ae) || ae.StatusCode != tt.wantStatus {
				t.Fatalf("error = %v, want an APIError %d", err, tt.wantStatus)
			}
			if n := calls.Load(); n != tt.wantCalls {
				t.Errorf("bulk calls = %d, want %d", n, tt.wantCalls)
			}
			if len(got) != 45 {
				t.Fatalf("got %d results, want 45", len(got))
			}
			for i, r := range got {
				if r.Index != i || r.Identifier != fmt.Sprintf("e-%d", i) {
					t.Errorf("result %d = %+v", i, r)
				}
				if written := i < 20; written != (r.Err == nil) {
					t.Errorf("result %d: Err = %v", i, r.Err)
				}
			}
			if got[44].Err != err {
				t.Errorf("unattempted entity: Err = %v, want the operation's error", got[44].Err)
			}
		})
	}
}

func TestUpsertEntitiesNeedsUserAgent(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("/v1/blueprints/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
	})
	got, err := c.UpsertEntities(t.Context(), "service", testEntities(2), WriteOptions{})
	if err == nil {
		t.Fatal("UpsertEntities without a user agent succeeded")
	}
	if len(got) != 2 || got[0].Err == nil || got[1].Err == nil {
		t.Errorf("results = %+v", got)
	}
	got, err = c.UpsertEntities(t.Context(), "service", nil, writeOpts)
	if err != nil || len(got) != 0 {
		t.Errorf("no entities: %v, %v", got, err)
	}
}

func TestValidateEntity(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("POST /v1/blueprints/service/entities", func(w http.ResponseWriter, r *http.Request) {
		checkRequest(t, r, "/v1/blueprints/service/entities", url.Values{
			"upsert":                          {"true"},
			"merge":                           {"true"},
			"create_missing_related_entities": {"false"},
			"validation_only":                 {"true"},
		}, writeUA)
		var e Entity
		decodeBody(t, r, &e)
		if e.Properties["url"] == "nope" {
			serveFile(t, w, http.StatusUnprocessableEntity, "error_schema_mismatch.json", "x-trace-id", "trace-v")
			return
		}
		serveFile(t, w, http.StatusCreated, "entity_created.json")
	})
	if err := c.ValidateEntity(t.Context(), "service", Entity{Identifier: "svc-1", Properties: map[string]any{"url": "https://x"}}, writeOpts); err != nil {
		t.Errorf("ValidateEntity: %v", err)
	}
	err := c.ValidateEntity(t.Context(), "service", Entity{Identifier: "svc-1", Properties: map[string]any{"url": "nope"}}, writeOpts)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "blueprint_schema_mismatch" || ae.TraceID != "trace-v" {
		t.Errorf("error = %v, want blueprint_schema_mismatch with trace id trace-v", err)
	}
}

func TestDeleteEntitiesChunks(t *testing.T) {
	c, mux := setup(t)
	var (
		mu     sync.Mutex
		chunks [][]string
	)
	mux.HandleFunc("POST /v1/blueprints/service/bulk/entities/delete", func(w http.ResponseWriter, r *http.Request) {
		checkRequest(t, r, "/v1/blueprints/service/bulk/entities/delete", url.Values{"delete_dependents": {"true"}}, writeUA)
		var req struct{ Entities []string }
		decodeBody(t, r, &req)
		mu.Lock()
		chunks = append(chunks, req.Entities)
		mu.Unlock()
		serveFile(t, w, http.StatusOK, "ok.json")
	})
	ids := make([]string, 250)
	for i := range ids {
		ids[i] = fmt.Sprintf("e-%d", i)
	}
	got, err := c.DeleteEntities(t.Context(), "service", ids, DeleteOptions{UserAgent: writeUA, DeleteDependents: true})
	if err != nil {
		t.Fatalf("DeleteEntities: %v", err)
	}
	if len(chunks) != 3 || len(chunks[0]) != 100 || len(chunks[1]) != 100 || len(chunks[2]) != 50 {
		t.Fatalf("bulk deletes of %d chunks, want 100, 100, 50", len(chunks))
	}
	var sent []string
	for _, ch := range chunks {
		sent = append(sent, ch...)
	}
	if d := cmp.Diff(ids, sent); d != "" {
		t.Errorf("identifiers sent (-want +got):\n%s", d)
	}
	for i, r := range got {
		if r.Identifier != ids[i] || r.Err != nil {
			t.Errorf("result %d = %+v", i, r)
		}
	}
}

func TestDeleteEntitiesFallsBackToSingles(t *testing.T) {
	c, mux := setup(t)
	var bulkCalls atomic.Int32
	mux.HandleFunc("POST /v1/blueprints/service/bulk/entities/delete", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Entities []string }
		decodeBody(t, r, &req)
		if bulkCalls.Add(1) == 2 {
			// All or nothing: e-101 is gone already.
			serveFile(t, w, http.StatusNotFound, "error_not_found.json")
			return
		}
		serveFile(t, w, http.StatusOK, "ok.json")
	})
	var (
		mu     sync.Mutex
		single []string
	)
	mux.HandleFunc("DELETE /v1/blueprints/service/entities/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		checkRequest(t, r, "/v1/blueprints/service/entities/"+url.PathEscape(id), url.Values{"delete_dependents": {"false"}}, testUA)
		mu.Lock()
		single = append(single, id)
		mu.Unlock()
		switch id {
		case "e-101":
			serveFile(t, w, http.StatusNotFound, "error_not_found.json")
		case "e-150":
			serveJSON(t, w, http.StatusUnprocessableEntity, map[string]any{"ok": false, "error": "invalid_request", "message": "e-150 is the target of a required relation"}, "x-trace-id", "trace-150")
		default:
			serveFile(t, w, http.StatusOK, "ok.json")
		}
	})
	ids := make([]string, 250)
	for i := range ids {
		ids[i] = fmt.Sprintf("e-%d", i)
	}
	got, err := c.DeleteEntities(t.Context(), "service", ids, DeleteOptions{})
	if err != nil {
		t.Fatalf("DeleteEntities: %v", err)
	}
	if n := bulkCalls.Load(); n != 3 {
		t.Errorf("bulk calls = %d, want 3", n)
	}
	if len(single) != 100 || single[0] != "e-100" || single[99] != "e-199" {
		t.Errorf("single deletes: %d, want e-100 ... e-199", len(single))
	}
	for i, r := range got {
		if r.Identifier != ids[i] {
			t.Errorf("result %d = %+v", i, r)
		}
		if i == 150 {
			var ae *APIError
			if !errors.As(r.Err, &ae) || ae.StatusCode != 422 || ae.TraceID != "trace-150" {
				t.Errorf("e-150: Err = %v, want its 422", r.Err)
			}
			continue
		}
		if r.Err != nil {
			t.Errorf("result %d: Err = %v", i, r.Err)
		}
	}
}

func TestDeleteEntitiesFatal(t *testing.T) {
	c, mux := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("POST /v1/blueprints/service/bulk/entities/delete", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			serveFile(t, w, http.StatusOK, "ok.json")
			return
		}
		serveFile(t, w, http.StatusServiceUnavailable, "error_internal.json")
	})
	mux.HandleFunc("DELETE /v1/blueprints/service/entities/{id}", func(w http.ResponseWriter, r *http.Request) {
		t.Error("fell back to single deletes after a 5xx")
	})
	ids := make([]string, 150)
	for i := range ids {
		ids[i] = fmt.Sprintf("e-%d", i)
	}
	got, err := c.DeleteEntities(t.Context(), "service", ids, DeleteOptions{UserAgent: writeUA})
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 503 {
		t.Fatalf("error = %v, want the 503", err)
	}
	for i, r := range got {
		if (i < 100) != (r.Err == nil) {
			t.Errorf("result %d: Err = %v", i, r.Err)
		}
	}
}

func TestDeleteEntity(t *testing.T) {
	c, mux := setup(t)
	var flaky atomic.Int32
	mux.HandleFunc("DELETE /v1/blueprints/service/entities/{id}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("id") {
		case "docs/site v2":
			checkRequest(t, r, "/v1/blueprints/service/entities/docs%2Fsite%20v2", url.Values{"delete_dependents": {"true"}}, writeUA)
			serveFile(t, w, http.StatusOK, "ok.json")
		case "gone":
			serveFile(t, w, http.StatusNotFound, "error_not_found.json", "x-trace-id", "trace-gone")
		case "flaky":
			// The first attempt deleted it but the answer was lost.
			if flaky.Add(1) == 1 {
				serveFile(t, w, http.StatusBadGateway, "error_internal.json")
				return
			}
			serveFile(t, w, http.StatusNotFound, "error_not_found.json")
		default:
			t.Errorf("unexpected delete of %q", r.PathValue("id"))
		}
	})
	if err := c.DeleteEntity(t.Context(), "service", "docs/site v2", DeleteOptions{UserAgent: writeUA, DeleteDependents: true}); err != nil {
		t.Errorf("DeleteEntity: %v", err)
	}
	err := c.DeleteEntity(t.Context(), "service", "gone", DeleteOptions{})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("error = %v, want ErrNotFound", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.TraceID != "trace-gone" || ae.Method != http.MethodDelete || ae.Path != "/v1/blueprints/service/entities/gone" {
		t.Errorf("error = %v, want the DELETE's APIError with trace id trace-gone", err)
	}
	if !strings.Contains(err.Error(), "trace-gone") || !strings.Contains(err.Error(), "service/gone") {
		t.Errorf("error %q does not name the entity and the trace id", err)
	}
	if err := c.DeleteEntity(t.Context(), "service", "flaky", DeleteOptions{}); err != nil {
		t.Errorf("404 after a retried delete: %v, want success", err)
	}
}
