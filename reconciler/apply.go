package reconciler

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/kozmoai/glint-github-app/glint"
)

// writeGroup is one bulk upsert: entities of one blueprint written with one
// datasource, which names their repository.
type writeGroup struct {
	blueprint  string
	datasource string
	changes    []*Change
	creates    []bool
}

// tally collects the outcome of concurrent writes.
type tally struct {
	mu       sync.Mutex
	res      *Result
	errs     []error
	failures int
}

func (t *tally) fail(p Problem, n int, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.errs = append(t.errs, err)
	t.failures += n
	t.res.Problems = append(t.res.Problems, p)
}

// apply writes res.Changes: creates and updates first, grouped by blueprint
// and datasource, then deletes, grouped by blueprint. A failed write does
// not stop the others; the failures come back joined, each attributed to
// the repository and file that declared the entity.
func (r *Reconciler) apply(ctx context.Context, res *Result) error {
	ch := &res.Changes
	t := &tally{res: res}

	var groups []*writeGroup
	index := map[[2]string]*writeGroup{}
	add := func(c *Change, create bool) {
		k := [2]string{c.Blueprint, c.Datasource}
		g := index[k]
		if g == nil {
			g = &writeGroup{blueprint: c.Blueprint, datasource: c.Datasource}
			index[k] = g
			groups = append(groups, g)
		}
		g.changes = append(g.changes, c)
		g.creates = append(g.creates, create)
	}
	for i := range ch.Create {
		add(&ch.Create[i], true)
	}
	for i := range ch.Update {
		add(&ch.Update[i], false)
	}
	// fn never fails: each returns only the end of ctx, which stops
	// writes not yet started.
	if err := r.each(ctx, len(groups), func(ctx context.Context, i int) error {
		r.upsert(ctx, groups[i], t)
		return nil
	}); err != nil {
		t.errs = append(t.errs, fmt.Errorf("apply creates and updates: %w", err))
	}

	var byBlueprint [][]*Change
	bpIndex := map[string]int{}
	for i := range ch.Delete {
		c := &ch.Delete[i]
		j, ok := bpIndex[c.Blueprint]
		if !ok {
			j = len(byBlueprint)
			bpIndex[c.Blueprint] = j
			byBlueprint = append(byBlueprint, nil)
		}
		byBlueprint[j] = append(byBlueprint[j], c)
	}
	if err := r.each(ctx, len(byBlueprint), func(ctx context.Context, i int) error {
		r.delete(ctx, byBlueprint[i], t)
		return nil
	}); err != nil {
		t.errs = append(t.errs, fmt.Errorf("apply deletes: %w", err))
	}

	res.WriteErrors = t.failures
	r.metrics.writeErrors.Add(float64(t.failures))
	return errors.Join(t.errs...)
}

// upsert writes one group and records each entity's outcome.
func (r *Reconciler) upsert(ctx context.Context, g *writeGroup, t *tally) {
	entities := make([]glint.Entity, len(g.changes))
	for i, c := range g.changes {
		entities[i] = *c.Entity
	}
	results, err := r.cat.UpsertEntities(ctx, g.blueprint, entities, glint.WriteOptions{
		UserAgent:                    g.datasource,
		Merge:                        r.opts.Merge,
		CreateMissingRelatedEntities: r.opts.CreateMissingRelatedEntities,
	})
	if err == nil && len(results) != len(entities) {
		err = fmt.Errorf("upsert entities of %s: %d results for %d entities", g.blueprint, len(results), len(entities))
	}
	var created, updated, callFailed int
	var callSource Source
	for i, c := range g.changes {
		eerr := err // no result for this entity: the call's error
		if i < len(results) {
			eerr = results[i].Err
		}
		switch {
		case eerr == nil && g.creates[i]:
			created++
		case eerr == nil:
			updated++
		case err != nil && errors.Is(eerr, err):
			// The call failed as a whole: report it once for the group.
			callFailed++
			callSource = c.Source
		default:
			a := attribute(c.Source, c.Blueprint, c.Identifier)
			t.fail(Problem{Repo: c.Source.Repo, File: c.Source.File, Message: fmt.Sprintf("%s: %v", a, eerr)},
				1, fmt.Errorf("%s: %w", a, eerr))
		}
	}
	if callFailed > 0 {
		msg := fmt.Sprintf("%s: upsert %d entities of %s", callSource.Repo, callFailed, g.blueprint)
		t.fail(Problem{Repo: callSource.Repo, Message: fmt.Sprintf("%s: %v", msg, err)}, callFailed, fmt.Errorf("%s: %w", msg, err))
	}
	t.mu.Lock()
	t.res.Created += created
	t.res.Updated += updated
	t.mu.Unlock()
	r.metrics.changes.WithLabelValues("create").Add(float64(created))
	r.metrics.changes.WithLabelValues("update").Add(float64(updated))
}

// delete deletes the changes of one blueprint and records each outcome.
func (r *Reconciler) delete(ctx context.Context, cs []*Change, t *tally) {
	bp := cs[0].Blueprint
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.Identifier
	}
	ua := Owner{Version: r.opts.Version, AppID: r.opts.AppID, Host: r.opts.GHEHost, Features: []string{featureGitOps}}.String()
	results, err := r.cat.DeleteEntities(ctx, bp, ids, glint.DeleteOptions{UserAgent: ua, DeleteDependents: r.opts.DeleteDependents})
	if err == nil && len(results) != len(ids) {
		err = fmt.Errorf("delete entities of %s: %d results for %d identifiers", bp, len(results), len(ids))
	}
	deleted, callFailed := 0, 0
	for i, c := range cs {
		eerr := err // no result for this identifier: the call's error
		if i < len(results) {
			eerr = results[i].Err
		}
		switch {
		case eerr == nil:
			deleted++
		case err != nil && errors.Is(eerr, err):
			callFailed++
		default:
			a := attribute(c.Source, bp, c.Identifier)
			t.fail(Problem{Repo: c.Source.Repo, Message: fmt.Sprintf("%s: delete: %v", a, eerr)},
				1, fmt.Errorf("%s: delete: %w", a, eerr))
		}
	}
	if callFailed > 0 {
		t.fail(Problem{Message: fmt.Sprintf("delete %d entities of %s: %v", callFailed, bp, err)},
			callFailed, fmt.Errorf("delete %d entities of %s: %w", callFailed, bp, err))
	}
	t.mu.Lock()
	t.res.Deleted += deleted
	t.mu.Unlock()
	r.metrics.changes.WithLabelValues("delete").Add(float64(deleted))
}
