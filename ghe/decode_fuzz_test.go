package ghe

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fuzz targets below serve arbitrary answers to the real client over
// loopback, through its retrying, capturing and decoding path, and check
// with a decoding of their own that garbage never panics and never turns
// into an empty or partial result: each read is an error, or holds all
// that the answer holds.

// fuzzGHE answers the App's REST and GraphQL calls: token requests always
// succeed; the installation listing, repository listing and GraphQL answer
// with the bodies set last (or fixed good ones).
type fuzzGHE struct {
	mu                  sync.Mutex
	installs, repos, gq []byte
	srv                 *httptest.Server
}

const (
	goodInstallations = `[{"id":7,"account":{"login":"acme","type":"Organization"}}]`
	goodRepositories  = `{"total_count":2,"repositories":[` +
		`{"id":11,"node_id":"R_11","name":"a","full_name":"acme/a","owner":{"login":"acme"},"default_branch":"main"},` +
		`{"id":12,"node_id":"R_12","name":"b","full_name":"acme/b","owner":{"login":"acme"},"default_branch":"main"}]}`
	goodNode = `{"id":"R_%d","databaseId":%d,"name":"%s","owner":{"login":"acme"},"nameWithOwner":"acme/%s","url":"https://ghe/acme/%s",` +
		`"description":null,"isArchived":false,"isFork":false,"visibility":"PRIVATE","pushedAt":"2024-01-01T00:00:00Z",` +
		`"defaultBranchRef":{"name":"main","target":{"oid":"c0ffee"}},"repositoryTopics":{"nodes":[{"topic":{"name":"go"}}]},` +
		`"spec0":{"oid":"b%d","byteSize":40,"isBinary":false,"isTruncated":false,"text":"identifier: %s\nblueprint: service\n"},"spec1":null}`
)

func goodGraphQL() string {
	return `{"data":{"nodes":[` + fmt.Sprintf(goodNode, 11, 11, "a", "a", "a", 11, "a") + "," +
		fmt.Sprintf(goodNode, 12, 12, "b", "b", "b", 12, "b") + `],"rateLimit":{"cost":1,"remaining":4999,"resetAt":"2030-01-01T00:00:00Z"}}}`
}

func newFuzzGHE(f *testing.F) *fuzzGHE {
	g := &fuzzGHE{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		g.mu.Lock()
		var body []byte
		switch {
		case strings.HasSuffix(r.URL.Path, "/access_tokens"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"token":"ghs_fuzz","expires_at":%q}`, time.Now().Add(time.Hour).Format(time.RFC3339))
			g.mu.Unlock()
			return
		case r.URL.Path == "/api/v3/app/installations":
			body = g.installs
		case r.URL.Path == "/api/v3/installation/repositories":
			body = g.repos
		case r.URL.Path == "/api/graphql":
			body = g.gq
		}
		g.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(body)
	}))
	f.Cleanup(g.srv.Close)
	return g
}

func (g *fuzzGHE) set(installs, repos, gq string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.installs, g.repos, g.gq = []byte(installs), []byte(repos), []byte(gq)
}

func (g *fuzzGHE) client(t *testing.T) *Client {
	_, pemKey := mustKey(t)
	opts := fastOptions(g.srv.URL+"/api/v3", g.srv.URL+"/api/graphql", pemKey)
	opts.MaxRetries = -1 // garbage stays garbage; retries are tested elsewhere
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// positiveInt reports whether v is a JSON number that is a positive integer.
func positiveInt(v any) (int64, bool) {
	n, ok := v.(float64)
	if !ok || n <= 0 || n != float64(int64(n)) {
		return 0, false
	}
	return int64(n), true
}

// FuzzInstallationsAnswer serves arbitrary bodies as GET /app/installations.
func FuzzInstallationsAnswer(f *testing.F) {
	for _, s := range []string{
		goodInstallations, `[]`, `[{"id":7}]`, `[{"id":0,"account":{}}]`, `[{"id":7,"account":{"login":"a"}},{"id":7,"account":{"login":"a"}}]`,
		`{"message":"Server Error"}`, `null`, ``, `<html>maintenance</html>`, `[{"id":7,"account":{"login":"a"}}`, `[null]`, `[{"id":1.5,"account":{}}]`,
	} {
		f.Add([]byte(s))
	}
	g := newFuzzGHE(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		g.set(string(body), goodRepositories, goodGraphQL())
		got, err := g.client(t).Installations(context.Background())
		if err != nil {
			return
		}
		var list []*struct {
			ID      any `json:"id"`
			Account any `json:"account"`
		}
		if json.Unmarshal(body, &list) != nil || list == nil {
			t.Fatalf("installations answer %q gave %d installations and no error", body, len(got))
		}
		ids := map[int64]bool{}
		for _, in := range list {
			id, ok := int64(0), false
			if in != nil {
				id, ok = positiveInt(in.ID)
			}
			if _, isObj := in.Account.(map[string]any); !ok || !isObj {
				t.Fatalf("installation %+v of answer %q was accepted", in, body)
			}
			ids[id] = true
		}
		if len(got) != len(ids) {
			t.Fatalf("answer holds %d installations, client returned %d", len(ids), len(got))
		}
	})
}

// FuzzRepositoriesAnswer serves arbitrary bodies as GET
// /installation/repositories.
func FuzzRepositoriesAnswer(f *testing.F) {
	for _, s := range []string{
		goodRepositories, `{"total_count":0,"repositories":[]}`, `{"total_count":3,"repositories":[]}`, `{"repositories":[]}`,
		`{"total_count":0}`, `{"total_count":1,"repositories":[{"id":1,"node_id":"","owner":{}}]}`, `{}`, `[]`, ``, `<html></html>`,
		`{"total_count":1,"repositories":[{"id":1,"node_id":"R","owner":{"login":"a"}}`,
	} {
		f.Add([]byte(s))
	}
	g := newFuzzGHE(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		g.set(goodInstallations, string(body), goodGraphQL())
		got, err := g.client(t).Repositories(context.Background(), 7)
		if err != nil {
			return
		}
		var page *struct {
			TotalCount   any `json:"total_count"`
			Repositories any `json:"repositories"`
		}
		if json.Unmarshal(body, &page) != nil || page == nil {
			t.Fatalf("repositories answer %q gave %d repositories and no error", body, len(got))
		}
		total, isNum := page.TotalCount.(float64)
		list, isList := page.Repositories.([]any)
		if !isNum || !isList {
			t.Fatalf("repositories answer %q without total_count or list gave %d repositories", body, len(got))
		}
		ids := map[int64]bool{}
		for _, x := range list {
			b, _ := json.Marshal(x)
			var r *struct {
				ID     any `json:"id"`
				NodeID any `json:"node_id"`
				Owner  any `json:"owner"`
			}
			_ = json.Unmarshal(b, &r)
			id, ok := int64(0), false
			if r != nil {
				id, ok = positiveInt(r.ID)
			}
			node, _ := r.NodeID.(string)
			if _, isObj := r.Owner.(map[string]any); !ok || node == "" || !isObj {
				t.Fatalf("repository %s of answer %q was accepted", b, body)
			}
			ids[id] = true
		}
		if len(got) != len(ids) || float64(len(got)) < total {
			t.Fatalf("answer holds %d repositories (total_count %v), client returned %d", len(ids), total, len(got))
		}
	})
}

// FuzzGraphQLAnswer serves arbitrary bodies as the GraphQL answer of a
// snapshot of two repositories.
func FuzzGraphQLAnswer(f *testing.F) {
	good := goodGraphQL()
	for _, s := range []string{
		good,
		strings.Replace(good, `"spec1":null`, `"spec1":{"oid":"x","byteSize":1,"isBinary":false,"isTruncated":false,"text":"["}`, 1),
		`{"data":{"nodes":[],"rateLimit":null}}`,
		`{"data":{"nodes":[null,null]}}`,
		`{"data":null,"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded"}]}`,
		`{"data":null,"errors":[{"message":"Something went wrong while executing your query. This may be the result of a timeout"}]}`,
		`{"data":null,"errors":[{"type":"RESOURCE_LIMITS_EXCEEDED","message":"too big"}]}`,
		`{"data":null}`,
		`{"errors":[{"type":"NOT_FOUND","path":["nodes",1],"message":"nope"}],"data":{"nodes":[` + fmt.Sprintf(goodNode, 11, 11, "a", "a", "a", 11, "a") + `,null]}}`,
		`{"data":{"nodes":[{"id":"R_12"},{"id":"R_11"}]}}`,
		`{"data":{"nodes":[{"id":"R_11","spec0":{}},{"id":"R_12","spec0":{"oid":"o","text":null}}]}}`,
		good[:len(good)/2],
		``,
		`<!DOCTYPE html><html>maintenance</html>`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	g := newFuzzGHE(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		g.set(goodInstallations, goodRepositories, string(body))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		snap, err := g.client(t).Snapshot(ctx)
		if err != nil {
			t.Fatalf("snapshot failed with good REST answers: %v", err)
		}
		if len(snap.Installations) != 1 || snap.Installations[0].Err != nil || len(snap.Installations[0].Repos) != 2 {
			t.Fatalf("snapshot lost the listing: %+v", snap.Installations)
		}
		var answer *struct {
			Data *struct {
				Nodes []any `json:"nodes"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &answer)
		for i, rr := range snap.Installations[0].Repos {
			if rr.Err != nil {
				continue
			}
			if answer == nil || answer.Data == nil || len(answer.Data.Nodes) != 2 {
				t.Fatalf("repository %s read from answer %q without two nodes", rr.Repo.FullName, body)
			}
			node, _ := answer.Data.Nodes[i].(map[string]any)
			idOK := false
			specs, exact := 0, true
			for k, v := range node {
				if strings.EqualFold(k, "id") && v == rr.Repo.NodeID {
					idOK = true
				}
				for _, alias := range []string{"spec0", "spec1"} {
					if strings.EqualFold(k, alias) {
						exact = exact && k == alias
						if _, isObj := v.(map[string]any); isObj {
							specs++
						}
					}
				}
			}
			if !idOK {
				t.Fatalf("repository %s read from node %v of answer %q", rr.Repo.FullName, node, body)
			}
			if exact && specs != len(rr.Specs) {
				t.Fatalf("node of %s holds %d spec files, client returned %d (answer %q)", rr.Repo.FullName, specs, len(rr.Specs), body)
			}
		}
	})
}
