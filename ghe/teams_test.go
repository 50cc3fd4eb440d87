package ghe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/kozmoai/glint-github-app/ghe/ghetest"
)

func withTeams(o *Options) { o.Teams = true }

// teamsOf returns the teams of installation id in snap, failing the test
// when they were not read or failed.
func teamsOf(t *testing.T, snap *Snapshot, id int64) map[string]Team {
	t.Helper()
	for _, ir := range snap.Installations {
		if ir.Installation.ID != id {
			continue
		}
		if !ir.TeamsRead || ir.TeamsErr != nil {
			t.Fatalf("installation %d: teams read %v, err %v", id, ir.TeamsRead, ir.TeamsErr)
		}
		out := make(map[string]Team, len(ir.Teams))
		for _, tm := range ir.Teams {
			out[tm.Slug] = tm
		}
		return out
	}
	t.Fatalf("installation %d not in snapshot", id)
	return nil
}

func TestTeamsRead(t *testing.T) {
	s, c := fake(t, ghetest.Options{}, withTeams)
	acme := s.AddInstallation("acme", "Organization")
	user := s.AddInstallation("octocat", "User")
	for i := range 130 {
		s.AddTeam(ghetest.Team{Org: "acme", Name: fmt.Sprintf("team-%03d", i), Description: "d"})
	}
	big := s.AddTeam(ghetest.Team{Org: "acme", Name: "Big", Privacy: "SECRET"})
	s.AddTeam(ghetest.Team{Org: "acme", Name: "Child", Parent: "big"})
	s.AddTeam(ghetest.Team{Org: "acme", Name: "Grandchild", Parent: "child"})
	var members []ghetest.TeamMember
	for i := range 250 {
		members = append(members, ghetest.TeamMember{Login: fmt.Sprintf("u%03d", i), Email: fmt.Sprintf("u%03d@acme.test", i)})
	}
	members[7].Email = "" // no visible email
	members[0].Role = "MAINTAINER"
	members[0].Name = "User Zero"
	s.AddTeamMembers("acme", "big", members...)
	s.AddTeamMember("acme", "grandchild", ghetest.TeamMember{Login: "u001"})
	for i := range 120 {
		s.AddRepo(acme, ghetest.Repo{Name: fmt.Sprintf("r%03d", i)})
		s.AddTeamRepo("acme", "big", fmt.Sprintf("acme/r%03d", i), "read")
	}
	s.AddTeamRepo("acme", "big", "acme/r005", "admin")

	snap, err := c.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	teams := teamsOf(t, snap, acme)
	if len(teams) != 133 {
		t.Fatalf("%d teams, want 133", len(teams))
	}
	b := teams["big"]
	if b.ID != big.ID || b.NodeID != big.NodeID || b.Name != "Big" || b.Privacy != "SECRET" || b.Org != "acme" ||
		b.URL != s.URL()+"/orgs/acme/teams/big" || b.ParentSlug != "" {
		t.Errorf("big = %+v", b)
	}
	if len(b.Members) != 250 || b.Members[0] != (TeamMember{Login: "u000", Name: "User Zero", Email: "u000@acme.test", Role: "MAINTAINER"}) ||
		b.Members[7].Email != "" || b.Members[249].Login != "u249" || b.Members[249].Role != "MEMBER" {
		t.Errorf("big members: %d, first %+v, 8th %+v", len(b.Members), b.Members[0], b.Members[7])
	}
	if len(b.Repos) != 120 || b.Repos[5] != (TeamRepo{FullName: "acme/r005", Permission: "ADMIN"}) {
		t.Errorf("big repos: %d, 6th %+v", len(b.Repos), b.Repos[5])
	}
	if g := teams["grandchild"]; g.ParentSlug != "child" || len(g.Members) != 1 || teams["child"].ParentSlug != "big" {
		t.Errorf("nesting: child %+v, grandchild %+v", teams["child"], g)
	}
	if len(teams["child"].Members) != 0 {
		t.Errorf("child lists %d members; only immediate members count", len(teams["child"].Members))
	}
	for _, ir := range snap.Installations {
		if ir.Installation.ID == user && (ir.TeamsRead || ir.Teams != nil) {
			t.Errorf("user installation: teams read %v", ir.TeamsRead)
		}
	}

	// The queries: 3 pages of teams (133 / 50), then one round for big's
	// second page of members and of repositories, one for its third page
	// of members.
	s.ResetStats()
	got, err := c.Teams(t.Context(), acme, "acme")
	if err != nil || len(got) != 133 {
		t.Fatalf("Teams = %d, %v", len(got), err)
	}
	if st := s.Stats(); st.GraphQLQueries != 5 || st.PointsUsed != 5 {
		t.Errorf("queries %d, points %d; want 5 and 5", st.GraphQLQueries, st.PointsUsed)
	}
}

func TestTeamsOff(t *testing.T) {
	s, c := fake(t, ghetest.Options{}, nil)
	acme := s.AddInstallation("acme", "Organization")
	s.AddTeam(ghetest.Team{Org: "acme", Name: "a"})
	snap, err := c.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ir := snap.Installations[0]
	if ir.Installation.ID != acme || ir.TeamsRead || ir.Teams != nil || ir.TeamsErr != nil {
		t.Errorf("teams off: %+v", ir)
	}
}

func TestTeamsChangesBetweenPasses(t *testing.T) {
	s, c := fake(t, ghetest.Options{}, withTeams)
	acme := s.AddInstallation("acme", "Organization")
	old := s.AddTeam(ghetest.Team{Org: "acme", Name: "Old Name"})
	s.AddTeam(ghetest.Team{Org: "acme", Name: "Doomed"})
	s.AddTeam(ghetest.Team{Org: "acme", Name: "Kid", Parent: "old-name"})
	s.AddTeamMember("acme", "old-name", ghetest.TeamMember{Login: "alice"})

	snap, err := c.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(teamsOf(t, snap, acme)); n != 3 {
		t.Fatalf("%d teams", n)
	}
	s.RenameTeam("acme", "old-name", "New Name")
	s.RemoveTeam("acme", "doomed")
	s.SetMemberEmail("alice", "alice@acme.test")
	snap, err = c.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	teams := teamsOf(t, snap, acme)
	nt, ok := teams["new-name"]
	if len(teams) != 2 || !ok || nt.ID != old.ID || nt.Name != "New Name" || teams["kid"].ParentSlug != "new-name" {
		t.Errorf("after rename and removal: %+v", teams)
	}
	if _, ok := teams["doomed"]; ok {
		t.Error("deleted team still read")
	}
	if nt.Members[0].Email != "alice@acme.test" {
		t.Errorf("email = %q", nt.Members[0].Email)
	}
}

func TestTeamsFailedRead(t *testing.T) {
	failFollowUps := false
	for _, tc := range []struct {
		name  string
		setup func(s *ghetest.Server)
	}{
		{"teams connection fails", func(s *ghetest.Server) { s.FailTeams("acme", true) }},
		{"one team's members fail", func(s *ghetest.Server) { s.FailTeamMembers("acme", "t-3", true) }},
		{"a later round fails", func(*ghetest.Server) { failFollowUps = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			failFollowUps = false
			s, c := fake(t, ghetest.Options{}, func(o *Options) {
				o.Teams = true
				o.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
					if failFollowUps && r.Body != nil {
						b, _ := io.ReadAll(r.Body)
						r.Body = io.NopCloser(bytes.NewReader(b))
						if strings.Contains(string(b), "t0: node(id:") {
							return &http.Response{StatusCode: 500, Header: http.Header{"Content-Type": {"application/json"}},
								Body: io.NopCloser(strings.NewReader(`{"message":"Server Error"}`)), Request: r}, nil
						}
					}
					return http.DefaultTransport.RoundTrip(r)
				})
			})
			acme := s.AddInstallation("acme", "Organization")
			globex := s.AddInstallation("globex", "Organization")
			addRepos(s, acme, "acme", "svc", 3)
			for i := range 60 {
				s.AddTeam(ghetest.Team{Org: "acme", Name: fmt.Sprintf("t-%d", i)})
			}
			for i := range 150 {
				s.AddTeamMember("acme", "t-1", ghetest.TeamMember{Login: fmt.Sprintf("u%d", i)})
			}
			s.AddTeam(ghetest.Team{Org: "globex", Name: "ok"})
			tc.setup(s)

			snap, err := c.Snapshot(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, ir := range snap.Installations {
				switch ir.Installation.ID {
				case acme:
					if !ir.TeamsRead || ir.TeamsErr == nil || ir.Teams != nil {
						t.Errorf("acme: read %v, err %v, %d teams; want an error and no teams", ir.TeamsRead, ir.TeamsErr, len(ir.Teams))
					}
					if ir.Err != nil || len(ir.Repos) != 3 {
						t.Errorf("acme repositories: %d, %v; a team failure must not touch them", len(ir.Repos), ir.Err)
					}
				case globex:
					if ir.TeamsErr != nil || len(ir.Teams) != 1 {
						t.Errorf("globex: %d teams, %v", len(ir.Teams), ir.TeamsErr)
					}
				}
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestTeamsSplit checks that a later-round batch GitHub finds too expensive
// is halved until it passes.
func TestTeamsSplit(t *testing.T) {
	s, c := fake(t, ghetest.Options{}, withTeams)
	acme := s.AddInstallation("acme", "Organization")
	for i := range 12 {
		slug := fmt.Sprintf("t%02d", i)
		s.AddTeam(ghetest.Team{Org: "acme", Name: slug})
		for j := range 101 {
			s.AddTeamMember("acme", slug, ghetest.TeamMember{Login: fmt.Sprintf("u%d", j)})
		}
	}
	s.SetMaxBatch(5)
	teams, err := c.Teams(t.Context(), acme, "acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range teams {
		if len(tm.Members) != 101 {
			t.Errorf("%s: %d members", tm.Slug, len(tm.Members))
		}
	}
}

// TestTeamsScale reads an organization with 2,000 teams of 50 members
// (drawn from 10,000 users) and one team of 3,000 members, and reports
// the queries, points and memory. The bound:
// ceil(2001/50) + ceil((3000-100)/100) = 41 + 29 = 70 queries of 1 point.
func TestTeamsScale(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	s, c := fake(t, ghetest.Options{}, withTeams)
	acme := s.AddInstallation("acme", "Organization")
	const teams, size, pool, bigSize = 2000, 50, 10_000, 3000
	for i := range teams {
		slug := fmt.Sprintf("team-%04d", i)
		s.AddTeam(ghetest.Team{Org: "acme", Name: slug, Description: "team " + slug})
		ms := make([]ghetest.TeamMember, size)
		for j := range ms {
			u := (i*size + j*7) % pool
			ms[j] = ghetest.TeamMember{Login: fmt.Sprintf("user-%05d", u), Name: fmt.Sprintf("User %d", u), Email: fmt.Sprintf("user-%05d@acme.test", u)}
		}
		s.AddTeamMembers("acme", slug, ms...)
	}
	s.AddTeam(ghetest.Team{Org: "acme", Name: "everyone"})
	ms := make([]ghetest.TeamMember, bigSize)
	for j := range ms {
		ms[j] = ghetest.TeamMember{Login: fmt.Sprintf("user-%05d", j)}
	}
	s.AddTeamMembers("acme", "everyone", ms...)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := c.Teams(t.Context(), acme, "acme")
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	st := s.Stats()
	memberships := 0
	for _, tm := range got {
		memberships += len(tm.Members)
	}
	if len(got) != teams+1 || memberships != teams*size+bigSize {
		t.Fatalf("read %d teams, %d memberships", len(got), memberships)
	}
	const bound = (teams+1+teamsPageSize-1)/teamsPageSize + (bigSize-teamsInnerPage+teamsInnerPage-1)/teamsInnerPage
	if st.GraphQLQueries > bound || st.PointsUsed > bound {
		t.Errorf("queries %d, points %d; bound %d", st.GraphQLQueries, st.PointsUsed, bound)
	}
	retained := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("2,000 teams x 50 members + 1 x 3,000: %d GraphQL queries, %d points (bound %d); heap retained %.1f MiB, allocated %.1f MiB during the read",
		st.GraphQLQueries, st.PointsUsed, bound, float64(retained)/(1<<20), float64(after.TotalAlloc-before.TotalAlloc)/(1<<20))
	runtime.KeepAlive(got)
	if errors.Is(err, errTeamsChanged) {
		t.Fatal(err)
	}
}
