package reconciler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kozmoai/glint-github-app/ghe"
	"github.com/kozmoai/glint-github-app/glint"
)

// fakeGitHub serves a fixed snapshot, or an error.
type fakeGitHub struct {
	mu    sync.Mutex
	snap  *ghe.Snapshot
	err   error
	calls int
}

func (f *fakeGitHub) Snapshot(ctx context.Context) (*ghe.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	return f.snap, nil
}

// upsertCall and deleteCall record one write call of fakeCatalog.
type upsertCall struct {
	Blueprint string
	IDs       []string
	Opts      glint.WriteOptions
}

type deleteCall struct {
	Blueprint string
	IDs       []string
	Opts      glint.DeleteOptions
}

type searchCall struct {
	Blueprint string
	Query     glint.Query
}

// fakeCatalog is an in-memory Glint that records every call. It applies
// merge semantics and records each write's User-Agent as the datasource, as
// Glint does.
type fakeCatalog struct {
	mu         sync.Mutex
	blueprints []glint.Blueprint
	store      map[string]map[string]glint.Entity // blueprint -> identifier -> entity

	blueprintsErr error
	searchErr     map[string]error // by blueprint
	reject        map[string]error // by "blueprint/identifier": per-entity upsert errors
	upsertErr     error            // fails every upsert call as a whole
	writeDelay    time.Duration

	searches []searchCall
	upserts  []upsertCall
	deletes  []deleteCall
	inFlight int
	maxInFlt int
}

func newFakeCatalog(bps []glint.Blueprint, entities ...glint.Entity) *fakeCatalog {
	f := &fakeCatalog{blueprints: bps, store: map[string]map[string]glint.Entity{}}
	for _, bp := range bps {
		f.store[bp.Identifier] = map[string]glint.Entity{}
	}
	for _, e := range entities {
		f.store[e.Blueprint][e.Identifier] = e
	}
	return f
}

func (f *fakeCatalog) Blueprints(ctx context.Context) ([]glint.Blueprint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.blueprintsErr != nil {
		return nil, f.blueprintsErr
	}
	return slices.Clone(f.blueprints), nil
}

func (f *fakeCatalog) SearchEntities(ctx context.Context, blueprint string, q glint.Query) ([]glint.Entity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.searches = append(f.searches, searchCall{Blueprint: blueprint, Query: q})
	if err := f.searchErr[blueprint]; err != nil {
		return nil, err
	}
	ents, ok := f.store[blueprint]
	if !ok {
		return nil, fmt.Errorf("search %s: %w", blueprint, glint.ErrNotFound)
	}
	out := []glint.Entity{}
	for _, id := range slices.Sorted(maps.Keys(ents)) {
		e := ents[id]
		ok, err := matchQuery(q, &e)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, e)
		}
	}
	return out, nil
}

// matchQuery evaluates the rules the reconciler uses.
func matchQuery(q glint.Query, e *glint.Entity) (bool, error) {
	if q.Combinator != "and" {
		return false, fmt.Errorf("fake: combinator %q not supported", q.Combinator)
	}
	if len(q.Rules) == 0 {
		return false, errors.New("fake: a query needs rules")
	}
	for _, r := range q.Rules {
		rule, ok := r.(glint.Rule)
		if !ok {
			return false, fmt.Errorf("fake: rule of type %T not supported", r)
		}
		var field string
		switch rule.Property {
		case "$datasource":
			field = e.Datasource
		case "$identifier":
			field = e.Identifier
		default:
			return false, fmt.Errorf("fake: property %q not supported", rule.Property)
		}
		var match bool
		switch rule.Operator {
		case "=":
			match = field == rule.Value
		case "beginsWith":
			s, _ := rule.Value.(string)
			match = strings.HasPrefix(field, s)
		case "contains":
			s, _ := rule.Value.(string)
			match = strings.Contains(field, s)
		case "in":
			vals, ok := rule.Value.([]any)
			if !ok || len(vals) > 1000 {
				return false, fmt.Errorf("fake: 'in' needs a list of at most 1000 values, got %T of %d", rule.Value, len(vals))
			}
			match = slices.Contains(vals, any(field))
		default:
			return false, fmt.Errorf("fake: operator %q not supported", rule.Operator)
		}
		if !match {
			return false, nil
		}
	}
	return true, nil
}

func (f *fakeCatalog) enter() {
	f.mu.Lock()
	f.inFlight++
	f.maxInFlt = max(f.maxInFlt, f.inFlight)
	d := f.writeDelay
	f.mu.Unlock()
	time.Sleep(d)
}

func (f *fakeCatalog) leave() {
	f.mu.Lock()
	f.inFlight--
	f.mu.Unlock()
}

func (f *fakeCatalog) UpsertEntities(ctx context.Context, blueprint string, entities []glint.Entity, opts glint.WriteOptions) ([]glint.BulkResult, error) {
	f.enter()
	defer f.leave()
	f.mu.Lock()
	defer f.mu.Unlock()
	call := upsertCall{Blueprint: blueprint, Opts: opts}
	for _, e := range entities {
		call.IDs = append(call.IDs, e.Identifier)
	}
	f.upserts = append(f.upserts, call)
	if f.upsertErr != nil {
		return nil, f.upsertErr
	}
	if opts.UserAgent == "" {
		return nil, errors.New("fake: no user agent")
	}
	store, ok := f.store[blueprint]
	if !ok {
		return nil, fmt.Errorf("upsert %s: %w", blueprint, glint.ErrNotFound)
	}
	results := make([]glint.BulkResult, len(entities))
	for i, e := range entities {
		results[i] = glint.BulkResult{Identifier: e.Identifier, Index: i}
		if err := f.reject[blueprint+"/"+e.Identifier]; err != nil {
			results[i].Err = err
			continue
		}
		old, exists := store[e.Identifier]
		results[i].Created = !exists
		store[e.Identifier] = writeEntity(old, e, exists && opts.Merge, opts.UserAgent)
	}
	return results, nil
}

// writeEntity applies a write of e over old the way Glint does.
func writeEntity(old, e glint.Entity, merge bool, ua string) glint.Entity {
	out := glint.Entity{Identifier: e.Identifier, Blueprint: e.Blueprint, Datasource: ua}
	if merge {
		out.Title, out.Icon, out.Team = old.Title, old.Icon, old.Team
		out.Properties, out.Relations = maps.Clone(old.Properties), maps.Clone(old.Relations)
	}
	if e.Title != nil {
		out.Title = e.Title
	}
	if e.Icon != nil {
		out.Icon = e.Icon
	}
	if e.Team != nil {
		out.Team = e.Team
	}
	set := func(dst *map[string]any, src map[string]any) {
		for k, v := range src {
			if *dst == nil {
				*dst = map[string]any{}
			}
			if v == nil {
				delete(*dst, k)
				continue
			}
			(*dst)[k] = v
		}
	}
	set(&out.Properties, e.Properties)
	set(&out.Relations, e.Relations)
	return out
}

func (f *fakeCatalog) DeleteEntities(ctx context.Context, blueprint string, ids []string, opts glint.DeleteOptions) ([]glint.DeleteResult, error) {
	f.enter()
	defer f.leave()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes = append(f.deletes, deleteCall{Blueprint: blueprint, IDs: slices.Clone(ids), Opts: opts})
	results := make([]glint.DeleteResult, len(ids))
	for i, id := range ids {
		results[i].Identifier = id
		delete(f.store[blueprint], id)
	}
	return results, nil
}

// entity returns a stored entity.
func (f *fakeCatalog) entity(blueprint, id string) (glint.Entity, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.store[blueprint][id]
	return e, ok
}

// writes returns the number of write calls so far.
func (f *fakeCatalog) writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.upserts) + len(f.deletes)
}

// sortedUpserts returns the upsert calls by blueprint and User-Agent: calls
// run concurrently, so their order is not fixed.
func (f *fakeCatalog) sortedUpserts() []upsertCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.SortedFunc(slices.Values(f.upserts), func(a, b upsertCall) int {
		return cmp.Or(strings.Compare(a.Blueprint, b.Blueprint), strings.Compare(a.Opts.UserAgent, b.Opts.UserAgent))
	})
}
