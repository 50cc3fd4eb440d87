package ghe

// maxInterned bounds the strings an interner keeps: the names repeated
// across spec files (blueprints, property and relation names, teams, short
// values such as a tier) are far fewer; past the bound, strings are kept
// as they are.
const maxInterned = 4096

// maxInternLen is the longest string interned: longer ones are rarely
// repeated (URLs, descriptions, identifiers).
const maxInternLen = 32

// interner shares one copy of the short strings repeated across the spec
// files of an enterprise. At 100,000 repositories, each with the same
// property names, blueprint and a handful of values, separate copies held
// about 12 MB in the parse cache. It is not safe for concurrent use (the
// spec cache's mutex guards it).
type interner struct {
	strs  map[string]string
	boxed map[string]any // the same strings as interface values: boxing a string allocates
}

func newInterner() *interner {
	return &interner{strs: make(map[string]string), boxed: make(map[string]any)}
}

// str returns the shared copy of s.
func (in *interner) str(s string) string {
	if len(s) > maxInternLen {
		return s
	}
	if c, ok := in.strs[s]; ok {
		return c
	}
	if len(in.strs) < maxInterned {
		in.strs[s] = s
	}
	return s
}

// value returns v with short strings shared; maps and lists are rebuilt
// with shared keys and values only at the top level of a property or
// relation (deeper values are kept as parsed).
func (in *interner) value(v any) any {
	s, ok := v.(string)
	if !ok || len(s) > maxInternLen {
		return v
	}
	if c, ok := in.boxed[s]; ok {
		return c
	}
	s = in.str(s)
	if len(in.boxed) < maxInterned {
		in.boxed[s] = s
		return in.boxed[s]
	}
	return v
}

// entities shares the repeated strings of freshly parsed entities, in
// place: they are not yet handed out.
func (in *interner) entities(es []SpecEntity) {
	for i := range es {
		e := &es[i]
		e.Blueprint = in.str(e.Blueprint)
		e.File = in.str(e.File)
		for j, t := range e.Team {
			e.Team[j] = in.str(t)
		}
		e.Properties = in.fields(e.Properties)
		e.Relations = in.fields(e.Relations)
	}
}

func (in *interner) fields(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if l, ok := v.([]any); ok {
			for j, x := range l {
				l[j] = in.value(x)
			}
		}
		out[in.str(k)] = in.value(v)
	}
	return out
}
