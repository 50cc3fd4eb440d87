package reconciler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kozmoai/glint-github-app/ghe"
	"github.com/kozmoai/glint-github-app/glint"
)

// Policies: what a pass may do to owned entities.
const (
	PolicySync       = "sync"        // create, update and delete
	PolicyUpsertOnly = "upsert-only" // create and update, never delete
)

// Defaults for zero Options fields.
const (
	DefaultDeleteThreshold = 0.9
	// DefaultConcurrency is 16 Glint calls in flight: a cold pass writes
	// one bulk call per repository (the datasource names it), so 10,000
	// repositories at 20 ms a call take 12.5 s of waiting at 16 and 50 s
	// at 4. Sixteen connections to one host stay polite (and the client
	// honours 429 and Retry-After); unchanged passes write nothing.
	DefaultConcurrency = 16
	DefaultVersion     = "dev"
)

// maxIdentifiersPerSearch bounds the "$identifier in [...]" list of one search.
const maxIdentifiersPerSearch = 1000

// GitHub reads what GitHub Enterprise declares. *ghe.Client satisfies it.
type GitHub interface {
	// Snapshot reads every installation, repository and spec file. An
	// error means the installations could not be listed.
	Snapshot(ctx context.Context) (*ghe.Snapshot, error)
}

// Catalog reads and writes Glint entities. *glint.Client satisfies it.
type Catalog interface {
	Blueprints(ctx context.Context) ([]glint.Blueprint, error)
	// SearchEntities returns all pages or an error.
	SearchEntities(ctx context.Context, blueprint string, q glint.Query) ([]glint.Entity, error)
	// UpsertEntities returns one result per input, in order.
	UpsertEntities(ctx context.Context, blueprint string, entities []glint.Entity, opts glint.WriteOptions) ([]glint.BulkResult, error)
	DeleteEntities(ctx context.Context, blueprint string, ids []string, opts glint.DeleteOptions) ([]glint.DeleteResult, error)
}

// Options configure a Reconciler. Zero values take the documented defaults.
type Options struct {
	// AppID, GHEHost and Version make up the datasource of every write:
	// "glint-github-app/<Version> (app/<AppID>@<GHEHost>; installation/<id>;
	// repo/<owner>/<name>; gitops)". Ownership is matched on AppID and
	// GHEHost only, so it survives a version upgrade. Version defaults to
	// "dev".
	AppID   int64
	GHEHost string
	Version string
	// DeleteThreshold is the largest share of owned entities one pass may
	// delete; a pass that would delete more deletes nothing. Zero means
	// 0.9; use PolicyUpsertOnly to never delete.
	DeleteThreshold float64
	// Policy is PolicySync (the default) or PolicyUpsertOnly.
	Policy string
	// Merge writes with merge=true (enableMergeEntity): properties and
	// relations a glint.yml leaves out are kept.
	Merge bool
	// CreateMissingRelatedEntities creates empty targets of relations.
	CreateMissingRelatedEntities bool
	// DeleteDependents deletes entities with required relations to a
	// deleted entity.
	DeleteDependents bool
	// Concurrency is the number of Glint calls in flight; zero means
	// DefaultConcurrency (16). The HTTP transport should keep as many idle
	// connections per host.
	Concurrency int
	// TeamsSync is the team sync mode: TeamsEntities, TeamsGlint,
	// TeamsBoth or TeamsOff. Empty means off, so that a caller whose
	// snapshot holds no teams writes none (cmd defaults it to entities and
	// turns on ghe.Options.Teams with it).
	TeamsSync string
}

func (o Options) withDefaults() Options {
	if o.Version == "" {
		o.Version = DefaultVersion
	}
	if o.DeleteThreshold == 0 {
		o.DeleteThreshold = DefaultDeleteThreshold
	}
	if o.Policy == "" {
		o.Policy = PolicySync
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	return o
}

// Reconciler makes Glint match the glint.yml files of GitHub Enterprise.
// One pass (RunOnce):
//  1. reads the snapshot of every installation, repository and spec file;
//  2. reads Glint's blueprints, the entities this app owns, and the entities
//     with desired identifiers that it does not own; any failed read ends
//     the pass before anything is written;
//  3. plans the changes with Plan (ownership, conflicts, schema checks,
//     deletion proofs, the deletion threshold);
//  4. applies creates and updates, then deletes, with bounded concurrency;
//  5. records metrics and logs one summary line.
type Reconciler struct {
	gh      GitHub
	cat     Catalog
	opts    Options
	logger  *slog.Logger
	metrics *metrics
	teamsM  *teamMetrics
}

// New returns a Reconciler that registers its metrics on reg.
func New(gh GitHub, cat Catalog, opts Options, logger *slog.Logger, reg prometheus.Registerer) *Reconciler {
	return &Reconciler{
		gh:      gh,
		cat:     cat,
		opts:    opts.withDefaults(),
		logger:  logger,
		metrics: newMetrics(reg),
		teamsM:  newTeamMetrics(reg),
	}
}

// Result is the outcome of one pass. It encodes to JSON.
type Result struct {
	Started time.Time `json:"started"`
	// Duration is the length of the pass, in nanoseconds in JSON.
	Duration time.Duration `json:"durationNanoseconds"`

	Installations       int `json:"installations"`
	InstallationsFailed int `json:"installationsFailed"`
	// Repositories counts the repositories read in full; RepositoriesFailed
	// those that could not be read; RepositoriesInvalid those read with a
	// spec file that failed to parse or an invalid entity.
	Repositories        int `json:"repositories"`
	RepositoriesFailed  int `json:"repositoriesFailed"`
	RepositoriesInvalid int `json:"repositoriesInvalid"`

	Desired        int `json:"desired"`
	Owned          int `json:"owned"`
	Created        int `json:"created"`
	Updated        int `json:"updated"`
	Deleted        int `json:"deleted"`
	Conflicts      int `json:"conflicts"`
	Invalid        int `json:"invalid"`
	BlockedDeletes int `json:"blockedDeletes"` // kept for want of proof, or withheld by the threshold
	WriteErrors    int `json:"writeErrors"`

	Changes Changes `json:"changes"`
	// Problems are the failures and reports of the pass by repository:
	// read failures, spec files that failed to parse, write errors.
	Problems []Problem `json:"problems,omitempty"`
	// Notices are non-fatal reports, such as the deletion threshold.
	Notices []string `json:"notices,omitempty"`

	RateLimit ghe.RateLimit `json:"rateLimit"`

	// Teams is the team sync plan, when team sync is on.
	Teams *TeamsPlan `json:"teams,omitempty"`
}

// Problem is one failure or report attributed to a repository (and file).
type Problem struct {
	Repo    string `json:"repo,omitempty"`
	File    string `json:"file,omitempty"`
	Message string `json:"message"`
}

// Plan reads both sides and plans the changes; it writes nothing.
func (r *Reconciler) Plan(ctx context.Context) (*Result, error) {
	res := &Result{Started: time.Now()}
	err := r.plan(ctx, res)
	res.Duration = time.Since(res.Started)
	return res, err
}

// RunOnce runs one pass: it reads both sides, plans and applies. It returns
// a joined error of every failure (reads, repository reads, writes), with a
// Result even then. Invalid spec files, invalid entities, conflicts and a
// withheld deletion are reported in the Result but are not errors.
func (r *Reconciler) RunOnce(ctx context.Context) (*Result, error) {
	res := &Result{Started: time.Now()}
	err := r.plan(ctx, res)
	if !errors.Is(err, errRead) {
		// Failures of single installations or repositories are in err,
		// but what was read in full is applied.
		// Teams first, so that entities may name the Glint teams of this
		// pass; team deletions last.
		err = errors.Join(err, r.applyTeams(ctx, res, false))
		err = errors.Join(err, r.apply(ctx, res))
		err = errors.Join(err, r.applyTeams(ctx, res, true))
	}
	res.Duration = time.Since(res.Started)
	r.recordTeams(res, err)
	r.record(res, err)
	return res, err
}

// errRead marks a failed read of either side, after which nothing is written.
var errRead = errors.New("read failed; nothing written")

// plan fills res with the snapshot counts and the planned changes. Its
// error wraps errRead when a read failed; otherwise it joins the failures
// of single installations and repositories.
func (r *Reconciler) plan(ctx context.Context, res *Result) error {
	snap, err := r.gh.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("read github enterprise: %w: %w", err, errRead)
	}
	if snap == nil {
		return fmt.Errorf("read github enterprise: no snapshot: %w", errRead)
	}
	states, sourceErr := r.summarise(snap, res)
	count := func() {
		res.Repositories, res.RepositoriesFailed, res.RepositoriesInvalid = 0, 0, 0
		for _, st := range states {
			switch st {
			case repoRead:
				res.Repositories++
			case repoFailed:
				res.RepositoriesFailed++
			case repoInvalid:
				res.RepositoriesInvalid++
			}
		}
	}
	count()
	in, err := r.readGlint(ctx, snap)
	if err != nil {
		return fmt.Errorf("read glint: %w: %w", err, errRead)
	}
	if err := r.planTeams(ctx, snap, in, res); err != nil {
		return fmt.Errorf("read glint: %w: %w", err, errRead)
	}
	res.Changes = Plan(in)
	ch := &res.Changes
	res.Desired, res.Owned = ch.Desired, ch.Owned
	res.Conflicts, res.Invalid = len(ch.Conflicts), len(ch.Invalid)
	res.BlockedDeletes = len(ch.Blocked) + len(ch.Withheld)
	if ch.Threshold != nil {
		res.Notices = append(res.Notices, ch.Threshold.String())
	}
	for _, iv := range ch.Invalid {
		if states[iv.Source.Repo] == repoRead {
			states[iv.Source.Repo] = repoInvalid
		}
	}
	count()
	return sourceErr
}

// Repository states, as the repositories metric labels them.
const (
	repoRead    = "read"
	repoFailed  = "failed"
	repoInvalid = "invalid"
)

// summarise records the snapshot's installations and problems into res,
// returns each repository's state by full name, and returns the failures
// of single installations and repositories, joined.
func (r *Reconciler) summarise(snap *ghe.Snapshot, res *Result) (map[string]string, error) {
	res.RateLimit = snap.RateLimit
	var errs []error
	states := map[string]string{}
	for _, inst := range snap.Installations {
		res.Installations++
		if inst.Err != nil {
			res.InstallationsFailed++
			msg := fmt.Sprintf("list repositories of installation %d (%s)", inst.Installation.ID, inst.Installation.Account)
			res.Problems = append(res.Problems, Problem{Message: fmt.Sprintf("%s: %v", msg, inst.Err)})
			errs = append(errs, fmt.Errorf("%s: %w", msg, inst.Err))
		}
		for _, rr := range inst.Repos {
			name := rr.Repo.FullName
			if _, seen := states[name]; seen {
				continue
			}
			switch {
			case rr.Err != nil:
				states[name] = repoFailed
				res.Problems = append(res.Problems, Problem{Repo: name, Message: rr.Err.Error()})
				errs = append(errs, fmt.Errorf("read %s: %w", name, rr.Err))
			case !rr.Complete():
				states[name] = repoInvalid
				for _, sf := range rr.Specs {
					if sf.Err != nil {
						res.Problems = append(res.Problems, Problem{Repo: name, File: sf.Path, Message: sf.Err.Error()})
					}
				}
			default:
				states[name] = repoRead
			}
		}
	}
	return states, errors.Join(errs...)
}

// readGlint reads the blueprints, the owned entities and the foreign
// entities among the desired identifiers. It returns all or an error.
func (r *Reconciler) readGlint(ctx context.Context, snap *ghe.Snapshot) (Input, error) {
	in := Input{Snapshot: snap, Options: r.opts}
	bps, err := r.cat.Blueprints(ctx)
	if err != nil {
		return in, fmt.Errorf("list blueprints: %w", err)
	}
	in.Blueprints = bps

	owned := make([][]glint.Entity, len(bps))
	ownedQuery := glint.Query{Combinator: "and", Rules: []any{
		glint.Rule{Property: "$datasource", Operator: "beginsWith", Value: product + "/"},
		glint.Rule{Property: "$datasource", Operator: "contains", Value: appKey(r.opts.AppID, r.opts.GHEHost)},
	}}
	err = r.each(ctx, len(bps), func(ctx context.Context, i int) error {
		es, err := r.cat.SearchEntities(ctx, bps[i].Identifier, ownedQuery)
		if err != nil {
			return fmt.Errorf("search owned entities of %s: %w", bps[i].Identifier, err)
		}
		setBlueprint(es, bps[i].Identifier)
		owned[i] = es
		return nil
	})
	if err != nil {
		return in, err
	}

	// The desired identifiers not owned, by blueprint, in chunks.
	n := 0
	for _, es := range owned {
		n += len(es)
	}
	isOwned := make(map[Key]bool, n)
	in.Owned = make([]glint.Entity, 0, n)
	for i, es := range owned {
		for i := range es {
			isOwned[keyOf(&es[i])] = true
		}
		in.Owned = append(in.Owned, es...)
		owned[i] = nil // garbage once copied: 100,000 entities are 14 MB
	}
	known := make(map[string]bool, len(bps))
	for _, bp := range bps {
		known[bp.Identifier] = true
	}
	wanted := map[string][]string{}
	seen := map[Key]bool{}
	forEachSpecEntity(snap, func(se *ghe.SpecEntity) {
		k := Key{Blueprint: se.Blueprint, Identifier: se.Identifier}
		if !known[k.Blueprint] || isOwned[k] || seen[k] || validateIdentifier(k.Identifier) != nil {
			return
		}
		seen[k] = true
		wanted[k.Blueprint] = append(wanted[k.Blueprint], k.Identifier)
	})
	if in.Foreign, err = r.searchByIdentifier(ctx, wanted); err != nil {
		return in, err
	}
	return in, nil
}

// searchByIdentifier reads the entities with the given identifiers, by
// blueprint, in searches of at most maxIdentifiersPerSearch identifiers run
// side by side. It returns all of them or an error.
func (r *Reconciler) searchByIdentifier(ctx context.Context, wanted map[string][]string) ([]glint.Entity, error) {
	type search struct {
		blueprint string
		ids       []string
	}
	var searches []search
	for _, bp := range slices.Sorted(maps.Keys(wanted)) {
		ids := slices.Clone(wanted[bp])
		sort.Strings(ids)
		for len(ids) > 0 {
			n := min(len(ids), maxIdentifiersPerSearch)
			searches = append(searches, search{bp, ids[:n]})
			ids = ids[n:]
		}
	}
	found := make([][]glint.Entity, len(searches))
	err := r.each(ctx, len(searches), func(ctx context.Context, i int) error {
		s := searches[i]
		ids := make([]any, len(s.ids))
		for j, id := range s.ids {
			ids[j] = id
		}
		q := glint.Query{Combinator: "and", Rules: []any{glint.Rule{Property: "$identifier", Operator: "in", Value: ids}}}
		es, err := r.cat.SearchEntities(ctx, s.blueprint, q)
		if err != nil {
			return fmt.Errorf("search %d entities of %s by identifier: %w", len(s.ids), s.blueprint, err)
		}
		setBlueprint(es, s.blueprint)
		found[i] = es
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []glint.Entity
	for _, es := range found {
		out = append(out, es...)
	}
	return out, nil
}

// setBlueprint sets the blueprint of entities read from bp, and drops the
// meta fields a pass never uses (creation and update dates and authors;
// the datasource stays): at 100,000 entities they hold 10 MB.
func setBlueprint(es []glint.Entity, bp string) {
	for i := range es {
		e := &es[i]
		if e.Blueprint == "" || e.Blueprint == bp {
			e.Blueprint = bp // one string for all, not one each
		}
		e.CreatedAt, e.UpdatedAt, e.CreatedBy, e.UpdatedBy = nil, nil, "", ""
	}
}

func forEachSpecEntity(snap *ghe.Snapshot, fn func(*ghe.SpecEntity)) {
	for _, inst := range snap.Installations {
		for _, rr := range inst.Repos {
			if rr.Err != nil {
				continue
			}
			for _, sf := range rr.Specs {
				if sf.Err != nil {
					continue
				}
				for i := range sf.Entities {
					fn(&sf.Entities[i])
				}
			}
		}
	}
}

// each calls fn for 0..n-1 with at most Concurrency calls in flight and
// returns their errors joined. It stops starting calls when ctx ends.
func (r *Reconciler) each(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, r.opts.Concurrency)
	)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			mu.Lock()
			errs = append(errs, ctx.Err())
			mu.Unlock()
			wg.Wait()
			return errors.Join(errs...)
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(ctx, i); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// record updates the metrics and logs the summary of a RunOnce pass.
func (r *Reconciler) record(res *Result, err error) {
	m := r.metrics
	outcome := "success"
	if err != nil {
		outcome = "failure"
	}
	m.runs.WithLabelValues(outcome).Inc()
	m.duration.Observe(res.Duration.Seconds())
	end := res.Started.Add(res.Duration)
	m.lastRun.Set(float64(end.UnixNano()) / 1e9)
	if err == nil {
		m.lastSuccess.Set(float64(end.UnixNano()) / 1e9)
	}
	if !errors.Is(err, errRead) {
		m.entities.WithLabelValues("desired").Set(float64(res.Desired))
		m.entities.WithLabelValues("owned").Set(float64(res.Owned))
		m.conflicts.Set(float64(res.Conflicts))
		m.invalid.Set(float64(res.Invalid))
		m.repositories.WithLabelValues("read").Set(float64(res.Repositories))
		m.repositories.WithLabelValues("failed").Set(float64(res.RepositoriesFailed))
		m.repositories.WithLabelValues("invalid").Set(float64(res.RepositoriesInvalid))
		if res.Changes.Threshold != nil {
			m.deletionsBlocked.Inc()
		}
	}
	if !res.RateLimit.ResetAt.IsZero() || res.RateLimit.Remaining != 0 || res.RateLimit.Cost != 0 {
		m.rateRemaining.Set(float64(res.RateLimit.Remaining))
		m.rateCost.Set(float64(res.RateLimit.Cost))
	}

	for _, p := range res.Problems {
		r.logger.Warn("repository problem", "repo", p.Repo, "file", p.File, "error", p.Message)
	}
	for _, c := range res.Changes.Conflicts {
		r.logger.Warn("conflict", "blueprint", c.Blueprint, "identifier", c.Identifier,
			"repo", c.Source.Repo, "file", c.Source.File, "line", c.Source.Line, "owner", c.Owner)
	}
	for _, iv := range res.Changes.Invalid {
		r.logger.Warn("invalid entity", "blueprint", iv.Blueprint, "identifier", iv.Identifier,
			"repo", iv.Source.Repo, "file", iv.Source.File, "line", iv.Source.Line, "error", iv.Message)
	}
	if t := res.Changes.Threshold; t != nil {
		r.logger.Warn("deletion threshold exceeded", "deletes", t.Deletes, "owned", t.Owned, "threshold", t.Threshold)
	}
	attrs := []any{
		"repositories", res.Repositories + res.RepositoriesInvalid,
		"repositories_failed", res.RepositoriesFailed,
		"desired", res.Desired,
		"created", res.Created,
		"updated", res.Updated,
		"deleted", res.Deleted,
		"conflicts", res.Conflicts,
		"invalid", res.Invalid,
		"errors", countErrors(err),
		"duration", res.Duration,
	}
	if err != nil {
		r.logger.Error("reconcile finished", append(attrs, "error", err)...)
		return
	}
	r.logger.Info("reconcile finished", attrs...)
}

// countErrors counts the leaves of a joined error.
func countErrors(err error) int {
	if err == nil {
		return 0
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		n := 0
		for _, e := range j.Unwrap() {
			n += countErrors(e)
		}
		return n
	}
	return 1
}

// attribute prefixes a message with a declaration's source and key:
// "acme/checkout: glint.yml:3: service/checkout: msg".
func attribute(src Source, blueprint, id string) string {
	var b strings.Builder
	if src.Repo != "" {
		b.WriteString(src.String())
		b.WriteString(": ")
	}
	b.WriteString(blueprint)
	b.WriteByte('/')
	b.WriteString(id)
	return b.String()
}
