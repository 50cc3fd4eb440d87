package glinttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/kozmoai/glint-github-app/glint"
)

// Limits of the bulk endpoints.
const (
	MaxBulkUpsert = 20
	MaxBulkDelete = 100
)

// entityField reports whether an entity may carry field k in a write.
func entityField(k string) bool {
	switch k {
	case "identifier", "blueprint", "title", "icon", "team", "properties", "relations":
		return true
	}
	return false
}

// writeOpts are an upsert's query parameters.
type writeOpts struct {
	upsert, merge, createMissing, validationOnly bool
}

func parseWriteOpts(w http.ResponseWriter, r *http.Request) (writeOpts, bool) {
	p, ok := boolParams(w, r, "upsert", "merge", "create_missing_related_entities", "validation_only")
	if !ok {
		return writeOpts{}, false
	}
	return writeOpts{
		upsert:         p["upsert"],
		merge:          p["merge"],
		createMissing:  p["create_missing_related_entities"],
		validationOnly: p["validation_only"],
	}, true
}

// entityInput is one entity of a write request, nulls kept apart from absent fields.
type entityInput struct {
	id    string
	has   map[string]bool
	title *string
	icon  *string
	teams []string
	props map[string]any // a nil value is an explicit null
	rels  map[string]any // a nil value is an explicit null; else string or []string
	// targets are the relation targets sent, by relation name.
	targets map[string][]string
}

// parseEntityLocked decodes and checks one entity against blueprint bp.
func (s *Server) parseEntityLocked(bp glint.Blueprint, raw json.RawMessage) (*entityInput, *apiError) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, errf(400, "invalid_request", "an entity must be a JSON object")
	}
	in := &entityInput{has: make(map[string]bool)}
	for _, k := range sortedKeys(fields) {
		if !entityField(k) {
			return nil, errf(400, "invalid_request", "unknown field %q in entity (read-only fields are never sent)", k)
		}
		in.has[k] = true
	}
	if err := json.Unmarshal(fields["identifier"], &in.id); err != nil || !in.has["identifier"] {
		return nil, errf(400, "invalid_request", "identifier is required and must be a string")
	}
	if e := checkIdentifier("identifier", in.id); e != nil {
		return nil, e
	}
	if in.has["blueprint"] {
		var b string
		if err := json.Unmarshal(fields["blueprint"], &b); err != nil || b != bp.Identifier {
			return nil, errf(400, "invalid_request", "blueprint in the body must be %q, the blueprint of the path", bp.Identifier)
		}
	}
	for _, f := range []struct {
		name string
		dst  **string
	}{{"title", &in.title}, {"icon", &in.icon}} {
		if err := json.Unmarshal(orNull(fields[f.name]), f.dst); err != nil {
			return nil, errf(400, "invalid_request", "%s must be a string or null", f.name)
		}
	}

	var team any
	if err := json.Unmarshal(orNull(fields["team"]), &team); err != nil {
		return nil, errf(400, "invalid_request", "team must be a team name, a list of them, or null")
	}
	switch t := team.(type) {
	case nil:
	case string:
		in.teams = []string{t}
	case []any:
		in.teams = []string{}
		for _, x := range t {
			name, ok := x.(string)
			if !ok {
				return nil, errf(400, "invalid_request", "team must be a team name, a list of them, or null")
			}
			in.teams = append(in.teams, name)
		}
	default:
		return nil, errf(400, "invalid_request", "team must be a team name, a list of them, or null")
	}
	for _, name := range in.teams {
		if _, ok := s.teams[name]; !ok {
			return nil, errf(422, "team_not_found", "team %q not found", name)
		}
	}

	if err := json.Unmarshal(orNull(fields["properties"]), &in.props); err != nil {
		return nil, errf(400, "invalid_request", "properties must be an object")
	}
	for _, name := range sortedKeys(in.props) {
		p, ok := bp.Schema.Properties[name]
		if !ok {
			return nil, schemaErr("properties.%s is not a property of blueprint %q", name, bp.Identifier)
		}
		if v := in.props[name]; v != nil {
			if e := checkProperty(name, p, v); e != nil {
				return nil, e
			}
		}
	}

	var rels map[string]any
	if err := json.Unmarshal(orNull(fields["relations"]), &rels); err != nil {
		return nil, errf(400, "invalid_request", "relations must be an object")
	}
	in.rels = make(map[string]any, len(rels))
	in.targets = make(map[string][]string)
	for _, name := range sortedKeys(rels) {
		rel, ok := bp.Relations[name]
		if !ok {
			return nil, schemaErr("relations.%s is not a relation of blueprint %q", name, bp.Identifier)
		}
		v := rels[name]
		if v == nil {
			in.rels[name] = nil
			continue
		}
		ids, e := checkRelationValue(name, rel, v)
		if e != nil {
			return nil, e
		}
		in.targets[name] = ids
		if rel.Many {
			in.rels[name] = ids
		} else {
			in.rels[name] = ids[0]
		}
	}
	return in, nil
}

func orNull(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return json.RawMessage("null")
	}
	return raw
}

type entityKey struct{ blueprint, id string }

// writeEntityLocked runs one entity write: checks, merge or replace,
// relation targets, then stores it unless validation_only.
func (s *Server) writeEntityLocked(bp glint.Blueprint, raw json.RawMessage, o writeOpts, c *call) (*record, bool, *apiError) {
	in, e := s.parseEntityLocked(bp, raw)
	if e != nil {
		return nil, false, e
	}
	existing, exists := s.lookupLocked(bp.Identifier, in.id)
	if exists && !o.upsert {
		return nil, false, errf(409, "entity_already_exists", "entity %q already exists in blueprint %q and upsert is false", in.id, bp.Identifier)
	}
	now := s.opts.Now().UTC()
	var res *record
	if exists && o.merge {
		res = existing.clone()
		if in.has["title"] {
			res.title = in.title
		}
		if in.has["icon"] {
			res.icon = in.icon
		}
		if in.has["team"] {
			res.teams = in.teams
		}
		for k, v := range in.props {
			if v == nil {
				delete(res.props, k)
			} else {
				res.props[k] = v
			}
		}
		for k, v := range in.rels {
			if v == nil {
				delete(res.rels, k)
			} else {
				res.rels[k] = v
			}
		}
	} else {
		res = &record{
			identifier: in.id, title: in.title, icon: in.icon, teams: in.teams,
			props: make(map[string]any), rels: make(map[string]any),
			createdAt: now, createdBy: c.actor,
		}
		if exists {
			res.createdAt, res.createdBy = existing.createdAt, existing.createdBy
		}
		for k, v := range in.props {
			if v != nil {
				res.props[k] = v
			}
		}
		for k, v := range in.rels {
			if v != nil {
				res.rels[k] = v
			}
		}
	}
	if len(res.teams) == 0 {
		res.teams = nil
	}
	res.updatedAt, res.updatedBy, res.datasource = now, c.actor, c.userAgent

	if e := checkRequired(bp, res); e != nil {
		return nil, false, e
	}

	var missing []entityKey
	for _, name := range sortedKeys(in.targets) {
		target := bp.Relations[name].Target
		if _, ok := s.blueprints[target]; !ok {
			return nil, false, errf(404, "not_found", "relations.%s: target blueprint %q not found", name, target)
		}
		for _, id := range in.targets[name] {
			k := entityKey{target, id}
			if _, ok := s.lookupLocked(target, id); ok || (target == bp.Identifier && id == in.id) || slices.Contains(missing, k) {
				continue
			}
			if !o.createMissing {
				return nil, false, errf(404, "not_found", "relations.%s: entity %q not found in blueprint %q", name, id, target)
			}
			missing = append(missing, k)
		}
	}
	if o.validationOnly {
		return res, !exists, nil
	}
	for _, k := range missing {
		s.tableLocked(k.blueprint).put(&record{
			identifier: k.id, props: map[string]any{}, rels: map[string]any{},
			createdAt: now, createdBy: c.actor, updatedAt: now, updatedBy: c.actor, datasource: c.userAgent,
		})
		s.stats.EntityWrites++
		s.stats.EntityCreates++
	}
	s.tableLocked(bp.Identifier).put(res)
	s.stats.EntityWrites++
	if !exists {
		s.stats.EntityCreates++
	}
	return res, !exists, nil
}

// blueprintLocked returns the blueprint of the path, or writes 404.
func (s *Server) blueprintLocked(w http.ResponseWriter, r *http.Request) (glint.Blueprint, bool) {
	bp, ok := s.blueprints[r.PathValue("b")]
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("blueprint %q not found", r.PathValue("b")))
	}
	return bp, ok
}

func (s *Server) handleUpsert(w http.ResponseWriter, r *http.Request, c *call) {
	o, ok := parseWriteOpts(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	bp, ok := s.blueprintLocked(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	rec, _, e := s.writeEntityLocked(bp, c.body, o, c)
	var ent glint.Entity
	if e == nil {
		ent = rec.entity(bp.Identifier)
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e.status, e.code, e.msg)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"ok": true, "entity": ent})
}

type bulkResult struct {
	Identifier string `json:"identifier"`
	Index      int    `json:"index"`
	Created    bool   `json:"created"`
}

type bulkError struct {
	Identifier string `json:"identifier"`
	Index      int    `json:"index"`
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message"`
}

func (s *Server) handleBulk(w http.ResponseWriter, r *http.Request, c *call) {
	o, ok := parseWriteOpts(w, r)
	if !ok {
		return
	}
	var req struct {
		Entities []json.RawMessage `json:"entities"`
	}
	if err := decodeStrict(c.body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "decode bulk request: "+err.Error())
		return
	}
	if len(req.Entities) < 1 || len(req.Entities) > MaxBulkUpsert {
		writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("entities must hold 1 to %d entities, got %d", MaxBulkUpsert, len(req.Entities)))
		return
	}
	fault := partialFault(r.Context())

	s.mu.Lock()
	bp, ok := s.blueprintLocked(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	results := []bulkResult{}
	errs := []bulkError{}
	for i, raw := range req.Entities {
		id := identifierOf(raw)
		if fault != nil && fault.failsEntity(i, id) {
			errs = append(errs, bulkError{Identifier: id, Index: i, StatusCode: 422, Error: "blueprint_schema_mismatch", Message: "injected fault: entity rejected"})
			continue
		}
		_, created, e := s.writeEntityLocked(bp, raw, o, c)
		if e != nil {
			errs = append(errs, bulkError{Identifier: id, Index: i, StatusCode: e.status, Error: e.code, Message: e.msg})
			continue
		}
		results = append(results, bulkResult{Identifier: id, Index: i, Created: created})
	}
	s.mu.Unlock()
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusMultiStatus
	}
	writeJSON(w, status, map[string]any{"ok": true, "entities": results, "errors": errs})
}

// identifierOf is the identifier of a raw entity, or "" when it has none.
func identifierOf(raw json.RawMessage) string {
	var e struct {
		Identifier any `json:"identifier"`
	}
	_ = json.Unmarshal(raw, &e)
	id, _ := e.Identifier.(string)
	return id
}

func (s *Server) handleGetEntity(w http.ResponseWriter, r *http.Request, c *call) {
	if !checkQuery(w, r) {
		return
	}
	s.mu.Lock()
	bp, ok := s.blueprintLocked(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	rec, ok := s.lookupLocked(bp.Identifier, r.PathValue("id"))
	var ent glint.Entity
	if ok {
		ent = rec.entity(bp.Identifier)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("entity %q not found in blueprint %q", r.PathValue("id"), bp.Identifier))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "entity": ent})
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := boolParams(w, r, "delete_dependents")
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	bp, ok := s.blueprintLocked(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if _, ok := s.lookupLocked(bp.Identifier, id); !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("entity %q not found in blueprint %q", id, bp.Identifier))
		return
	}
	set, e := s.deletionSetLocked([]entityKey{{bp.Identifier, id}}, p["delete_dependents"])
	if e != nil {
		writeError(w, e.status, e.code, e.msg)
		return
	}
	s.deleteLocked(set)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) handleBulkDelete(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := boolParams(w, r, "delete_dependents")
	if !ok {
		return
	}
	var req struct {
		Entities []string `json:"entities"`
	}
	if err := decodeStrict(c.body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "decode bulk delete request: "+err.Error())
		return
	}
	if len(req.Entities) < 1 || len(req.Entities) > MaxBulkDelete {
		writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("entities must hold 1 to %d identifiers, got %d", MaxBulkDelete, len(req.Entities)))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	bp, ok := s.blueprintLocked(w, r)
	if !ok {
		return
	}
	var targets []entityKey
	for _, id := range req.Entities {
		if _, ok := s.lookupLocked(bp.Identifier, id); !ok {
			writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("entity %q not found in blueprint %q; nothing was deleted", id, bp.Identifier))
			return
		}
		if k := (entityKey{bp.Identifier, id}); !slices.Contains(targets, k) {
			targets = append(targets, k)
		}
	}
	set, e := s.deletionSetLocked(targets, p["delete_dependents"])
	if e != nil {
		e.msg += "; nothing was deleted"
		writeError(w, e.status, e.code, e.msg)
		return
	}
	s.deleteLocked(set)
	deleted := make([]string, len(targets))
	for i, k := range targets {
		deleted[i] = k.id
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "deletedEntities": deleted})
}

// deletionSetLocked returns targets plus, with dependents, every entity that
// depends on one of them through a required relation, transitively. Without
// dependents, a dependent outside targets is a 422.
func (s *Server) deletionSetLocked(targets []entityKey, dependents bool) ([]entityKey, *apiError) {
	in := make(map[entityKey]bool)
	set := slices.Clone(targets)
	for _, k := range targets {
		in[k] = true
	}
	for i := 0; i < len(set); i++ {
		for _, d := range s.requiredDependentsLocked(set[i]) {
			if in[d.entityKey] {
				continue
			}
			if !dependents {
				return nil, errf(422, "has_dependents",
					"entity %q of blueprint %q is the target of required relation %q of entity %q of blueprint %q; set delete_dependents=true to delete it too",
					set[i].id, set[i].blueprint, d.relation, d.id, d.blueprint)
			}
			in[d.entityKey] = true
			set = append(set, d.entityKey)
		}
	}
	return set, nil
}

type dependent struct {
	entityKey
	relation string
}

// requiredDependentsLocked lists entities whose required relations point at k.
func (s *Server) requiredDependentsLocked(k entityKey) []dependent {
	var out []dependent
	for _, b := range sortedKeys(s.blueprints) {
		bp := s.blueprints[b]
		t := s.tables[b]
		if t == nil {
			continue
		}
		for _, name := range sortedKeys(bp.Relations) {
			rel := bp.Relations[name]
			if !rel.Required || rel.Target != k.blueprint {
				continue
			}
			var found []dependent
			for id, rec := range t.rows {
				if relationHas(rec.rels[name], k.id) {
					found = append(found, dependent{entityKey{b, id}, name})
				}
			}
			slices.SortFunc(found, func(x, y dependent) int { return strings.Compare(x.id, y.id) })
			out = append(out, found...)
		}
	}
	return out
}

func relationHas(v any, id string) bool {
	switch v := v.(type) {
	case string:
		return v == id
	case []string:
		return slices.Contains(v, id)
	}
	return false
}

// deleteLocked deletes set and removes the relations that pointed at it.
func (s *Server) deleteLocked(set []entityKey) {
	gone := make(map[entityKey]bool, len(set))
	targets := make(map[string]bool)
	for _, k := range set {
		if t := s.tables[k.blueprint]; t != nil {
			if _, ok := t.rows[k.id]; ok {
				t.remove(k.id)
				s.stats.Deletes++
			}
		}
		gone[k] = true
		targets[k.blueprint] = true
	}
	for b, bp := range s.blueprints {
		t := s.tables[b]
		if t == nil {
			continue
		}
		for name, rel := range bp.Relations {
			if !targets[rel.Target] {
				continue
			}
			for _, rec := range t.rows {
				switch v := rec.rels[name].(type) {
				case string:
					if gone[entityKey{rel.Target, v}] {
						delete(rec.rels, name)
					}
				case []string:
					rec.rels[name] = slices.DeleteFunc(slices.Clone(v), func(id string) bool {
						return gone[entityKey{rel.Target, id}]
					})
				}
			}
		}
	}
}
