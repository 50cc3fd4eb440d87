package ghe

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Written independently of spec.go's checks, from the Glint contract.
var (
	fuzzIdentifierRE = regexp.MustCompile(`^[\p{L}0-9@_.+:\\/=-]+$`)
	fuzzBlueprintRE  = regexp.MustCompile(`^[A-Za-z0-9@_=\-]+$`)
)

func fuzzValidIdentifier(s string) bool {
	return fuzzIdentifierRE.MatchString(s) && s != "." && s != ".." && utf8.RuneCountInString(s) <= 1000
}

// FuzzParseSpec checks that ParseSpec never panics, stays fast, and that
// whatever it accepts is a valid set of entities.
func FuzzParseSpec(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "spec", "*.yml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("identifier: a\nblueprint: b\nproperties: {r: file://./x, s: file://../y}\n"))
	f.Add([]byte("- &e {identifier: a, blueprint: b}\n- {<<: *e, identifier: c}\n"))
	// Inputs that crashed earlier versions of yaml.v3 (go-yaml/yaml#560,
	// #665, #666, #744, #855).
	for _, s := range []string{"a:\n.\n-\n", "#\n-\n-\n0", "0: [:!00 \xef", "#\n - - QI\xd7", "#\n-\n{", "? \ufeff: \ufeff\n"} {
		f.Add([]byte(s))
	}

	const path = "services/api/glint.yml"
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		entities, err := ParseSpec(path, data)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("ParseSpec took %v on %d bytes", d, len(data))
		}
		if err != nil {
			if entities != nil {
				t.Errorf("ParseSpec returned %d entities with error %v", len(entities), err)
			}
			leaves := specLeafErrors(err)
			if len(leaves) > maxSpecErrors+1 {
				t.Errorf("%d errors, want at most %d", len(leaves), maxSpecErrors+1)
			}
			for _, e := range leaves {
				var se *SpecError
				if !errors.As(e, &se) {
					t.Fatalf("error %q is a %T, not a *SpecError", e, e)
				}
				if se.File != path || !strings.HasPrefix(se.Error(), path) {
					t.Errorf("error %q does not name the file %s", se, path)
				}
				if n := len(se.Error()); n > 2000 {
					t.Errorf("error is %d bytes long: %.200q...", n, se.Error())
				}
			}
			return
		}
		type key struct{ bp, id string }
		seen := map[key]bool{}
		for i, e := range entities {
			if !fuzzValidIdentifier(e.Identifier) {
				t.Errorf("entity %d: invalid identifier %q accepted", i, e.Identifier)
			}
			if !fuzzBlueprintRE.MatchString(e.Blueprint) || len(e.Blueprint) > 100 {
				t.Errorf("entity %d: invalid blueprint %q accepted", i, e.Blueprint)
			}
			if seen[key{e.Blueprint, e.Identifier}] {
				t.Errorf("entity %d: duplicate %s/%s accepted", i, e.Blueprint, e.Identifier)
			}
			seen[key{e.Blueprint, e.Identifier}] = true
			if e.File != path || e.Line < 1 {
				t.Errorf("entity %d: File %q Line %d", i, e.File, e.Line)
			}
			if _, err := json.Marshal(e.Properties); err != nil {
				t.Errorf("entity %d: properties are not JSON: %v", i, err)
			}
			checkSpecJSONShape(t, e.Properties, 0)
			for name, r := range e.Relations {
				switch r := r.(type) {
				case nil:
				case string:
					if !fuzzValidIdentifier(r) {
						t.Errorf("entity %d: relation %q: invalid target %q accepted", i, name, r)
					}
				case []any:
					for _, x := range r {
						if s, ok := x.(string); !ok || !fuzzValidIdentifier(s) {
							t.Errorf("entity %d: relation %q: invalid target %#v accepted", i, name, x)
						}
					}
				default:
					t.Errorf("entity %d: relation %q is a %T", i, name, r)
				}
			}
		}
		if len(entities) > MaxEntitiesPerFile {
			t.Errorf("%d entities accepted", len(entities))
		}
		refs, err := FileRefs(entities)
		if err != nil {
			t.Errorf("FileRefs fails on entities ParseSpec accepted: %v", err)
		}
		for _, r := range refs {
			if r == "" || r == "." || r == ".." || strings.HasPrefix(r, "../") || strings.HasPrefix(r, "/") || strings.ContainsRune(r, 0) {
				t.Errorf("FileRefs returned %q", r)
			}
		}
	})
}

// checkSpecJSONShape checks that v holds only JSON-shaped values.
func checkSpecJSONShape(t *testing.T, v any, depth int) {
	t.Helper()
	if depth > MaxDepth {
		t.Errorf("value nested deeper than %d", MaxDepth)
		return
	}
	switch v := v.(type) {
	case nil, string, bool, float64:
	case map[string]any:
		for _, x := range v {
			checkSpecJSONShape(t, x, depth+1)
		}
	case []any:
		for _, x := range v {
			checkSpecJSONShape(t, x, depth+1)
		}
	default:
		t.Errorf("value of type %T", v)
	}
}
