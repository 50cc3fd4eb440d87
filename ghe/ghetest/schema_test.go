package ghetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadSchemaDropsDuplicateFields(t *testing.T) {
	s, err := LoadSchema(filepath.Join("testdata", "dup.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	q := s.Types["Query"]
	var names []string
	for _, f := range q.Fields {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); got != "a b __schema __type" {
		t.Errorf("Query fields %q", got)
	}
	if typ := q.Fields.ForName("a").Type.Name(); typ != "Int" {
		t.Errorf("Query.a is %s, want the first definition (Int)", typ)
	}
	if _, err := LoadSchema(filepath.Join("testdata", "missing.graphql")); err == nil {
		t.Error("LoadSchema of a missing file succeeded")
	}
}

func TestLoadGitHubSchema(t *testing.T) {
	s, err := testSchema()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Repository", "Blob", "Tree", "RateLimit", "Organization"} {
		if s.Types[name] == nil {
			t.Errorf("type %s missing", name)
		}
	}
	seen := map[string]bool{}
	for _, f := range s.Types["EnterpriseOwnerInfo"].Fields {
		if seen[f.Name] {
			t.Errorf("EnterpriseOwnerInfo.%s defined twice", f.Name)
		}
		seen[f.Name] = true
	}
}

func TestFindSchema(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, ".cache", "github-graphql-schema")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(cache, "schema.graphql")
	if err := os.WriteFile(file, []byte("type Query { a: Int }"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()

	tests := []struct {
		name, env, wd, want string
		wantErr             bool
	}{
		{"env names the file", file, empty, file, false},
		{"env names the folder", cache, empty, file, false},
		{"env names nothing", filepath.Join(empty, "nope"), sub, "", true},
		{"found walking up", "", sub, file, false},
		{"not found", "", empty, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(SchemaEnv, tt.env)
			t.Chdir(tt.wd)
			got, err := FindSchema()
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "run `make schema`") {
					t.Errorf("err %v, want one saying run `make schema`", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("FindSchema = %s, want %s", got, tt.want)
			}
		})
	}
}
