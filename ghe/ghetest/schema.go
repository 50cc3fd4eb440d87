package ghetest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// SchemaEnv names the environment variable that, when set, gives the path of
// GitHub's schema.graphql (or of the folder holding it).
const SchemaEnv = "GHE_GRAPHQL_SCHEMA"

// schemaRel is where the build extracts @octokit/graphql-schema, relative to
// the repository root.
var schemaRel = filepath.Join(".cache", "github-graphql-schema", "schema.graphql")

// LoadSchema loads GitHub's GraphQL schema from path (schema.graphql of
// @octokit/graphql-schema). The published file defines a few fields twice;
// LoadSchema keeps the first definition of each and drops the later ones.
func LoadSchema(path string) (*ast.Schema, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read graphql schema %s: %w", path, err)
	}
	doc, err := parser.ParseSchemas(validator.Prelude, &ast.Source{Name: path, Input: string(src)})
	if err != nil {
		return nil, fmt.Errorf("parse graphql schema %s: %w", path, err)
	}
	for _, def := range doc.Definitions {
		def.Fields = dedupeFields(def.Fields)
	}
	for _, def := range doc.Extensions {
		def.Fields = dedupeFields(def.Fields)
	}
	schema, err := validator.ValidateSchemaDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("load graphql schema %s: %w", path, err)
	}
	return schema, nil
}

// dedupeFields returns fields without the later definitions of a name that
// was already defined.
func dedupeFields(fields ast.FieldList) ast.FieldList {
	seen := make(map[string]bool, len(fields))
	out := fields[:0]
	for _, f := range fields {
		if seen[f.Name] {
			continue
		}
		seen[f.Name] = true
		out = append(out, f)
	}
	return out
}

// FindSchema returns the path of GitHub's schema.graphql: $GHE_GRAPHQL_SCHEMA
// when set (a file, or a folder holding schema.graphql), else the first
// .cache/github-graphql-schema/schema.graphql found walking up from the
// working directory.
func FindSchema() (string, error) {
	if p := os.Getenv(SchemaEnv); p != "" {
		fi, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("find graphql schema from $%s: %w (run `make schema`)", SchemaEnv, err)
		}
		if fi.IsDir() {
			p = filepath.Join(p, "schema.graphql")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("find graphql schema from $%s: %w (run `make schema`)", SchemaEnv, err)
			}
		}
		return p, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find graphql schema: %w", err)
	}
	for dir := wd; ; {
		p := filepath.Join(dir, schemaRel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("find graphql schema %s: %w", p, err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", fmt.Errorf("find graphql schema: no %s in %s or any parent folder and $%s is not set: run `make schema`", schemaRel, wd, SchemaEnv)
}
