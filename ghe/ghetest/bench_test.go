package ghetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkGraphQLPage measures one page of 100 repositories with their
// spec file, the client's main query.
func BenchmarkGraphQLPage(b *testing.B) {
	schema, err := testSchema()
	if err != nil {
		b.Fatal(err)
	}
	key, err := testKey()
	if err != nil {
		b.Fatal(err)
	}
	s := NewForTest(b, Options{Schema: schema, AppID: 42, PublicKey: &key.PublicKey, RateLimit: 1 << 30})
	acme := s.AddInstallation("acme", "Organization")
	var ids []string
	for i := range 100 {
		ids = append(ids, s.AddRepo(acme, Repo{Name: fmt.Sprintf("r%03d", i), Files: gitFixture}).NodeID)
	}
	query, err := os.ReadFile(filepath.Join("testdata", "repositories.graphql"))
	if err != nil {
		b.Fatal(err)
	}
	jwt, err := SignAppJWT(key, 42, s.now())
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/app/installations/%d/access_tokens", s.APIURL(), acme), nil)
	req.Header.Set("Authorization", "Bearer "+jwt)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	var tok struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	body, _ := json.Marshal(map[string]any{"query": string(query), "variables": map[string]any{"ids": ids}})
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest("POST", s.GraphQLURL(), bytes.NewReader(body))
		req.Header.Set("Authorization", "bearer "+tok.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n < 10000 {
			b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
		}
	}
}
