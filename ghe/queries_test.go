package ghe

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// serveOneInstallation answers the REST routes for installation 1 of acme
// with testdata/installation_repositories.json.
func serveOneInstallation(t *testing.T, mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v3/app/installations", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `[{"id":1,"account":{"login":"acme","type":"Organization"}}]`)
	})
	mux.HandleFunc("GET /api/v3/installation/repositories", func(w http.ResponseWriter, r *http.Request) {
		serveFile(t, w, "installation_repositories.json")
	})
}

func TestSnapshotNotFoundIsOneRepository(t *testing.T) {
	c, mux, _ := setup(t, nil)
	serveOneInstallation(t, mux)
	var mu sync.Mutex
	var reqs []graphqlRequest
	mux.HandleFunc("POST /api/graphql", func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "token ghs_test1" {
			t.Errorf("graphql Authorization = %q", got)
		}
		mu.Lock()
		reqs = append(reqs, decodeGraphQL(t, r))
		mu.Unlock()
		serveFile(t, w, "graphql_nodes_not_found.json")
	})
	snap, err := c.Snapshot(t.Context())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if len(reqs) != 1 {
		t.Fatalf("%d graphql requests, want 1", len(reqs))
	}
	golden(t, "repos_query.golden", reqs[0].Query+"\n")
	vars, _ := json.MarshalIndent(reqs[0].Variables, "", "  ")
	golden(t, "repos_query_variables.golden", string(vars)+"\n")

	if len(snap.Installations) != 1 || snap.Installations[0].Err != nil {
		t.Fatalf("installations = %+v", snap.Installations)
	}
	repos := snap.Installations[0].Repos
	if len(repos) != 3 {
		t.Fatalf("%d repositories, want 3", len(repos))
	}

	checkout := repos[0]
	if checkout.Err != nil || !checkout.Complete() {
		t.Fatalf("acme/checkout: %v", checkout.Err)
	}
	if checkout.Repo.HeadOID != "c0ffee0000000000000000000000000000000001" || checkout.Repo.DefaultBranch != "main" {
		t.Errorf("acme/checkout head = %q on %q", checkout.Repo.HeadOID, checkout.Repo.DefaultBranch)
	}
	wantSpecs := []SpecFile{{
		Path: "glint.yml", OID: "b10b000000000000000000000000000000000001",
		Entities: []SpecEntity{{Identifier: "checkout", Blueprint: "service", File: "glint.yml", Line: 1}},
	}}
	if diff := cmp.Diff(wantSpecs, checkout.Specs, cmp.Comparer(func(a, b error) bool { return (a == nil) == (b == nil) })); diff != "" {
		t.Errorf("acme/checkout specs (-want +got):\n%s", diff)
	}

	gone := repos[1]
	var ge *GraphQLError
	if !errors.As(gone.Err, &ge) || ge.Type != "NOT_FOUND" {
		t.Errorf("acme/gone Err = %v, want a NOT_FOUND GraphQLError", gone.Err)
	}
	if gone.Complete() {
		t.Error("acme/gone is complete")
	}

	empty := repos[2]
	if empty.Err != nil || len(empty.Specs) != 0 || !empty.Complete() {
		t.Errorf("acme/empty = %+v, want read in full without specs", empty)
	}
	if !empty.Repo.Archived || !empty.Repo.Fork || empty.Repo.HeadOID != "" || empty.Repo.Visibility != "PUBLIC" {
		t.Errorf("acme/empty metadata = %+v", empty.Repo)
	}
	if snap.RateLimit.Remaining != 4999 || snap.RateLimit.Cost != 1 {
		t.Errorf("rate limit = %+v", snap.RateLimit)
	}
}

func TestSnapshotGraphQLBatchFailures(t *testing.T) {
	notFound, err := os.ReadFile(filepath.Join("testdata", "graphql_nodes_not_found.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		answer     func(w http.ResponseWriter, n int) // n: 1-based request number
		wantCalls  int32
		wantErr    func(error) bool
		wantOK     bool // the retry eventually succeeds
		maxRetries int
	}{
		{
			name: "RATE_LIMITED waits for Retry-After then succeeds",
			answer: func(w http.ResponseWriter, n int) {
				if n == 1 {
					w.Header().Set("Retry-After", "1")
					serveFile(t, w, "graphql_rate_limited.json")
					return
				}
				w.Write(notFound)
			},
			wantCalls: 2, wantOK: true,
		},
		{
			name: "HTML maintenance page is an error, not empty",
			answer: func(w http.ResponseWriter, n int) {
				w.Header().Set("Content-Type", "text/html")
				b, _ := os.ReadFile(filepath.Join("testdata", "maintenance.html"))
				w.Write(b)
			},
			wantCalls: 4,
			wantErr:   func(err error) bool { return errors.Is(err, ErrInvalidResponse) },
		},
		{
			name: "empty 200 body",
			answer: func(w http.ResponseWriter, n int) {
				w.Header().Set("Content-Type", "application/json")
			},
			wantCalls: 4,
			wantErr:   func(err error) bool { return errors.Is(err, ErrInvalidResponse) },
		},
		{
			name: "truncated JSON",
			answer: func(w http.ResponseWriter, n int) {
				w.Write(notFound[:len(notFound)/2])
			},
			wantCalls: 4,
			wantErr:   func(err error) bool { return errors.Is(err, ErrInvalidResponse) },
		},
		{
			name: "data null without errors",
			answer: func(w http.ResponseWriter, n int) {
				fmt.Fprint(w, `{"data":null}`)
			},
			wantCalls: 1,
			wantErr:   func(err error) bool { return errors.Is(err, ErrInvalidResponse) },
		},
		{
			name: "FORBIDDEN for the whole query fails every repository",
			answer: func(w http.ResponseWriter, n int) {
				fmt.Fprint(w, `{"data":null,"errors":[{"type":"FORBIDDEN","message":"Resource not accessible by integration"}]}`)
			},
			wantCalls: 1,
			wantErr: func(err error) bool {
				var ge *GraphQLError
				return errors.As(err, &ge) && ge.Type == "FORBIDDEN"
			},
		},
		{
			name: "500 retried then succeeds",
			answer: func(w http.ResponseWriter, n int) {
				if n < 3 {
					http.Error(w, "oops", 500)
					return
				}
				w.Write(notFound)
			},
			wantCalls: 3, wantOK: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux, _ := setup(t, nil)
			serveOneInstallation(t, mux)
			var calls atomic.Int32
			mux.HandleFunc("POST /api/graphql", func(w http.ResponseWriter, r *http.Request) {
				tt.answer(w, int(calls.Add(1)))
			})
			start := time.Now()
			snap, err := c.Snapshot(t.Context())
			if err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			if calls.Load() != tt.wantCalls {
				t.Errorf("%d graphql requests, want %d", calls.Load(), tt.wantCalls)
			}
			repos := snap.Installations[0].Repos
			if len(repos) != 3 {
				t.Fatalf("%d repositories, want 3", len(repos))
			}
			if tt.wantOK {
				if repos[0].Err != nil || repos[2].Err != nil {
					t.Errorf("errors after retry: %v, %v", repos[0].Err, repos[2].Err)
				}
				if strings.Contains(tt.name, "Retry-After") && time.Since(start) < 500*time.Millisecond {
					t.Errorf("rate limit not waited for: %s", time.Since(start))
				}
				return
			}
			for _, rr := range repos {
				if rr.Err == nil || !tt.wantErr(rr.Err) {
					t.Errorf("%s: Err = %v", rr.Repo.FullName, rr.Err)
				}
				if len(rr.Specs) != 0 {
					t.Errorf("%s: specs on a failed read", rr.Repo.FullName)
				}
			}
		})
	}
}

func TestSnapshotResourceLimitsHalves(t *testing.T) {
	c, mux, _ := setup(t, nil)
	serveOneInstallation(t, mux)
	var mu sync.Mutex
	var sizes []int
	mux.HandleFunc("POST /api/graphql", func(w http.ResponseWriter, r *http.Request) {
		req := decodeGraphQL(t, r)
		ids, _ := req.Variables["ids"].([]any)
		mu.Lock()
		sizes = append(sizes, len(ids))
		mu.Unlock()
		if len(ids) > 1 {
			serveFile(t, w, "graphql_resource_limits.json")
			return
		}
		id := ids[0].(string)
		fmt.Fprintf(w, `{"data":{"nodes":[{"id":%q,"databaseId":1,"name":"n","owner":{"login":"acme"},"nameWithOwner":"acme/n",
			"url":"u","description":null,"isArchived":false,"isFork":false,"visibility":"PRIVATE","pushedAt":null,
			"defaultBranchRef":null,"repositoryTopics":{"nodes":[]},"spec0":null,"spec1":null}],
			"rateLimit":{"cost":1,"remaining":100,"resetAt":"2030-01-01T00:00:00Z"}}}`, id)
	})
	snap, err := c.Snapshot(t.Context())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	for _, rr := range snap.Installations[0].Repos {
		if rr.Err != nil {
			t.Errorf("%s: %v", rr.Repo.NodeID, rr.Err)
		}
	}
	// 3 -> (1, 2) -> (1, 1, 1): requests of 3, 1, 2, 1, 1.
	if diff := cmp.Diff([]int{3, 1, 2, 1, 1}, sizes); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
}

func TestSnapshotInstallationListingFails(t *testing.T) {
	c, mux, _ := setup(t, nil)
	mux.HandleFunc("GET /api/v3/app/installations", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	if _, err := c.Snapshot(t.Context()); err == nil {
		t.Fatal("Snapshot succeeded without an installation listing")
	}
}

func TestFilesQueryGolden(t *testing.T) {
	c, mux, _ := setup(t, nil)
	var got graphqlRequest
	mux.HandleFunc("POST /api/graphql", func(w http.ResponseWriter, r *http.Request) {
		got = decodeGraphQL(t, r)
		fmt.Fprint(w, `{"data":{
			"r0":{"f0":{"oid":"a1","byteSize":2,"isBinary":false,"isTruncated":false,"text":"hi"},"f1":null},
			"r1":null,
			"rateLimit":{"cost":1,"remaining":10,"resetAt":"2030-01-01T00:00:00Z"}},
			"errors":[{"type":"NOT_FOUND","path":["r1"],"message":"Could not resolve to a Repository with the name 'acme/gone'."}]}`)
	})
	files := []fileRef{
		{owner: "acme", name: "checkout", rev: "c0ffee", path: "README.md"},
		{owner: "acme", name: "gone", rev: "HEAD", path: "docs/a.md"},
		{owner: "acme", name: "checkout", rev: "c0ffee", path: "docs/missing.md"},
	}
	out := make([]fileRead, len(files))
	c.readFiles(t.Context(), c.installation(1), files, out)
	golden(t, "files_query.golden", got.Query+"\n")
	vars, _ := json.MarshalIndent(got.Variables, "", "  ")
	golden(t, "files_query_variables.golden", string(vars)+"\n")

	if out[0].err != nil || out[0].blob == nil || *out[0].blob.Blob.Text != "hi" {
		t.Errorf("README.md = %+v", out[0])
	}
	var ge *GraphQLError
	if !errors.As(out[1].err, &ge) || ge.Type != "NOT_FOUND" {
		t.Errorf("docs/a.md of a missing repository: err = %v", out[1].err)
	}
	if out[2].err != nil || out[2].blob != nil {
		t.Errorf("missing file = %+v, want no blob and no error", out[2])
	}
	if checkBlob(out[2].blob) == nil {
		t.Error("checkBlob accepts a missing file")
	}
}
