package reconciler_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kozmoai/glint-github-app/ghe"
	"github.com/kozmoai/glint-github-app/ghe/ghetest"
	"github.com/kozmoai/glint-github-app/glint"
	"github.com/kozmoai/glint-github-app/glint/glinttest"
	"github.com/kozmoai/glint-github-app/reconciler"
)

// teamBlueprints are the githubTeam and githubUser blueprints the README
// tells Glint admins to create.
func teamBlueprints() []glint.Blueprint {
	return []glint.Blueprint{
		{Identifier: reconciler.BlueprintUser, Title: "GitHub User", Schema: glint.Schema{Properties: map[string]glint.Property{
			"login": {Type: "string"}, "name": {Type: "string"}, "email": {Type: "string", Format: "email"},
		}}},
		{Identifier: reconciler.BlueprintTeam, Title: "GitHub Team", Schema: glint.Schema{Properties: map[string]glint.Property{
			"slug": {Type: "string"}, "name": {Type: "string"}, "description": {Type: "string"},
			"link": {Type: "string", Format: "url"}, "privacy": {Type: "string", Enum: []any{"VISIBLE", "SECRET"}},
			"githubId": {Type: "number"},
		}}, Relations: map[string]glint.Relation{
			"parentTeam": {Target: reconciler.BlueprintTeam},
			"members":    {Target: reconciler.BlueprintUser, Many: true},
		}},
	}
}

// teamWorld is a fake GHE with teams and a fake Glint, with the real
// clients and a reconciler syncing teams in mode between them.
type teamWorld struct {
	gh   *ghetest.Server
	gl   *glinttest.Server
	rec  *reconciler.Reconciler
	reg  *prometheus.Registry
	acme int64
}

// newTeamWorld starts the world; bps are Glint's blueprints besides
// service, teamBlueprints() when none are given.
func newTeamWorld(t testing.TB, mode string, threshold float64, bps ...glint.Blueprint) *teamWorld {
	t.Helper()
	schema, err := e2eSchema()
	if err != nil {
		t.Fatalf("load GitHub's GraphQL schema (run `make schema`): %v", err)
	}
	key, err := e2eAppKey()
	if err != nil {
		t.Fatal(err)
	}
	gh := ghetest.NewForTest(t, ghetest.Options{Schema: schema, AppID: 4242, PublicKey: &key.key.PublicKey, RateLimit: 1_000_000})
	gl := glinttest.Start(t, glinttest.Options{ClientID: "e2e-client", ClientSecret: "e2e-secret-do-not-log"})
	if len(bps) == 0 {
		bps = teamBlueprints()
	}
	for _, bp := range bps {
		gl.AddBlueprint(bp)
	}
	gl.AddBlueprint(glint.Blueprint{Identifier: "service", Schema: glint.Schema{Properties: map[string]glint.Property{}}})
	u, _ := url.Parse(gh.URL())
	apiURL, gqlURL := ghe.EndpointsForBaseURL(gh.URL())
	ghc, err := ghe.New(ghe.Options{APIURL: apiURL, GraphQLURL: gqlURL, AppID: gh.AppID(), PrivateKey: key.pem,
		MaxRetries: 1, Timeout: 30 * time.Second, Teams: mode != reconciler.TeamsOff})
	if err != nil {
		t.Fatal(err)
	}
	glc, err := glint.New(gl.URL(), gl.ClientID(), gl.ClientSecret(),
		glint.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}),
		glint.WithUserAgent("glint-github-app/"+e2eVersion),
		glint.WithRetry(2, time.Millisecond, 10*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	w := &teamWorld{gh: gh, gl: gl, reg: prometheus.NewRegistry()}
	w.rec = reconciler.New(ghc, glc, reconciler.Options{
		AppID: gh.AppID(), GHEHost: u.Host, Version: e2eVersion, Merge: true, TeamsSync: mode, DeleteThreshold: threshold,
	}, slog.New(slog.DiscardHandler), w.reg)
	w.acme = gh.AddInstallation("acme", "Organization")
	return w
}

func (w *teamWorld) run(t *testing.T) (*reconciler.Result, error, glinttest.Stats) {
	t.Helper()
	w.gl.ResetStats()
	res, err := w.rec.RunOnce(t.Context())
	if res == nil {
		t.Fatalf("RunOnce: no result, %v", err)
	}
	return res, err, w.gl.Stats()
}

func (w *teamWorld) mustRun(t *testing.T) (*reconciler.Result, glinttest.Stats) {
	t.Helper()
	res, err, st := w.run(t)
	if err != nil {
		t.Fatalf("pass failed: %v\nproblems %+v", err, res.Problems)
	}
	return res, st
}

func glintTeamNames(gl *glinttest.Server) []string {
	var out []string
	for _, t := range gl.Teams() {
		out = append(out, t.Name)
	}
	return out
}

func TestE2ETeams(t *testing.T) {
	t.Parallel()
	w := newTeamWorld(t, reconciler.TeamsBoth, 0)
	gh := w.gh
	gh.AddRepo(w.acme, ghetest.Repo{Name: "checkout", Files: map[string]string{
		"glint.yml": "identifier: checkout\nblueprint: service\nteam: platform\n",
	}})
	gh.AddTeam(ghetest.Team{Org: "acme", Name: "Platform", Description: "Runs it all"})
	gh.AddTeam(ghetest.Team{Org: "acme", Name: "SRE", Parent: "platform"})
	gh.AddTeam(ghetest.Team{Org: "acme", Name: "Web"})
	gh.AddTeamMembers("acme", "platform",
		ghetest.TeamMember{Login: "alice", Name: "Alice", Email: "alice@acme.test", Role: "MAINTAINER"},
		ghetest.TeamMember{Login: "bob", Email: "bob@acme.test"})
	gh.AddTeamMembers("acme", "sre", ghetest.TeamMember{Login: "carol"}) // no visible email
	gh.AddTeamMembers("acme", "web", ghetest.TeamMember{Login: "dave", Email: "dave@acme.test"})
	// A hand-made Glint team with a GitHub team's name is left alone.
	w.gl.PutTeam(glint.Team{Name: "acme:web", Description: "made by hand"}, "admin@acme.test (Glint UI)")

	// Cold pass: users (one bulk), root teams (one bulk), sre (one bulk),
	// checkout (one bulk); Glint teams acme:platform and acme:sre created,
	// acme:web a conflict.
	res, st := w.mustRun(t)
	if st.Total(glinttest.RouteBulk) != 4 || st.TeamWrites != 2 || st.Deletes != 0 {
		t.Errorf("cold pass: %d bulk upserts, %d team writes, %d deletes; want 4, 2, 0\nrequests %v", st.Total(glinttest.RouteBulk), st.TeamWrites, st.Deletes, st.Requests)
	}
	sre, ok := w.gl.Entity(reconciler.BlueprintTeam, "acme/sre")
	if !ok || sre.Relations["parentTeam"] != "acme/platform" || fmt.Sprint(sre.Relations["members"]) != "[carol]" ||
		!strings.Contains(sre.Datasource, fmt.Sprintf("installation/%d; teams)", w.acme)) {
		t.Errorf("acme/sre = %+v", sre)
	}
	if carol, ok := w.gl.Entity(reconciler.BlueprintUser, "carol"); !ok || carol.Properties["email"] != nil {
		t.Errorf("carol = %+v", carol)
	}
	if got := glintTeamNames(w.gl); !slices.Equal(got, []string{"acme:platform", "acme:sre", "acme:web"}) {
		t.Errorf("glint teams = %v", got)
	}
	if len(res.Teams.GlintTeams.Conflicts) != 1 || len(res.Teams.MembersWithoutEmail) != 1 {
		t.Errorf("conflicts %+v, without email %v", res.Teams.GlintTeams.Conflicts, res.Teams.MembersWithoutEmail)
	}
	if got := metricValue(t, w.reg, "glint_github_app_team_members_without_email"); got != 1 {
		t.Errorf("members without email metric = %v", got)
	}
	checkout, _ := w.gl.Entity("service", "checkout")
	if fmt.Sprint(checkout.Team) != "[acme:platform]" {
		t.Errorf("checkout team = %v; glint.yml's team: platform must resolve to acme:platform", checkout.Team)
	}

	// Unchanged: nothing written.
	_, st = w.mustRun(t)
	if st.Writes != 0 || st.TeamWrites != 0 {
		t.Errorf("unchanged pass: %d writes, %d team writes; want none\nrequests %v", st.Writes, st.TeamWrites, st.Requests)
	}

	// A membership change: one entity write and one Glint team write.
	gh.AddTeamMember("acme", "sre", ghetest.TeamMember{Login: "alice"})
	_, st = w.mustRun(t)
	if st.Writes != 1 || st.EntityWrites != 1 || st.TeamWrites != 1 {
		t.Errorf("membership change: %d writes (%d entities), %d team writes; want 1, 1, 1", st.Writes, st.EntityWrites, st.TeamWrites)
	}
	if tm := findTeam(w.gl, "acme:sre"); len(tm.Users) != 1 || tm.Users[0].Email != "alice@acme.test" {
		t.Errorf("acme:sre = %+v", tm)
	}

	// A failed team read deletes nothing and writes nothing.
	gh.FailTeams("acme", true)
	res, err, st := w.run(t)
	if err == nil || st.Writes != 0 || st.TeamWrites != 0 || res.Teams.OrganizationsFailed != 1 {
		t.Errorf("failed read: err %v, %d writes, %d team writes", err, st.Writes, st.TeamWrites)
	}
	gh.FailTeams("acme", false)

	// A renamed team: the Glint team is renamed in place; the entity moves
	// (created under the new identifier, the old deleted), children follow.
	gh.RenameTeam("acme", "platform", "Platform Eng")
	// Glint renames the team on its entities too; the glint.yml follows.
	gh.SetFile("acme/checkout", "glint.yml", "identifier: checkout\nblueprint: service\nteam: platform-eng\n")
	res, st = w.mustRun(t)
	if got := glintTeamNames(w.gl); !slices.Equal(got, []string{"acme:platform-eng", "acme:sre", "acme:web"}) {
		t.Errorf("after rename glint teams = %v", got)
	}
	if _, ok := w.gl.Entity(reconciler.BlueprintTeam, "acme/platform"); ok {
		t.Error("acme/platform entity kept after the rename")
	}
	if e, ok := w.gl.Entity(reconciler.BlueprintTeam, "acme/platform-eng"); !ok || e.Properties["name"] != "Platform Eng" {
		t.Errorf("acme/platform-eng = %+v", e)
	}
	if len(res.Teams.Renames) != 1 || st.TeamWrites != 1 {
		t.Errorf("renames %+v, %d team writes", res.Teams.Renames, st.TeamWrites)
	}
	if checkout, _ := w.gl.Entity("service", "checkout"); fmt.Sprint(checkout.Team) != "[acme:platform-eng]" {
		t.Errorf("checkout team after rename = %v", checkout.Team)
	}

	// A deleted team goes, with its Glint team; dave, in no team now, too.
	gh.RemoveTeam("acme", "web")
	gh.AddTeam(ghetest.Team{Org: "acme", Name: "Web2"})
	w.gl.PutTeam(glint.Team{Name: "acme:web", Description: "made by hand"}, "admin@acme.test (Glint UI)")
	_, st = w.mustRun(t)
	if _, ok := w.gl.Entity(reconciler.BlueprintTeam, "acme/web"); ok {
		t.Error("acme/web entity kept after the team was deleted")
	}
	if _, ok := w.gl.Entity(reconciler.BlueprintUser, "dave"); ok {
		t.Error("dave kept though no team lists him")
	}
	if findTeam(w.gl, "acme:web").Description != "made by hand" {
		t.Error("the hand-made acme:web team was touched")
	}
}

func findTeam(gl *glinttest.Server, name string) glint.Team {
	for _, t := range gl.Teams() {
		if t.Name == name {
			return t
		}
	}
	return glint.Team{}
}

// TestE2ETeamsMissingBlueprints checks that without the blueprints the
// pass reports it and writes no team entities.
func TestE2ETeamsMissingBlueprints(t *testing.T) {
	t.Parallel()
	w := newTeamWorld(t, reconciler.TeamsEntities, 0, teamBlueprints()[0]) // githubUser only
	w.gh.AddTeam(ghetest.Team{Org: "acme", Name: "Platform"})
	w.gh.AddTeamMember("acme", "platform", ghetest.TeamMember{Login: "alice"})
	res, st := w.mustRun(t)
	found := false
	for _, n := range res.Notices {
		found = found || strings.Contains(n, "blueprint githubTeam does not exist")
	}
	if !found || st.Total(glinttest.RouteBulk) != 1 {
		t.Errorf("notices %v, %d bulk upserts (the users only)", res.Notices, st.Total(glinttest.RouteBulk))
	}
}

// TestE2ETeamsScale syncs an organization with 2,000 teams of 50 members
// (from 10,000 users) and one team of 3,000, in both modes, and reports
// the GitHub queries and points and the Glint writes of a cold and an
// unchanged pass.
func TestE2ETeamsScale(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	w := newTeamWorld(t, reconciler.TeamsBoth, 0)
	const teams, size, pool, bigSize = 2000, 50, 10_000, 3000
	for i := range teams {
		slug := fmt.Sprintf("team-%04d", i)
		w.gh.AddTeam(ghetest.Team{Org: "acme", Name: slug})
		ms := make([]ghetest.TeamMember, size)
		for j := range ms {
			u := (i*size + j*7) % pool
			ms[j] = ghetest.TeamMember{Login: fmt.Sprintf("user-%05d", u), Email: fmt.Sprintf("user-%05d@acme.test", u)}
		}
		w.gh.AddTeamMembers("acme", slug, ms...)
	}
	w.gh.AddTeam(ghetest.Team{Org: "acme", Name: "everyone"})
	ms := make([]ghetest.TeamMember, bigSize)
	for j := range ms {
		ms[j] = ghetest.TeamMember{Login: fmt.Sprintf("user-%05d", j), Email: fmt.Sprintf("user-%05d@acme.test", j)}
	}
	w.gh.AddTeamMembers("acme", "everyone", ms...)

	w.gh.ResetStats()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	res, st := w.mustRun(t)
	cold := time.Since(start)
	runtime.ReadMemStats(&after)
	ghs := w.gh.Stats()
	if res.Teams.Teams != teams+1 || len(res.Teams.Entities.Create) != teams+1+pool {
		t.Fatalf("cold pass: %d teams, %d entity creates", res.Teams.Teams, len(res.Teams.Entities.Create))
	}
	t.Logf("cold pass (%s): GitHub %d GraphQL queries, %d points; Glint %d write calls (%d bulk upserts, %d team creates), %d entities written; %.0f MiB allocated in process",
		cold.Round(time.Millisecond), ghs.GraphQLQueries, ghs.PointsUsed, st.Writes+st.TeamWrites, st.Total(glinttest.RouteBulk), st.TeamWrites,
		st.EntityWrites, float64(after.TotalAlloc-before.TotalAlloc)/(1<<20))
	// One bulk upsert per 20 users and per 20 teams; one call per Glint team.
	if want := (pool+19)/20 + (teams+1+19)/20; st.TeamWrites != teams+1 || st.Total(glinttest.RouteBulk) != want {
		t.Errorf("cold pass: %d team writes, %d bulk upserts", st.TeamWrites, st.Total(glinttest.RouteBulk))
	}

	w.gh.ResetStats()
	start = time.Now()
	_, st = w.mustRun(t)
	ghs = w.gh.Stats()
	t.Logf("unchanged pass (%s): GitHub %d GraphQL queries, %d points; Glint %d write calls, %d reads",
		time.Since(start).Round(time.Millisecond), ghs.GraphQLQueries, ghs.PointsUsed, st.Writes+st.TeamWrites, st.Reads)
	if st.Writes != 0 || st.TeamWrites != 0 {
		t.Errorf("unchanged pass wrote: %d writes, %d team writes", st.Writes, st.TeamWrites)
	}
}
