package ghetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Teams of organizations, as GitHub's GraphQL API serves them:
//
//	organization(login: $org) { teams(first: 50, after: $c) { totalCount pageInfo {...} nodes {
//	  id databaseId slug name description privacy url parentTeam { slug }
//	  members(first: 100, membership: IMMEDIATE) { totalCount pageInfo {...} edges { role node { login name email } } }
//	  repositories(first: 100) { totalCount pageInfo {...} edges { permission node { nameWithOwner } } } } } }
//
// and node(id:)/nodes(ids:) of a Team. Only the installation on the
// organization may read its teams (the App's Members: Read permission);
// other installations get FORBIDDEN. Teams are listed by name, members in
// the order they were added, repositories by name.

// Team is a team of an organization in the fake's model.
type Team struct {
	// Org is the organization's login: the account of an installation.
	Org string
	// Slug defaults to the slug GitHub derives from Name.
	Slug        string
	Name        string
	Description string
	// Privacy is "VISIBLE" (the default) or "SECRET".
	Privacy string
	// Parent is the slug of the parent team, "" for a root team.
	Parent string
	// ID is the databaseId, assigned by AddTeam.
	ID int64
	// NodeID is the GraphQL node id, assigned by AddTeam.
	NodeID string
}

// TeamMember is a member of a team. Email is the email the App can see
// (the user's public, verified email); "" means none.
type TeamMember struct {
	Login string
	Name  string
	Email string
	// Role is "MEMBER" (the default) or "MAINTAINER".
	Role string
}

// teamModel holds the teams and the users that are their members.
type teamModel struct {
	nextTeam    int64
	nextUser    int64
	teams       map[int64]*teamState
	users       map[string]*userState // by lower-case login
	failTeams   map[string]bool       // lower-case org: Organization.teams fails
	failMembers map[int64]bool        // team id: Team.members fails
}

// teamState is a team in the model.
type teamState struct {
	meta    Team
	inst    *installation
	members []teamMembership
	repos   []teamRepo
	created time.Time
	updated time.Time
}

type teamMembership struct {
	user *userState
	role string
}

type teamRepo struct {
	repoID int64
	perm   string
}

// userState is a user who is a member of some team.
type userState struct {
	id                 int64
	login, name, email string
}

// teamsLocked returns the team model, creating it. Caller holds s.mu.
func (s *Server) teamsLocked() *teamModel {
	if s.teams == nil {
		s.teams = &teamModel{
			nextTeam:    7_000_000,
			nextUser:    20_000_000,
			teams:       map[int64]*teamState{},
			users:       map[string]*userState{},
			failTeams:   map[string]bool{},
			failMembers: map[int64]bool{},
		}
	}
	return s.teams
}

// Slugify returns the slug GitHub derives from a team name: lower case,
// runs of characters other than letters, digits and underscores turned
// into one hyphen, no leading or trailing hyphen.
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}

// orgInstallation returns the live Organization installation of org.
func (s *Server) orgInstallation(action, org string) *installation {
	in := s.account(org, "Organization")
	if in == nil {
		panic(fmt.Sprintf("ghetest: %s: no organization installation on %q", action, org))
	}
	return in
}

// teamBySlug returns the team slug of org, or nil. Caller holds s.mu.
func (s *Server) teamBySlug(org, slug string) *teamState {
	if s.teams == nil {
		return nil
	}
	for _, t := range s.teams.teams {
		if strings.EqualFold(t.meta.Org, org) && strings.EqualFold(t.meta.Slug, slug) {
			return t
		}
	}
	return nil
}

func (s *Server) mustTeam(action, org, slug string) *teamState {
	t := s.teamBySlug(org, slug)
	if t == nil {
		panic(fmt.Sprintf("ghetest: %s: unknown team %s/%s", action, org, slug))
	}
	return t
}

// AddTeam adds team t to organization t.Org (which must have an
// installation) and returns it with its slug, ids and defaults filled in.
// It panics on a taken slug or an unknown parent.
func (s *Server) AddTeam(t Team) Team {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.orgInstallation("AddTeam", t.Org)
	t.Org = in.account
	if t.Name == "" {
		panic("ghetest: AddTeam: empty team name")
	}
	if t.Slug == "" {
		t.Slug = Slugify(t.Name)
	}
	if s.teamBySlug(t.Org, t.Slug) != nil {
		panic(fmt.Sprintf("ghetest: AddTeam: team %s/%s exists", t.Org, t.Slug))
	}
	switch strings.ToUpper(t.Privacy) {
	case "":
		t.Privacy = "VISIBLE"
	case "VISIBLE", "SECRET":
		t.Privacy = strings.ToUpper(t.Privacy)
	default:
		panic(fmt.Sprintf("ghetest: AddTeam %s: privacy %q", t.Slug, t.Privacy))
	}
	if t.Parent != "" {
		p := s.mustTeam("AddTeam parent", t.Org, t.Parent)
		t.Parent = p.meta.Slug
	}
	m := s.teamsLocked()
	m.nextTeam++
	t.ID = m.nextTeam
	t.NodeID = encodeNodeID("T", t.ID)
	now := s.now()
	m.teams[t.ID] = &teamState{meta: t, inst: in, created: now, updated: now}
	return t
}

// AddTeamMember adds a member to team org/slug, or changes the role of an
// existing member. The user's name and email are set from m when m sets
// them (users are global: the change shows in every team).
func (s *Server) AddTeamMember(org, slug string, m TeamMember) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addTeamMembersLocked(s.mustTeam("AddTeamMember", org, slug), m)
}

// AddTeamMembers adds several members to team org/slug, as AddTeamMember.
func (s *Server) AddTeamMembers(org, slug string, ms ...TeamMember) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addTeamMembersLocked(s.mustTeam("AddTeamMembers", org, slug), ms...)
}

func (s *Server) addTeamMembersLocked(t *teamState, ms ...TeamMember) {
	model := s.teamsLocked()
	index := make(map[string]int, len(t.members))
	for i, mb := range t.members {
		index[strings.ToLower(mb.user.login)] = i
	}
	for _, m := range ms {
		if m.Login == "" {
			panic("ghetest: AddTeamMember: empty login")
		}
		role := strings.ToUpper(m.Role)
		switch role {
		case "":
			role = "MEMBER"
		case "MEMBER", "MAINTAINER":
		default:
			panic(fmt.Sprintf("ghetest: AddTeamMember %s: role %q", m.Login, m.Role))
		}
		key := strings.ToLower(m.Login)
		u := model.users[key]
		if u == nil {
			model.nextUser++
			u = &userState{id: model.nextUser, login: m.Login}
			model.users[key] = u
		}
		if m.Name != "" {
			u.name = m.Name
		}
		if m.Email != "" {
			u.email = m.Email
		}
		if i, ok := index[key]; ok {
			t.members[i].role = role
			continue
		}
		index[key] = len(t.members)
		t.members = append(t.members, teamMembership{user: u, role: role})
	}
	t.updated = s.now()
}

// RemoveTeamMember removes login from team org/slug; nothing happens when
// it is not a member.
func (s *Server) RemoveTeamMember(org, slug, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTeam("RemoveTeamMember", org, slug)
	t.members = slices.DeleteFunc(t.members, func(m teamMembership) bool { return strings.EqualFold(m.user.login, login) })
	t.updated = s.now()
}

// SetMemberEmail sets the email the App sees for user login ("" for none).
// It panics when login is in no team.
func (s *Server) SetMemberEmail(login, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustUser("SetMemberEmail", login).email = email
}

// SetMemberName sets the display name of user login ("" for none).
func (s *Server) SetMemberName(login, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustUser("SetMemberName", login).name = name
}

func (s *Server) mustUser(action, login string) *userState {
	if s.teams != nil {
		if u := s.teams.users[strings.ToLower(login)]; u != nil {
			return u
		}
	}
	panic(fmt.Sprintf("ghetest: %s: unknown user %s", action, login))
}

// AddTeamRepo gives team org/slug access to repository fullName with
// permission (ADMIN, MAINTAIN, WRITE, TRIAGE or READ), or changes it.
func (s *Server) AddTeamRepo(org, slug, fullName, permission string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTeam("AddTeamRepo", org, slug)
	st := s.mustRepo("AddTeamRepo", fullName)
	perm := strings.ToUpper(permission)
	switch perm {
	case "ADMIN", "MAINTAIN", "WRITE", "TRIAGE", "READ":
	default:
		panic(fmt.Sprintf("ghetest: AddTeamRepo %s: permission %q", fullName, permission))
	}
	for i := range t.repos {
		if t.repos[i].repoID == st.meta.ID {
			t.repos[i].perm = perm
			return
		}
	}
	t.repos = append(t.repos, teamRepo{repoID: st.meta.ID, perm: perm})
}

// RenameTeam renames team org/slug to name; its slug becomes the one
// derived from name, its ids stay. It returns the new slug.
func (s *Server) RenameTeam(org, slug, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTeam("RenameTeam", org, slug)
	newSlug := Slugify(name)
	if o := s.teamBySlug(org, newSlug); o != nil && o != t {
		panic(fmt.Sprintf("ghetest: RenameTeam: team %s/%s exists", org, newSlug))
	}
	old := t.meta.Slug
	t.meta.Name, t.meta.Slug = name, newSlug
	for _, c := range s.teams.teams {
		if c.meta.Org == t.meta.Org && c.meta.Parent == old {
			c.meta.Parent = newSlug
		}
	}
	t.updated = s.now()
	return newSlug
}

// SetTeamDescription sets the description of team org/slug.
func (s *Server) SetTeamDescription(org, slug, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTeam("SetTeamDescription", org, slug)
	t.meta.Description = description
	t.updated = s.now()
}

// SetTeamParent moves team org/slug under parent ("" makes it a root team).
func (s *Server) SetTeamParent(org, slug, parent string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTeam("SetTeamParent", org, slug)
	if parent != "" {
		parent = s.mustTeam("SetTeamParent", org, parent).meta.Slug
	}
	t.meta.Parent = parent
	t.updated = s.now()
}

// RemoveTeam deletes team org/slug and, as GitHub does, its child teams.
func (s *Server) RemoveTeam(org, slug string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeTeamLocked(s.mustTeam("RemoveTeam", org, slug))
}

func (s *Server) removeTeamLocked(t *teamState) {
	delete(s.teams.teams, t.meta.ID)
	for _, c := range s.teams.teams {
		if c.meta.Org == t.meta.Org && c.meta.Parent == t.meta.Slug {
			s.removeTeamLocked(c)
		}
	}
}

// TeamByName returns team org/slug as the model holds it.
func (s *Server) TeamByName(org, slug string) (Team, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t := s.teamBySlug(org, slug); t != nil {
		return t.meta, true
	}
	return Team{}, false
}

// FailTeams makes Organization.teams of org fail with an internal error
// (data null for the organization), or work again.
func (s *Server) FailTeams(org string, fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.teamsLocked().failTeams[strings.ToLower(org)] = fail
}

// FailTeamMembers makes Team.members of team org/slug fail with an
// internal error (the team comes back null), or work again.
func (s *Server) FailTeamMembers(org, slug string, fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTeam("FailTeamMembers", org, slug)
	s.teamsLocked().failMembers[t.meta.ID] = fail
}

// errInternal is GitHub's answer to a query that failed on its side.
func errInternal() error {
	return &gqlError{Message: "Something went wrong while executing your query. Please include `0400:3A5F:1B2C:4D5E:6F70` when reporting this issue."}
}

// Object values of the team types.
type (
	teamVal    struct{ t *teamState }
	memberVal  struct{ u *userState }
	memberItem struct{ m teamMembership }
	memberEdge struct {
		cursor string
		m      teamMembership
	}
	teamRepoItem struct {
		st   *repoState
		perm string
	}
	teamRepoEdge struct {
		cursor string
		item   teamRepoItem
	}
)

func (teamVal) gqlType() string      { return "Team" }
func (memberVal) gqlType() string    { return "User" }
func (memberEdge) gqlType() string   { return "TeamMemberEdge" }
func (teamRepoEdge) gqlType() string { return "TeamRepositoryEdge" }

// addTeams adds the team resolvers to t.
func addTeams(t resolverTable) {
	t["Organization"]["teams"] = orgTeams
	t["Team"] = teamResolvers()
	addConnection(t, "TeamConnection", "TeamEdge")

	addConnection(t, "TeamMemberConnection", "TeamMemberEdge")
	t["TeamMemberConnection"]["nodes"] = func(_ *execContext, o object, _ map[string]any) (any, error) {
		c := o.(*connection)
		out := make([]any, len(c.items))
		for i, it := range c.items {
			out[i] = memberVal{it.(memberItem).m.user}
		}
		return out, nil
	}
	t["TeamMemberConnection"]["edges"] = func(_ *execContext, o object, _ map[string]any) (any, error) {
		c := o.(*connection)
		out := make([]any, len(c.items))
		for i, it := range c.items {
			out[i] = memberEdge{cursor: encodeCursor(c.first + i), m: it.(memberItem).m}
		}
		return out, nil
	}
	t["TeamMemberEdge"] = map[string]fieldFunc{
		"cursor": func(_ *execContext, o object, _ map[string]any) (any, error) { return o.(memberEdge).cursor, nil },
		"node": func(_ *execContext, o object, _ map[string]any) (any, error) {
			return memberVal{o.(memberEdge).m.user}, nil
		},
		"role": func(_ *execContext, o object, _ map[string]any) (any, error) { return o.(memberEdge).m.role, nil },
	}

	addConnection(t, "TeamRepositoryConnection", "TeamRepositoryEdge")
	t["TeamRepositoryConnection"]["nodes"] = func(_ *execContext, o object, _ map[string]any) (any, error) {
		c := o.(*connection)
		out := make([]any, len(c.items))
		for i, it := range c.items {
			out[i] = it.(teamRepoItem).st
		}
		return out, nil
	}
	t["TeamRepositoryConnection"]["edges"] = func(_ *execContext, o object, _ map[string]any) (any, error) {
		c := o.(*connection)
		out := make([]any, len(c.items))
		for i, it := range c.items {
			out[i] = teamRepoEdge{cursor: encodeCursor(c.first + i), item: it.(teamRepoItem)}
		}
		return out, nil
	}
	t["TeamRepositoryEdge"] = map[string]fieldFunc{
		"cursor":     func(_ *execContext, o object, _ map[string]any) (any, error) { return o.(teamRepoEdge).cursor, nil },
		"node":       func(_ *execContext, o object, _ map[string]any) (any, error) { return o.(teamRepoEdge).item.st, nil },
		"permission": func(_ *execContext, o object, _ map[string]any) (any, error) { return o.(teamRepoEdge).item.perm, nil },
	}

	// Team members are Users that are not installation accounts: wrap the
	// User resolvers so that both kinds resolve.
	member := map[string]func(ec *execContext, u *userState) any{
		"id":           func(_ *execContext, u *userState) any { return encodeNodeID("U", u.id) },
		"databaseId":   func(_ *execContext, u *userState) any { return u.id },
		"login":        func(_ *execContext, u *userState) any { return u.login },
		"name":         func(_ *execContext, u *userState) any { return nullString(u.name) },
		"email":        func(_ *execContext, u *userState) any { return u.email },
		"url":          func(ec *execContext, u *userState) any { return ec.s.URL() + "/" + u.login },
		"resourcePath": func(_ *execContext, u *userState) any { return "/" + u.login },
	}
	users := t["User"]
	for field, fn := range member {
		prev := users[field]
		users[field] = func(ec *execContext, o object, args map[string]any) (any, error) {
			if m, ok := o.(memberVal); ok {
				return fn(ec, m.u), nil
			}
			if prev == nil {
				if field == "email" {
					return "", nil // an installation's user account shows no email
				}
				return nil, nil
			}
			return prev(ec, o, args)
		}
	}
}

// teamNode returns the team with database id id if the caller may see it.
func (ec *execContext) teamNode(id int64, nodeID string) object {
	if ec.s.teams == nil {
		return nil
	}
	t := ec.s.teams.teams[id]
	if t == nil || t.meta.NodeID != nodeID || !ec.mayReadTeams(t.inst) {
		return nil
	}
	return teamVal{t}
}

// mayReadTeams reports whether the caller may read the teams of in's
// organization: only the installation on it may.
func (ec *execContext) mayReadTeams(in *installation) bool {
	return in != nil && !in.removed && ec.tok != nil && ec.tok.installationID == in.id
}

// orgTeams resolves Organization.teams.
func orgTeams(ec *execContext, o object, args map[string]any) (any, error) {
	in := o.(accountVal).in
	if !ec.mayReadTeams(in) {
		return nil, &gqlError{Type: "FORBIDDEN", Message: "Resource not accessible by integration"}
	}
	m := ec.s.teams
	if m != nil && m.failTeams[strings.ToLower(in.account)] {
		return nil, errInternal()
	}
	var teams []*teamState
	if m != nil {
		for _, t := range m.teams {
			if t.inst == in && teamMatches(t, args) {
				teams = append(teams, t)
			}
		}
	}
	slices.SortFunc(teams, func(a, b *teamState) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.meta.Name), strings.ToLower(b.meta.Name)), cmp.Compare(a.meta.ID, b.meta.ID))
	})
	items := make([]any, len(teams))
	for i, t := range teams {
		items[i] = teamVal{t}
	}
	return paginate("TeamConnection", "TeamEdge", "teams", items, args)
}

// teamMatches applies the filter arguments of Organization.teams.
func teamMatches(t *teamState, args map[string]any) bool {
	if argBool(args, "rootTeamsOnly") && t.meta.Parent != "" {
		return false
	}
	if p, ok := argString(args, "privacy"); ok && p != t.meta.Privacy {
		return false
	}
	if q, ok := argString(args, "query"); ok && q != "" {
		q = strings.ToLower(q)
		if !strings.Contains(strings.ToLower(t.meta.Name), q) && !strings.Contains(t.meta.Slug, q) {
			return false
		}
	}
	if logins, _ := argStrings(args, "userLogins"); len(logins) > 0 {
		found := false
		for _, mb := range t.members {
			if slices.ContainsFunc(logins, func(l string) bool { return strings.EqualFold(l, mb.user.login) }) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func teamResolvers() map[string]fieldFunc {
	f := func(fn func(ec *execContext, t *teamState, args map[string]any) (any, error)) fieldFunc {
		return func(ec *execContext, o object, args map[string]any) (any, error) { return fn(ec, o.(teamVal).t, args) }
	}
	v := func(fn func(ec *execContext, t *teamState) any) fieldFunc {
		return f(func(ec *execContext, t *teamState, _ map[string]any) (any, error) { return fn(ec, t), nil })
	}
	return map[string]fieldFunc{
		"id":           v(func(_ *execContext, t *teamState) any { return t.meta.NodeID }),
		"databaseId":   v(func(_ *execContext, t *teamState) any { return t.meta.ID }),
		"slug":         v(func(_ *execContext, t *teamState) any { return t.meta.Slug }),
		"combinedSlug": v(func(_ *execContext, t *teamState) any { return t.meta.Org + "/" + t.meta.Slug }),
		"name":         v(func(_ *execContext, t *teamState) any { return t.meta.Name }),
		"description":  v(func(_ *execContext, t *teamState) any { return nullString(t.meta.Description) }),
		"privacy":      v(func(_ *execContext, t *teamState) any { return t.meta.Privacy }),
		"createdAt":    v(func(_ *execContext, t *teamState) any { return t.created }),
		"updatedAt":    v(func(_ *execContext, t *teamState) any { return t.updated }),
		"url": v(func(ec *execContext, t *teamState) any {
			return ec.s.URL() + "/orgs/" + t.meta.Org + "/teams/" + t.meta.Slug
		}),
		"resourcePath": v(func(_ *execContext, t *teamState) any { return "/orgs/" + t.meta.Org + "/teams/" + t.meta.Slug }),
		"organization": v(func(_ *execContext, t *teamState) any { return accountVal{t.inst} }),
		"parentTeam": v(func(ec *execContext, t *teamState) any {
			if p := ec.s.teamBySlug(t.meta.Org, t.meta.Parent); t.meta.Parent != "" && p != nil {
				return teamVal{p}
			}
			return nil
		}),
		"childTeams": f(func(ec *execContext, t *teamState, args map[string]any) (any, error) {
			immediate := true
			if b, ok := args["immediateOnly"].(bool); ok {
				immediate = b
			}
			var kids []*teamState
			for _, c := range ec.s.teams.teams {
				if c.inst == t.inst && (c.meta.Parent == t.meta.Slug || (!immediate && isDescendant(ec.s, c, t))) {
					kids = append(kids, c)
				}
			}
			slices.SortFunc(kids, func(a, b *teamState) int {
				return cmp.Compare(strings.ToLower(a.meta.Name), strings.ToLower(b.meta.Name))
			})
			items := make([]any, len(kids))
			for i, c := range kids {
				items[i] = teamVal{c}
			}
			return paginate("TeamConnection", "TeamEdge", "childTeams", items, args)
		}),
		"ancestors": f(func(ec *execContext, t *teamState, args map[string]any) (any, error) {
			var items []any
			for p := ec.s.teamBySlug(t.meta.Org, t.meta.Parent); t.meta.Parent != "" && p != nil; {
				items = append(items, teamVal{p})
				if p.meta.Parent == "" {
					break
				}
				p = ec.s.teamBySlug(p.meta.Org, p.meta.Parent)
			}
			return paginate("TeamConnection", "TeamEdge", "ancestors", items, args)
		}),
		"members": f(func(ec *execContext, t *teamState, args map[string]any) (any, error) {
			if ec.s.teams.failMembers[t.meta.ID] {
				if _, err := pageSize("members", args); err != nil {
					return nil, err
				}
				return nil, errInternal()
			}
			membership, _ := argString(args, "membership")
			var ms []teamMembership
			switch membership {
			case "IMMEDIATE":
				ms = t.members
			case "CHILD_TEAM", "", "ALL":
				seen := map[*userState]bool{}
				if membership != "CHILD_TEAM" {
					for _, m := range t.members {
						seen[m.user] = true
						ms = append(ms, m)
					}
				}
				for _, c := range descendants(ec.s, t) {
					for _, m := range c.members {
						if !seen[m.user] {
							seen[m.user] = true
							ms = append(ms, m)
						}
					}
				}
			}
			role, _ := argString(args, "role")
			query, _ := argString(args, "query")
			query = strings.ToLower(query)
			items := make([]any, 0, len(ms))
			for _, m := range ms {
				if role != "" && m.role != role {
					continue
				}
				if query != "" && !strings.Contains(strings.ToLower(m.user.login), query) && !strings.Contains(strings.ToLower(m.user.name), query) {
					continue
				}
				items = append(items, memberItem{m})
			}
			return paginate("TeamMemberConnection", "TeamMemberEdge", "members", items, args)
		}),
		"repositories": f(func(ec *execContext, t *teamState, args map[string]any) (any, error) {
			var rs []teamRepoItem
			for _, tr := range t.repos {
				if st := ec.s.repos[tr.repoID]; st != nil && !st.deleted {
					rs = append(rs, teamRepoItem{st: st, perm: tr.perm})
				}
			}
			slices.SortFunc(rs, func(a, b teamRepoItem) int {
				return cmp.Compare(strings.ToLower(a.st.meta.Name), strings.ToLower(b.st.meta.Name))
			})
			query, _ := argString(args, "query")
			items := make([]any, 0, len(rs))
			for _, r := range rs {
				if query == "" || strings.Contains(strings.ToLower(r.st.meta.Name), strings.ToLower(query)) {
					items = append(items, r)
				}
			}
			return paginate("TeamRepositoryConnection", "TeamRepositoryEdge", "repositories", items, args)
		}),
	}
}

// descendants returns every team below t.
func descendants(s *Server, t *teamState) []*teamState {
	var out []*teamState
	for _, c := range s.teams.teams {
		if c.inst == t.inst && isDescendant(s, c, t) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *teamState) int { return cmp.Compare(a.meta.ID, b.meta.ID) })
	return out
}

// isDescendant reports whether c is below t.
func isDescendant(s *Server, c, t *teamState) bool {
	for depth := 0; c.meta.Parent != "" && depth < 64; depth++ {
		if c.meta.Parent == t.meta.Slug {
			return true
		}
		p := s.teamBySlug(c.meta.Org, c.meta.Parent)
		if p == nil {
			return false
		}
		c = p
	}
	return false
}
