package ghe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func specStr(s string) *string { return &s }

// specCases lists every file in testdata/spec with what ParseSpec must make
// of it: the entities, or substrings of the error (each "file:line: field:
// message"). path defaults to the file's name.
var specCases = []struct {
	file     string
	path     string
	want     []SpecEntity
	wantErrs []string
	deep     bool // compare with reflect.DeepEqual: cmp.Diff is exponential in nesting depth
}{
	// Valid files.
	{file: "single.yml", want: []SpecEntity{{
		Identifier: "payments-api", Blueprint: "service",
		Title: specStr("Payments API"), Icon: specStr("Go"), Team: []string{"payments"},
		Properties: map[string]any{
			"url": "https://payments.example.com", "language": "go",
			"replicas": 3.0, "public": false, "tags": []any{"pci", "tier-1"},
			"owner": map[string]any{"name": "Ana", "oncall": true},
		},
		Relations: map[string]any{"system": "billing", "dependsOn": []any{"ledger", "users"}, "domain": nil},
		File:      "single.yml", Line: 2,
	}}},
	{file: "list.yml", want: []SpecEntity{
		{Identifier: "web", Blueprint: "service", Team: []string{"frontend", "platform"}, File: "list.yml", Line: 1},
		{Identifier: "web", Blueprint: "repository", Title: specStr("web repo"), File: "list.yml", Line: 5},
		{Identifier: "docs", Blueprint: "service", Properties: map[string]any{}, Relations: map[string]any{}, File: "list.yml", Line: 9},
	}},
	{file: "empty.yml"},
	{file: "whitespace.yml"},
	{file: "comments_only.yml"},
	{file: "null_document.yml"},
	{file: "empty_list.yml", want: []SpecEntity{}},
	{file: "nulls.yml", want: []SpecEntity{{
		Identifier: "svc", Blueprint: "service",
		Properties: map[string]any{"a": nil, "b": nil, "c": nil, "d": "null", "e": []any{nil, nil}},
		Relations:  map[string]any{"r": nil},
		File:       "nulls.yml", Line: 1,
	}}},
	{file: "empty_team.yml", want: []SpecEntity{{
		Identifier: "svc", Blueprint: "service", Team: []string{}, File: "empty_team.yml", Line: 1,
	}}},
	{file: "numbers.yml", want: []SpecEntity{{
		Identifier: "numbers", Blueprint: "service",
		Properties: map[string]any{
			"int": 1.0, "float": 1.0, "version": 1.1, "negative": -3.0, "plus": 7.0,
			"hex": 31.0, "octal": 15.0, "oldOctal": 511.0, "leadingZero": 8.0, "binary": 5.0,
			"underscores": 1e6, "exp": 1000.0, "half": 0.5, "maxExact": 9007199254740992.0,
			"huge": 1e20, "quoted": "1", "tiny": 0.0, "explicit": 2.0,
		},
		File: "numbers.yml", Line: 1,
	}}},
	{file: "booleans.yml", want: []SpecEntity{{
		Identifier: "booleans", Blueprint: "service",
		Properties: map[string]any{
			"t": true, "f": false, "capital": true, "upper": false,
			"y": "y", "yes": "yes", "on": "on", "off": "off", "no": "no", "n": "N", "quoted": "true",
		},
		File: "booleans.yml", Line: 1,
	}}},
	{file: "unicode.yml", want: []SpecEntity{
		{
			Identifier: "zahlungsdienst-ü", Blueprint: "service", Title: specStr("Zahlungsdienst für Ölfirmen"),
			Properties: map[string]any{"описание": "сервис", "名前": "支払い"},
			File:       "unicode.yml", Line: 1,
		},
		{Identifier: "支払い/サービス", Blueprint: "service", File: "unicode.yml", Line: 7},
		{Identifier: `user@example.com:8080\path/x=y+z_1.2`, Blueprint: "user@_=-Blue-1", File: "unicode.yml", Line: 9},
	}},
	{file: "long_identifier.yml", want: []SpecEntity{{
		Identifier: strings.Repeat("é", 1000), Blueprint: strings.Repeat("b", 100), File: "long_identifier.yml", Line: 1,
	}}},
	{file: "deep_ok.yml", deep: true, want: []SpecEntity{{
		Identifier: "deep", Blueprint: "service", Properties: map[string]any{"v": specNestedLists(62)},
		File: "deep_ok.yml", Line: 1,
	}}},
	{file: "anchors.yml", want: []SpecEntity{
		{
			Identifier: "api", Blueprint: "service", Team: []string{"core"},
			Properties: map[string]any{"language": "go", "tier": 1.0},
			File:       "anchors.yml", Line: 1,
		},
		{
			Identifier: "worker", Blueprint: "service", Team: []string{"core"},
			Properties: map[string]any{
				"language": "go", "tier": 2.0,
				"extra": map[string]any{"a": 1.0, "b": 3.0, "c": 2.0},
			},
			File: "anchors.yml", Line: 8,
		},
		{
			Identifier: "cron", Blueprint: "service", Team: []string{"core"},
			Properties: map[string]any{
				"<<":   "literal key",
				"copy": map[string]any{"language": "go", "tier": 1.0},
				"lt":   "<<",
			},
			File: "anchors.yml", Line: 14,
		},
	}},
	{file: "tags.yml", want: []SpecEntity{{
		Identifier: "tags", Blueprint: "service",
		Properties: map[string]any{
			"date": "2024-01-31", "time": "2001-12-14t21:59:43.10-05:00",
			"bin": "aGVsbG8=", "custom": "some.value", "str": "123",
			"set": map[string]any{"a": 1.0}, "block": "line one\nline two\n", "folded": "one two",
		},
		File: "tags.yml", Line: 1,
	}}},
	{file: "file_refs.yml", path: "services/api/glint.yml", want: []SpecEntity{
		{
			Identifier: "api", Blueprint: "service",
			Properties: map[string]any{
				"readme": "file://README.md", "runbook": "file://./docs/runbook.md",
				"changelog": "file://../../CHANGELOG.md",
				"nested":    map[string]any{"doc": "file://../../../../nowhere"},
			},
			File: "services/api/glint.yml", Line: 1,
		},
		{
			Identifier: "api", Blueprint: "repository",
			Properties: map[string]any{"readme": "file://./../api/README.md", "same": "file://README.md"},
			File:       "services/api/glint.yml", Line: 8,
		},
	}},

	// Invalid files.
	{file: "invalid_utf8.yml", wantErrs: []string{"invalid_utf8.yml:3: file is not valid UTF-8"}},
	{file: "syntax_error.yml", wantErrs: []string{"syntax_error.yml:3: invalid YAML: did not find expected ',' or ']'"}},
	{file: "multi_doc.yml", wantErrs: []string{"multi_doc.yml:3: more than one YAML document"}},
	{file: "trailing_separator.yml", wantErrs: []string{"trailing_separator.yml:3: more than one YAML document"}},
	{file: "root_scalar.yml", wantErrs: []string{`root_scalar.yml:1: a spec file must be an entity (a mapping) or a list of entities, got string "just a string"`}},
	{file: "entity_not_mapping.yml", wantErrs: []string{
		`entity_not_mapping.yml:3: [1]: an entity must be a mapping, got string "just-a-string"`,
		`entity_not_mapping.yml:4: [2]: an entity must be a mapping, got a list`,
		`entity_not_mapping.yml:5: [3]: an entity must be a mapping, got null`,
	}},
	{file: "missing_fields.yml", wantErrs: []string{
		"missing_fields.yml:1: [0].identifier: required field is missing",
		"missing_fields.yml:3: [1].blueprint: required field is missing",
	}},
	{file: "unknown_field.yml", wantErrs: []string{
		"unknown_field.yml:3: [0].titel: unknown field (an entity has identifier, blueprint,",
		"unknown_field.yml:4: [0].datasource: unknown field",
	}},
	{file: "wrong_types.yml", wantErrs: []string{
		"wrong_types.yml:1: [0].identifier: must be a string, got integer 123 (quote it to make it a string)",
		"wrong_types.yml:2: [0].blueprint: must be a string, got a list",
		"wrong_types.yml:3: [0].title: must be a string, got a mapping",
		"wrong_types.yml:4: [0].icon: must be a string, got boolean true",
		"wrong_types.yml:5: [0].team: must be a team name or a list of them, got a mapping",
		"wrong_types.yml:6: [0].properties: must be a mapping of property names to values, got a list",
		`wrong_types.yml:7: [0].relations: must be a mapping of relation names to identifiers, got string "some-string"`,
		"wrong_types.yml:10: [1].team[1]: must be a string, got integer 5",
		"wrong_types.yml:12: [1].relations.a: must be an entity identifier, a list of them, or null, got a mapping",
		"wrong_types.yml:13: [1].relations.b[1]: must be a string, got integer 7",
	}},
	{file: "bad_identifier.yml", wantErrs: []string{
		`bad_identifier.yml:1: [0].identifier: "has space" contains ' '`,
		`bad_identifier.yml:3: [1].identifier: "." must not be "." or ".."`,
		`bad_identifier.yml:5: [2].identifier: ".." must not be "." or ".."`,
		`bad_identifier.yml:7: [3].identifier: "" must not be empty`,
		`bad_identifier.yml:9: [4].identifier: "a#b" contains '#'`,
	}},
	{file: "too_long_identifier.yml", wantErrs: []string{
		`too_long_identifier.yml:1: [0].identifier: "` + strings.Repeat("é", 80) + `…" is 1001 characters long, more than the limit of 1000`,
		`too_long_identifier.yml:2: [0].blueprint: "` + strings.Repeat("b", 80) + `…" is 101 characters long, more than the limit of 100`,
	}},
	{file: "bad_blueprint.yml", wantErrs: []string{
		`bad_blueprint.yml:2: [0].blueprint: "my service" contains ' '`,
		`bad_blueprint.yml:4: [1].blueprint: "" must not be empty`,
		`bad_blueprint.yml:6: [2].blueprint: "svc.v1" contains '.'`,
	}},
	{file: "duplicate_entity.yml", wantErrs: []string{
		`duplicate_entity.yml:5: [2].identifier: duplicate entity "svc" of blueprint "service": also declared at line 1`,
	}},
	{file: "duplicate_key.yml", wantErrs: []string{
		"duplicate_key.yml:3: identifier: duplicate key (first at line 1)",
		"duplicate_key.yml:7: properties.x: duplicate key (first at line 5)",
	}},
	{file: "non_string_key.yml", wantErrs: []string{
		"non_string_key.yml:4: properties: a mapping key must be a string, got integer 1 (quote it)",
		"non_string_key.yml:5: properties: a mapping key must be a string, got boolean true (quote it)",
		"non_string_key.yml:6: properties: a mapping key must be a string, got a list",
		"non_string_key.yml:8: properties: a mapping key must be a string, got null (quote it)",
	}},
	{file: "nan_inf.yml", wantErrs: []string{
		`nan_inf.yml:4: properties.nan: ".nan" is not a valid JSON number`,
		`nan_inf.yml:5: properties.inf: ".inf" is not a valid JSON number`,
		`nan_inf.yml:6: properties.neginf: "-.Inf" is not a valid JSON number`,
		`nan_inf.yml:7: properties.big: number "1e400" is out of range`,
		`nan_inf.yml:8: properties.explicit: "nan" is not a valid JSON number`,
	}},
	{file: "big_int.yml", wantErrs: []string{
		`big_int.yml:4: properties.over: integer "9007199254740993" does not fit a JSON number (float64) exactly`,
		`big_int.yml:5: properties.huge: integer "123456789012345678901234567890123" does not fit`,
		`big_int.yml:6: properties.bad: invalid integer "twelve"`,
		`big_int.yml:7: properties.badBool: invalid boolean "yes"`,
		`big_int.yml:8: properties.badNull: invalid null "nothing"`,
	}},
	{file: "alias_bomb.yml", wantErrs: []string{"alias_bomb.yml:", "document expands to more than 1000000 nodes"}},
	{file: "merge_bomb.yml", wantErrs: []string{"merge_bomb.yml:", "document expands to more than 1000000 nodes"}},
	{file: "alias_cycle.yml", wantErrs: []string{
		"alias_cycle.yml:4: properties.loop" + strings.Repeat("[1]", 62) + ": nested deeper than 64 levels",
		"alias_cycle.yml:5: properties.mergeLoop: nested deeper than 64 levels",
	}},
	{file: "deep.yml", wantErrs: []string{"deep.yml:4: [0].properties.v" + strings.Repeat("[0]", 61) + ": nested deeper than 64 levels"}},
	{file: "bad_merge.yml", wantErrs: []string{
		"bad_merge.yml:4: properties: a merge key (<<) takes a mapping or a list of mappings, got integer 1",
		`bad_merge.yml:5: properties.x: a merge key (<<) takes a mapping or a list of mappings, got string "oops"`,
	}},
	{file: "bad_tag.yml", wantErrs: []string{
		`bad_tag.yml:4: properties.m: tag "!!str" cannot be used on a mapping`,
		`bad_tag.yml:5: properties.s: tag "!!map" cannot be used on a list`,
		`bad_tag.yml:6: relations: tag "!!seq" cannot be used on a mapping`,
	}},
	{file: "bad_team.yml", wantErrs: []string{
		`bad_team.yml:3: team[0]: team "x" must be at least 2 characters`,
		`bad_team.yml:3: team[1]: team "a;b" must be`,
		`bad_team.yml:3: team[2]: team " lead" must be`,
	}},
	{file: "bad_relation.yml", wantErrs: []string{
		`bad_relation.yml:4: relations.owner: "has space" contains ' '`,
		`bad_relation.yml:5: relations.deps[1]: ".." must not be "." or ".."`,
		`bad_relation.yml:6: relations[""]: a relation name must not be empty`,
	}},
	{file: "empty_property_name.yml", wantErrs: []string{`empty_property_name.yml:4: properties[""]: a property name must not be empty`}},
	{file: "file_ref_escape.yml", wantErrs: []string{
		`file_ref_escape.yml:4: [0].properties.up: "file://../../secret": file:// path escapes the repository`,
		`file_ref_escape.yml:5: [0].properties.abs: "file:///etc/passwd": file:// path is absolute`,
		`file_ref_escape.yml:6: [0].properties.empty: "file://": empty file:// path`,
		`file_ref_escape.yml:7: [0].properties.nul: "file://a\x00b": file:// path contains NUL`,
		`file_ref_escape.yml:8: [0].properties.root: "file://.": file:// path names a directory`,
		`file_ref_escape.yml:9: [0].properties.sneaky: "file://docs/../../x": file:// path escapes the repository`,
	}},
}

// specNestedLists returns n empty lists nested in each other.
func specNestedLists(n int) any {
	v := []any{}
	for range n - 1 {
		v = []any{v}
	}
	return v
}

func TestParseSpecFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "spec", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, c := range specCases {
		listed = append(listed, filepath.Join("testdata", "spec", c.file))
	}
	slices.Sort(listed)
	if diff := cmp.Diff(files, listed); diff != "" {
		t.Errorf("testdata/spec files and specCases differ (-files +cases):\n%s", diff)
	}

	for _, c := range specCases {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "spec", c.file))
			if err != nil {
				t.Fatal(err)
			}
			path := c.path
			if path == "" {
				path = c.file
			}
			got, err := ParseSpec(path, data)
			if c.wantErrs == nil {
				if err != nil {
					t.Fatalf("ParseSpec: %v", err)
				}
				if c.deep {
					if !reflect.DeepEqual(c.want, got) {
						t.Errorf("ParseSpec = %v, want %v", got, c.want)
					}
					return
				}
				if diff := cmp.Diff(c.want, got); diff != "" {
					t.Errorf("ParseSpec mismatch (-want +got):\n%s", diff)
				}
				return
			}
			checkSpecErr(t, got, err, c.wantErrs)
		})
	}
}

// checkSpecErr checks that ParseSpec failed with SpecErrors whose texts
// contain each of wantErrs, and returned no entities.
func checkSpecErr(t *testing.T, got []SpecEntity, err error, wantErrs []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("ParseSpec succeeded with %d entities, want errors %q", len(got), wantErrs)
	}
	if got != nil {
		t.Errorf("ParseSpec returned %d entities with an error", len(got))
	}
	for _, e := range specLeafErrors(err) {
		var se *SpecError
		if !errors.As(e, &se) {
			t.Errorf("error %q is a %T, not a *SpecError", e, e)
		}
	}
	for _, w := range wantErrs {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q; got:\n%v", w, err)
		}
	}
}

// specLeafErrors unpacks an errors.Join.
func specLeafErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestParseSpecGenerated(t *testing.T) {
	manyEntities := func(n int) []byte {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "- {identifier: e%d, blueprint: b}\n", i)
		}
		return []byte(b.String())
	}
	tests := []struct {
		name     string
		data     []byte
		wantN    int
		wantErrs []string
	}{
		{
			name:     "over 1 MiB",
			data:     []byte("identifier: a\nblueprint: b\nproperties:\n  x: \"" + strings.Repeat("x", MaxSpecBytes) + "\"\n"),
			wantErrs: []string{"glint.yml: file is 1048623 bytes, more than the limit of 1048576"},
		},
		{
			name:  "exactly 1 MiB",
			data:  specPadTo([]byte("identifier: a\nblueprint: b\n"), MaxSpecBytes),
			wantN: 1,
		},
		{name: "entity limit", data: manyEntities(MaxEntitiesPerFile), wantN: MaxEntitiesPerFile},
		{
			name:     "over entity limit",
			data:     manyEntities(MaxEntitiesPerFile + 1),
			wantErrs: []string{"glint.yml:1: 10001 entities, more than the limit of 10000 per file"},
		},
		{
			name:     "too many errors",
			data:     []byte(strings.Repeat("- {identifier: x}\n", 200)),
			wantErrs: []string{"glint.yml:50: [49].blueprint: required field is missing", "glint.yml: more than 50 errors, giving up"},
		},
		{
			name:     "deeply nested flow, beyond yaml.v3's own limit",
			data:     []byte("identifier: a\nblueprint: b\nproperties: {x: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "}\n"),
			wantErrs: []string{"glint.yml:", "invalid YAML: exceeded max depth of 10000"},
		},
		{
			name:     "error values are truncated",
			data:     []byte("identifier: \"" + strings.Repeat("x ", 300) + "\"\nblueprint: b\n"),
			wantErrs: []string{`glint.yml:1: identifier: "` + strings.Repeat("x ", 40) + `…" contains ' '`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSpec("glint.yml", tt.data)
			if tt.wantErrs == nil {
				if err != nil {
					t.Fatalf("ParseSpec: %v", err)
				}
				if len(got) != tt.wantN {
					t.Errorf("got %d entities, want %d", len(got), tt.wantN)
				}
				return
			}
			checkSpecErr(t, got, err, tt.wantErrs)
			if n := len(err.Error()); n > 10000 {
				t.Errorf("error is %d bytes long, want it concise", n)
			}
		})
	}
}

// specPadTo appends a comment to data so that it is n bytes long.
func specPadTo(data []byte, n int) []byte {
	pad := n - len(data) - len("#\n")
	return append(append(data, '#'), append([]byte(strings.Repeat("x", pad)), '\n')...)
}

func TestParseSpecMaxErrors(t *testing.T) {
	_, err := ParseSpec("glint.yml", []byte(strings.Repeat("- {identifier: x}\n", 200)))
	if n := len(specLeafErrors(err)); n != maxSpecErrors+1 {
		t.Errorf("got %d errors, want %d and a last one saying it gave up", n, maxSpecErrors+1)
	}
}

func TestParseSpecAliasBombIsFast(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "spec", "alias_bomb.yml"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := ParseSpec("glint.yml", data); err == nil {
		t.Fatal("ParseSpec accepted an alias bomb")
	}
	// About a million nodes; generous for -race on a busy machine.
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("ParseSpec took %v on an alias bomb", d)
	}
}

func TestSpecErrorFormat(t *testing.T) {
	cause := errors.New("cause")
	tests := []struct {
		err  *SpecError
		want string
	}{
		{&SpecError{File: "glint.yml", Line: 12, Field: "[0].properties.url", Msg: "must be a URL"}, "glint.yml:12: [0].properties.url: must be a URL"},
		{&SpecError{File: "glint.yml", Line: 3, Msg: "invalid YAML"}, "glint.yml:3: invalid YAML"},
		{&SpecError{File: "glint.yml", Msg: "too big"}, "glint.yml: too big"},
		{&SpecError{Line: 4, Field: "title", Msg: "bad"}, "line 4: title: bad"},
		{&SpecError{File: "a/glint.yml", Line: 1, Err: cause}, "a/glint.yml:1: cause"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if !errors.Is(tests[4].err, cause) {
		t.Error("SpecError does not unwrap to its Err")
	}
}

func TestValidators(t *testing.T) {
	tests := []struct {
		name  string
		check func(string) error
		in    string
		ok    bool
	}{
		{"identifier", ValidateIdentifier, "a", true},
		{"identifier", ValidateIdentifier, "Ünïcødé/ß", true},
		{"identifier", ValidateIdentifier, "...", true},
		{"identifier", ValidateIdentifier, ".a", true},
		{"identifier", ValidateIdentifier, "..", false},
		{"identifier", ValidateIdentifier, "a b", false},
		{"identifier", ValidateIdentifier, "a\tb", false},
		{"identifier", ValidateIdentifier, "١٢٣", false}, // Arabic-Indic digits are not 0-9 nor letters
		{"identifier", ValidateIdentifier, strings.Repeat("x", 1000), true},
		{"identifier", ValidateIdentifier, strings.Repeat("x", 1001), false},
		{"identifier", ValidateIdentifier, "a\xffb", false},
		{"blueprint", ValidateBlueprint, "micro-service_v2@x=y", true},
		{"blueprint", ValidateBlueprint, "é", false},
		{"blueprint", ValidateBlueprint, strings.Repeat("b", 101), false},
		{"team", ValidateTeam, "platform team", true},
		{"team", ValidateTeam, "x", false},
		{"team", ValidateTeam, "a/b", false},
		{"team", ValidateTeam, "ab ", false},
	}
	for _, tt := range tests {
		err := tt.check(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("Validate %s %q = %v, want ok=%v", tt.name, tt.in, err, tt.ok)
		}
	}
}

func TestFileRefs(t *testing.T) {
	ent := func(file string, props map[string]any) SpecEntity {
		return SpecEntity{Identifier: "api", Blueprint: "service", File: file, Line: 7, Properties: props}
	}
	tests := []struct {
		name     string
		entities []SpecEntity
		want     []string
		wantErrs []string
	}{
		{name: "none", entities: []SpecEntity{ent("glint.yml", nil)}, want: nil},
		{
			name: "root, ./ and ../, sorted and de-duplicated",
			entities: []SpecEntity{
				ent("services/api/glint.yml", map[string]any{
					"readme":  "file://README.md",
					"runbook": "file://./docs/runbook.md",
					"up":      "file://../shared.md",
					"same":    "file://./../api/docs/runbook.md",
					"plain":   "README.md",
					"nested":  map[string]any{"x": "file:///etc/passwd"},
					"list":    []any{"file://../../../x"},
					"number":  1.0,
				}),
				ent("glint.yml", map[string]any{"readme": "file://README.md", "dot": "file://./a/b/../c.md"}),
			},
			want: []string{"README.md", "a/c.md", "services/api/docs/runbook.md", "services/shared.md"},
		},
		{
			name: "escapes",
			entities: []SpecEntity{
				ent("services/api/glint.yml", map[string]any{
					"ok":     "file://README.md",
					"up":     "file://../../../x",
					"abs":    "file:///etc/passwd",
					"empty":  "file://",
					"nul":    "file://a\x00b",
					"sneaky": "file://a/../../b",
				}),
			},
			wantErrs: []string{
				`services/api/glint.yml:7: properties.abs: entity "api" of blueprint "service": "file:///etc/passwd": file:// path is absolute; write it relative to the repository root, or start it with ./ or ../ to make it relative to the spec file`,
				`services/api/glint.yml:7: properties.empty: entity "api" of blueprint "service": "file://": empty file:// path`,
				`services/api/glint.yml:7: properties.nul: entity "api" of blueprint "service": "file://a\x00b": file:// path contains NUL`,
				`services/api/glint.yml:7: properties.sneaky: entity "api" of blueprint "service": "file://a/../../b": file:// path escapes the repository`,
				`services/api/glint.yml:7: properties.up: entity "api" of blueprint "service": "file://../../../x": file:// path escapes the repository`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FileRefs(tt.entities)
			if tt.wantErrs != nil {
				if err == nil {
					t.Fatalf("FileRefs = %q, want errors", got)
				}
				if diff := cmp.Diff(tt.wantErrs, specErrorTexts(err)); diff != "" {
					t.Errorf("errors mismatch (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("FileRefs: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FileRefs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func specErrorTexts(err error) []string {
	var out []string
	for _, e := range specLeafErrors(err) {
		var se *SpecError
		if !errors.As(e, &se) {
			out = append(out, fmt.Sprintf("not a *SpecError: %v", e))
			continue
		}
		out = append(out, e.Error())
	}
	return out
}

func TestFileRefsOfParsedSpec(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "spec", "file_refs.yml"))
	if err != nil {
		t.Fatal(err)
	}
	entities, err := ParseSpec("services/api/glint.yml", data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := FileRefs(entities)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"CHANGELOG.md", "README.md", "services/api/README.md", "services/api/docs/runbook.md"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FileRefs mismatch (-want +got):\n%s", diff)
	}

	files := map[string]string{
		"CHANGELOG.md":                 "# Changes\n",
		"README.md":                    "# Repo\n",
		"services/api/README.md":       "# API\n",
		"services/api/docs/runbook.md": "Restart it.\n",
	}
	resolved, err := ResolveFiles(entities, files)
	if err != nil {
		t.Fatal(err)
	}
	wantEntities := []SpecEntity{
		{
			Identifier: "api", Blueprint: "service",
			Properties: map[string]any{
				"readme": "# Repo\n", "runbook": "Restart it.\n", "changelog": "# Changes\n",
				"nested": map[string]any{"doc": "file://../../../../nowhere"},
			},
			File: "services/api/glint.yml", Line: 1,
		},
		{
			Identifier: "api", Blueprint: "repository",
			Properties: map[string]any{"readme": "# API\n", "same": "# Repo\n"},
			File:       "services/api/glint.yml", Line: 8,
		},
	}
	if diff := cmp.Diff(wantEntities, resolved); diff != "" {
		t.Errorf("ResolveFiles mismatch (-want +got):\n%s", diff)
	}
	if got := entities[0].Properties["readme"]; got != "file://README.md" {
		t.Errorf("ResolveFiles changed its input: readme = %q", got)
	}
}

func TestResolveFiles(t *testing.T) {
	entities := []SpecEntity{
		{
			Identifier: "api", Blueprint: "service", Team: []string{"core"},
			Properties: map[string]any{"readme": "file://README.md", "docs": "file://./docs.md", "n": 1.0, "clear": nil},
			Relations:  map[string]any{"system": "billing"},
			File:       "svc/glint.yml", Line: 3,
		},
		{Identifier: "bare", Blueprint: "service", File: "svc/glint.yml", Line: 9},
	}
	t.Run("missing file", func(t *testing.T) {
		got, err := ResolveFiles(entities, map[string]string{"README.md": "hi"})
		if err == nil {
			t.Fatalf("ResolveFiles = %v, want an error", got)
		}
		want := []string{`svc/glint.yml:3: properties.docs: entity "api" of blueprint "service": "file://./docs.md": file "svc/docs.md" not found in the repository`}
		if diff := cmp.Diff(want, specErrorTexts(err)); diff != "" {
			t.Errorf("errors mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("escape", func(t *testing.T) {
		_, err := ResolveFiles([]SpecEntity{{Identifier: "x", Blueprint: "b", File: "glint.yml", Properties: map[string]any{"p": "file://../x"}}}, map[string]string{"../x": "no"})
		if err == nil || !strings.Contains(err.Error(), "glint.yml: properties.p: ") || !strings.Contains(err.Error(), "escapes the repository") {
			t.Errorf("ResolveFiles error = %v, want an escape error", err)
		}
	})
	t.Run("all present", func(t *testing.T) {
		got, err := ResolveFiles(entities, map[string]string{"README.md": "hi", "svc/docs.md": "docs", "unused": "x"})
		if err != nil {
			t.Fatal(err)
		}
		want := []SpecEntity{
			{
				Identifier: "api", Blueprint: "service", Team: []string{"core"},
				Properties: map[string]any{"readme": "hi", "docs": "docs", "n": 1.0, "clear": nil},
				Relations:  map[string]any{"system": "billing"},
				File:       "svc/glint.yml", Line: 3,
			},
			{Identifier: "bare", Blueprint: "service", File: "svc/glint.yml", Line: 9},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ResolveFiles mismatch (-want +got):\n%s", diff)
		}
		got[0].Team[0] = "changed"
		got[0].Relations["system"] = "changed"
		if entities[0].Team[0] != "core" || entities[0].Relations["system"] != "billing" {
			t.Error("ResolveFiles result shares Team or Relations with its input")
		}
	})
}

func BenchmarkParseSpec(b *testing.B) {
	one, err := os.ReadFile(filepath.Join("testdata", "spec", "single.yml"))
	if err != nil {
		b.Fatal(err)
	}
	var many strings.Builder
	for i := range 500 {
		fmt.Fprintf(&many, `- identifier: service-%d
  blueprint: service
  title: Service %d
  team: [platform]
  properties:
    url: https://service-%d.example.com
    replicas: %d
    public: false
    tags: [go, tier-2]
  relations:
    system: billing
`, i, i, i, i%7)
	}
	for _, bm := range []struct {
		name string
		data []byte
	}{{"1 entity", one}, {"500 entities", []byte(many.String())}} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bm.data)))
			for b.Loop() {
				if _, err := ParseSpec("glint.yml", bm.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
