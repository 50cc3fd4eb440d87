package ghetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// The executor runs a validated operation over the model. Each GraphQL
// object type the fake serves has a Go type implementing object and a row
// in the resolver table (resolvers.go): adding a type (Organization.teams,
// Team.members, ...) means adding a Go type, its resolvers and, for a
// connection, a row made by connectionResolvers.

// object is a value of a GraphQL object type.
type object interface {
	// gqlType returns the object's concrete GraphQL type name.
	gqlType() string
}

// fieldFunc resolves one field of obj. It returns nil for null, an object,
// a scalar (string, bool, int, int64, float64, time.Time), or a []any
// whose items may be error values (that item is null, with the error).
type fieldFunc func(ec *execContext, obj object, args map[string]any) (any, error)

// resolverTable maps type name, then field name, to its resolver.
type resolverTable map[string]map[string]fieldFunc

// gqlError is one entry of a GraphQL response's errors.
type gqlError struct {
	Type       string         `json:"type,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Locations  []location     `json:"locations,omitempty"`
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

func (e *gqlError) Error() string { return e.Message }

// location is a line and column in the query.
type location struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

func locationsOf(pos *ast.Position) []location {
	if pos == nil {
		return nil
	}
	return []location{{Line: pos.Line, Column: pos.Column}}
}

// execContext is the state of executing one operation.
type execContext struct {
	s         *Server
	schema    *ast.Schema
	doc       *ast.QueryDocument
	vars      map[string]any
	tok       *token
	now       time.Time
	resolvers resolverTable
	rate      rateLimitVal
	partial   bool // PartialData fault: every other repository is NOT_FOUND
	repoSeq   int
	errs      []*gqlError
}

// orderedMap is a JSON object that keeps the query's field order.
type orderedMap struct {
	keys []string
	vals []any
}

func (m *orderedMap) set(k string, v any) {
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, v)
}

// MarshalJSON writes the object with its keys in order.
func (m *orderedMap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := encodeValue(&b, m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// encodeValue appends the JSON of a response value to b, writing nested
// objects and lists directly (json.Marshal would re-validate each level).
func encodeValue(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case *orderedMap:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			if err := encodeValue(b, x.vals[i]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, item := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := encodeValue(b, item); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	default:
		vb, err := json.Marshal(x)
		if err != nil {
			return err
		}
		b.Write(vb)
	}
	return nil
}

// appendPath returns path with elem appended, without sharing storage.
func appendPath(path []any, elem any) []any {
	out := make([]any, len(path), len(path)+1)
	copy(out, path)
	return append(out, elem)
}

// addError records err at path and the field's location.
func (ec *execContext) addError(err error, path []any, f *ast.Field) {
	ge, ok := err.(*gqlError)
	if !ok {
		ge = &gqlError{Message: err.Error()}
	} else {
		cp := *ge
		ge = &cp
	}
	ge.Path = path
	if f != nil {
		ge.Locations = locationsOf(f.Position)
	}
	ec.errs = append(ec.errs, ge)
}

// fieldGroup is the fields of one response key.
type fieldGroup struct {
	key    string
	fields []*ast.Field
}

// collect gathers the fields of sel that apply to an object of type typ,
// grouped by response key, expanding fragments.
func (ec *execContext) collect(typ string, sel ast.SelectionSet, groups []fieldGroup, visited map[string]bool) []fieldGroup {
	for _, s := range sel {
		switch x := s.(type) {
		case *ast.Field:
			if !ec.included(x.Directives) {
				continue
			}
			key := x.Alias
			if key == "" {
				key = x.Name
			}
			i := slices.IndexFunc(groups, func(g fieldGroup) bool { return g.key == key })
			if i < 0 {
				groups = append(groups, fieldGroup{key: key})
				i = len(groups) - 1
			}
			groups[i].fields = append(groups[i].fields, x)
		case *ast.InlineFragment:
			if !ec.included(x.Directives) || (x.TypeCondition != "" && !ec.typeMatches(x.TypeCondition, typ)) {
				continue
			}
			groups = ec.collect(typ, x.SelectionSet, groups, visited)
		case *ast.FragmentSpread:
			if !ec.included(x.Directives) || visited[x.Name] {
				continue
			}
			def := x.Definition
			if def == nil {
				def = ec.doc.Fragments.ForName(x.Name)
			}
			if def == nil || !ec.typeMatches(def.TypeCondition, typ) {
				continue
			}
			visited[x.Name] = true
			groups = ec.collect(typ, def.SelectionSet, groups, visited)
			delete(visited, x.Name)
		}
	}
	return groups
}

// included evaluates @skip and @include.
func (ec *execContext) included(dirs ast.DirectiveList) bool {
	for _, d := range dirs {
		a := d.Arguments.ForName("if")
		if a == nil {
			continue
		}
		v, err := a.Value.Value(ec.vars)
		if err != nil {
			continue
		}
		b, _ := v.(bool)
		if (d.Name == "skip" && b) || (d.Name == "include" && !b) {
			return false
		}
	}
	return true
}

// typeMatches reports whether an object of type typ satisfies the type
// condition cond (the type itself, an interface it implements or a union
// it belongs to).
func (ec *execContext) typeMatches(cond, typ string) bool {
	if cond == typ {
		return true
	}
	if ec.schema == nil {
		return slices.Contains(fallbackInterfaces(typ), cond)
	}
	if def := ec.schema.Types[typ]; def != nil && slices.Contains(def.Interfaces, cond) {
		return true
	}
	if def := ec.schema.Types[cond]; def != nil && def.Kind == ast.Union && slices.Contains(def.Types, typ) {
		return true
	}
	return false
}

// fallbackInterfaces lists the interfaces of the types the fake serves, for
// running without a schema (the demo only).
func fallbackInterfaces(typ string) []string {
	switch typ {
	case "Repository":
		return []string{"Node", "RepositoryInfo", "UniformResourceLocatable", "PackageOwner", "ProjectOwner", "Starrable", "Subscribable"}
	case "Organization":
		return []string{"Node", "RepositoryOwner", "Actor", "ProfileOwner", "UniformResourceLocatable", "MemberStatusable"}
	case "User":
		return []string{"Node", "RepositoryOwner", "Actor", "ProfileOwner", "UniformResourceLocatable"}
	case "Blob", "Tree":
		return []string{"Node", "GitObject"}
	case "Commit":
		return []string{"Node", "GitObject", "Subscribable", "UniformResourceLocatable"}
	case "Ref", "RepositoryTopic", "Topic":
		return []string{"Node"}
	}
	return nil
}

// execSelectionSet resolves sel on obj. It reports false when a non-null
// field came out null, which makes obj itself null.
func (ec *execContext) execSelectionSet(obj object, sel ast.SelectionSet, path []any) (*orderedMap, bool) {
	groups := ec.collect(obj.gqlType(), sel, nil, map[string]bool{})
	out := &orderedMap{}
	for _, g := range groups {
		v, ok := ec.execField(obj, g.fields, appendPath(path, g.key))
		if !ok {
			return nil, false
		}
		out.set(g.key, v)
	}
	return out, true
}

// nonNull reports whether t is a non-null type.
func nonNull(t *ast.Type) bool { return t != nil && t.NonNull }

// execField resolves one response key on obj.
func (ec *execContext) execField(obj object, fields []*ast.Field, path []any) (any, bool) {
	f := fields[0]
	if f.Name == "__typename" {
		return obj.gqlType(), true
	}
	var t *ast.Type
	if f.Definition != nil {
		t = f.Definition.Type
	}
	typ := obj.gqlType()
	fn := ec.resolvers[typ][f.Name]
	if fn == nil {
		name := typ + "." + f.Name
		ec.s.recordUnimplemented(name)
		ec.addError(&gqlError{Message: "ghetest: field " + name + " not implemented"}, path, f)
		return nil, !nonNull(t)
	}
	args, err := ec.args(f)
	if err != nil {
		ec.addError(err, path, f)
		return nil, !nonNull(t)
	}
	v, err := fn(ec, obj, args)
	if err != nil {
		ec.addError(err, path, f)
		return nil, !nonNull(t)
	}
	var sel ast.SelectionSet
	for _, x := range fields {
		sel = append(sel, x.SelectionSet...)
	}
	return ec.complete(t, v, sel, path, f)
}

// complete turns a resolved value into its response value.
func (ec *execContext) complete(t *ast.Type, v any, sel ast.SelectionSet, path []any, f *ast.Field) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, !nonNull(t)
	case error:
		ec.addError(x, path, f)
		return nil, !nonNull(t)
	case []any:
		var elem *ast.Type
		if t != nil {
			elem = t.Elem
		}
		out := make([]any, len(x))
		for i, item := range x {
			cv, ok := ec.complete(elem, item, sel, appendPath(path, i), f)
			if !ok {
				return nil, !nonNull(t)
			}
			out[i] = cv
		}
		return out, true
	case object:
		m, ok := ec.execSelectionSet(x, sel, path)
		if !ok {
			return nil, !nonNull(t)
		}
		return m, true
	case time.Time:
		return timeJSON(x), true
	default:
		return v, true
	}
}

// args evaluates the arguments of f, with the schema's defaults.
func (ec *execContext) args(f *ast.Field) (map[string]any, error) {
	out := map[string]any{}
	value := func(a *ast.Argument) (any, bool, error) {
		if a.Value.Kind == ast.Variable {
			if v, ok := ec.vars[a.Value.Raw]; ok {
				return v, true, nil
			}
			if a.Value.VariableDefinition == nil || a.Value.VariableDefinition.DefaultValue == nil {
				return nil, false, nil
			}
		}
		v, err := a.Value.Value(ec.vars)
		return v, err == nil, err
	}
	if f.Definition == nil {
		for _, a := range f.Arguments {
			v, ok, err := value(a)
			if err != nil {
				return nil, fmt.Errorf("argument %s: %w", a.Name, err)
			}
			if ok {
				out[a.Name] = v
			}
		}
		return out, nil
	}
	for _, ad := range f.Definition.Arguments {
		if a := f.Arguments.ForName(ad.Name); a != nil {
			v, ok, err := value(a)
			if err != nil {
				return nil, fmt.Errorf("argument %s: %w", a.Name, err)
			}
			if ok {
				out[ad.Name] = v
				continue
			}
		}
		if ad.DefaultValue != nil {
			v, err := ad.DefaultValue.Value(nil)
			if err != nil {
				return nil, fmt.Errorf("argument %s default: %w", ad.Name, err)
			}
			out[ad.Name] = v
		}
	}
	return out, nil
}

// argInt returns the integer argument name; ok is false when absent or null.
func argInt(args map[string]any, name string) (n int, ok bool, err error) {
	switch v := args[name].(type) {
	case nil:
		return 0, false, nil
	case int:
		return v, true, nil
	case int64:
		return int(v), true, nil
	case int32:
		return int(v), true, nil
	case float64:
		if v != math.Trunc(v) {
			return 0, false, fmt.Errorf("argument %s: %v is not an integer", name, v)
		}
		return int(v), true, nil
	case json.Number:
		i, err := v.Int64()
		if err != nil {
			return 0, false, fmt.Errorf("argument %s: %w", name, err)
		}
		return int(i), true, nil
	case string:
		i, err := strconv.Atoi(v)
		if err != nil {
			return 0, false, fmt.Errorf("argument %s: %w", name, err)
		}
		return i, true, nil
	default:
		return 0, false, fmt.Errorf("argument %s: %T is not an integer", name, v)
	}
}

// argString returns the string argument name; ok is false when absent or
// null.
func argString(args map[string]any, name string) (string, bool) {
	s, ok := args[name].(string)
	return s, ok
}

// argBool returns the boolean argument name, false when absent.
func argBool(args map[string]any, name string) bool {
	b, _ := args[name].(bool)
	return b
}

// argStrings returns the list of strings argument name.
func argStrings(args map[string]any, name string) ([]string, error) {
	switch v := args[name].(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]string, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("argument %s: item %d is %T, not a string", name, i, x)
			}
			out[i] = s
		}
		return out, nil
	case []string:
		return v, nil
	case string:
		// GraphQL input coercion: a single value where a list is expected.
		return []string{v}, nil
	default:
		return nil, fmt.Errorf("argument %s: %T is not a list", name, v)
	}
}
