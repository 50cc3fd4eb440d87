package ghetest

import (
	"fmt"
	"testing"
)

// teamsQuery is the query ghe sends for the first page of teams.
const teamsQuery = `query($login: String!, $after: String, $first: Int!) {
  organization(login: $login) {
    teams(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        id databaseId slug name description privacy url
        parentTeam { slug }
        members(first: 100, membership: IMMEDIATE) {
          totalCount
          pageInfo { hasNextPage endCursor }
          edges { role node { login name email } }
        }
        repositories(first: 100) {
          totalCount
          pageInfo { hasNextPage endCursor }
          edges { permission node { nameWithOwner } }
        }
      }
    }
  }
  rateLimit { cost nodeCount }
}`

func TestTeamsPage(t *testing.T) {
	e := newEnv(t, Options{})
	acme := e.s.AddInstallation("acme", "Organization")
	e.s.AddRepo(acme, Repo{Name: "checkout"})
	plat := e.s.AddTeam(Team{Org: "acme", Name: "Platform Team", Description: "Runs the platform"})
	if plat.Slug != "platform-team" || plat.ID == 0 || plat.NodeID == "" || plat.Privacy != "VISIBLE" {
		t.Fatalf("AddTeam = %+v", plat)
	}
	e.s.AddTeam(Team{Org: "acme", Name: "SRE", Parent: "platform-team", Privacy: "secret"})
	e.s.AddTeamMember("acme", "platform-team", TeamMember{Login: "alice", Name: "Alice", Email: "alice@acme.test", Role: "MAINTAINER"})
	e.s.AddTeamMember("acme", "platform-team", TeamMember{Login: "bob"})
	e.s.AddTeamMember("acme", "sre", TeamMember{Login: "carol", Email: "carol@acme.test"})
	e.s.AddTeamRepo("acme", "platform-team", "acme/checkout", "write")

	res, r := e.graphql(e.token(acme), teamsQuery, map[string]any{"login": "acme", "first": 50})
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %s", r.body)
	}
	teams := dig(res.Data, "organization", "teams")
	for path, want := range map[string]any{
		"totalCount":                                      float64(2),
		"pageInfo.hasNextPage":                            false,
		"nodes.0.slug":                                    "platform-team",
		"nodes.0.name":                                    "Platform Team",
		"nodes.0.databaseId":                              float64(plat.ID),
		"nodes.0.id":                                      plat.NodeID,
		"nodes.0.description":                             "Runs the platform",
		"nodes.0.privacy":                                 "VISIBLE",
		"nodes.0.url":                                     e.s.URL() + "/orgs/acme/teams/platform-team",
		"nodes.0.parentTeam":                              nil,
		"nodes.0.members.totalCount":                      float64(2),
		"nodes.0.members.edges.0.role":                    "MAINTAINER",
		"nodes.0.members.edges.0.node.login":              "alice",
		"nodes.0.members.edges.0.node.email":              "alice@acme.test",
		"nodes.0.members.edges.1.node.login":              "bob",
		"nodes.0.members.edges.1.node.email":              "",
		"nodes.0.members.edges.1.node.name":               nil,
		"nodes.0.members.edges.1.role":                    "MEMBER",
		"nodes.0.repositories.totalCount":                 float64(1),
		"nodes.0.repositories.edges.0.node.nameWithOwner": "acme/checkout",
		"nodes.0.repositories.edges.0.permission":         "WRITE",
		"nodes.1.slug":                                    "sre",
		"nodes.1.privacy":                                 "SECRET",
		"nodes.1.description":                             nil,
		"nodes.1.parentTeam.slug":                         "platform-team",
		"nodes.1.members.edges.0.node.login":              "carol",
	} {
		if got := digPath(teams, path); got != want {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
}

// digPath is dig with a dotted path whose numeric parts are indexes.
func digPath(v any, path string) any {
	var parts []any
	start := 0
	for i := 0; i <= len(path); i++ {
		if i < len(path) && path[i] != '.' {
			continue
		}
		p := path[start:i]
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err == nil && fmt.Sprint(n) == p {
			parts = append(parts, n)
		} else {
			parts = append(parts, p)
		}
		start = i + 1
	}
	return dig(v, parts...)
}

// TestTeamsCost checks GitHub's documented cost rule: a connection costs
// one request per parent it is fetched for, and the query costs the
// requests divided by 100, rounded (at least 1). teams(first: 100) with
// members(first: 100) is 1 + 100 = 101 requests: 1 point, for up to
// 100 + 100*100 = 10,100 nodes.
func TestTeamsCost(t *testing.T) {
	e := newEnv(t, Options{})
	acme := e.s.AddInstallation("acme", "Organization")
	e.s.AddTeam(Team{Org: "acme", Name: "a"})
	tok := e.token(acme)
	for _, tc := range []struct {
		name            string
		query           string
		cost, nodeCount float64
	}{
		{"teams100 members100", `{ organization(login: "acme") { teams(first: 100) { nodes { members(first: 100) { totalCount } } } } rateLimit { cost nodeCount } }`, 1, 10_100},
		{"ghe first page", teamsQuery, 1, 50 + 50*100 + 50*100},
		{"teams100 members100 repos100", `{ organization(login: "acme") { teams(first: 100) { nodes { members(first: 100) { totalCount } repositories(first: 100) { totalCount } } } } rateLimit { cost nodeCount } }`, 2, 20_100},
		{"teams100 members100 repos100 childTeams100 nested", `{ organization(login: "acme") { teams(first: 100) { nodes { childTeams(first: 100) { nodes { members(first: 100) { totalCount } } } } } } rateLimit { cost nodeCount } }`, 101, 1_010_100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]any{"login": "acme", "first": 50}
			if tc.query != teamsQuery {
				vars = nil
			}
			if tc.nodeCount > maxNodeLimit {
				// Refused before it runs, as GitHub does.
				lax := newLaxEnv(t, Options{})
				in := lax.s.AddInstallation("acme", "Organization")
				res, _ := lax.graphql(lax.token(in), tc.query, vars)
				if len(res.Errors) != 1 || res.Errors[0].Type != "MAX_NODE_LIMIT_EXCEEDED" {
					t.Fatalf("errors = %+v, want MAX_NODE_LIMIT_EXCEEDED", res.Errors)
				}
				return
			}
			res, r := e.graphql(tok, tc.query, vars)
			if len(res.Errors) > 0 {
				t.Fatalf("errors: %s", r.body)
			}
			if got := dig(res.Data, "rateLimit", "cost"); got != tc.cost {
				t.Errorf("cost = %v, want %v", got, tc.cost)
			}
			if got := dig(res.Data, "rateLimit", "nodeCount"); got != tc.nodeCount {
				t.Errorf("nodeCount = %v, want %v", got, tc.nodeCount)
			}
		})
	}
}

func TestTeamsPagingAndNodes(t *testing.T) {
	e := newEnv(t, Options{})
	acme := e.s.AddInstallation("acme", "Organization")
	for i := range 130 {
		e.s.AddTeam(Team{Org: "acme", Name: fmt.Sprintf("team-%03d", i)})
	}
	for i := range 250 {
		e.s.AddTeamMember("acme", "team-000", TeamMember{Login: fmt.Sprintf("user%d", i)})
	}
	tok := e.token(acme)
	var slugs []string
	after := any(nil)
	for range 10 {
		res, r := e.graphql(tok, teamsQuery, map[string]any{"login": "acme", "first": 50, "after": after})
		if len(res.Errors) > 0 {
			t.Fatalf("errors: %s", r.body)
		}
		c := dig(res.Data, "organization", "teams")
		for _, n := range dig(c, "nodes").([]any) {
			slugs = append(slugs, dig(n, "slug").(string))
		}
		if dig(c, "pageInfo", "hasNextPage") != true {
			break
		}
		after = dig(c, "pageInfo", "endCursor")
	}
	if len(slugs) != 130 || slugs[0] != "team-000" || slugs[129] != "team-129" {
		t.Fatalf("paged %d teams: first %v", len(slugs), slugs[:3])
	}

	// Members of one team paged further through an aliased node(id:).
	team0, _ := e.s.TeamByName("acme", "team-000")
	q := `query($id: ID!, $after: String) { t0: node(id: $id) { ... on Team { slug
	  members(first: 100, after: $after, membership: IMMEDIATE) { totalCount pageInfo { hasNextPage endCursor } edges { node { login } } } } } }`
	var logins []string
	after = nil
	for range 5 {
		res, r := e.graphql(tok, q, map[string]any{"id": team0.NodeID, "after": after})
		if len(res.Errors) > 0 {
			t.Fatalf("errors: %s", r.body)
		}
		m := dig(res.Data, "t0", "members")
		for _, ed := range dig(m, "edges").([]any) {
			logins = append(logins, dig(ed, "node", "login").(string))
		}
		if dig(m, "pageInfo", "hasNextPage") != true {
			break
		}
		after = dig(m, "pageInfo", "endCursor")
	}
	if len(logins) != 250 || logins[249] != "user249" {
		t.Fatalf("paged %d members", len(logins))
	}

	// nodes(ids:) resolves teams; another installation's token does not.
	other := e.s.AddInstallation("globex", "Organization")
	nq := `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Team { slug } } }`
	res, _ := e.graphql(e.token(other), nq, map[string]any{"ids": []string{team0.NodeID}})
	if len(res.Errors) != 1 || res.Errors[0].Type != "NOT_FOUND" {
		t.Errorf("other installation: errors = %+v, want NOT_FOUND", res.Errors)
	}
	res, _ = e.graphql(e.token(other), `{ organization(login: "acme") { teams(first: 1) { totalCount } } }`, nil)
	if len(res.Errors) != 1 || res.Errors[0].Type != "FORBIDDEN" {
		t.Errorf("other installation teams: errors = %+v, want FORBIDDEN", res.Errors)
	}
}

func TestTeamsChanges(t *testing.T) {
	e := newEnv(t, Options{})
	acme := e.s.AddInstallation("acme", "Organization")
	parent := e.s.AddTeam(Team{Org: "acme", Name: "Parent"})
	e.s.AddTeam(Team{Org: "acme", Name: "Child", Parent: "parent"})
	e.s.AddTeam(Team{Org: "acme", Name: "Grandchild", Parent: "child"})
	e.s.AddTeamMember("acme", "parent", TeamMember{Login: "alice"})
	e.s.AddTeamMember("acme", "grandchild", TeamMember{Login: "bob"})

	// membership: ALL includes child teams' members.
	tok := e.token(acme)
	res, _ := e.graphql(tok, `{ organization(login: "acme") { teams(first: 10, rootTeamsOnly: true) { nodes { slug
	  all: members(first: 10) { totalCount } imm: members(first: 10, membership: IMMEDIATE) { totalCount }
	  kids: childTeams(first: 10, immediateOnly: false) { totalCount } } } } }`, nil)
	n := dig(res.Data, "organization", "teams", "nodes", 0)
	if dig(n, "slug") != "parent" || dig(n, "all", "totalCount") != float64(2) || dig(n, "imm", "totalCount") != float64(1) || dig(n, "kids", "totalCount") != float64(2) {
		t.Errorf("parent = %v", n)
	}

	// A rename keeps the ids and re-points children.
	if slug := e.s.RenameTeam("acme", "parent", "Parent Renamed"); slug != "parent-renamed" {
		t.Fatalf("RenameTeam slug = %q", slug)
	}
	got, ok := e.s.TeamByName("acme", "parent-renamed")
	if !ok || got.ID != parent.ID || got.NodeID != parent.NodeID {
		t.Errorf("renamed = %+v, want ids of %+v", got, parent)
	}
	if c, _ := e.s.TeamByName("acme", "child"); c.Parent != "parent-renamed" {
		t.Errorf("child parent = %q", c.Parent)
	}

	// SetMemberEmail shows in every team.
	e.s.SetMemberEmail("bob", "bob@acme.test")
	res, _ = e.graphql(tok, `{ organization(login: "acme") { teams(first: 10, query: "grand") { nodes { members(first: 1) { nodes { email } } } } } }`, nil)
	if got := dig(res.Data, "organization", "teams", "nodes", 0, "members", "nodes", 0, "email"); got != "bob@acme.test" {
		t.Errorf("email = %v", got)
	}

	// Removing a team removes its children; failures are injected per org
	// and per team.
	e.s.RemoveTeam("acme", "child")
	if _, ok := e.s.TeamByName("acme", "grandchild"); ok {
		t.Error("grandchild survived its parent's removal")
	}
	e.s.FailTeamMembers("acme", "parent-renamed", true)
	res, _ = e.graphql(tok, `{ organization(login: "acme") { teams(first: 10) { totalCount nodes { slug members(first: 10) { totalCount } } } } }`, nil)
	if len(res.Errors) != 1 || dig(res.Data, "organization", "teams", "nodes", 0) != nil {
		t.Errorf("failed members: errors %+v, data %v", res.Errors, res.Data)
	}
	e.s.FailTeams("acme", true)
	res, _ = e.graphql(tok, `{ organization(login: "acme") { teams(first: 10) { totalCount } } }`, nil)
	if len(res.Errors) != 1 || dig(res.Data, "organization") != nil {
		t.Errorf("failed teams: errors %+v, data %v", res.Errors, res.Data)
	}
}
