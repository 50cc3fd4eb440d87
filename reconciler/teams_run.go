package reconciler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/kozmoai/glint-github-app/ghe"
	"github.com/kozmoai/glint-github-app/glint"
)

// TeamCatalog reads and writes Glint teams. *glint.Client satisfies it;
// the Catalog given to New must, when team sync writes Glint teams.
type TeamCatalog interface {
	Teams(ctx context.Context) ([]glint.Team, error)
	CreateTeam(ctx context.Context, t glint.Team, ua string) error
	UpdateTeam(ctx context.Context, name string, t glint.Team, ua string) error
	DeleteTeam(ctx context.Context, name, ua string) error
}

// teamBulkSize is the number of team entities in one bulk upsert (Glint's
// limit).
const teamBulkSize = 20

// teamMetrics are the team sync metrics.
type teamMetrics struct {
	withoutEmail prometheus.Gauge
	orgs         *prometheus.GaugeVec
	teams        prometheus.Gauge
	changes      *prometheus.CounterVec
	writeErrors  prometheus.Counter
}

func newTeamMetrics(reg prometheus.Registerer) *teamMetrics {
	f := promauto.With(reg)
	m := &teamMetrics{
		withoutEmail: f.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "team_members_without_email",
			Help: "Members of synced GitHub teams whose email the App cannot see, so they are in no Glint team (last pass).",
		}),
		orgs: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "team_organizations",
			Help: "Organizations whose teams were read in the last pass, by state (read or failed).",
		}, []string{"state"}),
		teams: f.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "teams",
			Help: "GitHub teams read in full in the last pass.",
		}),
		changes: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "glint_team_changes_total",
			Help: "Glint team writes that succeeded, by action (create, update, delete).",
		}, []string{"action"}),
		writeErrors: f.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "glint_team_write_errors_total",
			Help: "Glint team creates, updates and deletes that failed.",
		}),
	}
	for _, l := range []string{"create", "update", "delete"} {
		m.changes.WithLabelValues(l)
	}
	for _, l := range []string{"read", "failed"} {
		m.orgs.WithLabelValues(l)
	}
	return m
}

// planTeams reads what team sync needs from Glint (foreign team entities,
// Glint's teams) and plans it into res.Teams. It does nothing when team
// sync is off.
func (r *Reconciler) planTeams(ctx context.Context, snap *ghe.Snapshot, in Input, res *Result) error {
	mode := r.opts.TeamsSync
	if mode == "" || mode == TeamsOff {
		return nil
	}
	tin := TeamsInput{Snapshot: snap, Blueprints: in.Blueprints, Owned: in.Owned, Options: r.opts}
	if teamEntitiesOn(mode) {
		foreign, err := r.searchForeignTeamEntities(ctx, snap, in)
		if err != nil {
			return err
		}
		tin.Foreign = foreign
	}
	if glintTeamsOn(mode) {
		tc, ok := r.cat.(TeamCatalog)
		if !ok {
			return fmt.Errorf("team sync mode %s needs a catalog that manages teams", mode)
		}
		teams, err := tc.Teams(ctx)
		if err != nil {
			return fmt.Errorf("list glint teams: %w", err)
		}
		tin.GlintTeams = teams
	}
	res.Teams = PlanTeams(tin)
	res.Notices = append(res.Notices, res.Teams.Notices...)
	res.Problems = append(res.Problems, res.Teams.Failures...)
	if t := res.Teams.Entities.Threshold; t != nil {
		res.Notices = append(res.Notices, "team entities: "+t.String())
	}
	if t := res.Teams.GlintTeams.Threshold; t != nil {
		res.Notices = append(res.Notices, "glint teams: "+t.String())
	}
	return nil
}

// searchForeignTeamEntities searches, by identifier, the githubTeam and
// githubUser entities the desired teams would write that the ownership
// search did not return: entities of another writer are left alone.
func (r *Reconciler) searchForeignTeamEntities(ctx context.Context, snap *ghe.Snapshot, in Input) ([]glint.Entity, error) {
	known := map[string]bool{}
	for _, bp := range in.Blueprints {
		known[bp.Identifier] = true
	}
	have := map[Key]bool{}
	for i := range in.Owned {
		have[keyOf(&in.Owned[i])] = true
	}
	wanted := map[string][]string{}
	seen := map[Key]bool{}
	add := func(bp, id string) {
		k := Key{bp, id}
		if !known[bp] || have[k] || seen[k] || validateIdentifier(id) != nil {
			return
		}
		seen[k] = true
		wanted[bp] = append(wanted[bp], id)
	}
	completeTeams(snap, func(ir *ghe.InstallationResult, t *ghe.Team) {
		add(BlueprintTeam, TeamEntityID(ir.Installation.Account, t.Slug))
		for _, m := range t.Members {
			add(BlueprintUser, m.Login)
		}
	})
	return r.searchByIdentifier(ctx, wanted)
}

// applyTeams writes res.Teams. Without deletes: the Glint team creates
// and updates, then githubUser entities, then githubTeam entities parents
// first (so relation targets exist); it also returns the organizations
// whose teams could not be read. With deletes: githubTeam then githubUser
// deletions, then Glint team deletions. It returns the failures joined.
func (r *Reconciler) applyTeams(ctx context.Context, res *Result, deletes bool) error {
	p := res.Teams
	if p == nil {
		return nil
	}
	t := &tally{res: res}
	if deletes {
		r.deleteTeamEntities(ctx, p, t)
		res.WriteErrors += t.failures
		r.metrics.writeErrors.Add(float64(t.failures))
		return errors.Join(append(t.errs, r.applyGlintTeams(ctx, res, true))...)
	}
	for _, f := range p.Failures {
		t.errs = append(t.errs, errors.New(f.Message))
	}
	t.errs = append(t.errs, r.applyGlintTeams(ctx, res, false))

	// Entity writes in phases: users, then teams by depth.
	phases := map[int][]*Change{}
	add := func(c *Change) {
		ph := 0
		if c.Blueprint == BlueprintTeam {
			ph = 1 + p.depth[c.Identifier]
		}
		phases[ph] = append(phases[ph], c)
	}
	ch := &p.Entities
	creates := map[*Change]bool{}
	for i := range ch.Create {
		add(&ch.Create[i])
		creates[&ch.Create[i]] = true
	}
	for i := range ch.Update {
		add(&ch.Update[i])
	}
	for _, ph := range slices.Sorted(maps.Keys(phases)) {
		var groups []*writeGroup
		index := map[[2]string]*writeGroup{}
		for _, c := range phases[ph] {
			k := [2]string{c.Blueprint, c.Datasource}
			g := index[k]
			// Bulk upserts take 20 entities; whole groups let the calls
			// of one datasource run concurrently.
			if g == nil || len(g.changes) == teamBulkSize {
				g = &writeGroup{blueprint: c.Blueprint, datasource: c.Datasource}
				index[k] = g
				groups = append(groups, g)
			}
			g.changes = append(g.changes, c)
			g.creates = append(g.creates, creates[c])
		}
		if err := r.each(ctx, len(groups), func(ctx context.Context, i int) error {
			r.upsert(ctx, groups[i], t)
			return nil
		}); err != nil {
			t.errs = append(t.errs, fmt.Errorf("apply team entities: %w", err))
			break
		}
	}
	res.WriteErrors += t.failures
	r.metrics.writeErrors.Add(float64(t.failures))
	return errors.Join(t.errs...)
}

// deleteTeamEntities deletes the planned githubTeam, then githubUser
// entities.
func (r *Reconciler) deleteTeamEntities(ctx context.Context, p *TeamsPlan, t *tally) {
	ch := &p.Entities
	for _, bp := range []string{BlueprintTeam, BlueprintUser} {
		var cs []*Change
		for i := range ch.Delete {
			if ch.Delete[i].Blueprint == bp {
				cs = append(cs, &ch.Delete[i])
			}
		}
		if len(cs) > 0 && ctx.Err() == nil {
			r.delete(ctx, cs, t)
		}
	}
}

// applyGlintTeams writes the planned Glint teams: creates and updates
// (renames included), or deletes. Each write is one call.
func (r *Reconciler) applyGlintTeams(ctx context.Context, res *Result, deletes bool) error {
	g := &res.Teams.GlintTeams
	if (deletes && len(g.Delete) == 0) || (!deletes && len(g.Create)+len(g.Update) == 0) {
		return nil
	}
	tc, ok := r.cat.(TeamCatalog)
	if !ok {
		return errors.New("write glint teams: the catalog does not manage teams")
	}
	ua := Owner{Version: r.opts.Version, AppID: r.opts.AppID, Host: r.opts.GHEHost, Features: []string{featureTeams}}.String()
	type write struct {
		action string
		c      *GlintTeamChange
	}
	var writes []write
	if deletes {
		for i := range g.Delete {
			writes = append(writes, write{"delete", &g.Delete[i]})
		}
	}
	for i := range g.Create {
		if !deletes {
			writes = append(writes, write{"create", &g.Create[i]})
		}
	}
	for i := range g.Update {
		if !deletes {
			writes = append(writes, write{"update", &g.Update[i]})
		}
	}
	var (
		mu   sync.Mutex
		errs []error
	)
	run := func(ws []write) {
		err := r.each(ctx, len(ws), func(ctx context.Context, i int) error {
			w := ws[i]
			var err error
			switch w.action {
			case "create":
				err = tc.CreateTeam(ctx, w.c.Team, ua)
			case "update":
				from := cmp.Or(w.c.From, w.c.Name)
				err = tc.UpdateTeam(ctx, from, w.c.Team, ua)
			case "delete":
				err = tc.DeleteTeam(ctx, w.c.Name, ua)
			}
			if err != nil {
				r.teamsM.writeErrors.Inc()
				mu.Lock()
				res.Problems = append(res.Problems, Problem{Repo: w.c.Org, Message: fmt.Sprintf("glint team %s: %v", w.c.Name, err)})
				mu.Unlock()
				return fmt.Errorf("%s glint team %s of %s: %w", w.action, w.c.Name, w.c.Org, err)
			}
			r.teamsM.changes.WithLabelValues(w.action).Inc()
			return nil
		})
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	}
	run(writes)
	return errors.Join(errs...)
}

// recordTeams updates the team metrics and logs the team summary.
func (r *Reconciler) recordTeams(res *Result, err error) {
	p := res.Teams
	if p == nil || errors.Is(err, errRead) {
		return
	}
	m := r.teamsM
	m.orgs.WithLabelValues("read").Set(float64(p.Organizations - p.OrganizationsFailed))
	m.orgs.WithLabelValues("failed").Set(float64(p.OrganizationsFailed))
	m.teams.Set(float64(p.Teams))
	if glintTeamsOn(p.Mode) {
		m.withoutEmail.Set(float64(len(p.MembersWithoutEmail)))
		if n := len(p.MembersWithoutEmail); n > 0 {
			sample := p.MembersWithoutEmail[:min(n, 20)]
			r.logger.Warn("team members without a visible email are in no glint team", "count", n, "logins", sample)
		}
	}
	for _, c := range p.Entities.Conflicts {
		r.logger.Warn("team entity conflict", "blueprint", c.Blueprint, "identifier", c.Identifier, "owner", c.Owner)
	}
	for _, iv := range p.Entities.Invalid {
		r.logger.Warn("invalid team entity", "blueprint", iv.Blueprint, "identifier", iv.Identifier, "error", iv.Message)
	}
	for _, c := range p.GlintTeams.Conflicts {
		r.logger.Warn("glint team conflict", "team", c.Name, "reason", c.Reason)
	}
	for _, rn := range p.Renames {
		r.logger.Info("team renamed", "github_id", rn.GitHubID, "from", rn.From, "to", rn.To)
	}
	g := &p.GlintTeams
	r.logger.Info("teams planned",
		"mode", p.Mode, "organizations", p.Organizations, "organizations_failed", p.OrganizationsFailed, "teams", p.Teams,
		"entity_creates", len(p.Entities.Create), "entity_updates", len(p.Entities.Update), "entity_deletes", len(p.Entities.Delete),
		"entities_kept", len(p.Entities.Blocked)+len(p.Entities.Withheld),
		"glint_team_creates", len(g.Create), "glint_team_updates", len(g.Update), "glint_team_deletes", len(g.Delete),
		"glint_teams_kept", len(g.Blocked)+len(g.Withheld), "glint_team_conflicts", len(g.Conflicts))
}
