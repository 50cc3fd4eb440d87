package reconciler

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kozmoai/glint-github-app/ghe"
	"github.com/kozmoai/glint-github-app/glint"
)

func teamBlueprints() []glint.Blueprint {
	return []glint.Blueprint{
		{Identifier: BlueprintTeam, Schema: glint.Schema{Properties: map[string]glint.Property{
			"slug": {Type: "string"}, "name": {Type: "string"}, "description": {Type: "string"},
			"link": {Type: "string", Format: "url"}, "privacy": {Type: "string", Enum: []any{"VISIBLE", "SECRET"}},
			"githubId": {Type: "number"},
		}}, Relations: map[string]glint.Relation{
			"parentTeam": {Target: BlueprintTeam},
			"members":    {Target: BlueprintUser, Many: true},
		}},
		{Identifier: BlueprintUser, Schema: glint.Schema{Properties: map[string]glint.Property{
			"login": {Type: "string"}, "name": {Type: "string"}, "email": {Type: "string", Format: "email"},
		}}},
	}
}

func member(login string) ghe.TeamMember {
	return ghe.TeamMember{Login: login, Name: strings.ToUpper(login), Email: login + "@acme.test", Role: "MEMBER"}
}

func ghTeam(org string, id int64, slug, parent string, members ...ghe.TeamMember) ghe.Team {
	return ghe.Team{Org: org, ID: id, Slug: slug, Name: strings.ToUpper(slug), Privacy: "VISIBLE",
		URL: "https://ghe.test/orgs/" + org + "/teams/" + slug, ParentSlug: parent, Members: members}
}

// orgTeams is an Organization installation whose teams were read.
func orgTeams(id int64, org string, teams ...ghe.Team) ghe.InstallationResult {
	return ghe.InstallationResult{Installation: ghe.Installation{ID: id, Account: org, AccountType: "Organization"},
		TeamsRead: true, Teams: teams}
}

func failedTeams(id int64, org string) ghe.InstallationResult {
	ir := orgTeams(id, org)
	ir.TeamsErr = errors.New("read teams of " + org + ": graphql: Something went wrong")
	return ir
}

func teamOpts(mode string) Options {
	o := tOpts()
	o.TeamsSync = mode
	return o
}

// desiredTeamEntities plans a cold pass and returns what it would write,
// as entities ours in Glint.
func ownedAfter(t *testing.T, in TeamsInput) []glint.Entity {
	t.Helper()
	p := PlanTeams(in)
	var out []glint.Entity
	for _, c := range p.Entities.Create {
		e := *c.Entity
		e.Datasource = c.Datasource
		out = append(out, e)
	}
	return out
}

func teamSummary(p *TeamsPlan) map[string][]string {
	out := map[string][]string{}
	add := func(k, v string) { out[k] = append(out[k], v) }
	ch := &p.Entities
	for _, c := range ch.Create {
		add("create", c.Blueprint+"/"+c.Identifier)
	}
	for _, c := range ch.Update {
		add("update", c.Blueprint+"/"+c.Identifier+" "+strings.Join(c.Fields, ","))
	}
	for _, c := range ch.Delete {
		add("delete", c.Blueprint+"/"+c.Identifier)
	}
	for _, c := range ch.Blocked {
		add("kept", c.Blueprint+"/"+c.Identifier)
	}
	for _, c := range ch.Withheld {
		add("withheld", c.Blueprint+"/"+c.Identifier)
	}
	for _, c := range ch.Conflicts {
		add("conflict", c.Blueprint+"/"+c.Identifier)
	}
	for _, c := range ch.Invalid {
		add("invalid", c.Blueprint+"/"+c.Identifier)
	}
	for _, r := range p.Renames {
		add("rename", r.From+" -> "+r.To)
	}
	g := &p.GlintTeams
	for _, c := range g.Create {
		add("team+", c.Name)
	}
	for _, c := range g.Update {
		s := c.Name + " " + strings.Join(c.Fields, ",")
		if c.From != "" {
			s = c.From + " -> " + s
		}
		add("team~", s)
	}
	for _, c := range g.Delete {
		add("team-", c.Name)
	}
	for _, c := range g.Blocked {
		add("team kept", c.Name)
	}
	for _, c := range g.Withheld {
		add("team withheld", c.Name)
	}
	for _, c := range g.Conflicts {
		add("team conflict", c.Name)
	}
	for _, c := range g.Invalid {
		add("team invalid", c.Name)
	}
	return out
}

func TestPlanTeamEntities(t *testing.T) {
	base := snap(orgTeams(7, "acme",
		ghTeam("acme", 1, "platform", "", member("alice"), member("bob")),
		ghTeam("acme", 2, "sre", "platform", member("bob")),
	))
	cold := ownedAfter(t, TeamsInput{Snapshot: base, Blueprints: teamBlueprints(), Options: teamOpts(TeamsEntities)})
	if len(cold) != 4 {
		t.Fatalf("cold pass creates %d entities, want 4", len(cold))
	}
	withOwned := func(extra ...glint.Entity) []glint.Entity {
		return append(append([]glint.Entity(nil), cold...), extra...)
	}
	mutate := func(id string, f func(*glint.Entity)) []glint.Entity {
		out := withOwned()
		for i := range out {
			if out[i].Identifier == id {
				out[i].Properties = cloneMap(out[i].Properties)
				out[i].Relations = cloneMap(out[i].Relations)
				f(&out[i])
			}
		}
		return out
	}
	teamDS := func(inst int64) string { return teamsDatasource(teamOpts(TeamsEntities).withDefaults(), inst) }

	for _, tc := range []struct {
		name      string
		snap      *ghe.Snapshot
		owned     []glint.Entity
		foreign   []glint.Entity
		bps       []glint.Blueprint
		policy    string
		threshold float64
		want      map[string][]string
	}{
		{name: "cold", snap: base, want: map[string][]string{"create": {
			"githubTeam/acme/platform", "githubTeam/acme/sre", "githubUser/alice", "githubUser/bob"}}},
		{name: "unchanged", snap: base, owned: withOwned(), want: map[string][]string{}},
		{name: "membership change is one write", owned: withOwned(), snap: snap(orgTeams(7, "acme",
			ghTeam("acme", 1, "platform", "", member("alice")),
			ghTeam("acme", 2, "sre", "platform", member("bob")),
		)), want: map[string][]string{"update": {"githubTeam/acme/platform relations.members"}}},
		{name: "member without email", owned: withOwned(), snap: snap(orgTeams(7, "acme",
			ghTeam("acme", 1, "platform", "", member("alice"), ghe.TeamMember{Login: "bob", Name: "BOB"}),
			ghTeam("acme", 2, "sre", "platform", ghe.TeamMember{Login: "bob", Name: "BOB"}),
		)), want: map[string][]string{"update": {"githubUser/bob properties.email"}}},
		{name: "deleted team and its only member", owned: withOwned(), snap: snap(orgTeams(7, "acme",
			ghTeam("acme", 1, "platform", "", member("bob")),
		)), want: map[string][]string{
			"update": {"githubTeam/acme/platform relations.members"},
			"delete": {"githubTeam/acme/sre", "githubUser/alice"},
		}},
		{name: "failed team read deletes nothing", owned: withOwned(), snap: snap(failedTeams(7, "acme")),
			want: map[string][]string{"kept": {"githubTeam/acme/platform", "githubTeam/acme/sre", "githubUser/alice", "githubUser/bob"}}},
		{name: "teams not read deletes nothing", owned: withOwned(), snap: snap(ghe.InstallationResult{
			Installation: ghe.Installation{ID: 7, Account: "acme", AccountType: "Organization"}}),
			want: map[string][]string{"kept": {"githubTeam/acme/platform", "githubTeam/acme/sre", "githubUser/alice", "githubUser/bob"}}},
		{name: "another org failing keeps users only", owned: withOwned(), snap: snap(
			orgTeams(7, "acme", ghTeam("acme", 1, "platform", "", member("alice"))), failedTeams(8, "globex")),
			want: map[string][]string{
				"update": {"githubTeam/acme/platform relations.members"},
				"delete": {"githubTeam/acme/sre"},
				"kept":   {"githubUser/bob"},
			}},
		{name: "uninstalled org", owned: withOwned(), snap: snap(orgTeams(8, "globex")), threshold: 1,
			want: map[string][]string{"delete": {"githubTeam/acme/platform", "githubTeam/acme/sre", "githubUser/alice", "githubUser/bob"}}},
		{name: "rename creates the new and deletes the old", owned: withOwned(), snap: snap(orgTeams(7, "acme",
			ghTeam("acme", 1, "platform-eng", "", member("alice"), member("bob")),
			ghTeam("acme", 2, "sre", "platform-eng", member("bob")),
		)), want: map[string][]string{
			"create": {"githubTeam/acme/platform-eng"},
			"update": {"githubTeam/acme/sre relations.parentTeam"},
			"delete": {"githubTeam/acme/platform"},
			"rename": {"acme/platform -> acme/platform-eng"},
		}},
		{name: "rename onto a foreign entity keeps the old", owned: withOwned(), snap: snap(orgTeams(7, "acme",
			ghTeam("acme", 1, "platform-eng", "", member("alice"), member("bob")),
			ghTeam("acme", 2, "sre", "platform-eng", member("bob")),
		)), foreign: []glint.Entity{{Blueprint: BlueprintTeam, Identifier: "acme/platform-eng", Datasource: "someone"}},
			want: map[string][]string{
				"conflict": {"githubTeam/acme/platform-eng"},
				"update":   {"githubTeam/acme/sre relations.parentTeam"},
				"kept":     {"githubTeam/acme/platform"},
				"rename":   {"acme/platform -> acme/platform-eng"},
			}},
		{name: "foreign user and gitops team are conflicts", snap: base, foreign: []glint.Entity{
			{Blueprint: BlueprintUser, Identifier: "alice", Datasource: "port-github-app"},
			{Blueprint: BlueprintTeam, Identifier: "acme/sre", Datasource: ours(7, "acme/catalog")},
		}, want: map[string][]string{
			"create":   {"githubTeam/acme/platform", "githubUser/bob"},
			"conflict": {"githubTeam/acme/sre", "githubUser/alice"},
		}},
		{name: "installation moved", snap: snap(orgTeams(9, "acme",
			ghTeam("acme", 1, "platform", "", member("alice"), member("bob")),
			ghTeam("acme", 2, "sre", "platform", member("bob")),
		)), owned: withOwned(), want: map[string][]string{"update": {
			"githubTeam/acme/platform datasource", "githubTeam/acme/sre datasource"}}},
		{name: "upsert-only deletes nothing", owned: withOwned(), snap: snap(orgTeams(7, "acme")), policy: PolicyUpsertOnly,
			want: map[string][]string{}},
		{name: "deletes over the threshold are withheld", owned: withOwned(), snap: snap(orgTeams(7, "acme")),
			want: map[string][]string{"withheld": {"githubTeam/acme/platform", "githubTeam/acme/sre", "githubUser/alice", "githubUser/bob"}}},
		{name: "edited in glint is written back", snap: base, owned: mutate("acme/sre", func(e *glint.Entity) {
			e.Properties["privacy"] = "SECRET"
		}), want: map[string][]string{"update": {"githubTeam/acme/sre properties.privacy"}}},
		{name: "missing blueprints skip", snap: base, bps: []glint.Blueprint{}, want: map[string][]string{}},
		{name: "another app's entities are not ours", snap: snap(orgTeams(7, "acme")), owned: []glint.Entity{
			{Blueprint: BlueprintTeam, Identifier: "acme/x", Datasource: Owner{Version: "1", AppID: 99, Host: tHost, InstallationID: 7, Features: []string{featureTeams}}.String()},
			{Blueprint: BlueprintTeam, Identifier: "acme/y", Datasource: teamDS(7)},
		}, threshold: 1, want: map[string][]string{"delete": {"githubTeam/acme/y"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := teamOpts(TeamsEntities)
			if tc.policy != "" {
				opts.Policy = tc.policy
			}
			if tc.threshold != 0 {
				opts.DeleteThreshold = tc.threshold
			}
			bps := tc.bps
			if bps == nil {
				bps = teamBlueprints()
			}
			p := PlanTeams(TeamsInput{Snapshot: tc.snap, Blueprints: bps, Owned: tc.owned, Foreign: tc.foreign, Options: opts})
			if d := cmp.Diff(tc.want, teamSummary(p)); d != "" {
				t.Errorf("plan (-want +got):\n%s", d)
			}
		})
	}
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestPlanTeamEntityShape(t *testing.T) {
	p := PlanTeams(TeamsInput{Snapshot: snap(orgTeams(7, "acme",
		ghe.Team{Org: "acme", ID: 5, Slug: "sre", Name: "SRE", Privacy: "SECRET", URL: "https://ghe.test/orgs/acme/teams/sre",
			ParentSlug: "platform", Members: []ghe.TeamMember{member("bob"), {Login: "carol"}}},
		ghTeam("acme", 1, "platform", ""),
	)), Blueprints: teamBlueprints(), Options: teamOpts(TeamsEntities)})
	byID := map[string]Change{}
	for _, c := range p.Entities.Create {
		byID[c.Identifier] = c
	}
	sre := byID["acme/sre"]
	want := glint.Entity{Identifier: "acme/sre", Blueprint: BlueprintTeam, Title: ptr("SRE"),
		Properties: map[string]any{"slug": "sre", "name": "SRE", "description": nil, "link": "https://ghe.test/orgs/acme/teams/sre",
			"privacy": "SECRET", "githubId": float64(5)},
		Relations: map[string]any{"parentTeam": "acme/platform", "members": []any{"bob", "carol"}}}
	if d := cmp.Diff(want, *sre.Entity); d != "" {
		t.Errorf("acme/sre (-want +got):\n%s", d)
	}
	if want := fmt.Sprintf("glint-github-app/%s (app/%d@%s; installation/7; teams)", tVersion, tApp, tHost); sre.Datasource != want {
		t.Errorf("datasource = %q, want %q", sre.Datasource, want)
	}
	carol := byID["carol"]
	if d := cmp.Diff(glint.Entity{Identifier: "carol", Blueprint: BlueprintUser, Title: ptr("carol"),
		Properties: map[string]any{"login": "carol", "name": nil, "email": nil}}, *carol.Entity); d != "" {
		t.Errorf("carol (-want +got):\n%s", d)
	}
	if o, ok := ParseDatasource(carol.Datasource); !ok || o.InstallationID != 0 || !o.Has("teams") {
		t.Errorf("user datasource %q", carol.Datasource)
	}
	if p.depth["acme/sre"] != 1 || p.depth["acme/platform"] != 0 {
		t.Errorf("depth = %v", p.depth)
	}
}

func TestPlanGlintTeams(t *testing.T) {
	opts := teamOpts(TeamsGlint)
	base := snap(orgTeams(7, "acme",
		ghTeam("acme", 1, "platform", "", member("alice"), member("bob")),
		ghTeam("acme", 2, "sre", "platform", member("bob"), ghe.TeamMember{Login: "nomail"}),
	))
	cold := PlanTeams(TeamsInput{Snapshot: base, Options: opts})
	var glintTeams []glint.Team
	for _, c := range cold.GlintTeams.Create {
		glintTeams = append(glintTeams, c.Team)
	}
	if len(glintTeams) != 2 || glintTeams[0].Name != "acme:platform" ||
		glintTeams[0].Description != fmt.Sprintf("(managed by glint-github-app app/%d@%s; org/acme; github-team/1)", tApp, tHost) ||
		len(glintTeams[1].Users) != 1 || glintTeams[1].Users[0].Email != "bob@acme.test" {
		t.Fatalf("cold pass teams = %+v", glintTeams)
	}
	if d := cmp.Diff([]string{"nomail"}, cold.MembersWithoutEmail); d != "" {
		t.Errorf("members without email (-want +got):\n%s", d)
	}
	other := glint.Team{Name: "acme:ops", Description: "made by hand"}
	theirs := glint.Team{Name: "globex:x", Description: "(managed by glint-github-app app/99@" + tHost + "; org/globex; github-team/9)"}
	owned := append([]glint.Team{other, theirs}, glintTeams...)

	for _, tc := range []struct {
		name      string
		snap      *ghe.Snapshot
		teams     []glint.Team
		threshold float64
		want      map[string][]string
	}{
		{"cold", base, nil, 0, map[string][]string{"team+": {"acme:platform", "acme:sre"}}},
		{"unchanged", base, owned, 0, map[string][]string{}},
		{"membership change is one write", snap(orgTeams(7, "acme",
			ghTeam("acme", 1, "platform", "", member("alice")),
			ghTeam("acme", 2, "sre", "platform", member("bob"), ghe.TeamMember{Login: "nomail"}),
		)), owned, 0, map[string][]string{"team~": {"acme:platform users"}}},
		{"rename patches the name", snap(orgTeams(7, "acme",
			ghTeam("acme", 1, "platform-eng", "", member("alice"), member("bob")),
			ghTeam("acme", 2, "sre", "platform-eng", member("bob"), ghe.TeamMember{Login: "nomail"}),
		)), owned, 0, map[string][]string{"team~": {"acme:platform -> acme:platform-eng name"}}},
		{"deleted team", snap(orgTeams(7, "acme",
			ghTeam("acme", 1, "platform", "", member("alice"), member("bob")),
		)), owned, 0, map[string][]string{"team-": {"acme:sre"}}},
		{"failed read deletes nothing", snap(failedTeams(7, "acme")), owned, 0,
			map[string][]string{"team kept": {"acme:platform", "acme:sre"}}},
		{"a hand-made team of the same name is a conflict", base, []glint.Team{{Name: "acme:platform"}}, 0,
			map[string][]string{"team+": {"acme:sre"}, "team conflict": {"acme:platform"}}},
		{"uninstalled org", snap(), owned, 1, map[string][]string{"team-": {"acme:platform", "acme:sre"}}},
		{"uninstalled org over the threshold", snap(), owned, 0, map[string][]string{"team withheld": {"acme:platform", "acme:sre"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := opts
			o.DeleteThreshold = tc.threshold
			p := PlanTeams(TeamsInput{Snapshot: tc.snap, GlintTeams: tc.teams, Options: o})
			if d := cmp.Diff(tc.want, teamSummary(p)); d != "" {
				t.Errorf("plan (-want +got):\n%s", d)
			}
		})
	}
}

func TestResolveSpecTeams(t *testing.T) {
	specSnap := func(teams ghe.InstallationResult) *ghe.Snapshot {
		ir := teams
		ir.Repos = []ghe.RepoResult{repo(7, "acme/checkout", spec("glint.yml",
			ghe.SpecEntity{Blueprint: "service", Identifier: "checkout", Team: []string{"Platform", "payments"}}))}
		return snap(ir)
	}
	bps := testBlueprints()
	for _, tc := range []struct {
		name  string
		mode  string
		snap  *ghe.Snapshot
		owned []glint.Entity
		want  []string
	}{
		{"resolved", TeamsGlint, specSnap(orgTeams(7, "acme", ghTeam("acme", 1, "platform", ""))), nil, []string{"acme:platform", "payments"}},
		{"entities mode leaves it", TeamsEntities, specSnap(orgTeams(7, "acme", ghTeam("acme", 1, "platform", ""))), nil, []string{"Platform", "payments"}},
		{"failed read keeps the current name", TeamsBoth, specSnap(failedTeams(7, "acme")), []glint.Entity{{
			Blueprint: "service", Identifier: "checkout", Datasource: ours(7, "acme/checkout"), Team: []any{"acme:platform", "payments"},
		}}, []string{"acme:platform", "payments"}},
		{"failed read, not yet resolved", TeamsBoth, specSnap(failedTeams(7, "acme")), nil, []string{"Platform", "payments"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tOpts()
			o.TeamsSync = tc.mode
			ch := Plan(Input{Snapshot: tc.snap, Blueprints: bps, Owned: tc.owned, Options: o})
			var got any
			for _, c := range append(ch.Create, ch.Update...) {
				got = c.Entity.Team
			}
			if tc.owned != nil && len(ch.Update) == 0 && len(ch.Create) == 0 {
				got = tc.want // unchanged: nothing written
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("team (-want +got):\n%s", d)
			}
		})
	}
}

func TestTeamsPlanWriteTo(t *testing.T) {
	p := PlanTeams(TeamsInput{Snapshot: snap(orgTeams(7, "acme", ghTeam("acme", 1, "platform", "", member("alice"), ghe.TeamMember{Login: "x"}))),
		Blueprints: teamBlueprints(), GlintTeams: []glint.Team{{Name: "acme:old", Description: "(managed by glint-github-app app/12@ghe.example.com; org/acme; github-team/9)"}},
		Options: teamOpts(TeamsBoth)})
	var b strings.Builder
	if _, err := p.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := `teams (both): 1 organizations read, 0 failed, 1 teams
+ githubTeam/acme/platform  (acme)
+ githubUser/alice  (acme)
+ githubUser/x  (acme)
3 to create, 0 to update, 0 to delete, 0 conflicts, 0 invalid, 0 kept
+ team acme:platform  (1 users)
! teams: deletion threshold exceeded: 1 of 1 owned entities would be deleted (threshold 0.9); nothing is deleted
! 1 team members have no visible email and are in no Glint team
1 teams to create, 0 to update, 0 to delete, 0 conflicts, 1 kept
`
	if d := cmp.Diff(want, b.String()); d != "" {
		t.Errorf("WriteTo (-want +got):\n%s", d)
	}
}
