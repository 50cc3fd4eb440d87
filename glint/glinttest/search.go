package glinttest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/kozmoai/glint-github-app/glint"
)

// Search page limits.
const (
	DefaultSearchLimit = 200
	MaxSearchLimit     = 1000
)

// metaProperty reports whether rules may name the meta-property p.
func metaProperty(p string) bool {
	switch p {
	case "$identifier", "$title", "$blueprint", "$team", "$datasource", "$updatedAt":
		return true
	}
	return false
}

// operator reports whether op is a rule operator.
func operator(op string) bool {
	switch op {
	case "=", "!=", "in", "contains", "beginsWith", "endsWith", "isEmpty", "isNotEmpty":
		return true
	}
	return false
}

// rule is a parsed RULES group (combinator set) or RULE.
type rule struct {
	combinator string
	rules      []*rule

	property string
	operator string
	value    any
}

// parseRules parses a RULES group. bp, when not nil, restricts property
// names to its schema.
func parseRules(raw json.RawMessage, bp *glint.Blueprint) (*rule, *apiError) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, errf(400, "invalid_request", "query must be a rules object {combinator, rules}")
	}
	if _, ok := fields["combinator"]; ok {
		for k := range fields {
			if k != "combinator" && k != "rules" {
				return nil, errf(400, "invalid_request", "unknown field %q in rules", k)
			}
		}
		g := &rule{}
		if err := json.Unmarshal(fields["combinator"], &g.combinator); err != nil || (g.combinator != "and" && g.combinator != "or") {
			return nil, errf(400, "invalid_request", "combinator must be and or or")
		}
		var subs []json.RawMessage
		if err := json.Unmarshal(orNull(fields["rules"]), &subs); err != nil || subs == nil {
			return nil, errf(400, "invalid_request", "rules must be a list")
		}
		for _, sub := range subs {
			r, e := parseRules(sub, bp)
			if e != nil {
				return nil, e
			}
			g.rules = append(g.rules, r)
		}
		return g, nil
	}
	r := &rule{}
	for k := range fields {
		if k != "property" && k != "operator" && k != "value" {
			return nil, errf(400, "invalid_request", "unknown field %q in rule", k)
		}
	}
	if err := json.Unmarshal(orNull(fields["property"]), &r.property); err != nil || r.property == "" {
		return nil, errf(400, "invalid_request", "a rule needs a property")
	}
	if err := json.Unmarshal(orNull(fields["operator"]), &r.operator); err != nil || !operator(r.operator) {
		return nil, errf(400, "invalid_request", "rule on %q: unknown operator %s", r.property, string(fields["operator"]))
	}
	if strings.HasPrefix(r.property, "$") {
		if !metaProperty(r.property) {
			return nil, errf(400, "invalid_request", "unknown meta-property %q", r.property)
		}
	} else if bp != nil {
		if _, ok := bp.Schema.Properties[r.property]; !ok {
			return nil, errf(400, "invalid_request", "property %q is not in blueprint %q", r.property, bp.Identifier)
		}
	}
	rawValue, hasValue := fields["value"]
	if r.operator == "isEmpty" || r.operator == "isNotEmpty" {
		return r, nil
	}
	if !hasValue {
		return nil, errf(400, "invalid_request", "rule %q %s needs a value", r.property, r.operator)
	}
	if err := json.Unmarshal(rawValue, &r.value); err != nil {
		return nil, errf(400, "invalid_request", "rule %q %s: bad value", r.property, r.operator)
	}
	switch r.operator {
	case "in":
		if _, ok := r.value.([]any); !ok {
			return nil, errf(400, "invalid_request", "rule %q in: value must be a list", r.property)
		}
	case "contains", "beginsWith", "endsWith":
		if _, ok := r.value.(string); !ok {
			return nil, errf(400, "invalid_request", "rule %q %s: value must be a string", r.property, r.operator)
		}
	}
	return r, nil
}

// match reports whether the entity rec of blueprint b satisfies r.
func (r *rule) match(b string, rec *record) bool {
	switch r.combinator {
	case "and":
		for _, sub := range r.rules {
			if !sub.match(b, rec) {
				return false
			}
		}
		return true
	case "or":
		for _, sub := range r.rules {
			if sub.match(b, rec) {
				return true
			}
		}
		return false
	}
	v := fieldValue(r.property, b, rec)
	team := r.property == "$team"
	switch r.operator {
	case "=":
		return equalTo(v, r.value, team)
	case "!=":
		return !equalTo(v, r.value, team)
	case "in":
		for _, x := range r.value.([]any) {
			if equalTo(v, x, true) {
				return true
			}
		}
		return false
	case "contains":
		switch v := v.(type) {
		case string:
			return strings.Contains(v, r.value.(string))
		case []any:
			return listHas(v, r.value)
		}
		return false
	case "beginsWith":
		s, ok := v.(string)
		return ok && strings.HasPrefix(s, r.value.(string))
	case "endsWith":
		s, ok := v.(string)
		return ok && strings.HasSuffix(s, r.value.(string))
	case "isEmpty":
		return isEmpty(v)
	case "isNotEmpty":
		return !isEmpty(v)
	}
	return false
}

// fieldValue is the value a rule compares: nil when absent.
func fieldValue(property, b string, rec *record) any {
	switch property {
	case "$identifier":
		return rec.identifier
	case "$title":
		if rec.title == nil {
			return nil
		}
		return *rec.title
	case "$blueprint":
		return b
	case "$team":
		l := make([]any, len(rec.teams))
		for i, t := range rec.teams {
			l[i] = t
		}
		return l
	case "$datasource":
		return rec.datasource
	case "$updatedAt":
		return rec.updatedAt.UTC().Format(time.RFC3339Nano)
	}
	return rec.props[property]
}

// equalTo compares a field value with a rule value (numbers as float64). A
// list field with elementwise set compares its elements (as $team does, and
// as "in" does for array properties).
func equalTo(v, want any, elementwise bool) bool {
	if l, ok := v.([]any); ok && elementwise {
		if _, wantList := want.([]any); !wantList {
			return listHas(l, want)
		}
	}
	return v != nil && reflect.DeepEqual(v, want)
}

func listHas(l []any, want any) bool {
	for _, x := range l {
		if reflect.DeepEqual(x, want) {
			return true
		}
	}
	return false
}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// cursor is the opaque "from"/"next" of a paged search.
type cursor struct {
	After string `json:"a"`
	Query uint64 `json:"q"`
}

func queryHash(blueprint string, query json.RawMessage) uint64 {
	var buf bytes.Buffer
	_ = json.Compact(&buf, query)
	h := fnv.New64a()
	h.Write([]byte(blueprint))
	h.Write([]byte{0})
	h.Write(buf.Bytes())
	return h.Sum64()
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, bool) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || decodeStrict(b, &c) != nil || c.After == "" {
		return cursor{}, false
	}
	return c, true
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request, c *call) {
	if !checkQuery(w, r) {
		return
	}
	var req struct {
		Query json.RawMessage `json:"query"`
		Limit *int            `json:"limit"`
		From  *string         `json:"from"`
	}
	if err := decodeStrict(c.body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "decode search request: "+err.Error())
		return
	}
	limit := DefaultSearchLimit
	if req.Limit != nil {
		limit = *req.Limit
	}
	if limit < 1 || limit > MaxSearchLimit {
		writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("limit must be 1 to %d, got %d", MaxSearchLimit, limit))
		return
	}
	if req.Query == nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "query is required")
		return
	}

	s.mu.Lock()
	bp, ok := s.blueprintLocked(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	q, e := parseRules(req.Query, &bp)
	if e != nil {
		writeError(w, e.status, e.code, e.msg)
		return
	}
	hash := queryHash(bp.Identifier, req.Query)
	after := ""
	if req.From != nil {
		cur, ok := decodeCursor(*req.From)
		if !ok || cur.Query != hash {
			writeError(w, http.StatusBadRequest, "invalid_request", "from is not a cursor of this search")
			return
		}
		after = cur.After
	}

	s.mu.Lock()
	entities := []glint.Entity{}
	next := ""
	if t := s.tables[bp.Identifier]; t != nil {
		ids := t.sortedIDs()
		i := 0
		if after != "" {
			i = sort.SearchStrings(ids, after)
			if i < len(ids) && ids[i] == after {
				i++
			}
		}
		for ; i < len(ids); i++ {
			rec := t.rows[ids[i]]
			if !q.match(bp.Identifier, rec) {
				continue
			}
			if len(entities) == limit {
				next = encodeCursor(cursor{After: entities[len(entities)-1].Identifier, Query: hash})
				break
			}
			entities = append(entities, rec.entity(bp.Identifier))
		}
	}
	s.mu.Unlock()
	resp := map[string]any{"ok": true, "entities": entities}
	if next != "" {
		resp["next"] = next
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleSearchAll(w http.ResponseWriter, r *http.Request, c *call) {
	if !checkQuery(w, r) {
		return
	}
	q, e := parseRules(c.body, nil)
	if e != nil {
		writeError(w, e.status, e.code, e.msg)
		return
	}
	s.mu.Lock()
	entities := []glint.Entity{}
	for _, b := range sortedKeys(s.tables) {
		t := s.tables[b]
		for _, id := range t.sortedIDs() {
			if rec := t.rows[id]; q.match(b, rec) {
				entities = append(entities, rec.entity(b))
			}
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "entities": entities})
}
