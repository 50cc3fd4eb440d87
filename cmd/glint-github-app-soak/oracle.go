package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/kozmoai/glint-github-app/glint"
)

// want is an entity as the oracle expects Glint to hold it.
type want struct {
	title      string
	props      map[string]any
	datasource string
	repo       string // owner/name
}

// oracle computes, from the model alone, what Glint should hold. It knows
// the datasource format from the design, not from the reconciler's code.
type oracle struct {
	appID   int64
	host    string
	version string
	// foreign are the identifiers other writers own; the app never
	// writes them.
	foreign map[string]bool
}

// datasource is the User-Agent the app writes entities of repo with.
func (o oracle) datasource(inst int64, repo string) string {
	return fmt.Sprintf("glint-github-app/%s (app/%d@%s; installation/%d; repo/%s; gitops)", o.version, o.appID, o.host, inst, repo)
}

// owned reports whether an entity's datasource says this app wrote it from
// a glint.yml.
func (o oracle) owned(ds string) bool {
	return strings.HasPrefix(ds, "glint-github-app/") &&
		strings.Contains(ds, fmt.Sprintf(" (app/%d@%s;", o.appID, o.host)) &&
		strings.HasSuffix(ds, "; gitops)")
}

// repoOf returns the repository a datasource names, lower case.
func repoOf(ds string) string {
	_, rest, ok := strings.Cut(ds, "; repo/")
	if !ok {
		return ""
	}
	repo, _, _ := strings.Cut(rest, ";")
	return strings.ToLower(repo)
}

// desired returns what the model declares, by identifier: the entities of
// readable glint.yml files of visible repositories, except identifiers
// other writers own.
func (o oracle) desired(m *model) map[string]want {
	out := map[string]want{}
	for _, in := range m.insts {
		for _, r := range in.repos {
			if !r.valid() {
				continue
			}
			for _, e := range r.entities {
				if o.foreign[e.id] {
					continue
				}
				props := map[string]any{"tier": e.tier, "n": float64(e.n)}
				if r.readme != "" {
					props["readme"] = r.readme
				}
				out[e.id] = want{title: e.title, props: props, datasource: o.datasource(in.id, r.fullName()), repo: r.fullName()}
			}
		}
	}
	return out
}

// brokenRepos returns the visible repositories whose glint.yml does not
// parse, lower case: what they owned must be kept.
func brokenRepos(m *model) map[string]bool {
	out := map[string]bool{}
	for _, in := range m.insts {
		for _, r := range in.repos {
			if r.visible() && r.hasFile && r.broken != "" {
				out[strings.ToLower(r.fullName())] = true
			}
		}
	}
	return out
}

// matches reports how e differs from w, or "".
func (w want) matches(e glint.Entity) string {
	var diffs []string
	if e.Title == nil || *e.Title != w.title {
		got := "<nil>"
		if e.Title != nil {
			got = *e.Title
		}
		diffs = append(diffs, fmt.Sprintf("title %q, want %q", got, w.title))
	}
	if !reflect.DeepEqual(normalizeJSON(e.Properties), normalizeJSON(w.props)) {
		diffs = append(diffs, fmt.Sprintf("properties %v, want %v", e.Properties, w.props))
	}
	if e.Datasource != w.datasource {
		diffs = append(diffs, fmt.Sprintf("datasource %q, want %q", e.Datasource, w.datasource))
	}
	return strings.Join(diffs, "; ")
}

func normalizeJSON(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	if m, ok := out.(map[string]any); ok && len(m) == 0 {
		return nil
	}
	return out
}

// state is Glint's content: entity JSON by blueprint/identifier.
type state map[string]glint.Entity

func key(bp, id string) string { return bp + "/" + id }

// checker checks the invariants of one pass.
type checker struct {
	o          oracle
	blueprints []string
	seeds      map[string][]byte // foreign entities as first seen, JSON
	violations []string
}

func (c *checker) violate(pass int, format string, args ...any) {
	c.violations = append(c.violations, fmt.Sprintf("pass %d: ", pass)+fmt.Sprintf(format, args...))
}

// checkPass checks a pass that ran on model m (unchanged during the pass),
// from Glint's state before and after it. success is whether the pass
// reported no error and withheld no deletion.
func (c *checker) checkPass(pass int, m *model, before, after state, success bool, explain func(id string) string) {
	desired := c.o.desired(m)
	broken := brokenRepos(m)

	// Nothing another writer owns changes, byte for byte.
	for k, seed := range c.seeds {
		e, ok := after[k]
		if !ok {
			c.violate(pass, "foreign entity %s was deleted", k)
			continue
		}
		if b, _ := json.Marshal(e); string(b) != string(seed) {
			c.violate(pass, "foreign entity %s changed:\n  was %s\n  now %s", k, seed, b)
		}
	}

	for k, e := range before {
		if _, seed := c.seeds[k]; seed || !c.o.owned(e.Datasource) {
			continue
		}
		if _, ok := after[k]; ok {
			continue
		}
		bp, id, _ := strings.Cut(k, "/")
		if w, ok := desired[id]; ok && bp == blueprint {
			c.violate(pass, "%s was deleted although %s still declares it", k, w.repo)
		}
		if r := repoOf(e.Datasource); broken[r] {
			c.violate(pass, "%s was deleted although its repository %s only has a broken glint.yml", k, r)
		}
	}

	for k, e := range after {
		if _, seed := c.seeds[k]; seed {
			continue
		}
		prev, existed := before[k]
		if existed && reflect.DeepEqual(prev, e) {
			continue
		}
		// Created or changed this pass: only the app writes here, and only
		// what is declared.
		bp, id, _ := strings.Cut(k, "/")
		w, ok := desired[id]
		if !ok || bp != blueprint {
			c.violate(pass, "%s was written although nothing declares it (datasource %q)", k, e.Datasource)
			continue
		}
		if d := w.matches(e); d != "" {
			c.violate(pass, "%s was written with the wrong content: %s", k, d)
		}
	}

	if !success {
		return
	}
	// A pass that reports success leaves exactly the desired entities, and
	// what broken repositories had.
	for id, w := range desired {
		e, ok := after[key(blueprint, id)]
		if !ok {
			c.violate(pass, "successful pass: %s/%s declared by %s is missing", blueprint, id, w.repo)
			continue
		}
		if d := w.matches(e); d != "" {
			c.violate(pass, "successful pass: %s/%s differs: %s (last written %s by %q; %s)", blueprint, id, d, e.UpdatedAt, e.UpdatedBy, explain(id))
		}
	}
	for k, e := range after {
		if _, seed := c.seeds[k]; seed || !c.o.owned(e.Datasource) {
			continue
		}
		bp, id, _ := strings.Cut(k, "/")
		if _, ok := desired[id]; ok && bp == blueprint {
			continue
		}
		if broken[repoOf(e.Datasource)] {
			continue
		}
		c.violate(pass, "successful pass: %s (datasource %q) is no longer declared but was kept (%s; %s)", k, e.Datasource, m.describe(repoOf(e.Datasource)), explain(id))
	}
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
