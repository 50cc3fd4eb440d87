package ghetest

import (
	"fmt"
	"testing"
)

// TestWithAndWithoutSchema runs one query with the schema and without it
// (the demo's mode when no schema is present): the answers are the same.
func TestWithAndWithoutSchema(t *testing.T) {
	const q = `query($ids:[ID!]!, $n:Int!){nodes(ids:$ids){__typename ...R}}
fragment R on Node { ... on Repository { name repositoryTopics(first:$n){totalCount nodes{topic{name}}} owner{... on Organization{login}} f: object(expression:"HEAD:a"){... on GitObject{oid}} } }`
	var answers []string
	for _, withSchema := range []bool{true, false} {
		t.Run(fmt.Sprint("schema ", withSchema), func(t *testing.T) {
			e := newEnv(t, Options{})
			if !withSchema {
				e.s.Close()
				e.s = New(Options{AppID: 42, PublicKey: &e.key.PublicKey})
				t.Cleanup(e.s.Close)
			}
			acme := e.s.AddInstallation("acme", "Organization")
			r := e.s.AddRepo(acme, Repo{Name: "r", Topics: []string{"x", "y", "z"}, Files: map[string]string{"a": "b"}})
			res, resp := e.graphql(e.token(acme), q, map[string]any{"ids": []string{r.NodeID}, "n": 2})
			if len(res.Errors) > 0 {
				t.Fatalf("errors %s", resp.body)
			}
			answers = append(answers, string(resp.body))
		})
	}
	if len(answers) == 2 && answers[0] != answers[1] {
		t.Errorf("with schema:\n%s\nwithout:\n%s", answers[0], answers[1])
	}
}
