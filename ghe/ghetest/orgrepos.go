package ghetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Query.repositoryOwner and the repositories connection of Organization and
// User, as Backstage's GitHub entity provider pages through them:
//
//	repositoryOwner(login: $org) { repositories(first: 100, after: $cursor) { nodes {...} pageInfo {...} } }
//
// The listing holds the account's repositories that the caller's token may
// see, in creation order unless orderBy says otherwise; the filter
// arguments GitHub takes are honoured, except the affiliations ones, which
// change nothing for an installation token on its own account.

// addOrgRepos adds the resolvers above to t.
func addOrgRepos(t resolverTable) {
	t["Query"]["repositoryOwner"] = func(ec *execContext, _ object, args map[string]any) (any, error) {
		login, _ := argString(args, "login")
		if in := ec.s.account(login, "Organization"); in != nil {
			return accountVal{in}, nil
		}
		if in := ec.s.account(login, "User"); in != nil {
			return accountVal{in}, nil
		}
		// GitHub answers null, without an error, for an unknown owner.
		return nil, nil
	}
	for _, typ := range []string{"Organization", "User"} {
		t[typ]["repositories"] = accountRepositories
	}
	addConnection(t, "RepositoryConnection", "RepositoryEdge")
	t["RepositoryConnection"]["totalDiskUsage"] = func(_ *execContext, _ object, _ map[string]any) (any, error) { return 0, nil }
}

// accountRepositories resolves Organization.repositories and
// User.repositories.
func accountRepositories(ec *execContext, o object, args map[string]any) (any, error) {
	in := o.(accountVal).in
	var repos []*repoState
	for _, id := range in.repos {
		st := ec.s.repos[id]
		if !ec.s.visibleRepo(ec.tok, st) || !repoMatches(st, args) {
			continue
		}
		repos = append(repos, st)
	}
	if err := orderRepos(repos, args["orderBy"]); err != nil {
		return nil, err
	}
	items := make([]any, len(repos))
	for i, st := range repos {
		items[i] = st
	}
	return paginate("RepositoryConnection", "RepositoryEdge", "repositories", items, args)
}

// repoMatches applies the filter arguments of a repositories connection.
func repoMatches(st *repoState, args map[string]any) bool {
	if v, ok := args["isFork"].(bool); ok && v != st.meta.Fork {
		return false
	}
	if v, ok := args["isArchived"].(bool); ok && v != st.meta.Archived {
		return false
	}
	if v, ok := args["isLocked"].(bool); ok && v {
		return false // the model has no locked repositories
	}
	if v, ok := args["privacy"].(string); ok {
		private := st.meta.Visibility != "public"
		if (v == "PRIVATE") != private {
			return false
		}
	}
	if v, ok := args["visibility"].(string); ok && v != st.visibility() {
		return false
	}
	return true
}

// orderRepos sorts repos by a RepositoryOrder argument; nil keeps creation
// order.
func orderRepos(repos []*repoState, arg any) error {
	if arg == nil {
		return nil
	}
	m, ok := arg.(map[string]any)
	if !ok {
		return &gqlError{Message: fmt.Sprintf("Argument 'orderBy' on Field 'repositories' has an invalid value (%v).", arg)}
	}
	field, _ := m["field"].(string)
	dir, _ := m["direction"].(string)
	var key func(a, b *repoState) int
	switch field {
	case "NAME":
		key = func(a, b *repoState) int {
			return strings.Compare(strings.ToLower(a.meta.Name), strings.ToLower(b.meta.Name))
		}
	case "CREATED_AT":
		key = func(a, b *repoState) int { return a.created.Compare(b.created) }
	case "UPDATED_AT":
		key = func(a, b *repoState) int { return a.updated.Compare(b.updated) }
	case "PUSHED_AT":
		key = func(a, b *repoState) int { return a.meta.PushedAt.Compare(b.meta.PushedAt) }
	case "STARGAZERS":
		key = func(_, _ *repoState) int { return 0 } // the model has no stars
	default:
		return &gqlError{Message: fmt.Sprintf("Argument 'orderBy' on Field 'repositories' has an invalid field %q.", field)}
	}
	slices.SortStableFunc(repos, func(a, b *repoState) int {
		c := key(a, b)
		if c == 0 {
			c = cmp.Compare(a.meta.ID, b.meta.ID)
		}
		if dir == "DESC" {
			return -c
		}
		return c
	})
	return nil
}
