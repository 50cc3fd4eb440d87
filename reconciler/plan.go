package reconciler

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/kozmoai/glint-github-app/ghe"
	"github.com/kozmoai/glint-github-app/glint"
)

// Input is everything Plan needs: both sides, read in full.
type Input struct {
	// Snapshot is what GitHub Enterprise declares. A nil Snapshot proves
	// nothing, so no deletion is planned.
	Snapshot *ghe.Snapshot
	// Blueprints are all of Glint's blueprints.
	Blueprints []glint.Blueprint
	// Owned are the entities found by the ownership search. Plan checks
	// each datasource again: only entities of this app (same app id and
	// host, gitops feature) are treated as owned, the rest as foreign.
	Owned []glint.Entity
	// Foreign are the entities found by identifier among the desired
	// identifiers that the ownership search did not return.
	Foreign []glint.Entity
	// Options are the reconciler's options (AppID, GHEHost, Version,
	// Policy, DeleteThreshold and Merge are used); zero values take the
	// defaults New documents.
	Options Options
}

// owned is an entity of this app, with what a pass uses of its parsed
// datasource (the index holds every owned entity: 100,000 of them).
type owned struct {
	e     *glint.Entity
	owner ownerRef
}

// ownerRef is the repository and installation an owned entity's datasource
// names.
type ownerRef struct {
	InstallationID int64
	Repo           string
}

func refOf(o Owner) ownerRef { return ownerRef{InstallationID: o.InstallationID, Repo: o.Repo} }

// repoState is what one pass knows about a repository named in the snapshot.
type repoState struct {
	complete bool
	reason   string // why it is not complete
}

// planner holds the indexes of one Plan call.
type planner struct {
	opts       Options
	blueprints map[string]*glint.Blueprint
	owned      map[Key]owned
	foreign    map[Key]*glint.Entity
	repos      map[string]repoState // by lower-case full name
	insts      map[int64]error      // listed installations and their listing error
	known      bool                 // a snapshot was given
	allListed  bool                 // every installation's repository listing is complete

	cands       []*Desired        // reused buffer of one key's declarations
	datasources map[Source]string // datasource by installation and repository
}

// Plan computes the changes that make Glint match the desired entities of
// in.Snapshot. It does no I/O and its output is sorted, so equal inputs give
// equal Changes. It runs in time linear in the number of entities (plus the
// sorting of its output).
func Plan(in Input) Changes {
	p := newPlanner(in)
	desired := DesiredEntities(in.Snapshot)
	resolveSpecTeams(desired, in.Snapshot, p.opts, p.owned)
	var ch Changes

	// Index the declarations by key; duplicates are rare, so they get a
	// second map instead of a slice per key.
	first := make(map[Key]int, len(desired))
	order := make([]int, 0, len(desired)) // the first declaration of each key
	var dups map[Key][]int
	for i := range desired {
		k := keyOf(&desired[i].Entity)
		if _, ok := first[k]; !ok {
			first[k] = i
			order = append(order, i)
			continue
		}
		if dups == nil {
			dups = make(map[Key][]int)
		}
		dups[k] = append(dups[k], i)
	}
	ch.Desired = len(first)
	ch.Owned = len(p.owned)

	for _, i := range order {
		k := keyOf(&desired[i].Entity)
		cands := append(p.cands[:0], &desired[i])
		if dups != nil {
			for _, j := range dups[k] {
				cands = append(cands, &desired[j])
			}
		}
		p.planKey(&ch, k, cands)
		p.cands = cands
	}

	if p.opts.Policy != PolicyUpsertOnly {
		var targets map[Key]*Desired // built on the first owned entity no longer declared
		for k, o := range p.owned {
			if _, ok := first[k]; ok {
				continue
			}
			src := Source{InstallationID: o.owner.InstallationID, Repo: o.owner.Repo}
			ok, reason := p.deletable(o.owner)
			if ok {
				// A relation target that is still referenced stays: deleting
				// it would clear the relation in Glint, and writing the
				// relation back would create it again (with
				// create_missing_related_entities) or fail, every pass.
				if targets == nil {
					targets = p.relationTargets(desired)
				}
				if d := targets[k]; d != nil {
					ok, reason = false, fmt.Sprintf("a relation of %s/%s (%s) points to it", d.Entity.Blueprint, d.Entity.Identifier, d.Source)
				}
			}
			if !ok {
				ch.Blocked = append(ch.Blocked, Blocked{
					Blueprint: k.Blueprint, Identifier: k.Identifier, Source: src,
					Datasource: o.e.Datasource, Reason: reason,
				})
				continue
			}
			ch.Delete = append(ch.Delete, Change{
				Blueprint: k.Blueprint, Identifier: k.Identifier, Source: src, Datasource: o.e.Datasource,
			})
		}
		if n := len(ch.Delete); n > 0 && float64(n) > p.opts.DeleteThreshold*float64(len(p.owned)) {
			ch.Threshold = &ThresholdExceeded{Deletes: n, Owned: len(p.owned), Threshold: p.opts.DeleteThreshold}
			ch.Withheld, ch.Delete = ch.Delete, nil
		}
	}
	ch.sort()
	return ch
}

func newPlanner(in Input) *planner {
	p := &planner{
		opts:        in.Options.withDefaults(),
		blueprints:  make(map[string]*glint.Blueprint, len(in.Blueprints)),
		owned:       make(map[Key]owned, len(in.Owned)),
		foreign:     make(map[Key]*glint.Entity, len(in.Foreign)),
		repos:       make(map[string]repoState),
		insts:       make(map[int64]error),
		datasources: make(map[Source]string),
		known:       in.Snapshot != nil,
		allListed:   in.Snapshot != nil,
	}
	for i := range in.Blueprints {
		p.blueprints[in.Blueprints[i].Identifier] = &in.Blueprints[i]
	}
	// Entities of one repository share a datasource and Glint returns them
	// together as a rule: parse a datasource once in a row. (A map of every
	// datasource cost as much memory as the owned index at one entity a
	// repository, and parsing is cheap.)
	var (
		lastDS string
		last   struct {
			o    Owner
			ours bool
		}
		parsedOnce bool
	)
	add := func(e *glint.Entity) {
		k := keyOf(e)
		if _, ok := p.owned[k]; ok {
			return
		}
		if !parsedOnce || e.Datasource != lastDS {
			o, ok := ParseDatasource(e.Datasource)
			last.o, last.ours = o, ok && o.SameApp(p.opts.AppID, p.opts.GHEHost) && o.Has(featureGitOps)
			lastDS, parsedOnce = e.Datasource, true
		}
		ps := last
		if o := ps.o; ps.ours {
			p.owned[k] = owned{e: e, owner: refOf(o)}
			delete(p.foreign, k)
			return
		}
		p.foreign[k] = e
	}
	for i := range in.Owned {
		add(&in.Owned[i])
	}
	for i := range in.Foreign {
		add(&in.Foreign[i])
	}
	if in.Snapshot == nil {
		return p
	}
	for _, inst := range in.Snapshot.Installations {
		p.insts[inst.Installation.ID] = inst.Err
		if inst.Err != nil {
			p.allListed = false
		}
		for _, rr := range inst.Repos {
			name := strings.ToLower(rr.Repo.FullName)
			st := repoState{complete: true}
			if rr.Err != nil {
				st = repoState{reason: fmt.Sprintf("reading %s failed: %v", rr.Repo.FullName, rr.Err)}
			} else {
				for _, sf := range rr.Specs {
					if sf.Err != nil {
						st = repoState{reason: fmt.Sprintf("%s: %s: %v", rr.Repo.FullName, sf.Path, sf.Err)}
						break
					}
				}
			}
			if prev, ok := p.repos[name]; ok && !prev.complete {
				st = prev // listed twice: complete only if every read was
			}
			p.repos[name] = st
		}
	}
	return p
}

// planKey plans one desired key from its declarations.
func (p *planner) planKey(ch *Changes, k Key, cands []*Desired) {
	bp := p.blueprints[k.Blueprint]
	if bp == nil {
		for _, d := range cands {
			ch.Invalid = append(ch.Invalid, Invalid{
				Blueprint: k.Blueprint, Identifier: k.Identifier, Source: d.Source,
				Message: fmt.Sprintf("blueprint %q does not exist in Glint", k.Blueprint),
			})
		}
		return
	}
	if f := p.foreign[k]; f != nil {
		by := f.Datasource
		if by == "" {
			by = "another writer"
		}
		for _, d := range cands {
			ch.Conflicts = append(ch.Conflicts, Conflict{
				Blueprint: k.Blueprint, Identifier: k.Identifier, Source: d.Source, Owner: by,
				Message: fmt.Sprintf("%s: %s exists in Glint and was written by %s; left alone", d.Source, k, by),
			})
		}
		return
	}

	cur, exists := p.owned[k]
	if len(cands) > 1 {
		slices.SortStableFunc(cands, func(a, b *Desired) int {
			return cmp.Or(
				cmp.Compare(strings.ToLower(a.Source.Repo), strings.ToLower(b.Source.Repo)),
				cmp.Compare(a.Source.File, b.Source.File),
				cmp.Compare(a.Source.Line, b.Source.Line),
			)
		})
	}
	win := 0
	if exists && cur.owner.Repo != "" {
		win = -1
		for i, d := range cands {
			if strings.EqualFold(d.Source.Repo, cur.owner.Repo) {
				win = i
				break
			}
		}
		if win < 0 {
			// The current owner no longer declares it: the entity may
			// move only when that is certain, exactly as for a deletion.
			if ok, reason := p.deletable(cur.owner); !ok {
				for _, d := range cands {
					ch.Conflicts = append(ch.Conflicts, Conflict{
						Blueprint: k.Blueprint, Identifier: k.Identifier, Source: d.Source, Owner: cur.e.Datasource,
						Message: fmt.Sprintf("%s: %s belongs to %s, which could not be read in full (%s); left alone",
							d.Source, k, cur.owner.Repo, reason),
					})
				}
				return
			}
			win = 0
		}
	}
	w := cands[win]
	for i, d := range cands {
		if i == win {
			continue
		}
		ch.Conflicts = append(ch.Conflicts, Conflict{
			Blueprint: k.Blueprint, Identifier: k.Identifier, Source: d.Source, Owner: w.Source.String(),
			Message: fmt.Sprintf("%s: %s is also declared by %s, which keeps it; left alone", d.Source, k, w.Source),
		})
	}

	if err := Validate(&w.Entity, bp, !exists, p.opts.Merge); err != nil {
		ch.Invalid = append(ch.Invalid, Invalid{
			Blueprint: k.Blueprint, Identifier: k.Identifier, Source: w.Source, Message: err.Error(),
		})
		return
	}
	ds := p.datasource(w.Source)
	if !exists {
		ch.Create = append(ch.Create, Change{
			Blueprint: k.Blueprint, Identifier: k.Identifier, Source: w.Source, Datasource: ds, Entity: &w.Entity,
		})
		return
	}
	fields := diff(&w.Entity, cur.e, p.opts.Merge)
	if !strings.EqualFold(cur.owner.Repo, w.Source.Repo) || cur.owner.InstallationID != w.Source.InstallationID {
		fields = append(fields, "datasource")
	}
	if len(fields) > 0 {
		ch.Update = append(ch.Update, Change{
			Blueprint: k.Blueprint, Identifier: k.Identifier, Source: w.Source, Datasource: ds, Entity: &w.Entity,
			Fields: fields, Previous: cur.e.Datasource,
		})
	}
}

// relationTargets returns the entities the relations of the desired
// entities point to, each with the first declaration that points to it.
func (p *planner) relationTargets(desired []Desired) map[Key]*Desired {
	out := make(map[Key]*Desired)
	for i := range desired {
		d := &desired[i]
		bp := p.blueprints[d.Entity.Blueprint]
		if bp == nil {
			continue
		}
		for name, v := range d.Entity.Relations {
			rel, ok := bp.Relations[name]
			if !ok {
				continue
			}
			ids, _ := relationList(v)
			for _, id := range ids {
				k := Key{Blueprint: rel.Target, Identifier: id}
				if out[k] == nil {
					out[k] = d
				}
			}
		}
	}
	return out
}

// datasource returns the datasource of writes declared at src.
func (p *planner) datasource(src Source) string {
	key := Source{InstallationID: src.InstallationID, Repo: src.Repo}
	ds, ok := p.datasources[key]
	if !ok {
		ds = FormatDatasource(p.opts.Version, p.opts.AppID, p.opts.GHEHost, src.InstallationID, src.Repo)
		p.datasources[key] = ds
	}
	return ds
}

// deletable reports whether this pass proves that the repository named in
// an owned entity's datasource no longer declares it, and if not, why.
func (p *planner) deletable(o ownerRef) (bool, string) {
	switch {
	case !p.known:
		return false, "no snapshot of GitHub Enterprise"
	case o.Repo == "":
		return false, "its datasource names no repository"
	}
	if st, ok := p.repos[strings.ToLower(o.Repo)]; ok {
		if st.complete {
			return true, "" // read in full and no longer declared
		}
		return false, st.reason
	}
	if o.InstallationID == 0 {
		if p.allListed {
			return true, "" // no complete listing has the repository
		}
		return false, fmt.Sprintf("%s is not in the snapshot, its datasource names no installation, and an installation's listing failed", o.Repo)
	}
	err, listed := p.insts[o.InstallationID]
	switch {
	case !listed:
		return true, "" // the installation is gone from the complete listing
	case err != nil:
		return false, fmt.Sprintf("listing the repositories of installation %d failed: %v", o.InstallationID, err)
	}
	return true, "" // the repository is gone from the installation's complete listing
}
