package ghe

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/shurcooL/githubv4"
)

// Reading teams costs, by GitHub's rule (connection requests / 100,
// rounded, at least 1 point a query):
//
//   - first round: organization.teams(first: 50) with members(first: 100)
//     and repositories(first: 100) of each team is 1 + 50 + 50 = 101
//     requests, 1 point, up to 10,050 nodes; ceil(T/50) queries for T teams,
//     one after the other (each needs the previous cursor).
//   - later rounds: only the teams with more than 100 members or
//     repositories, up to 50 a query as aliased node(id:) fields, each with
//     its own members/repositories cursors: at most 100 requests, 1 point.
//     Round k holds the teams with more than 100*k members or
//     repositories.
//
// So an organization with T teams reads in
//
//	ceil(T/50) + sum over k >= 1 of ceil(N_k/50)
//
// queries and as many points, where N_k is the number of teams with more
// than 100*k members (or repositories). 2,000 teams of 50 members and one
// of 3,000: 41 + 29 = 70 queries, 70 points.
const (
	teamsPageSize   = 50  // teams per first-round query
	teamsInnerPage  = 100 // members and repositories per team and query
	teamsFollowSize = 50  // teams per later-round query
	teamsMaxTries   = 2   // reads of an organization whose teams changed while read
)

// errTeamsChanged is a team listing that changed while it was paged through.
var errTeamsChanged = errors.New("teams changed while they were read")

type teamPageInfo struct {
	HasNextPage bool    `graphql:"hasNextPage"`
	EndCursor   *string `graphql:"endCursor"`
}

type teamMembersConn struct {
	TotalCount int          `graphql:"totalCount"`
	PageInfo   teamPageInfo `graphql:"pageInfo"`
	Edges      []*struct {
		Role string `graphql:"role"`
		Node struct {
			Login string  `graphql:"login"`
			Name  *string `graphql:"name"`
			Email string  `graphql:"email"`
		} `graphql:"node"`
	} `graphql:"edges"`
}

type teamReposConn struct {
	TotalCount int          `graphql:"totalCount"`
	PageInfo   teamPageInfo `graphql:"pageInfo"`
	Edges      []*struct {
		Permission string `graphql:"permission"`
		Node       struct {
			NameWithOwner string `graphql:"nameWithOwner"`
		} `graphql:"node"`
	} `graphql:"edges"`
}

// teamNode is one team of the first-round query.
type teamNode struct {
	ID          string  `graphql:"id"`
	DatabaseID  int64   `graphql:"databaseId"`
	Slug        string  `graphql:"slug"`
	Name        string  `graphql:"name"`
	Description *string `graphql:"description"`
	Privacy     string  `graphql:"privacy"`
	URL         string  `graphql:"url"`
	ParentTeam  *struct {
		Slug string `graphql:"slug"`
	} `graphql:"parentTeam"`
	Members      teamMembersConn `graphql:"members(first: 100, membership: IMMEDIATE)"`
	Repositories teamReposConn   `graphql:"repositories(first: 100)"`
}

// teamsQuery is the first-round query:
//
//	query($login: String!, $first: Int!, $after: String) {
//	  organization(login: $login) { teams(first: $first, after: $after) { totalCount pageInfo {...} nodes {...} } }
//	  rateLimit { cost remaining resetAt }
//	}
type teamsQuery struct {
	Organization *struct {
		Teams struct {
			TotalCount int          `graphql:"totalCount"`
			PageInfo   teamPageInfo `graphql:"pageInfo"`
			Nodes      []*teamNode  `graphql:"nodes"`
		} `graphql:"teams(first: $first, after: $after)"`
	} `graphql:"organization(login: $login)"`
	RateLimit *rateLimitFields `graphql:"rateLimit"`
}

// teamProgress is a team being read: its connections' totals and cursors.
type teamProgress struct {
	team                   *Team
	nodeID                 string
	memberTotal, repoTotal int
	memberAfter, repoAfter *string // cursor of the next page; nil when done
	seenMembers, seenRepos map[string]bool
	membersDone, reposDone bool
	memberPages, repoPages int
}

// Teams reads all teams of organization org, which installation
// installationID is installed on, with their immediate members and their
// repositories. It returns all of them or an error, never a partial list.
//
// GitHub API docs: https://docs.github.com/graphql/reference/objects#organization (teams)
func (c *Client) Teams(ctx context.Context, installationID int64, org string) ([]Team, error) {
	start := time.Now()
	ic := c.installation(installationID)
	var err error
	for try := 0; try < teamsMaxTries; try++ {
		var teams []Team
		var queries int
		teams, queries, err = c.readTeams(ctx, ic, org)
		if err == nil {
			members := 0
			for i := range teams {
				members += len(teams[i].Members)
			}
			c.logger.Info("github teams read", "installation", installationID, "org", org,
				"teams", len(teams), "memberships", members, "queries", queries, "duration", time.Since(start))
			return teams, nil
		}
		if !errors.Is(err, errTeamsChanged) || ctx.Err() != nil {
			break
		}
		c.logger.Warn("teams changed while read, reading again", "installation", installationID, "org", org, "err", err)
	}
	c.logger.Warn("read teams failed", "installation", installationID, "org", org, "err", err)
	return nil, fmt.Errorf("read teams of %s: %w", org, err)
}

// readTeams reads the teams of org once: the first round pages through
// the teams with the first page of each team's members and repositories,
// later rounds page further the teams that have more.
func (c *Client) readTeams(ctx context.Context, ic *installClient, org string) ([]Team, int, error) {
	var (
		progress []*teamProgress
		after    *githubv4.String
		total    int
		queries  int
		size     = teamsPageSize
	)
	for page := 0; ; page++ {
		if page > maxPages {
			return nil, queries, fmt.Errorf("%w: team pages do not end", ErrInvalidResponse)
		}
		var q teamsQuery
		vars := map[string]any{"login": githubv4.String(org), "first": githubv4.Int(size), "after": after}
		res := c.query(ctx, ic, reflect.ValueOf(&q), vars)
		queries++
		if res.err != nil {
			if res.split && size > 1 {
				size = max(1, size/2)
				c.logger.Info("splitting graphql teams page", "installation", ic.id, "org", org, "size", size, "err", res.err)
				page--
				continue
			}
			return nil, queries, res.err
		}
		if err := teamErrors(res.errs); err != nil {
			return nil, queries, err
		}
		if q.Organization == nil {
			return nil, queries, fmt.Errorf("%w: organization %s is null", ErrInvalidResponse, org)
		}
		conn := q.Organization.Teams
		total = conn.TotalCount
		for i, n := range conn.Nodes {
			if n == nil {
				return nil, queries, fmt.Errorf("%w: team %d of page %d is null", ErrInvalidResponse, i, page)
			}
			tp, err := newTeamProgress(org, n)
			if err != nil {
				return nil, queries, err
			}
			progress = append(progress, tp)
		}
		if !conn.PageInfo.HasNextPage {
			break
		}
		if conn.PageInfo.EndCursor == nil || len(conn.Nodes) == 0 {
			return nil, queries, fmt.Errorf("%w: teams page without an end cursor", ErrInvalidResponse)
		}
		after = githubv4.NewString(githubv4.String(*conn.PageInfo.EndCursor))
	}
	if len(progress) != total {
		return nil, queries, fmt.Errorf("%w: listed %d teams, totalCount says %d", errTeamsChanged, len(progress), total)
	}
	seen := make(map[int64]bool, len(progress))
	for _, tp := range progress {
		if seen[tp.team.ID] {
			return nil, queries, fmt.Errorf("%w: team %s listed twice", errTeamsChanged, tp.team.Slug)
		}
		seen[tp.team.ID] = true
	}

	// Later rounds: page further only the teams that have more.
	for round := 0; ; round++ {
		var pending []*teamProgress
		for _, tp := range progress {
			if !tp.membersDone || !tp.reposDone {
				pending = append(pending, tp)
			}
		}
		if len(pending) == 0 {
			break
		}
		if round > maxPages {
			return nil, queries, fmt.Errorf("%w: team member pages do not end", ErrInvalidResponse)
		}
		batches := (len(pending) + teamsFollowSize - 1) / teamsFollowSize
		errs := make([]error, batches)
		counts := make([]int, batches)
		forEach(batches, c.opts.MaxInFlight, func(b int) {
			lo, hi := b*teamsFollowSize, min((b+1)*teamsFollowSize, len(pending))
			counts[b], errs[b] = c.readTeamPages(ctx, ic, pending[lo:hi])
		})
		for _, n := range counts {
			queries += n
		}
		if err := errors.Join(errs...); err != nil {
			return nil, queries, err
		}
	}

	teams := make([]Team, len(progress))
	for i, tp := range progress {
		if len(tp.team.Members) != tp.memberTotal || len(tp.team.Repos) != tp.repoTotal {
			return nil, queries, fmt.Errorf("%w: team %s has %d members and %d repositories, totalCount says %d and %d",
				errTeamsChanged, tp.team.Slug, len(tp.team.Members), len(tp.team.Repos), tp.memberTotal, tp.repoTotal)
		}
		teams[i] = *tp.team
	}
	return teams, queries, nil
}

// teamErrors joins the GraphQL errors of a teams query; any error other
// than on rateLimit makes the read fail, since the data may lack a team
// or a member without saying so.
func teamErrors(es []gqlError) error {
	var errs []error
	for _, e := range es {
		if pathAlias(e.Path) == "rateLimit" {
			continue
		}
		errs = append(errs, gqlErr(e))
	}
	return errors.Join(errs...)
}

func newTeamProgress(org string, n *teamNode) (*teamProgress, error) {
	if n.ID == "" || n.Slug == "" {
		return nil, fmt.Errorf("%w: team without id or slug", ErrInvalidResponse)
	}
	t := &Team{
		Org:     org,
		ID:      n.DatabaseID,
		NodeID:  n.ID,
		Slug:    n.Slug,
		Name:    n.Name,
		Privacy: n.Privacy,
		URL:     n.URL,
	}
	if n.Description != nil {
		t.Description = *n.Description
	}
	if n.ParentTeam != nil {
		t.ParentSlug = n.ParentTeam.Slug
	}
	tp := &teamProgress{
		team: t, nodeID: n.ID,
		seenMembers: make(map[string]bool, len(n.Members.Edges)),
		seenRepos:   make(map[string]bool, len(n.Repositories.Edges)),
	}
	if err := tp.addMembers(&n.Members); err != nil {
		return nil, err
	}
	if err := tp.addRepos(&n.Repositories); err != nil {
		return nil, err
	}
	return tp, nil
}

// addMembers appends a page of members.
func (tp *teamProgress) addMembers(m *teamMembersConn) error {
	tp.memberPages++
	tp.memberTotal = m.TotalCount
	if tp.team.Members == nil {
		tp.team.Members = make([]TeamMember, 0, m.TotalCount)
	}
	for _, e := range m.Edges {
		if e == nil || e.Node.Login == "" {
			return fmt.Errorf("%w: team %s: member edge without login", ErrInvalidResponse, tp.team.Slug)
		}
		key := strings.ToLower(e.Node.Login)
		if tp.seenMembers[key] {
			return fmt.Errorf("%w: team %s: member %s listed twice", errTeamsChanged, tp.team.Slug, e.Node.Login)
		}
		tp.seenMembers[key] = true
		mb := TeamMember{Login: e.Node.Login, Email: e.Node.Email, Role: e.Role}
		if e.Node.Name != nil {
			mb.Name = *e.Node.Name
		}
		tp.team.Members = append(tp.team.Members, mb)
	}
	return tp.next(&m.PageInfo, len(m.Edges), &tp.memberAfter, &tp.membersDone, "members")
}

// addRepos appends a page of repositories.
func (tp *teamProgress) addRepos(r *teamReposConn) error {
	tp.repoPages++
	tp.repoTotal = r.TotalCount
	for _, e := range r.Edges {
		if e == nil || e.Node.NameWithOwner == "" {
			return fmt.Errorf("%w: team %s: repository edge without name", ErrInvalidResponse, tp.team.Slug)
		}
		key := strings.ToLower(e.Node.NameWithOwner)
		if tp.seenRepos[key] {
			return fmt.Errorf("%w: team %s: repository %s listed twice", errTeamsChanged, tp.team.Slug, e.Node.NameWithOwner)
		}
		tp.seenRepos[key] = true
		tp.team.Repos = append(tp.team.Repos, TeamRepo{FullName: e.Node.NameWithOwner, Permission: e.Permission})
	}
	return tp.next(&r.PageInfo, len(r.Edges), &tp.repoAfter, &tp.reposDone, "repositories")
}

func (tp *teamProgress) next(pi *teamPageInfo, n int, after **string, done *bool, what string) error {
	if !pi.HasNextPage {
		*after, *done = nil, true
		return nil
	}
	if pi.EndCursor == nil || n == 0 {
		return fmt.Errorf("%w: team %s: %s page without an end cursor", ErrInvalidResponse, tp.team.Slug, what)
	}
	c := *pi.EndCursor
	*after, *done = &c, false
	return nil
}

var (
	teamMembersConnType = reflect.TypeFor[teamMembersConn]()
	teamReposConnType   = reflect.TypeFor[teamReposConn]()
)

// readTeamPages reads the next page of members and/or repositories of
// each team in one query of aliased node(id:) fields, each with its own
// cursors, halving the batch while GitHub answers that it is too
// expensive. It returns the number of queries sent.
//
//	query($id0: ID!, $m0: String!, $r0: String!, ...) {
//	  t0: node(id: $id0) { ... on Team { id members(first: 100, after: $m0, membership: IMMEDIATE) {...} repositories(first: 100, after: $r0) {...} } }
//	  rateLimit { cost remaining resetAt }
//	}
func (c *Client) readTeamPages(ctx context.Context, ic *installClient, teams []*teamProgress) (int, error) {
	fields := make([]reflect.StructField, 0, len(teams)+1)
	vars := make(map[string]any, 3*len(teams))
	type slot struct{ members, repos int } // field index in the Team fragment; -1 when absent
	slots := make([]slot, len(teams))
	for i, tp := range teams {
		inner := []reflect.StructField{{Name: "ID", Type: reflect.TypeFor[string](), Tag: `graphql:"id"`}}
		slots[i] = slot{-1, -1}
		if !tp.membersDone {
			slots[i].members = len(inner)
			inner = append(inner, reflect.StructField{Name: "Members", Type: teamMembersConnType,
				Tag: reflect.StructTag(fmt.Sprintf(`graphql:"members(first: %d, after: $m%d, membership: IMMEDIATE)"`, teamsInnerPage, i))})
			vars["m"+itoa(i)] = githubv4.String(*tp.memberAfter)
		}
		if !tp.reposDone {
			slots[i].repos = len(inner)
			inner = append(inner, reflect.StructField{Name: "Repositories", Type: teamReposConnType,
				Tag: reflect.StructTag(fmt.Sprintf(`graphql:"repositories(first: %d, after: $r%d)"`, teamsInnerPage, i))})
			vars["r"+itoa(i)] = githubv4.String(*tp.repoAfter)
		}
		vars["id"+itoa(i)] = githubv4.ID(tp.nodeID)
		node := reflect.StructOf([]reflect.StructField{{Name: "Team", Type: reflect.StructOf(inner), Tag: `graphql:"... on Team"`}})
		fields = append(fields, reflect.StructField{
			Name: "T" + itoa(i),
			Type: reflect.PointerTo(node),
			Tag:  reflect.StructTag(fmt.Sprintf(`graphql:"t%d: node(id: $id%d)"`, i, i)),
		})
	}
	fields = append(fields, reflect.StructField{Name: "RateLimit", Type: rateLimitType, Tag: `graphql:"rateLimit"`})
	q := reflect.New(reflect.StructOf(fields))
	res := c.query(ctx, ic, q, vars)
	if res.err != nil {
		if res.split && len(teams) > 1 {
			h := len(teams) / 2
			c.logger.Info("splitting graphql team pages batch", "installation", ic.id, "size", len(teams), "err", res.err)
			n1, err1 := c.readTeamPages(ctx, ic, teams[:h])
			n2, err2 := c.readTeamPages(ctx, ic, teams[h:])
			return 1 + n1 + n2, errors.Join(err1, err2)
		}
		return 1, fmt.Errorf("read further pages of %d teams: %w", len(teams), res.err)
	}
	if err := teamErrors(res.errs); err != nil {
		return 1, fmt.Errorf("read further pages of %d teams: %w", len(teams), err)
	}
	for i, tp := range teams {
		p := q.Elem().Field(i)
		if p.IsNil() {
			return 1, fmt.Errorf("%w: team %s is null", errTeamsChanged, tp.team.Slug)
		}
		inner := p.Elem().Field(0)
		if id := inner.Field(0).String(); id != tp.nodeID {
			return 1, fmt.Errorf("%w: node %q is not team %s", ErrInvalidResponse, id, tp.team.Slug)
		}
		if s := slots[i].members; s >= 0 {
			m := inner.Field(s).Interface().(teamMembersConn)
			if err := tp.addMembers(&m); err != nil {
				return 1, err
			}
		}
		if s := slots[i].repos; s >= 0 {
			r := inner.Field(s).Interface().(teamReposConn)
			if err := tp.addRepos(&r); err != nil {
				return 1, err
			}
		}
	}
	return 1, nil
}
