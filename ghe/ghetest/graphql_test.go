package ghetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gitFixture is the repository whose object ids `git` computed in
// testdata/git-oids.txt: see that file.
var gitFixture = map[string]string{
	"README.md":         "hello\n",
	".github/glint.yml": "services:\n  - identifier: checkout\n",
	"docs/a.txt":        "x",
}

// readOIDs reads testdata/git-oids.txt: "<expression> <oid>" lines.
func readOIDs(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "git-oids.txt"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		expr, oid, _ := strings.Cut(line, " ")
		out[expr] = oid
	}
	return out
}

func TestGraphQLRepositoryPage(t *testing.T) {
	e := newEnv(t, Options{})
	acme := e.s.AddInstallation("acme", "Organization")
	pushed := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	checkout := e.s.AddRepo(acme, Repo{Name: "checkout", Description: "Checkout", Topics: []string{"go", "payments"},
		PushedAt: pushed, Files: gitFixture, Visibility: "internal"})
	empty := e.s.AddRepo(acme, Repo{Name: "empty", Archived: true, Fork: true, Visibility: "public"})
	tok := e.token(acme)
	oids := readOIDs(t)

	query, err := os.ReadFile(filepath.Join("testdata", "repositories.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	res, r := e.graphql(tok, string(query), map[string]any{"ids": []string{checkout.NodeID, empty.NodeID}})
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %s", r.body)
	}
	c := dig(res.Data, "repos", 0)
	for path, want := range map[string]any{
		"__typename":                         "Repository",
		"id":                                 checkout.NodeID,
		"databaseId":                         float64(checkout.ID),
		"nameWithOwner":                      "acme/checkout",
		"owner.login":                        "acme",
		"owner.__typename":                   "Organization",
		"url":                                e.s.URL() + "/acme/checkout",
		"description":                        "Checkout",
		"isArchived":                         false,
		"isPrivate":                          true,
		"visibility":                         "INTERNAL",
		"pushedAt":                           "2024-05-06T07:08:09Z",
		"defaultBranchRef.name":              "main",
		"defaultBranchRef.target.oid":        e.s.HeadOID("acme/checkout"),
		"defaultBranchRef.target.__typename": "Commit",
		"defaultBranchRef.target.tree.oid":   oids["HEAD^{tree}"],
		"topics.totalCount":                  float64(2),
		"spec.__typename":                    "Blob",
		"spec.oid":                           oids["HEAD:.github/glint.yml"],
		"spec.byteSize":                      float64(len(gitFixture[".github/glint.yml"])),
		"spec.isBinary":                      false,
		"spec.isTruncated":                   false,
		"spec.text":                          gitFixture[".github/glint.yml"],
		"root.__typename":                    "Tree",
		"root.oid":                           oids["HEAD^{tree}"],
		"missing":                            nil,
		"byBranch.oid":                       oids["HEAD:.github/glint.yml"],
		"github.oid":                         oids["HEAD:.github"],
	} {
		var got any = c
		for _, k := range strings.Split(path, ".") {
			got = dig(got, k)
		}
		if got != want {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
	if got := fmt.Sprint(dig(c, "topics", "nodes")); got != "[map[topic:map[name:go]] map[topic:map[name:payments]]]" {
		t.Errorf("topics %s", got)
	}
	var entries []string
	for _, en := range dig(c, "root", "entries").([]any) {
		entries = append(entries, fmt.Sprintf("%s %s %s %s", dig(en, "name"), dig(en, "path"), dig(en, "type"), dig(en, "oid")))
	}
	wantEntries := []string{
		".github .github tree " + oids["HEAD:.github"],
		"README.md README.md blob " + oids["HEAD:README.md"],
		"docs docs tree " + oids["HEAD:docs"],
	}
	if strings.Join(entries, "\n") != strings.Join(wantEntries, "\n") {
		t.Errorf("root entries\n%s\nwant\n%s", strings.Join(entries, "\n"), strings.Join(wantEntries, "\n"))
	}

	em := dig(res.Data, "repos", 1)
	for path, want := range map[string]any{
		"nameWithOwner":     "acme/empty",
		"isArchived":        true,
		"isFork":            true,
		"isPrivate":         false,
		"visibility":        "PUBLIC",
		"description":       nil,
		"defaultBranchRef":  nil,
		"spec":              nil,
		"topics.totalCount": float64(0),
	} {
		var got any = em
		for _, k := range strings.Split(path, ".") {
			got = dig(got, k)
		}
		if got != want {
			t.Errorf("empty repo %s = %#v, want %#v", path, got, want)
		}
	}

	rl := dig(res.Data, "rateLimit").(map[string]any)
	if rl["cost"] != float64(1) || rl["limit"] != float64(5000) || rl["remaining"] != float64(4999) || rl["used"] != float64(1) {
		t.Errorf("rateLimit %v", rl)
	}
	if _, err := time.Parse(time.RFC3339, rl["resetAt"].(string)); err != nil {
		t.Errorf("resetAt %v: %v", rl["resetAt"], err)
	}
	if r.header.Get("X-RateLimit-Resource") != "graphql" || r.header.Get("X-RateLimit-Remaining") != "4999" {
		t.Errorf("headers %v", r.header)
	}
	if st := e.s.Stats(); st.PointsUsed != 1 || st.NodesRequested != 2 || st.GraphQLQueries != 1 || st.Count(RouteGraphQL, 200) != 1 {
		t.Errorf("stats %+v", st)
	}

	t.Run("commit changes oids", func(t *testing.T) {
		e := e.with(t)
		before := e.s.HeadOID("acme/checkout")
		e.s.SetFile("acme/checkout", ".github/glint.yml", "changed\n")
		if e.s.HeadOID("acme/checkout") == before {
			t.Fatal("SetFile kept the head commit")
		}
		res, _ := e.graphql(tok, `query($o:String!,$n:String!){repository(owner:$o,name:$n){object(expression:"HEAD:.github/glint.yml"){... on Blob{oid text}} old: object(expression:"`+before+`:.github/glint.yml"){... on Blob{oid}}}}`,
			map[string]any{"o": "acme", "n": "checkout"})
		if got := dig(res.Data, "repository", "object", "oid"); got != gitBlobOID([]byte("changed\n")) {
			t.Errorf("new blob oid %v", got)
		}
		if got := dig(res.Data, "repository", "old", "oid"); got != oids["HEAD:.github/glint.yml"] {
			t.Errorf("old commit's blob oid %v", got)
		}
		e.s.RemoveFile("acme/checkout", ".github/glint.yml")
		res, _ = e.graphql(tok, `{repository(owner:"ACME",name:"Checkout"){object(expression:"HEAD:.github/glint.yml"){oid}}}`, nil)
		if o := dig(res.Data, "repository"); o == nil || dig(o, "object") != nil {
			t.Errorf("removed file: %v", res.Data)
		}
	})
}

func TestGraphQLBlobs(t *testing.T) {
	e := newEnv(t, Options{})
	acme := e.s.AddInstallation("acme", "User")
	e.s.AddRepo(acme, Repo{Name: "files"})
	big := strings.Repeat("é", maxBlobText) // 2 bytes a rune: twice the limit
	e.s.SetFile("acme/files", "big.txt", big)
	e.s.SetBinaryFile("acme/files", "logo.png", []byte("\x89PNG\r\n\x1a\n\x00\x00"))
	e.s.SetFile("acme/files", "small.txt", "small")
	tok := e.token(acme)
	res, r := e.graphql(tok, `{r: repository(owner:"acme", name:"files") {
		owner { __typename login }
		big: object(expression:"HEAD:big.txt") { ... on Blob { byteSize isBinary isTruncated text } }
		bin: object(expression:"main:logo.png") { ... on Blob { byteSize isBinary isTruncated text } }
		small: object(expression:"refs/heads/main:small.txt") { ... on Blob { isTruncated text } }
		unknownBranch: object(expression:"dev:small.txt") { id }
		commit: object(expression:"HEAD") { __typename ... on Commit { messageHeadline } }
	}}`, nil)
	if len(res.Errors) > 0 {
		t.Fatalf("errors %s", r.body)
	}
	b := dig(res.Data, "r", "big")
	text, _ := dig(b, "text").(string)
	if dig(b, "byteSize") != float64(len(big)) || dig(b, "isTruncated") != true || dig(b, "isBinary") != false || len(text) != maxBlobText || !strings.HasPrefix(big, text) {
		t.Errorf("big blob: size %v truncated %v binary %v text %d bytes", dig(b, "byteSize"), dig(b, "isTruncated"), dig(b, "isBinary"), len(text))
	}
	bin := dig(res.Data, "r", "bin")
	if dig(bin, "isBinary") != true || dig(bin, "text") != nil || dig(bin, "byteSize") != float64(10) {
		t.Errorf("binary blob %v", bin)
	}
	if dig(res.Data, "r", "small", "text") != "small" || dig(res.Data, "r", "unknownBranch") != nil {
		t.Errorf("small %v unknown branch %v", dig(res.Data, "r", "small"), dig(res.Data, "r", "unknownBranch"))
	}
	if dig(res.Data, "r", "owner", "__typename") != "User" || dig(res.Data, "r", "commit", "messageHeadline") != "Update small.txt" {
		t.Errorf("owner %v commit %v", dig(res.Data, "r", "owner"), dig(res.Data, "r", "commit"))
	}
}

func TestGraphQLTokenScoping(t *testing.T) {
	e := newEnv(t, Options{})
	acme := e.s.AddInstallation("acme", "Organization")
	globex := e.s.AddInstallation("globex", "Organization")
	a := e.s.AddRepo(acme, Repo{Name: "a"})
	b := e.s.AddRepo(globex, Repo{Name: "b"})
	gone := e.s.AddRepo(acme, Repo{Name: "gone"})
	hidden := e.s.AddRepo(acme, Repo{Name: "hidden"})
	e.s.RemoveRepo("acme/gone")
	e.s.DeselectRepo(acme, "acme/hidden")
	tok := e.token(acme)

	res, _ := e.graphql(tok, `query($ids:[ID!]!){nodes(ids:$ids){... on Repository{nameWithOwner}} org: organization(login:"acme"){login name} other: repository(owner:"globex",name:"b"){name}}`,
		map[string]any{"ids": []string{b.NodeID, a.NodeID, gone.NodeID, hidden.NodeID, "garbage"}})
	nodes, _ := dig(res.Data, "nodes").([]any)
	if len(nodes) != 5 || nodes[0] != nil || dig(nodes[1], "nameWithOwner") != "acme/a" || nodes[2] != nil || nodes[3] != nil || nodes[4] != nil {
		t.Errorf("nodes %v", nodes)
	}
	if dig(res.Data, "org", "login") != "acme" || dig(res.Data, "other") != nil {
		t.Errorf("data %v", res.Data)
	}
	var got []string
	for _, er := range res.Errors {
		got = append(got, fmt.Sprintf("%s %v %s", er.Type, er.Path, er.Message))
		if len(er.Locations) != 1 {
			t.Errorf("error without a location: %+v", er)
		}
	}
	want := []string{
		fmt.Sprintf("NOT_FOUND [nodes 0] Could not resolve to a node with the global id of '%s'", b.NodeID),
		fmt.Sprintf("NOT_FOUND [nodes 2] Could not resolve to a node with the global id of '%s'", gone.NodeID),
		fmt.Sprintf("NOT_FOUND [nodes 3] Could not resolve to a node with the global id of '%s'", hidden.NodeID),
		"NOT_FOUND [nodes 4] Could not resolve to a node with the global id of 'garbage'",
		"NOT_FOUND [other] Could not resolve to a Repository with the name 'globex/b'.",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	res, _ = e.graphql(e.token(globex), `query($id:ID!){node(id:$id){id ... on Repository{name}}}`, map[string]any{"id": b.NodeID})
	if dig(res.Data, "node", "name") != "b" || len(res.Errors) != 0 {
		t.Errorf("own node: %+v", res)
	}
}

func TestGraphQLRefusesInvalidQueries(t *testing.T) {
	tests := []struct {
		name, query string
		vars        map[string]any
		message     string
	}{
		{"unknown field", `{ repository(owner:"a", name:"b") { nope } }`, nil, `Cannot query field "nope" on type "Repository".`},
		{"missing argument", `{ repository(owner:"a") { name } }`, nil, `Field "repository" argument "name" of type "String!" is required, but it was not provided.`},
		{"parse error", `{ repository(owner:"a", name:"b") { name }`, nil, `Expected Name, found <EOF>`},
		{"bad variable", `query($ids:[ID!]!){ nodes(ids:$ids){ id } }`, map[string]any{"ids": 3}, ""},
		{"missing variable", `query($ids:[ID!]!){ nodes(ids:$ids){ id } }`, nil, "must be defined"},
		{"101 node ids", `query($ids:[ID!]!){ nodes(ids:$ids){ id } }`, map[string]any{"ids": ids(101)}, "You may not provide more than 100 node ids; you provided 101."},
		{"no pagination bounds", `{ repository(owner:"a", name:"b") { repositoryTopics { totalCount } } }`, nil, "You must provide a `first` or `last` value to properly paginate the `repositoryTopics` connection."},
		{"page over 100", `{ repository(owner:"a", name:"b") { repositoryTopics(first: 101) { totalCount } } }`, nil, "Requesting 101 records on the `repositoryTopics` connection exceeds the `first` limit of 100 records."},
		{"last over 100 from a variable", `query($n:Int=500){ repository(owner:"a", name:"b") { repositoryTopics(last: $n) { totalCount } } }`, nil, "Requesting 500 records on the `repositoryTopics` connection exceeds the `last` limit of 100 records."},
		{"two anonymous operations", `{ rateLimit { cost } } { rateLimit { used } }`, nil, "This anonymous operation must be the only defined operation."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newLaxEnv(t, Options{})
			acme := e.s.AddInstallation("a", "Organization")
			e.s.AddRepo(acme, Repo{Name: "b"})
			res, r := e.graphql(e.token(acme), tt.query, tt.vars)
			if res.Data != nil || len(res.Errors) == 0 || strings.Contains(string(r.body), `"data"`) {
				t.Fatalf("answer %s, want errors and no data", r.body)
			}
			if tt.message != "" && !strings.Contains(res.Errors[0].Message, tt.message) {
				t.Errorf("message %q, want it to contain %q", res.Errors[0].Message, tt.message)
			}
			if inv := e.s.InvalidQueries(); len(inv) != 1 || inv[0] != tt.query {
				t.Errorf("InvalidQueries %q", inv)
			}
			if st := e.s.Stats(); st.GraphQLQueries != 0 || st.PointsUsed != 0 {
				t.Errorf("refused query was executed: %+v", st)
			}
		})
	}
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = encodeNodeID("R", int64(i+1))
	}
	return out
}

func TestGraphQLHundredIDs(t *testing.T) {
	e := newEnv(t, Options{})
	acme := e.s.AddInstallation("acme", "Organization")
	var want []string
	for i := range 100 {
		want = append(want, e.s.AddRepo(acme, Repo{Name: fmt.Sprintf("r%d", i)}).NodeID)
	}
	res, r := e.graphql(e.token(acme), `query($ids:[ID!]!){nodes(ids:$ids){id}}`, map[string]any{"ids": want})
	if len(res.Errors) > 0 || len(dig(res.Data, "nodes").([]any)) != 100 {
		t.Errorf("100 ids: %s", r.body[:min(len(r.body), 300)])
	}
}

func TestGraphQLConnectionPaging(t *testing.T) {
	e := newEnv(t, Options{})
	acme := e.s.AddInstallation("acme", "Organization")
	e.s.AddRepo(acme, Repo{Name: "r", Topics: []string{"a", "b", "c", "d", "e"}})
	tok := e.token(acme)
	var names []string
	var after any
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		res, r := e.graphql(tok, `query($after:String){repository(owner:"acme",name:"r"){repositoryTopics(first:2, after:$after){totalCount pageInfo{hasNextPage endCursor} edges{cursor node{topic{name}}}}}}`,
			map[string]any{"after": after})
		if len(res.Errors) > 0 {
			t.Fatalf("errors %s", r.body)
		}
		conn := dig(res.Data, "repository", "repositoryTopics")
		for _, ed := range dig(conn, "edges").([]any) {
			names = append(names, dig(ed, "node", "topic", "name").(string))
		}
		if dig(conn, "pageInfo", "hasNextPage") != true {
			break
		}
		after = dig(conn, "pageInfo", "endCursor")
	}
	if strings.Join(names, "") != "abcde" {
		t.Errorf("paged topics %v", names)
	}
	res, _ := e.graphql(tok, `{repository(owner:"acme",name:"r"){repositoryTopics(last:2){nodes{topic{name}} pageInfo{hasPreviousPage}}}}`, nil)
	if got := fmt.Sprint(dig(res.Data, "repository", "repositoryTopics")); got != "map[nodes:[map[topic:map[name:d]] map[topic:map[name:e]]] pageInfo:map[hasPreviousPage:true]]" {
		t.Errorf("last 2: %s", got)
	}
}

func TestGraphQLFragmentsVariablesDirectives(t *testing.T) {
	e := newEnv(t, Options{})
	acme := e.s.AddInstallation("acme", "Organization")
	repo := e.s.AddRepo(acme, Repo{Name: "r", Files: map[string]string{"glint.yml": "x"}})
	query := `
query Page($ids: [ID!]!, $path: String = "HEAD:glint.yml", $withOwner: Boolean!) {
  nodes(ids: $ids) { ...Repo }
}
fragment Repo on Node {
  __typename
  ... on Repository {
    n: name
    owner @include(if: $withOwner) { login }
    file: object(expression: $path) { ...Blob }
    ... on RepositoryInfo { isArchived }
  }
}
fragment Blob on GitObject { oid ... on Blob { text } }
query Other { rateLimit { cost } }`
	body := map[string]any{"query": query, "operationName": "Page", "variables": map[string]any{"ids": []string{repo.NodeID}, "withOwner": false}}
	r := e.do("POST", "/api/graphql", "token "+e.token(acme), body)
	var res gqlResult
	r.json(t, &res)
	got, _ := json.Marshal(res.Data)
	want := fmt.Sprintf(`{"nodes":[{"__typename":"Repository","file":{"oid":"%s","text":"x"},"isArchived":false,"n":"r"}]}`, gitBlobOID([]byte("x")))
	if string(got) != want || len(res.Errors) > 0 {
		t.Errorf("got %s\nwant %s\nerrors %+v", got, want, res.Errors)
	}
	if !strings.Contains(string(r.body), `{"__typename":"Repository","n":"r","file"`) {
		t.Errorf("fields not in query order: %s", r.body)
	}
}

func TestGraphQLUnimplementedFieldIsLoud(t *testing.T) {
	e := newLaxEnv(t, Options{})
	acme := e.s.AddInstallation("acme", "Organization")
	e.s.AddRepo(acme, Repo{Name: "r"})
	res, r := e.graphql(e.token(acme), `{ repository(owner:"acme", name:"r") { name stargazerCount } rateLimit { cost } }`, nil)
	if len(res.Errors) != 1 || res.Errors[0].Message != "ghetest: field Repository.stargazerCount not implemented" {
		t.Fatalf("answer %s", r.body)
	}
	// stargazerCount is Int!: its null makes the repository null.
	if _, ok := res.Data["repository"]; !ok || res.Data["repository"] != nil || dig(res.Data, "rateLimit", "cost") != float64(1) {
		t.Errorf("data %v", res.Data)
	}
	if got := e.s.UnimplementedFields(); len(got) != 1 || got[0] != "Repository.stargazerCount" {
		t.Errorf("UnimplementedFields %v", got)
	}
}

func TestGraphQLAuth(t *testing.T) {
	e := newEnv(t, Options{})
	q := map[string]any{"query": "{ rateLimit { cost } }"}
	if r := e.do("POST", "/api/graphql", "", q); r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), "This endpoint requires you to be authenticated.") {
		t.Errorf("no token: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/graphql", "bearer "+e.jwt(), q); r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), "Bad credentials") {
		t.Errorf("JWT: %d %s", r.status, r.body)
	}
	acme := e.s.AddInstallation("acme", "Organization")
	req, _ := http.NewRequestWithContext(t.Context(), "POST", e.s.GraphQLURL(), strings.NewReader("{not json"))
	req.Header.Set("Authorization", "bearer "+e.token(acme))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad JSON: %d", resp.StatusCode)
	}
}

func TestGraphQLCostAndBudget(t *testing.T) {
	e := newEnv(t, Options{RateLimit: 3})
	acme := e.s.AddInstallation("acme", "Organization")
	var nodeIDs []string
	for i := range 100 {
		nodeIDs = append(nodeIDs, e.s.AddRepo(acme, Repo{Name: fmt.Sprintf("r%d", i), Topics: []string{"x"}}).NodeID)
	}
	tok := e.token(acme)
	// 1 + 100 nested connection requests: cost round(101/100) = 1; nodes 100*50.
	q := `query($ids:[ID!]!){nodes(ids:$ids){... on Repository{repositoryTopics(first:50){totalCount}}} rateLimit{cost nodeCount remaining}}`
	vars := map[string]any{"ids": nodeIDs}
	res, r := e.graphql(tok, q, vars)
	if len(res.Errors) > 0 {
		t.Fatalf("errors %s", r.body[:300])
	}
	if got := fmt.Sprint(res.Data["rateLimit"]); got != "map[cost:1 nodeCount:5000 remaining:2]" {
		t.Errorf("rateLimit %s", got)
	}
	// A dry run reports the cost without charging it.
	q2 := `query{repository(owner:"acme",name:"r0"){repositoryTopics(first:100){nodes{topic{name}}}} rateLimit(dryRun:true){cost remaining}}`
	res, _ = e.graphql(tok, q2, nil)
	if got := fmt.Sprint(res.Data["rateLimit"]); got != "map[cost:1 remaining:2]" {
		t.Errorf("dry run rateLimit %s", got)
	}
	e.graphql(tok, `{rateLimit{cost}}`, nil)
	e.graphql(tok, `{rateLimit{cost}}`, nil)
	res, r = e.graphql(tok, `{rateLimit{cost}}`, nil)
	if len(res.Errors) != 1 || res.Errors[0].Type != "RATE_LIMITED" || res.Errors[0].Message != fmt.Sprintf("API rate limit exceeded for installation ID %d.", acme) || r.header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("over budget: %s %v", r.body, r.header)
	}
	if st := e.s.Stats(); st.PointsUsed != 3 {
		t.Errorf("PointsUsed %d, want 3", st.PointsUsed)
	}
}

func TestNewForTestFailsOnInvalidQueries(t *testing.T) {
	schema, err := testSchema()
	if err != nil {
		t.Fatal(err)
	}
	ft := &fakeTB{}
	s := NewForTest(ft, Options{Schema: schema})
	key, pemBytes := s.GeneratedKey()
	if key == nil || !strings.Contains(string(pemBytes), "RSA PRIVATE KEY") || s.AppID() != 1 {
		t.Fatalf("NewForTest did not set up an App key: %v %d", key != nil, s.AppID())
	}
	e := &env{t: t, s: s, key: key}
	acme := s.AddInstallation("acme", "Organization")
	e.graphql(e.token(acme), `{ viewer { nope } }`, nil)
	ft.cleanup()
	if len(ft.errors) != 1 || !strings.Contains(ft.errors[0], `{ viewer { nope } }`) || !strings.Contains(ft.errors[0], `Cannot query field "nope"`) {
		t.Errorf("cleanup errors %q", ft.errors)
	}
	if len(ft.fatals) != 0 {
		t.Errorf("fatals %q", ft.fatals)
	}
}

func TestNewForTestWithoutSchema(t *testing.T) {
	t.Setenv(SchemaEnv, filepath.Join(t.TempDir(), "missing.graphql"))
	ft := &fakeTB{}
	func() {
		defer func() { _ = recover() }()
		NewForTest(ft, Options{})
	}()
	if len(ft.fatals) != 1 || !strings.Contains(ft.fatals[0], "make schema") {
		t.Errorf("fatals %q", ft.fatals)
	}
}

// fakeTB records what NewForTest reports.
type fakeTB struct {
	errors, fatals []string
	cleanups       []func()
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatals = append(f.fatals, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) cleanup() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}
