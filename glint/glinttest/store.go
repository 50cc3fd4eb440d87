package glinttest

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/kozmoai/glint-github-app/glint"
)

// record is one stored entity. Property values are as encoding/json decodes
// them (float64, string, bool, map[string]any, []any); a relation value is a
// string or a []string.
type record struct {
	identifier string
	title      *string
	icon       *string
	teams      []string
	props      map[string]any
	rels       map[string]any
	datasource string
	createdAt  time.Time
	createdBy  string
	updatedAt  time.Time
	updatedBy  string
}

// table holds one blueprint's entities.
type table struct {
	rows map[string]*record
	ids  []string // sorted identifiers; nil when stale
}

func (t *table) sortedIDs() []string {
	if t.ids == nil {
		t.ids = slices.Sorted(maps.Keys(t.rows))
	}
	return t.ids
}

func (t *table) put(r *record) {
	if _, ok := t.rows[r.identifier]; !ok {
		t.ids = nil
	}
	t.rows[r.identifier] = r
}

func (t *table) remove(id string) {
	delete(t.rows, id)
	t.ids = nil
}

// tableLocked returns blueprint's table, creating it.
func (s *Server) tableLocked(blueprint string) *table {
	t := s.tables[blueprint]
	if t == nil {
		t = &table{rows: make(map[string]*record)}
		s.tables[blueprint] = t
	}
	return t
}

func (s *Server) lookupLocked(blueprint, id string) (*record, bool) {
	t := s.tables[blueprint]
	if t == nil {
		return nil, false
	}
	r, ok := t.rows[id]
	return r, ok
}

// AddBlueprint adds or replaces a blueprint. Blueprints are made by Glint
// admins, so the API cannot create them: tests and the demo add them here.
func (s *Server) AddBlueprint(b glint.Blueprint) {
	// Round-trip through JSON so enum values compare as the wire decodes them.
	var c glint.Blueprint
	data, err := json.Marshal(b)
	if err == nil {
		err = json.Unmarshal(data, &c)
	}
	if err != nil {
		c = b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blueprints[c.Identifier] = c
	s.tableLocked(c.Identifier)
}

// PutEntity stores e in blueprint as if another writer (a person, another
// integration) wrote it with the given datasource: no schema checks, no
// relation checks, replacing any entity with the same identifier. The
// blueprint is created empty if it was not added. Only Identifier, Title,
// Icon, Team, Properties and Relations are used; null properties and
// relations are dropped.
func (s *Server) PutEntity(blueprint string, e glint.Entity, datasource string) {
	var props, rels map[string]any
	_ = roundTrip(e.Properties, &props)
	_ = roundTrip(e.Relations, &rels)
	r := &record{
		identifier: e.Identifier,
		title:      clonePtr(e.Title),
		icon:       clonePtr(e.Icon),
		teams:      teamsOf(e.Team),
		props:      make(map[string]any),
		rels:       make(map[string]any),
		datasource: datasource,
		createdBy:  datasource,
		updatedBy:  datasource,
	}
	for k, v := range props {
		if v != nil {
			r.props[k] = v
		}
	}
	for k, v := range rels {
		switch v := v.(type) {
		case string:
			r.rels[k] = v
		case []any:
			ids := make([]string, 0, len(v))
			for _, x := range v {
				if id, ok := x.(string); ok {
					ids = append(ids, id)
				}
			}
			r.rels[k] = ids
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now().UTC()
	r.createdAt, r.updatedAt = now, now
	if old, ok := s.lookupLocked(blueprint, e.Identifier); ok {
		r.createdAt, r.createdBy = old.createdAt, old.createdBy
	}
	if _, ok := s.blueprints[blueprint]; !ok {
		s.blueprints[blueprint] = glint.Blueprint{Identifier: blueprint, Schema: glint.Schema{Properties: map[string]glint.Property{}}}
	}
	s.tableLocked(blueprint).put(r)
}

// Entity returns the stored entity, as a read would return it: with
// blueprint, datasource and meta fields, values typed as encoding/json
// decodes them (team as []any).
func (s *Server) Entity(blueprint, identifier string) (glint.Entity, bool) {
	s.mu.Lock()
	r, ok := s.lookupLocked(blueprint, identifier)
	var e glint.Entity
	if ok {
		e = r.entity(blueprint)
	}
	s.mu.Unlock()
	if !ok {
		return glint.Entity{}, false
	}
	return normalize(e), true
}

// Entities returns blueprint's entities sorted by identifier, as Entity does.
func (s *Server) Entities(blueprint string) []glint.Entity {
	s.mu.Lock()
	var es []glint.Entity
	if t := s.tables[blueprint]; t != nil {
		for _, id := range t.sortedIDs() {
			es = append(es, t.rows[id].entity(blueprint))
		}
	}
	s.mu.Unlock()
	for i := range es {
		es[i] = normalize(es[i])
	}
	return es
}

// entity is r as the API returns it.
func (r *record) entity(blueprint string) glint.Entity {
	created, updated := r.createdAt, r.updatedAt
	e := glint.Entity{
		Identifier: r.identifier,
		Blueprint:  blueprint,
		Title:      r.title,
		Icon:       r.icon,
		Team:       slices.Clone(r.teams),
		Properties: maps.Clone(r.props),
		Relations:  maps.Clone(r.rels),
		Datasource: r.datasource,
		CreatedAt:  &created,
		CreatedBy:  r.createdBy,
		UpdatedAt:  &updated,
		UpdatedBy:  r.updatedBy,
	}
	if r.teams == nil {
		e.Team = []string{}
	}
	return e
}

// clone returns a copy of r sharing no maps or slices with it.
func (r *record) clone() *record {
	c := *r
	c.title = clonePtr(r.title)
	c.icon = clonePtr(r.icon)
	c.teams = slices.Clone(r.teams)
	c.props = maps.Clone(r.props)
	c.rels = maps.Clone(r.rels)
	if c.props == nil {
		c.props = make(map[string]any)
	}
	if c.rels == nil {
		c.rels = make(map[string]any)
	}
	return &c
}

// normalize round-trips e through JSON, so it has the types a client
// decoding a response gets and shares nothing with the store.
func normalize(e glint.Entity) glint.Entity {
	var out glint.Entity
	if err := roundTrip(e, &out); err != nil {
		return e
	}
	return out
}

func roundTrip(in, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}

func clonePtr(p *string) *string {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// teamsOf turns an entity's team value (a name or a list) into a list.
func teamsOf(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []string:
		return slices.Clone(v)
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func sortedKeys[M ~map[K]V, K cmp.Ordered, V any](m M) []K {
	return slices.Sorted(maps.Keys(m))
}
