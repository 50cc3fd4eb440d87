package reconciler

import (
	"encoding/json"
	"slices"
	"sort"

	"github.com/kozmoai/glint-github-app/ghe"
	"github.com/kozmoai/glint-github-app/glint"
)

// Desired is one entity a spec file declares, with where it was declared.
type Desired struct {
	Entity glint.Entity `json:"entity"`
	Source Source       `json:"source"`
}

// Key identifies an entity in Glint: identifiers are unique per blueprint.
type Key struct {
	Blueprint  string `json:"blueprint"`
	Identifier string `json:"identifier"`
}

// String returns "blueprint/identifier".
func (k Key) String() string { return k.Blueprint + "/" + k.Identifier }

func keyOf(e *glint.Entity) Key { return Key{Blueprint: e.Blueprint, Identifier: e.Identifier} }

// DesiredEntities maps every entity declared in the spec files the snapshot
// holds to a Glint entity, in snapshot order. Repositories that failed to be
// read and spec files that failed to parse contribute nothing.
//
// The snapshot's entities are read-only (ghe.SpecEntity: ghe hands out its
// parse cache), and the Glint entities share their maps, title and icon
// (EntityFromSpec): nothing in a pass may modify those; code that needs a
// different value assigns a new one to the Glint entity's field, as the
// team name resolution does.
func DesiredEntities(snap *ghe.Snapshot) []Desired {
	if snap == nil {
		return nil
	}
	n := 0
	for _, inst := range snap.Installations {
		for _, rr := range inst.Repos {
			if rr.Err != nil {
				continue
			}
			for _, sf := range rr.Specs {
				n += len(sf.Entities)
			}
		}
	}
	out := make([]Desired, 0, n)
	for _, inst := range snap.Installations {
		for _, rr := range inst.Repos {
			if rr.Err != nil {
				continue
			}
			instID := rr.Repo.InstallationID
			if instID == 0 {
				instID = inst.Installation.ID
			}
			for _, sf := range rr.Specs {
				if sf.Err != nil {
					continue
				}
				for _, se := range sf.Entities {
					file := se.File
					if file == "" {
						file = sf.Path
					}
					out = append(out, Desired{
						Entity: EntityFromSpec(se),
						Source: Source{InstallationID: instID, Repo: rr.Repo.FullName, File: file, Line: se.Line},
					})
				}
			}
		}
	}
	return out
}

// EntityFromSpec maps a glint.yml entity to the Glint entity to write. Absent
// fields stay absent (nil) and explicit nulls stay nulls, so that merge
// semantics carry through. The entity shares its Properties and Relations
// maps and its Title and Icon with se (neither side is ever modified: se
// is read-only, see ghe.SpecEntity; a copy of 100,000 entities' maps each
// pass would be waste). The team list, short, is copied.
func EntityFromSpec(se ghe.SpecEntity) glint.Entity {
	e := glint.Entity{
		Identifier: se.Identifier,
		Blueprint:  se.Blueprint,
		Title:      se.Title,
		Icon:       se.Icon,
		Properties: se.Properties,
		Relations:  se.Relations,
	}
	if se.Team != nil {
		e.Team = slices.Clone(se.Team)
	}
	return e
}

// diff lists the managed fields whose meaning differs between desired d and
// current c, or nil when a write would change nothing. Meta fields (dates,
// authors, datasource) are never compared.
//
// Title and icon are compared only when d sets them. With merge, a property
// or relation absent from d is not compared, and one that is null in d must
// be absent or null in c; the team is compared only when d sets it. Without
// merge the whole maps are compared (absent equals null) and an unset team
// must be unset or empty in c.
func diff(d, c *glint.Entity, merge bool) []string {
	var fields []string
	if d.Title != nil && (c.Title == nil || *c.Title != *d.Title) {
		fields = append(fields, "title")
	}
	if d.Icon != nil && (c.Icon == nil || *c.Icon != *d.Icon) {
		fields = append(fields, "icon")
	}
	if d.Team != nil || !merge {
		if !slices.Equal(teamList(d.Team), teamList(c.Team)) {
			fields = append(fields, "team")
		}
	}
	fields = diffMap(fields, "properties.", d.Properties, c.Properties, merge, equalValue)
	fields = diffMap(fields, "relations.", d.Relations, c.Relations, merge, equalRelation)
	return fields
}

func diffMap(fields []string, prefix string, d, c map[string]any, merge bool, eq func(a, b any) bool) []string {
	start := len(fields)
	for k, dv := range d {
		if !eq(dv, c[k]) { // a missing key reads as nil: absent equals null
			fields = append(fields, prefix+k)
		}
	}
	if !merge {
		for k, cv := range c {
			if _, ok := d[k]; !ok && cv != nil {
				fields = append(fields, prefix+k)
			}
		}
	}
	sort.Strings(fields[start:])
	return fields
}

// teamList normalises a team (a name, a list of names, or nil) to a sorted
// list; nil and empty are both nil.
func teamList(v any) []string {
	var out []string
	switch t := v.(type) {
	case nil:
		return nil
	case string:
		return []string{t}
	case []string:
		out = slices.Clone(t)
	case []any:
		out = make([]string, 0, len(t))
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return []string{"\x00invalid"} // never equal to a real team list
			}
			out = append(out, s)
		}
	default:
		return []string{"\x00invalid"}
	}
	if len(out) == 0 {
		return nil
	}
	slices.Sort(out)
	return out
}

// relationList normalises a relation value (an identifier, a list of them,
// or null) to a sorted list, so that "a" equals ["a"] and list order does not
// matter. ok is false for any other shape.
func relationList(v any) (ids []string, ok bool) {
	switch t := v.(type) {
	case nil:
		return nil, true
	case string:
		return []string{t}, true
	case []string:
		ids = slices.Clone(t)
	case []any:
		ids = make([]string, 0, len(t))
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			ids = append(ids, s)
		}
	default:
		return nil, false
	}
	slices.Sort(ids)
	return ids, true
}

func equalRelation(a, b any) bool {
	if s, ok := a.(string); ok {
		if t, ok := b.(string); ok {
			return s == t // the common case, without allocating
		}
	}
	la, oka := relationList(a)
	lb, okb := relationList(b)
	if !oka || !okb {
		return equalValue(a, b)
	}
	return slices.Equal(la, lb) // null and [] are both "no targets"

}

// equalValue compares two JSON-shaped values by meaning: numbers of any Go
// type as float64 (1 equals 1.0), maps by key, lists in order.
func equalValue(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equalValue(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := asList(b)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case []string:
		xs, _ := asList(x)
		return equalValue(xs, b)
	}
	if fx, ok := toFloat(a); ok {
		fy, ok := toFloat(b)
		return ok && fx == fy
	}
	return false
}

func asList(v any) ([]any, bool) {
	switch t := v.(type) {
	case []any:
		return t, true
	case []string:
		out := make([]any, len(t))
		for i, s := range t {
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

// toFloat returns v as a float64 when v is any Go number or a json.Number.
func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}
