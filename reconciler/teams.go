package reconciler

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kozmoai/glint-github-app/ghe"
	"github.com/kozmoai/glint-github-app/glint"
)

// Team sync modes (Options.TeamsSync, TEAMS_SYNC).
const (
	// TeamsEntities writes githubTeam and githubUser entities.
	TeamsEntities = "entities"
	// TeamsGlint writes Glint teams (/v1/teams) whose users are the
	// members' emails.
	TeamsGlint = "glint-teams"
	// TeamsBoth does both.
	TeamsBoth = "both"
	// TeamsOff syncs no teams.
	TeamsOff = "off"
)

// The blueprints of team entities. Glint admins create them (see the
// README); the app only writes entities of them.
const (
	BlueprintTeam = "githubTeam"
	BlueprintUser = "githubUser"
)

// featureTeams marks, in a datasource, entities written by team sync.
const featureTeams = "teams"

// TeamsModes lists the valid values of Options.TeamsSync.
var TeamsModes = []string{TeamsEntities, TeamsGlint, TeamsBoth, TeamsOff}

func teamEntitiesOn(mode string) bool { return mode == TeamsEntities || mode == TeamsBoth }
func glintTeamsOn(mode string) bool   { return mode == TeamsGlint || mode == TeamsBoth }

// GlintTeamName is the name of the Glint team that team sync makes of the
// GitHub team slug of organization org: "<org>:<slug>". Glint team names
// may not hold a slash, and a colon is in neither logins nor slugs, so the
// name is unique across organizations and readable.
func GlintTeamName(org, slug string) string { return org + ":" + slug }

// TeamEntityID is the identifier of the githubTeam entity of a team:
// "<org>/<slug>".
func TeamEntityID(org, slug string) string { return org + "/" + slug }

// teamMarker ends the description of every Glint team this app manages:
//
//	<GitHub description> (managed by glint-github-app app/<id>@<host>; org/<org>; github-team/<databaseId>)
//
// GET /v1/teams returns no datasource, so the description is how the app
// knows its own teams, which organization each came from (for the
// deletion rules), and which GitHub team (for renames).
var teamMarker = regexp.MustCompile(`\(managed by ` + product + ` app/(\d+)@([^;() ]+); org/([^;() ]+); github-team/(\d+)\)$`)

// glintTeamOwner is the parsed marker of a Glint team.
type glintTeamOwner struct {
	appID  int64
	host   string
	org    string
	teamID int64
}

func parseTeamMarker(desc string) (glintTeamOwner, bool) {
	m := teamMarker.FindStringSubmatch(desc)
	if m == nil {
		return glintTeamOwner{}, false
	}
	app, err1 := strconv.ParseInt(m[1], 10, 64)
	id, err2 := strconv.ParseInt(m[4], 10, 64)
	if err1 != nil || err2 != nil {
		return glintTeamOwner{}, false
	}
	return glintTeamOwner{appID: app, host: m[2], org: m[3], teamID: id}, true
}

// glintTeamDescription is the description the app writes for team t.
func glintTeamDescription(t *ghe.Team, appID int64, host string) string {
	marker := fmt.Sprintf("(managed by %s app/%d@%s; org/%s; github-team/%d)", product, appID, host, t.Org, t.ID)
	if t.Description == "" {
		return marker
	}
	return t.Description + " " + marker
}

// glintTeamNamePattern is Glint's team name pattern.
var glintTeamNamePattern = regexp.MustCompile(`^[^;#/\?\s][^;#/\?]*[^;#/\?\s]$`)

func validGlintTeamName(name string) bool { return glintTeamNamePattern.MatchString(name) }

// TeamsInput is everything PlanTeams needs.
type TeamsInput struct {
	Snapshot   *ghe.Snapshot
	Blueprints []glint.Blueprint
	// Owned are the entities of the ownership search (any blueprint, any
	// feature); PlanTeams keeps those of team sync on the two blueprints.
	Owned []glint.Entity
	// Foreign are githubTeam and githubUser entities found by identifier
	// among the desired ones that the ownership search did not return.
	Foreign []glint.Entity
	// GlintTeams are all of Glint's teams (glint-teams and both modes).
	GlintTeams []glint.Team
	Options    Options
}

// TeamsPlan is the outcome of PlanTeams. It encodes to JSON.
type TeamsPlan struct {
	Mode string `json:"mode"`
	// Organizations counts the organizations whose teams were read;
	// OrganizationsFailed those whose read failed (nothing of theirs is
	// deleted).
	Organizations       int `json:"organizations"`
	OrganizationsFailed int `json:"organizationsFailed"`
	Teams               int `json:"teams"`
	// Entities are the githubTeam and githubUser changes.
	Entities Changes `json:"entities"`
	// Renames are githubTeam entities whose team got a new slug (same
	// githubId): the new identifier is created, the old one deleted under
	// the deletion rules.
	Renames []TeamRename `json:"renames,omitempty"`
	// GlintTeams are the Glint team changes.
	GlintTeams GlintTeamChanges `json:"glintTeams"`
	// MembersWithoutEmail are the logins of members of synced teams whose
	// email the App cannot see, so they are in no Glint team.
	MembersWithoutEmail []string `json:"membersWithoutEmail,omitempty"`
	// Notices are reports such as a missing blueprint.
	Notices []string `json:"notices,omitempty"`
	// Failures are the organizations whose teams could not be read.
	Failures []Problem `json:"failures,omitempty"`
	// depth orders team entity writes: parents before children.
	depth map[string]int
}

// TeamRename is a githubTeam entity that moves to a new identifier.
type TeamRename struct {
	GitHubID int64  `json:"githubId"`
	From     string `json:"from"`
	To       string `json:"to"`
}

// GlintTeamChanges are the planned Glint team writes.
type GlintTeamChanges struct {
	Create    []GlintTeamChange  `json:"create"`
	Update    []GlintTeamChange  `json:"update"` // renames included (From set)
	Delete    []GlintTeamChange  `json:"delete"`
	Conflicts []GlintTeamChange  `json:"conflicts"`
	Invalid   []GlintTeamChange  `json:"invalid"`
	Blocked   []GlintTeamChange  `json:"blocked"`
	Withheld  []GlintTeamChange  `json:"withheld,omitempty"`
	Threshold *ThresholdExceeded `json:"thresholdExceeded,omitempty"`
	Owned     int                `json:"owned"`
}

// GlintTeamChange is one Glint team write, or a team left alone and why.
type GlintTeamChange struct {
	Name   string     `json:"name"`
	From   string     `json:"from,omitempty"` // the current name, for a rename
	Org    string     `json:"org"`
	Team   glint.Team `json:"team"`
	Fields []string   `json:"fields,omitempty"`
	Reason string     `json:"reason,omitempty"`
}

// Empty reports whether p writes nothing.
func (p *TeamsPlan) Empty() bool {
	g := &p.GlintTeams
	return p.Entities.Empty() && len(g.Create) == 0 && len(g.Update) == 0 && len(g.Delete) == 0
}

// teamOrgs is what one pass knows about the teams of each organization.
type teamOrgs struct {
	// complete: installation id -> teams read in full.
	complete map[int64]bool
	// byOrg: lower-case org login -> installation result.
	byOrg map[string]*ghe.InstallationResult
	// listed: installation id -> in the snapshot.
	listed map[int64]*ghe.InstallationResult
	// allOrgsComplete: every Organization installation's teams were read
	// in full, so a user no team lists is gone for certain.
	allOrgsComplete bool
}

func newTeamOrgs(snap *ghe.Snapshot) teamOrgs {
	o := teamOrgs{
		complete:        map[int64]bool{},
		byOrg:           map[string]*ghe.InstallationResult{},
		listed:          map[int64]*ghe.InstallationResult{},
		allOrgsComplete: snap != nil,
	}
	if snap == nil {
		return o
	}
	for i := range snap.Installations {
		ir := &snap.Installations[i]
		o.listed[ir.Installation.ID] = ir
		if ir.Installation.AccountType != "Organization" {
			continue
		}
		o.byOrg[strings.ToLower(ir.Installation.Account)] = ir
		ok := ir.TeamsRead && ir.TeamsErr == nil
		o.complete[ir.Installation.ID] = ok
		if !ok {
			o.allOrgsComplete = false
		}
	}
	return o
}

// installationTeamsDeletable reports whether the teams of installation id
// are known for certain this pass: read in full, or the installation is
// gone from the complete listing.
func (o teamOrgs) installationTeamsDeletable(id int64) (bool, string) {
	ir, ok := o.listed[id]
	switch {
	case id == 0:
		return false, "its datasource names no installation"
	case !ok:
		return true, "" // uninstalled
	case ir.Installation.AccountType != "Organization":
		return true, "" // a user account has no teams
	case !ir.TeamsRead:
		return false, fmt.Sprintf("the teams of installation %d (%s) were not read", id, ir.Installation.Account)
	case ir.TeamsErr != nil:
		return false, fmt.Sprintf("reading the teams of %s failed: %v", ir.Installation.Account, ir.TeamsErr)
	}
	return true, ""
}

// orgTeamsDeletable is installationTeamsDeletable by organization login.
func (o teamOrgs) orgTeamsDeletable(org string) (bool, string) {
	ir, ok := o.byOrg[strings.ToLower(org)]
	if !ok {
		return true, "" // no installation on the organization any more
	}
	return o.installationTeamsDeletable(ir.Installation.ID)
}

// PlanTeams computes the team entity and Glint team changes of one pass.
// Like Plan, it does no I/O and its output is sorted.
func PlanTeams(in TeamsInput) *TeamsPlan {
	opts := in.Options.withDefaults()
	p := &TeamsPlan{Mode: opts.TeamsSync, depth: map[string]int{}}
	orgs := newTeamOrgs(in.Snapshot)
	if in.Snapshot != nil {
		for _, ir := range in.Snapshot.Installations {
			if !ir.TeamsRead {
				continue
			}
			p.Organizations++
			if ir.TeamsErr != nil {
				p.OrganizationsFailed++
				p.Failures = append(p.Failures, Problem{Repo: ir.Installation.Account,
					Message: fmt.Sprintf("read teams of %s: %v", ir.Installation.Account, ir.TeamsErr)})
				continue
			}
			p.Teams += len(ir.Teams)
		}
	}
	if teamEntitiesOn(opts.TeamsSync) {
		planTeamEntities(p, in, opts, orgs)
	}
	if glintTeamsOn(opts.TeamsSync) {
		planGlintTeams(p, in, opts, orgs)
	}
	return p
}

// completeTeams calls fn for every team of every organization read in full.
func completeTeams(snap *ghe.Snapshot, fn func(ir *ghe.InstallationResult, t *ghe.Team)) {
	if snap == nil {
		return
	}
	for i := range snap.Installations {
		ir := &snap.Installations[i]
		if !ir.TeamsRead || ir.TeamsErr != nil {
			continue
		}
		for j := range ir.Teams {
			fn(ir, &ir.Teams[j])
		}
	}
}

// teamsDatasource is the datasource of team entity writes: installation
// set for a githubTeam, zero for a githubUser (users span organizations).
func teamsDatasource(opts Options, installationID int64) string {
	return Owner{Version: opts.Version, AppID: opts.AppID, Host: opts.GHEHost, InstallationID: installationID,
		Features: []string{featureTeams}}.String()
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// keepFields drops the properties and relations bp does not have, and
// returns their names.
func keepFields(e *glint.Entity, bp *glint.Blueprint) []string {
	var dropped []string
	for k := range e.Properties {
		if _, ok := bp.Schema.Properties[k]; !ok {
			delete(e.Properties, k)
			dropped = append(dropped, "property "+k)
		}
	}
	for k := range e.Relations {
		if _, ok := bp.Relations[k]; !ok {
			delete(e.Relations, k)
			dropped = append(dropped, "relation "+k)
		}
	}
	return dropped
}

// planTeamEntities plans the githubTeam and githubUser entities.
func planTeamEntities(p *TeamsPlan, in TeamsInput, opts Options, orgs teamOrgs) {
	bps := map[string]*glint.Blueprint{}
	for i := range in.Blueprints {
		bps[in.Blueprints[i].Identifier] = &in.Blueprints[i]
	}
	teamBP, userBP := bps[BlueprintTeam], bps[BlueprintUser]
	for _, name := range []string{BlueprintTeam, BlueprintUser} {
		if bps[name] == nil {
			p.Notices = append(p.Notices, fmt.Sprintf("blueprint %s does not exist in Glint: its entities are skipped (a Glint admin creates it; see the README)", name))
		}
	}

	// Desired entities.
	var desired []Desired
	dropped := map[string]bool{}
	usersSeen := map[string]int{} // lower login -> index in desired
	completeTeams(in.Snapshot, func(ir *ghe.InstallationResult, t *ghe.Team) {
		org := ir.Installation.Account
		id := TeamEntityID(org, t.Slug)
		src := Source{InstallationID: ir.Installation.ID, Repo: org}
		if teamBP != nil {
			name := t.Name
			members := make([]any, 0, len(t.Members))
			for _, m := range t.Members {
				members = append(members, m.Login)
			}
			slices.SortFunc(members, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
			var parent any
			if t.ParentSlug != "" {
				parent = TeamEntityID(org, t.ParentSlug)
			}
			e := glint.Entity{
				Identifier: id, Blueprint: BlueprintTeam, Title: &name,
				Properties: map[string]any{
					"slug": t.Slug, "name": t.Name, "description": nilIfEmpty(t.Description),
					"link": nilIfEmpty(t.URL), "privacy": t.Privacy, "githubId": float64(t.ID),
				},
				Relations: map[string]any{"parentTeam": parent, "members": members},
			}
			for _, f := range keepFields(&e, teamBP) {
				dropped[BlueprintTeam+" has no "+f] = true
			}
			desired = append(desired, Desired{Entity: e, Source: src})
			p.depth[id] = teamDepth(ir, t)
		}
		if userBP != nil {
			for _, m := range t.Members {
				key := strings.ToLower(m.Login)
				if _, ok := usersSeen[key]; ok {
					continue
				}
				usersSeen[key] = len(desired)
				title := m.Name
				if title == "" {
					title = m.Login
				}
				e := glint.Entity{
					Identifier: m.Login, Blueprint: BlueprintUser, Title: &title,
					Properties: map[string]any{"login": m.Login, "name": nilIfEmpty(m.Name), "email": nilIfEmpty(m.Email)},
				}
				for _, f := range keepFields(&e, userBP) {
					dropped[BlueprintUser+" has no "+f] = true
				}
				desired = append(desired, Desired{Entity: e, Source: Source{Repo: org}})
			}
		}
	})
	for _, d := range slices.Sorted(maps.Keys(dropped)) {
		p.Notices = append(p.Notices, "blueprint "+d+": not written")
	}

	// Owned and foreign entities.
	ownedTeams := map[Key]owned{}
	foreign := map[Key]*glint.Entity{}
	byGitHubID := map[float64]Key{}
	parsed := map[string]Owner{}
	ours := map[string]bool{}
	classify := func(e *glint.Entity) {
		if e.Blueprint != BlueprintTeam && e.Blueprint != BlueprintUser {
			return
		}
		k := keyOf(e)
		if _, ok := ownedTeams[k]; ok {
			return
		}
		o, seen := parsed[e.Datasource]
		if !seen {
			var ok bool
			o, ok = ParseDatasource(e.Datasource)
			parsed[e.Datasource] = o
			ours[e.Datasource] = ok && o.SameApp(opts.AppID, opts.GHEHost) && o.Has(featureTeams)
		}
		if ours[e.Datasource] {
			ownedTeams[k] = owned{e: e, owner: refOf(o)}
			delete(foreign, k)
			if id, ok := e.Properties["githubId"].(float64); ok && e.Blueprint == BlueprintTeam {
				byGitHubID[id] = k
			}
			return
		}
		foreign[k] = e
	}
	for i := range in.Owned {
		classify(&in.Owned[i])
	}
	for i := range in.Foreign {
		classify(&in.Foreign[i])
	}

	ch := &p.Entities
	ch.Desired, ch.Owned = len(desired), len(ownedTeams)
	want := make(map[Key]bool, len(desired))
	renamedTo := map[Key]Key{}  // old key -> new key
	unwritten := map[Key]bool{} // desired keys not written (conflict, invalid)
	datasources := map[int64]string{}
	for i := range desired {
		d := &desired[i]
		k := keyOf(&d.Entity)
		want[k] = true
		bp := bps[k.Blueprint]
		cur, exists := ownedTeams[k]
		if id, ok := d.Entity.Properties["githubId"].(float64); ok && !exists {
			if old, ok := byGitHubID[id]; ok && old != k {
				renamedTo[old] = k
				p.Renames = append(p.Renames, TeamRename{GitHubID: int64(id), From: old.Identifier, To: k.Identifier})
			}
		}
		if f := foreign[k]; f != nil {
			by := f.Datasource
			if by == "" {
				by = "another writer"
			}
			unwritten[k] = true
			ch.Conflicts = append(ch.Conflicts, Conflict{Blueprint: k.Blueprint, Identifier: k.Identifier, Source: d.Source, Owner: by,
				Message: fmt.Sprintf("%s: %s exists in Glint and was written by %s; left alone", d.Source, k, by)})
			continue
		}
		if err := Validate(&d.Entity, bp, !exists, opts.Merge); err != nil {
			unwritten[k] = true
			ch.Invalid = append(ch.Invalid, Invalid{Blueprint: k.Blueprint, Identifier: k.Identifier, Source: d.Source, Message: err.Error()})
			continue
		}
		ds, ok := datasources[d.Source.InstallationID]
		if !ok {
			ds = teamsDatasource(opts, d.Source.InstallationID)
			datasources[d.Source.InstallationID] = ds
		}
		if !exists {
			ch.Create = append(ch.Create, Change{Blueprint: k.Blueprint, Identifier: k.Identifier, Source: d.Source, Datasource: ds, Entity: &d.Entity})
			continue
		}
		fields := diff(&d.Entity, cur.e, opts.Merge)
		if cur.owner.InstallationID != d.Source.InstallationID {
			fields = append(fields, "datasource")
		}
		if len(fields) > 0 {
			ch.Update = append(ch.Update, Change{Blueprint: k.Blueprint, Identifier: k.Identifier, Source: d.Source, Datasource: ds,
				Entity: &d.Entity, Fields: fields, Previous: cur.e.Datasource})
		}
	}

	if opts.Policy != PolicyUpsertOnly {
		for k, o := range ownedTeams {
			if want[k] {
				continue
			}
			src := Source{InstallationID: o.owner.InstallationID}
			var ok bool
			var reason string
			if k.Blueprint == BlueprintUser {
				ok, reason = orgs.allOrgsComplete, "the teams of an organization could not be read, and they may list this user"
			} else {
				ok, reason = orgs.installationTeamsDeletable(o.owner.InstallationID)
				if to, renamed := renamedTo[k]; ok && renamed && unwritten[to] {
					ok, reason = false, fmt.Sprintf("the team was renamed to %s, which could not be written", to.Identifier)
				}
			}
			if !ok {
				ch.Blocked = append(ch.Blocked, Blocked{Blueprint: k.Blueprint, Identifier: k.Identifier, Source: src,
					Datasource: o.e.Datasource, Reason: reason})
				continue
			}
			ch.Delete = append(ch.Delete, Change{Blueprint: k.Blueprint, Identifier: k.Identifier, Source: src, Datasource: o.e.Datasource})
		}
		if n := len(ch.Delete); n > 0 && float64(n) > opts.DeleteThreshold*float64(len(ownedTeams)) {
			ch.Threshold = &ThresholdExceeded{Deletes: n, Owned: len(ownedTeams), Threshold: opts.DeleteThreshold}
			ch.Withheld, ch.Delete = ch.Delete, nil
		}
	}
	ch.sort()
	slices.SortFunc(p.Renames, func(a, b TeamRename) int { return strings.Compare(a.From, b.From) })
}

// teamDepth is how many ancestors t has in its organization.
func teamDepth(ir *ghe.InstallationResult, t *ghe.Team) int {
	bySlug := func(slug string) *ghe.Team {
		for i := range ir.Teams {
			if ir.Teams[i].Slug == slug {
				return &ir.Teams[i]
			}
		}
		return nil
	}
	d := 0
	for cur := t; cur.ParentSlug != "" && d < 64; d++ {
		if cur = bySlug(cur.ParentSlug); cur == nil {
			break
		}
	}
	return d
}

// planGlintTeams plans the Glint teams.
func planGlintTeams(p *TeamsPlan, in TeamsInput, opts Options, orgs teamOrgs) {
	g := &p.GlintTeams
	byName := make(map[string]*glint.Team, len(in.GlintTeams))
	ownedByID := map[int64]*glint.Team{}
	ownedTeams := map[string]glintTeamOwner{}
	for i := range in.GlintTeams {
		t := &in.GlintTeams[i]
		byName[t.Name] = t
		if o, ok := parseTeamMarker(t.Description); ok && o.appID == opts.AppID && strings.EqualFold(o.host, opts.GHEHost) {
			ownedTeams[t.Name] = o
			ownedByID[o.teamID] = t
		}
	}
	g.Owned = len(ownedTeams)

	type want struct {
		ir *ghe.InstallationResult
		t  *ghe.Team
	}
	var wants []want
	completeTeams(in.Snapshot, func(ir *ghe.InstallationResult, t *ghe.Team) { wants = append(wants, want{ir, t}) })
	desiredNames := make(map[string]bool, len(wants))
	for _, w := range wants {
		desiredNames[GlintTeamName(w.ir.Installation.Account, w.t.Slug)] = true
	}
	noEmail := map[string]bool{}
	used := map[string]bool{} // owned team names taken by a desired team
	for _, w := range wants {
		org := w.ir.Installation.Account
		name := GlintTeamName(org, w.t.Slug)
		emails := make([]string, 0, len(w.t.Members))
		seen := map[string]bool{}
		for _, m := range w.t.Members {
			if m.Email == "" {
				noEmail[m.Login] = true
				continue
			}
			if k := strings.ToLower(m.Email); !seen[k] {
				seen[k] = true
				emails = append(emails, m.Email)
			}
		}
		slices.Sort(emails)
		team := glint.Team{Name: name, Description: glintTeamDescription(w.t, opts.AppID, opts.GHEHost), Users: make([]glint.TeamUser, len(emails))}
		for i, e := range emails {
			team.Users[i] = glint.TeamUser{Email: e}
		}
		c := GlintTeamChange{Name: name, Org: org, Team: team}
		if !validGlintTeamName(name) {
			c.Reason = fmt.Sprintf("%q does not match Glint's team name pattern", name)
			g.Invalid = append(g.Invalid, c)
			continue
		}
		cur := byName[name]
		if cur != nil {
			if _, ours := ownedTeams[name]; !ours {
				c.Reason = fmt.Sprintf("Glint team %s exists and is not managed by this app; left alone", name)
				g.Conflicts = append(g.Conflicts, c)
				continue
			}
			used[name] = true
			if fields := teamDiff(&team, cur); len(fields) > 0 {
				c.Fields = fields
				g.Update = append(g.Update, c)
			}
			continue
		}
		if old := ownedByID[w.t.ID]; old != nil && !desiredNames[old.Name] && !used[old.Name] {
			used[old.Name] = true
			c.From = old.Name
			c.Fields = append([]string{"name"}, teamDiff(&team, old)...)
			g.Update = append(g.Update, c)
			continue
		}
		g.Create = append(g.Create, c)
	}
	p.MembersWithoutEmail = slices.Sorted(maps.Keys(noEmail))

	if opts.Policy != PolicyUpsertOnly {
		for name, o := range ownedTeams {
			if used[name] || desiredNames[name] {
				continue
			}
			c := GlintTeamChange{Name: name, Org: o.org, Team: *byName[name]}
			if ok, reason := orgs.orgTeamsDeletable(o.org); !ok {
				c.Reason = reason
				g.Blocked = append(g.Blocked, c)
				continue
			}
			g.Delete = append(g.Delete, c)
		}
		if n := len(g.Delete); n > 0 && float64(n) > opts.DeleteThreshold*float64(g.Owned) {
			g.Threshold = &ThresholdExceeded{Deletes: n, Owned: g.Owned, Threshold: opts.DeleteThreshold}
			g.Withheld, g.Delete = g.Delete, nil
		}
	}
	for _, l := range []*[]GlintTeamChange{&g.Create, &g.Update, &g.Delete, &g.Conflicts, &g.Invalid, &g.Blocked, &g.Withheld} {
		slices.SortFunc(*l, func(a, b GlintTeamChange) int { return cmp.Compare(a.Name, b.Name) })
	}
}

// teamDiff lists the fields of team d that differ from Glint's c:
// description, users (compared as sets of lower-case emails).
func teamDiff(d, c *glint.Team) []string {
	var fields []string
	if d.Description != c.Description {
		fields = append(fields, "description")
	}
	norm := func(us []glint.TeamUser) []string {
		out := make([]string, 0, len(us))
		for _, u := range us {
			out = append(out, strings.ToLower(u.Email))
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	if !slices.Equal(norm(d.Users), norm(c.Users)) {
		fields = append(fields, "users")
	}
	return fields
}

// resolveSpecTeams rewrites the team of glint.yml entities that names a
// GitHub team slug of the repository's organization to that team's Glint
// name (glint-teams and both modes). When the organization's teams could
// not be read this pass, a value is rewritten only if the entity in Glint
// already has the Glint name, so a failed read changes nothing.
func resolveSpecTeams(desired []Desired, snap *ghe.Snapshot, opts Options, owned map[Key]owned) {
	if !glintTeamsOn(opts.TeamsSync) || snap == nil {
		return
	}
	type orgTeams struct {
		account  string
		complete bool
		slugs    map[string]string // lower slug -> slug
	}
	orgs := map[string]*orgTeams{}
	for i := range snap.Installations {
		ir := &snap.Installations[i]
		if !ir.TeamsRead {
			continue
		}
		ot := &orgTeams{account: ir.Installation.Account, complete: ir.TeamsErr == nil, slugs: map[string]string{}}
		for _, t := range ir.Teams {
			ot.slugs[strings.ToLower(t.Slug)] = t.Slug
		}
		orgs[strings.ToLower(ir.Installation.Account)] = ot
	}
	if len(orgs) == 0 {
		return
	}
	for i := range desired {
		d := &desired[i]
		list, ok := d.Entity.Team.([]string)
		if !ok || len(list) == 0 {
			continue
		}
		org, _, _ := strings.Cut(d.Source.Repo, "/")
		ot := orgs[strings.ToLower(org)]
		if ot == nil {
			continue
		}
		var current []string
		if !ot.complete {
			if o, ok := owned[keyOf(&d.Entity)]; ok {
				current = teamList(o.e.Team)
			}
		}
		out := make([]string, len(list))
		for j, v := range list {
			out[j] = v
			if ot.complete {
				if slug, ok := ot.slugs[strings.ToLower(v)]; ok {
					out[j] = GlintTeamName(ot.account, slug)
				}
				continue
			}
			if name := GlintTeamName(ot.account, strings.ToLower(v)); slices.Contains(current, name) {
				out[j] = name
			}
		}
		d.Entity.Team = out
	}
}

// WriteTo writes p in its human form: a header line, the team entity
// changes as Changes.WriteTo writes them, then one line a Glint team
// change ("+ team acme:platform", "~ team acme:sre  users", "- team
// acme:web"), and "! " lines for Glint teams left alone.
func (p *TeamsPlan) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "teams (%s): %d organizations read, %d failed, %d teams\n", p.Mode, p.Organizations-p.OrganizationsFailed, p.OrganizationsFailed, p.Teams)
	if teamEntitiesOn(p.Mode) {
		if _, err := p.Entities.WriteTo(&b); err != nil {
			return 0, err
		}
		for _, r := range p.Renames {
			fmt.Fprintf(&b, "  renamed %s -> %s (githubId %d)\n", r.From, r.To, r.GitHubID)
		}
	}
	if glintTeamsOn(p.Mode) {
		g := &p.GlintTeams
		for _, c := range g.Create {
			fmt.Fprintf(&b, "+ team %s  (%d users)\n", c.Name, len(c.Team.Users))
		}
		for _, c := range g.Update {
			from := ""
			if c.From != "" {
				from = " (from " + c.From + ")"
			}
			fmt.Fprintf(&b, "~ team %s%s  %s\n", c.Name, from, strings.Join(c.Fields, ", "))
		}
		for _, c := range g.Delete {
			fmt.Fprintf(&b, "- team %s\n", c.Name)
		}
		for _, c := range slices.Concat(g.Conflicts, g.Invalid, g.Blocked) {
			fmt.Fprintf(&b, "! team %s: %s\n", c.Name, c.Reason)
		}
		if g.Threshold != nil {
			fmt.Fprintf(&b, "! teams: %s\n", g.Threshold)
		}
		if n := len(p.MembersWithoutEmail); n > 0 {
			fmt.Fprintf(&b, "! %d team members have no visible email and are in no Glint team\n", n)
		}
		fmt.Fprintf(&b, "%d teams to create, %d to update, %d to delete, %d conflicts, %d kept\n",
			len(g.Create), len(g.Update), len(g.Delete), len(g.Conflicts), len(g.Blocked)+len(g.Withheld))
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}
