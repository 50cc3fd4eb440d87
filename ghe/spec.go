package ghe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/big"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Limits on what ParseSpec accepts. They bound the time and memory one
// hostile spec file can cost.
const (
	// MaxSpecBytes is the largest spec file ParseSpec reads.
	MaxSpecBytes = 1 << 20
	// MaxEntitiesPerFile is the most entities one spec file may declare.
	MaxEntitiesPerFile = 10000
	// MaxDepth is the deepest nesting of lists and mappings in a spec
	// file, the top-level list and the entity mapping included.
	MaxDepth = 64
	// MaxSpecNodes caps the YAML nodes ParseSpec visits while converting a
	// document, each use of an alias counting its whole target again. It
	// stops alias bombs ("billion laughs") long before they cost memory.
	MaxSpecNodes = 1_000_000

	// MaxIdentifierLength is the longest entity identifier, in characters.
	MaxIdentifierLength = 1000
	// MaxBlueprintLength is the longest blueprint identifier.
	MaxBlueprintLength = 100
)

const (
	maxSpecErrors = 50 // errors reported per file before giving up
	maxQuoted     = 80 // runes of a value quoted in an error
	maxKeyInField = 40 // runes of a mapping key in an error's field path
	maxIntDigits  = 400

	fileRefPrefix = "file://"
)

// SpecError is a problem at one place in a spec file. Its Error reads
// "glint.yml:12: [0].properties.url: must be ..." (file:line: field: message).
type SpecError struct {
	File  string // repository-relative path of the spec file
	Line  int    // 1-based; 0 when the problem concerns the whole file
	Field string // path of the field, like "[0].properties.url"; empty for the whole document
	Msg   string // what is wrong
	Err   error  // underlying cause, if any (Msg already describes it)
}

// Error returns "file:line: field: message", leaving out the parts that are
// not set.
func (e *SpecError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		if e.File == "" {
			b.WriteString("line ")
		} else {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(e.Line))
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	msg := e.Msg
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	b.WriteString(msg)
	return b.String()
}

// Unwrap returns the underlying error.
func (e *SpecError) Unwrap() error { return e.Err }

// ParseSpec parses one spec file (glint.yml) and returns the entities it
// declares. It does no I/O.
//
// path is the repository-relative path of the file: it names the file in
// errors, becomes each SpecEntity.File, and is the base of file://./ and
// file://../ references, which ParseSpec checks but does not resolve (see
// FileRefs and ResolveFiles).
//
// The document is one entity (a mapping) or a list of them. An empty
// document, one holding only comments, or an explicit null declares no
// entities: ParseSpec returns nil and no error. Each entity has the keys
// identifier and blueprint (required strings), title and icon (strings),
// team (a team name or a list of them), properties (a mapping) and
// relations (a mapping of names to an identifier, a list of identifiers, or
// null). Any other key, a wrong type or an invalid identifier is an error.
// A null title, icon, team, properties or relations is the same as leaving
// it out; a null property or relation value is kept as nil (it clears the
// field in Glint).
//
// Property values become JSON-shaped values: map[string]any, []any, string,
// float64, bool or nil. Only true and false (YAML 1.2) are booleans, so y,
// yes and on stay strings. Integers (0x, 0o and 0b forms included) and
// floats become float64; NaN, infinities and integers that float64 cannot
// hold exactly are errors. Timestamps, binaries and scalars with other tags
// stay the string written in the file. Mapping keys must be strings.
//
// Anchors and aliases are supported, and so are merge keys (<<: *base, or
// <<: [*a, *b]) in entities, properties and property values: keys written
// in the mapping win over merged ones, and earlier merged mappings win over
// later ones. Every alias use counts against MaxSpecNodes.
//
// ParseSpec rejects data over MaxSpecBytes, invalid UTF-8, YAML syntax
// errors and more than one YAML document. On any problem it returns no
// entities and an error that is a *SpecError, or an errors.Join of up to
// about 50 of them, so that a user sees the file's problems at once.
func ParseSpec(path string, data []byte) ([]SpecEntity, error) {
	if len(data) > MaxSpecBytes {
		return nil, &SpecError{File: path, Msg: fmt.Sprintf("file is %d bytes, more than the limit of %d", len(data), MaxSpecBytes)}
	}
	if !utf8.Valid(data) {
		line := 1
		for i := 0; i < len(data); {
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			if r == '\n' {
				line++
			}
			i += size
		}
		return nil, &SpecError{File: path, Line: line, Msg: "file is not valid UTF-8"}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	root, err := decodeDocument(path, data)
	if se, ok := err.(*SpecError); ok && se.Line == 0 {
		se.Line = unknownAnchorLine(se.Msg, data)
	}
	if err != nil || root == nil {
		return nil, err
	}
	p := &specParser{file: path, seen: map[string]bool{}}
	entities := p.document(root)
	switch len(p.errs) {
	case 0:
		return entities, nil
	case 1:
		return nil, p.errs[0]
	default:
		return nil, errors.Join(p.errs...)
	}
}

// decodeDocument parses data into YAML nodes and returns the content of its
// only document, or nil when there is none.
func decodeDocument(file string, data []byte) (root *yaml.Node, err error) {
	defer func() {
		// yaml.v3 panics on a few malformed inputs instead of failing.
		if r := recover(); r != nil {
			root = nil
			err = &SpecError{File: file, Msg: "invalid YAML: " + truncate(fmt.Sprint(r), 200)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlError(file, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, yamlError(file, err)
	default:
		return nil, &SpecError{File: file, Line: extra.Line, Msg: "more than one YAML document: a spec file holds one entity or one list of entities (remove the ---)"}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, nil
	}
	return doc.Content[0], nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// isYAMLParserProblem reports whether msg is an error of yaml.v3's parser
// (as opposed to its scanner): yaml.v3 numbers the lines of those from 0,
// leaving the line out for the first one.
func isYAMLParserProblem(msg string) bool {
	switch msg {
	case "did not find expected ',' or ']'",
		"did not find expected ',' or '}'",
		"did not find expected '-' indicator",
		"did not find expected <document start>",
		"did not find expected <stream-start>",
		"did not find expected key",
		"did not find expected node content",
		"found duplicate %TAG directive",
		"found duplicate %YAML directive",
		"found incompatible YAML document",
		"found undefined tag handle":
		return true
	}
	return false
}

// yamlError turns a yaml.v3 error into a *SpecError.
func yamlError(file string, err error) error {
	msg := err.Error()
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if isYAMLParserProblem(msg) {
		line++
	}
	return &SpecError{File: file, Line: line, Msg: "invalid YAML: " + truncate(msg, 200), Err: err}
}

var unknownAnchorRE = regexp.MustCompile(`unknown anchor '(.*)' referenced$`)

// unknownAnchorLine finds the line of the alias that yaml.v3 reported, in
// msg, as naming an unknown anchor; yaml.v3 leaves the line out. It returns
// 0 when msg is another error.
func unknownAnchorLine(msg string, data []byte) int {
	m := unknownAnchorRE.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	i := bytes.Index(data, []byte("*"+m[1]))
	if i < 0 {
		return 0
	}
	return 1 + bytes.Count(data[:i], []byte("\n"))
}

// specParser converts the YAML nodes of one document into entities,
// collecting errors as it goes.
type specParser struct {
	file  string
	nodes int // nodes visited, alias targets counted at every use
	stop  bool
	errs  []error
	seen  map[string]bool // error texts, to report each once
}

func (p *specParser) errorf(n *yaml.Node, field, format string, args ...any) {
	if p.stop {
		return
	}
	e := &SpecError{File: p.file, Field: shortenField(field), Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line = n.Line
	}
	if s := e.Error(); p.seen[s] {
		return
	} else {
		p.seen[s] = true
	}
	if len(p.errs) == maxSpecErrors {
		p.errs = append(p.errs, &SpecError{File: p.file, Msg: fmt.Sprintf("more than %d errors, giving up", maxSpecErrors)})
		p.stop = true
		return
	}
	p.errs = append(p.errs, e)
}

// enter follows n if it is an alias and counts the node it lands on. It
// returns nil, having reported why, when the parse must not go on there.
func (p *specParser) enter(n *yaml.Node, field string) *yaml.Node {
	if p.stop {
		return nil
	}
	at := n
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i == 8 {
			n = nil
			break
		}
		n = n.Alias
	}
	if n == nil {
		p.errorf(at, field, "unresolved alias")
		return nil
	}
	p.nodes++
	if p.nodes > MaxSpecNodes {
		p.errorf(at, field, "document expands to more than %d nodes (too many aliases?)", MaxSpecNodes)
		p.stop = true
		return nil
	}
	return n
}

// document converts the root node of the document.
func (p *specParser) document(root *yaml.Node) []SpecEntity {
	n := p.enter(root, "")
	if n == nil {
		return nil
	}
	type parsed struct {
		e      SpecEntity
		idNode *yaml.Node
		field  string
	}
	var all []parsed
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return nil
		}
		p.errorf(n, "", "a spec file must be an entity (a mapping) or a list of entities, got %s", describe(n))
		return nil
	case yaml.MappingNode:
		if e, idNode, ok := p.entity(n, "", 1); ok {
			all = append(all, parsed{e, idNode, ""})
		}
	case yaml.SequenceNode:
		if !p.collectionTag(n, "", "!!seq") {
			return nil
		}
		if len(n.Content) > MaxEntitiesPerFile {
			p.errorf(n, "", "%d entities, more than the limit of %d per file", len(n.Content), MaxEntitiesPerFile)
			return nil
		}
		for i, item := range n.Content {
			field := indexField("", i)
			if e, idNode, ok := p.entity(item, field, 2); ok {
				all = append(all, parsed{e, idNode, field})
			}
		}
	default:
		p.errorf(n, "", "a spec file must be an entity (a mapping) or a list of entities")
		return nil
	}

	type key struct{ blueprint, identifier string }
	first := make(map[key]int, len(all))
	entities := make([]SpecEntity, 0, len(all))
	for _, x := range all {
		k := key{x.e.Blueprint, x.e.Identifier}
		if line, dup := first[k]; dup {
			p.errorf(x.idNode, childField(x.field, "identifier"),
				"duplicate entity %s of blueprint %s: also declared at line %d", quote(k.identifier), quote(k.blueprint), line)
			continue
		}
		first[k] = x.idNode.Line
		entities = append(entities, x.e)
	}
	return entities
}

// entityFields are the keys an entity may have, as listed in errors.
const entityFields = "identifier, blueprint, title, icon, team, properties, relations"

// entity converts one entity. ok is false when it had errors (which have
// been reported).
func (p *specParser) entity(n *yaml.Node, prefix string, depth int) (e SpecEntity, idNode *yaml.Node, ok bool) {
	before := len(p.errs)
	at := n
	if n = p.enter(n, prefix); n == nil {
		return e, nil, false
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, prefix, "an entity must be a mapping, got %s", describe(n))
		return e, nil, false
	}
	if !p.collectionTag(n, prefix, "!!map") {
		return e, nil, false
	}
	e = SpecEntity{File: p.file, Line: at.Line}
	var bpSet bool
	for _, kv := range p.pairs(n, prefix, depth) {
		field := childField(prefix, kv.key)
		switch kv.key {
		case "identifier":
			idNode = kv.val
			if s, ok := p.str(kv.val, field); ok {
				if msg := identifierProblem(s); msg != "" {
					p.errorf(kv.val, field, "%s %s", quote(s), msg)
				}
				e.Identifier = s
			}
		case "blueprint":
			bpSet = true
			if s, ok := p.str(kv.val, field); ok {
				if msg := blueprintProblem(s); msg != "" {
					p.errorf(kv.val, field, "%s %s", quote(s), msg)
				}
				e.Blueprint = s
			}
		case "title":
			e.Title = p.optStr(kv.val, field)
		case "icon":
			e.Icon = p.optStr(kv.val, field)
		case "team":
			e.Team = p.team(kv.val, field)
		case "properties":
			e.Properties = p.properties(kv.val, field, depth+1)
		case "relations":
			e.Relations = p.relations(kv.val, field, depth+1)
		default:
			p.errorf(kv.keyNode, field, "unknown field (an entity has %s)", entityFields)
		}
		if p.stop {
			return e, nil, false
		}
	}
	if idNode == nil {
		p.errorf(at, childField(prefix, "identifier"), "required field is missing")
	}
	if !bpSet {
		p.errorf(at, childField(prefix, "blueprint"), "required field is missing")
	}
	return e, idNode, len(p.errs) == before && !p.stop
}

// pair is one key and value of a mapping.
type pair struct {
	key          string
	keyNode, val *yaml.Node
}

// pairs returns the entries of mapping m with merge keys applied. It
// reports non-string and duplicate keys.
func (p *specParser) pairs(m *yaml.Node, field string, depth int) []pair {
	if depth > MaxDepth {
		p.errorf(m, field, "nested deeper than %d levels", MaxDepth)
		return nil
	}
	out := make([]pair, 0, len(m.Content)/2)
	seen := make(map[string]*yaml.Node, len(m.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := p.enter(m.Content[i], field)
		if k == nil {
			return nil
		}
		v := m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, field, "a mapping key must be a string, got %s", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if !isStringTag(k.ShortTag()) {
			p.errorf(k, field, "a mapping key must be a string, got %s (quote it)", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(k, childField(field, k.Value), "duplicate key (first at line %d)", first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, pair{k.Value, k, v})
	}
	for _, mv := range merges {
		src := p.enter(mv, field)
		if src == nil {
			return nil
		}
		sources := []*yaml.Node{src}
		if src.Kind == yaml.SequenceNode {
			sources = sources[:0]
			for _, item := range src.Content {
				if item = p.enter(item, field); item == nil {
					return nil
				}
				sources = append(sources, item)
			}
		}
		for _, s := range sources {
			if s.Kind != yaml.MappingNode {
				p.errorf(s, field, "a merge key (<<) takes a mapping or a list of mappings, got %s", describe(s))
				continue
			}
			for _, kv := range p.pairs(s, field, depth+1) {
				if _, dup := seen[kv.key]; dup {
					continue
				}
				seen[kv.key] = kv.keyNode
				out = append(out, kv)
			}
		}
	}
	return out
}

// collectionTag reports whether mapping or sequence n has no tag but its
// own (want) or a local one; it reports the error otherwise.
func (p *specParser) collectionTag(n *yaml.Node, field, want string) bool {
	if t := n.ShortTag(); strings.HasPrefix(t, "!!") && t != want {
		p.errorf(n, field, "tag %s cannot be used on %s", quote(t), describe(n))
		return false
	}
	return true
}

// str converts a string field.
func (p *specParser) str(n *yaml.Node, field string) (string, bool) {
	if n = p.enter(n, field); n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || !isStringTag(n.ShortTag()) {
		p.errorf(n, field, "must be a string, got %s%s", describe(n), quoteHint(n))
		return "", false
	}
	return n.Value, true
}

// optStr converts an optional string field: null is the same as absent.
func (p *specParser) optStr(n *yaml.Node, field string) *string {
	if isNull(n) {
		return nil
	}
	s, ok := p.str(n, field)
	if !ok {
		return nil
	}
	return &s
}

// team converts the team field: a team name or a list of them.
func (p *specParser) team(n *yaml.Node, field string) []string {
	if isNull(n) {
		return nil
	}
	if n = p.enter(n, field); n == nil {
		return nil
	}
	one := func(n *yaml.Node, field string) (string, bool) {
		s, ok := p.str(n, field)
		if !ok {
			return "", false
		}
		if msg := teamProblem(s); msg != "" {
			p.errorf(n, field, "team %s %s", quote(s), msg)
			return "", false
		}
		return s, true
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if s, ok := one(n, field); ok {
			return []string{s}
		}
		return nil
	case yaml.SequenceNode:
		teams := make([]string, 0, len(n.Content))
		for i, c := range n.Content {
			if s, ok := one(c, indexField(field, i)); ok {
				teams = append(teams, s)
			}
		}
		return teams
	default:
		p.errorf(n, field, "must be a team name or a list of them, got %s", describe(n))
		return nil
	}
}

// mapping enters n for a field that must be a mapping of what: nil when it
// is null, or not such a mapping (reported).
func (p *specParser) mapping(n *yaml.Node, field, what string) *yaml.Node {
	if isNull(n) {
		return nil
	}
	if n = p.enter(n, field); n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "must be a mapping of %s, got %s", what, describe(n))
		return nil
	}
	if !p.collectionTag(n, field, "!!map") {
		return nil
	}
	return n
}

// properties converts the properties mapping.
func (p *specParser) properties(n *yaml.Node, field string, depth int) map[string]any {
	if n = p.mapping(n, field, "property names to values"); n == nil {
		return nil
	}
	kvs := p.pairs(n, field, depth)
	props := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		f := childField(field, kv.key)
		if kv.key == "" {
			p.errorf(kv.keyNode, f, "a property name must not be empty")
			continue
		}
		v, ok := p.value(kv.val, f, depth+1)
		if !ok {
			continue
		}
		if s, isStr := v.(string); isStr && strings.HasPrefix(s, fileRefPrefix) {
			if _, msg := refPath(p.file, s); msg != "" {
				p.errorf(kv.val, f, "%s: %s", quote(s), msg)
				continue
			}
		}
		props[kv.key] = v
	}
	return props
}

// relations converts the relations mapping.
func (p *specParser) relations(n *yaml.Node, field string, depth int) map[string]any {
	if n = p.mapping(n, field, "relation names to identifiers"); n == nil {
		return nil
	}
	target := func(n *yaml.Node, field string) (string, bool) {
		s, ok := p.str(n, field)
		if !ok {
			return "", false
		}
		if msg := identifierProblem(s); msg != "" {
			p.errorf(n, field, "%s %s", quote(s), msg)
			return "", false
		}
		return s, true
	}
	kvs := p.pairs(n, field, depth)
	rels := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		f := childField(field, kv.key)
		if kv.key == "" {
			p.errorf(kv.keyNode, f, "a relation name must not be empty")
			continue
		}
		if isNull(kv.val) {
			rels[kv.key] = nil
			continue
		}
		v := p.enter(kv.val, f)
		if v == nil {
			return nil
		}
		switch v.Kind {
		case yaml.ScalarNode:
			if s, ok := target(v, f); ok {
				rels[kv.key] = s
			}
		case yaml.SequenceNode:
			if depth+1 > MaxDepth {
				p.errorf(v, f, "nested deeper than %d levels", MaxDepth)
				continue
			}
			ids := make([]any, 0, len(v.Content))
			for i, c := range v.Content {
				if s, ok := target(c, indexField(f, i)); ok {
					ids = append(ids, s)
				}
			}
			rels[kv.key] = ids
		default:
			p.errorf(v, f, "must be an entity identifier, a list of them, or null, got %s", describe(v))
		}
	}
	return rels
}

// value converts a property value to its JSON shape.
//
// depth is the nesting level of n if it is a list or mapping.
func (p *specParser) value(n *yaml.Node, field string, depth int) (any, bool) {
	if n = p.enter(n, field); n == nil {
		return nil, false
	}
	if (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && depth > MaxDepth {
		p.errorf(n, field, "nested deeper than %d levels", MaxDepth)
		return nil, false
	}
	switch n.Kind {
	case yaml.ScalarNode:
		v, msg := scalarValue(n)
		if msg != "" {
			p.errorf(n, field, "%s", msg)
			return nil, false
		}
		return v, true
	case yaml.MappingNode:
		if !p.collectionTag(n, field, "!!map") {
			return nil, false
		}
		kvs := p.pairs(n, field, depth)
		m := make(map[string]any, len(kvs))
		ok := true
		for _, kv := range kvs {
			v, vok := p.value(kv.val, childField(field, kv.key), depth+1)
			ok = ok && vok
			m[kv.key] = v
		}
		return m, ok
	case yaml.SequenceNode:
		if !p.collectionTag(n, field, "!!seq") {
			return nil, false
		}
		s := make([]any, 0, len(n.Content))
		ok := true
		for i, c := range n.Content {
			v, vok := p.value(c, indexField(field, i), depth+1)
			ok = ok && vok
			s = append(s, v)
		}
		return s, ok
	default:
		p.errorf(n, field, "unsupported YAML node")
		return nil, false
	}
}

// scalarValue converts a scalar to string, float64, bool or nil. msg says
// what is wrong when it cannot.
func scalarValue(n *yaml.Node) (v any, msg string) {
	switch n.ShortTag() {
	case "!!null":
		if !isNullLiteral(n.Value) {
			return nil, fmt.Sprintf("invalid null %s", quote(n.Value))
		}
		return nil, ""
	case "!!bool":
		switch n.Value {
		case "true", "True", "TRUE":
			return true, ""
		case "false", "False", "FALSE":
			return false, ""
		}
		return nil, fmt.Sprintf("invalid boolean %s (only true and false are booleans)", quote(n.Value))
	case "!!int":
		return intValue(n.Value, 0)
	case "!!float":
		if isIntegerText(n.Value) {
			// Digits yaml.v3 read as a float: too large for an int64, or
			// written with a leading 0 that is not an octal number.
			return intValue(n.Value, 10)
		}
		return floatValue(n.Value)
	case "!!str":
		if n.Style == 0 && yamlFloatRE.MatchString(n.Value) {
			// A plain number yaml.v3 gave up on: out of float64's range.
			return floatValue(n.Value)
		}
		return n.Value, ""
	default: // !!timestamp, !!binary, !!merge, other tags
		return n.Value, ""
	}
}

// yamlFloatRE is the plain float syntax yaml.v3 resolves as a number.
var yamlFloatRE = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// intValue converts a YAML integer (with base 0: decimal, 0x, 0o, 0b or,
// as yaml.v3 reads it, 0777 octal; _ separators allowed) to a float64 that
// holds it exactly.
func intValue(s string, base int) (any, string) {
	plain := strings.ReplaceAll(s, "_", "")
	if len(plain) > maxIntDigits {
		return nil, fmt.Sprintf("integer %s is too large for a JSON number", quote(s))
	}
	i, ok := new(big.Int).SetString(plain, base)
	if !ok {
		return nil, fmt.Sprintf("invalid integer %s", quote(s))
	}
	f, acc := new(big.Float).SetInt(i).Float64()
	if acc != big.Exact || math.IsInf(f, 0) {
		return nil, fmt.Sprintf("integer %s does not fit a JSON number (float64) exactly; quote it to keep it as a string", quote(s))
	}
	return f, ""
}

// floatValue converts a YAML float to a finite float64.
func floatValue(s string) (any, string) {
	switch strings.TrimLeft(s, "+-") {
	case ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF":
		return nil, fmt.Sprintf("%s is not a valid JSON number (NaN and infinity are not allowed)", quote(s))
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return nil, fmt.Sprintf("number %s is out of range", quote(s))
	case err != nil:
		return nil, fmt.Sprintf("invalid number %s", quote(s))
	case math.IsNaN(f) || math.IsInf(f, 0):
		return nil, fmt.Sprintf("%s is not a valid JSON number (NaN and infinity are not allowed)", quote(s))
	}
	return f, ""
}

// isIntegerText reports whether s is an optionally signed string of decimal
// digits and underscores.
func isIntegerText(s string) bool {
	s = strings.TrimLeft(s, "+-")
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}

// isStringTag reports whether a scalar with this tag is a string: any tag
// but null, bool, int and float.
func isStringTag(tag string) bool {
	switch tag {
	case "!!null", "!!bool", "!!int", "!!float":
		return false
	}
	return true
}

func isNullLiteral(s string) bool {
	switch s {
	case "", "~", "null", "Null", "NULL":
		return true
	}
	return false
}

// isNull reports whether n, or what the alias n refers to, is a null scalar.
func isNull(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names the type (and short value) of n for an error message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "boolean " + truncate(n.Value, maxQuoted)
		case "!!int":
			return "integer " + truncate(n.Value, maxQuoted)
		case "!!float":
			return "number " + truncate(n.Value, maxQuoted)
		}
		return "string " + quote(n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

// quoteHint suggests quoting a scalar that YAML read as another type.
func quoteHint(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		return " (quote it to make it a string)"
	}
	return ""
}

// ValidateIdentifier reports whether id is a valid Glint entity identifier:
// 1 to 1000 characters matching ^(?!\.{1,2}$)[\p{L}0-9@_.+:\\/=-]+$.
func ValidateIdentifier(id string) error {
	if msg := identifierProblem(id); msg != "" {
		return fmt.Errorf("identifier %s %s", quote(id), msg)
	}
	return nil
}

// ValidateBlueprint reports whether bp is a valid Glint blueprint
// identifier: 1 to 100 characters matching ^[A-Za-z0-9@_=\-]+$.
func ValidateBlueprint(bp string) error {
	if msg := blueprintProblem(bp); msg != "" {
		return fmt.Errorf("blueprint %s %s", quote(bp), msg)
	}
	return nil
}

// ValidateTeam reports whether name is a valid Glint team name, matching
// ^[^;#/\?\s][^;#/\?]*[^;#/\?\s]$.
func ValidateTeam(name string) error {
	if msg := teamProblem(name); msg != "" {
		return fmt.Errorf("team %s %s", quote(name), msg)
	}
	return nil
}

func identifierProblem(s string) string {
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		return "must not be empty"
	case n > MaxIdentifierLength:
		return fmt.Sprintf("is %d characters long, more than the limit of %d", n, MaxIdentifierLength)
	case s == "." || s == "..":
		return `must not be "." or ".."`
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && (r < '0' || r > '9') && !strings.ContainsRune(`@_.+:\/=-`, r) {
			return fmt.Sprintf("contains %q: an identifier has only letters, digits and @_.+:\\/=-", r)
		}
	}
	return ""
}

func blueprintProblem(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > MaxBlueprintLength:
		return fmt.Sprintf("is %d characters long, more than the limit of %d", len(s), MaxBlueprintLength)
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') && (r < '0' || r > '9') && !strings.ContainsRune(`@_=-`, r) {
			return fmt.Sprintf("contains %q: a blueprint identifier has only A-Z, a-z, 0-9 and @_=-", r)
		}
	}
	return ""
}

var teamRE = regexp.MustCompile(`^[^;#/\?\s][^;#/\?]*[^;#/\?\s]$`)

func teamProblem(s string) string {
	if !teamRE.MatchString(s) {
		return `must be at least 2 characters, without ;#/? and not starting or ending with a space`
	}
	return ""
}

// FileRefs returns the sorted, de-duplicated repository-relative paths that
// the file:// property values of entities refer to. Only top-level property
// values are references; a file:// string nested in an object or list is
// kept as written. "file://README.md" is relative to the repository root;
// "file://./x" and "file://../x" are relative to the directory of the spec
// file (SpecEntity.File). A path that escapes the repository root, is
// absolute, empty, or contains NUL is a *SpecError (joined with the others)
// naming the entity's field.
func FileRefs(entities []SpecEntity) ([]string, error) {
	set := map[string]bool{}
	var errs []error
	for _, e := range entities {
		for _, name := range slices.Sorted(maps.Keys(e.Properties)) {
			s, ok := e.Properties[name].(string)
			if !ok || !strings.HasPrefix(s, fileRefPrefix) {
				continue
			}
			p, msg := refPath(e.File, s)
			if msg != "" {
				errs = append(errs, refError(e, name, fmt.Sprintf("%s: %s", quote(s), msg)))
				continue
			}
			set[p] = true
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return slices.Sorted(maps.Keys(set)), nil
}

// ResolveFiles returns copies of entities whose file:// property values are
// replaced by the text of the file they refer to, taken from files
// (repository-relative path to text). A reference that is invalid (see
// FileRefs) or missing from files is a *SpecError naming the field and the
// path; all of them are returned joined, with no entities. The copies do
// not share Properties, Relations or Team with entities; nested property
// values are shared.
func ResolveFiles(entities []SpecEntity, files map[string]string) ([]SpecEntity, error) {
	out := make([]SpecEntity, len(entities))
	var errs []error
	for i, e := range entities {
		e.Properties = maps.Clone(e.Properties)
		e.Relations = maps.Clone(e.Relations)
		e.Team = slices.Clone(e.Team)
		for _, name := range slices.Sorted(maps.Keys(e.Properties)) {
			s, ok := e.Properties[name].(string)
			if !ok || !strings.HasPrefix(s, fileRefPrefix) {
				continue
			}
			p, msg := refPath(e.File, s)
			if msg != "" {
				errs = append(errs, refError(e, name, fmt.Sprintf("%s: %s", quote(s), msg)))
				continue
			}
			text, ok := files[p]
			if !ok {
				errs = append(errs, refError(e, name, fmt.Sprintf("%s: file %s not found in the repository", quote(s), quote(p))))
				continue
			}
			e.Properties[name] = text
		}
		out[i] = e
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func refError(e SpecEntity, property, msg string) *SpecError {
	return &SpecError{
		File:  e.File,
		Line:  e.Line,
		Field: shortenField(childField("properties", property)),
		Msg:   fmt.Sprintf("entity %s of blueprint %s: %s", quote(e.Identifier), quote(e.Blueprint), msg),
	}
}

// refPath resolves the file:// reference ref, written in the spec file at
// specFile, to a clean repository-relative path. msg says what is wrong
// when it cannot.
func refPath(specFile, ref string) (p, msg string) {
	raw := strings.TrimPrefix(ref, fileRefPrefix)
	switch {
	case raw == "":
		return "", "empty file:// path"
	case strings.ContainsRune(raw, 0):
		return "", "file:// path contains NUL"
	case strings.HasPrefix(raw, "/"):
		return "", "file:// path is absolute; write it relative to the repository root, or start it with ./ or ../ to make it relative to the spec file"
	}
	base := ""
	if raw == "." || raw == ".." || strings.HasPrefix(raw, "./") || strings.HasPrefix(raw, "../") {
		base = path.Dir(specFile)
	}
	p = path.Join(base, raw)
	switch {
	case p == ".." || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/"):
		return "", "file:// path escapes the repository"
	case p == ".":
		return "", "file:// path names a directory, not a file"
	}
	return p, ""
}

// childField returns the path of key in the mapping at parent.
func childField(parent, key string) string {
	if isPlainKey(key) {
		if parent == "" {
			return key
		}
		return parent + "." + key
	}
	return parent + "[" + strconv.Quote(truncate(key, maxKeyInField)) + "]"
}

func isPlainKey(s string) bool {
	if s == "" || utf8.RuneCountInString(s) > maxKeyInField {
		return false
	}
	for i, r := range s {
		letter := r == '_' || r == '$' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !letter && (i == 0 || ((r < '0' || r > '9') && r != '-')) {
			return false
		}
	}
	return true
}

func indexField(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// shortenField keeps the end of a very long field path.
func shortenField(f string) string {
	const max = 240
	if len(f) <= max {
		return f
	}
	i := len(f) - max
	for i < len(f) && !utf8.RuneStart(f[i]) {
		i++
	}
	return "…" + f[i:]
}

// quote quotes s for an error message, cut to maxQuoted characters.
func quote(s string) string {
	return strconv.Quote(truncate(s, maxQuoted))
}

// truncate cuts s to at most n runes, marking the cut with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "…"
		}
		i++
	}
	return s
}
