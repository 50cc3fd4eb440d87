package ghetest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestGraphQLRepositoryOwnerRepositories(t *testing.T) {
	e := newEnv(t, Options{})
	acme := e.s.AddInstallation("acme", "Organization")
	other := e.s.AddInstallation("other", "Organization")
	for i := range 5 {
		files := map[string]string{"README.md": "hi\n"}
		if i%2 == 0 {
			files["glint.yml"] = fmt.Sprintf("identifier: s%d\nblueprint: service\n", i)
		}
		e.s.AddRepo(acme, Repo{Name: fmt.Sprintf("r%d", i), Topics: []string{"go"}, Files: files, Archived: i == 4})
	}
	e.s.AddRepo(acme, Repo{Name: "empty"})
	e.s.AddRepo(other, Repo{Name: "secret", Files: map[string]string{"glint.yml": "x: 1\n"}})
	e.s.DeselectRepo(acme, "acme/r3")
	tok := e.token(acme)

	query, err := os.ReadFile(filepath.Join("testdata", "backstage_repositories.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	type page struct {
		names   []any
		files   []any
		hasNext bool
		cursor  any
	}
	get := func(org string, cursor any) (page, gqlResult) {
		vars := map[string]any{"org": org, "catalogPathRef": "HEAD:glint.yml", "repositoriesPageSize": 2, "cursor": cursor}
		res, r := e.graphql(tok, string(query), vars)
		if len(res.Errors) > 0 {
			t.Fatalf("errors: %s", r.body)
		}
		var p page
		conn := dig(res.Data, "repositoryOwner", "repositories")
		nodes, _ := dig(conn, "nodes").([]any)
		for _, n := range nodes {
			p.names = append(p.names, dig(n, "name"))
			p.files = append(p.files, dig(n, "catalogInfoFile", "__typename"))
		}
		p.hasNext, _ = dig(conn, "pageInfo", "hasNextPage").(bool)
		p.cursor = dig(conn, "pageInfo", "endCursor")
		return p, res
	}

	var names, files []any
	var cursor any
	pages := 0
	for {
		p, _ := get("ACME", cursor)
		pages++
		names = append(names, p.names...)
		files = append(files, p.files...)
		if !p.hasNext {
			break
		}
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		cursor = p.cursor
	}
	// r3 is deselected; the other installation's repository is not listed;
	// archived and empty repositories are.
	wantNames := []any{"r0", "r1", "r2", "r4", "empty"}
	wantFiles := []any{"Blob", nil, "Blob", "Blob", nil}
	if fmt.Sprint(names) != fmt.Sprint(wantNames) || fmt.Sprint(files) != fmt.Sprint(wantFiles) {
		t.Errorf("listing = %v %v, want %v %v", names, files, wantNames, wantFiles)
	}
	if pages != 3 {
		t.Errorf("pages = %d, want 3 of 2", pages)
	}

	// An unknown owner is null, without an error.
	res, _ := e.graphql(tok, string(query), map[string]any{"org": "nobody", "catalogPathRef": "HEAD:glint.yml", "repositoriesPageSize": 100})
	if len(res.Errors) > 0 || res.Data["repositoryOwner"] != nil {
		t.Errorf("unknown owner: data %v errors %v", res.Data, res.Errors)
	}
}

func TestGraphQLRepositoriesArguments(t *testing.T) {
	e := newEnv(t, Options{})
	acme := e.s.AddInstallation("acme", "Organization")
	e.s.AddRepo(acme, Repo{Name: "b", Fork: true, Visibility: "public"})
	e.s.AddRepo(acme, Repo{Name: "c", Archived: true})
	e.s.AddRepo(acme, Repo{Name: "a", Visibility: "internal"})
	tok := e.token(acme)
	const q = `query($f: Boolean, $a: Boolean, $p: RepositoryPrivacy, $o: RepositoryOrder) {
  organization(login: "acme") { repositories(first: 10, isFork: $f, isArchived: $a, privacy: $p, orderBy: $o) { totalCount nodes { name } } }
}`
	for _, tc := range []struct {
		name string
		vars map[string]any
		want string
	}{
		{"all, creation order", nil, "[b c a]"},
		{"forks", map[string]any{"f": true}, "[b]"},
		{"not archived", map[string]any{"a": false}, "[b a]"},
		{"private", map[string]any{"p": "PRIVATE"}, "[c a]"},
		{"public", map[string]any{"p": "PUBLIC"}, "[b]"},
		{"by name", map[string]any{"o": map[string]any{"field": "NAME", "direction": "ASC"}}, "[a b c]"},
		{"by name desc", map[string]any{"o": map[string]any{"field": "NAME", "direction": "DESC"}}, "[c b a]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, r := e.graphql(tok, q, tc.vars)
			if len(res.Errors) > 0 {
				t.Fatalf("errors: %s", r.body)
			}
			var names []any
			nodes, _ := dig(res.Data, "organization", "repositories", "nodes").([]any)
			for _, n := range nodes {
				names = append(names, dig(n, "name"))
			}
			if got := fmt.Sprint(names); got != tc.want {
				t.Errorf("names = %s, want %s", got, tc.want)
			}
			if n := dig(res.Data, "organization", "repositories", "totalCount"); n != float64(len(nodes)) {
				t.Errorf("totalCount = %v, want %d", n, len(nodes))
			}
		})
	}
}
