package glinttest

import (
	"fmt"
	"net/mail"
	"net/url"
	"reflect"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/kozmoai/glint-github-app/glint"
)

// apiError is an error answer: status, Glint error code and message.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.msg) }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func schemaErr(format string, args ...any) *apiError {
	return errf(422, "blueprint_schema_mismatch", format, args...)
}

// identifierChars is the contract's identifier pattern without its
// lookahead (RE2 has none): `^(?!\.{1,2}$)[\p{L}0-9@_.+:\\/=-]+$`.
var identifierChars = regexp.MustCompile(`^[\p{L}0-9@_.+:\\/=-]+$`)

// teamNamePattern is the contract's team name pattern.
var teamNamePattern = regexp.MustCompile(`^[^;#/\?\s][^;#/\?]*[^;#/\?\s]$`)

// validIdentifier reports whether id is a valid entity identifier.
func validIdentifier(id string) bool {
	n := utf8.RuneCountInString(id)
	return n >= 1 && n <= 1000 && id != "." && id != ".." && identifierChars.MatchString(id)
}

// checkIdentifier returns the 422 for an invalid identifier (what Port does).
func checkIdentifier(field, id string) *apiError {
	if !validIdentifier(id) {
		return errf(422, "invalid_request", "%s %q must be 1 to 1000 characters matching ^(?!\\.{1,2}$)[\\p{L}0-9@_.+:\\\\/=-]+$", field, id)
	}
	return nil
}

// validTeamName reports whether name is a valid team name.
func validTeamName(name string) bool { return teamNamePattern.MatchString(name) }

// checkProperty checks a non-null property value against its schema.
func checkProperty(name string, p glint.Property, v any) *apiError {
	field := "properties." + name
	switch p.Type {
	case "string":
		s, ok := v.(string)
		if !ok {
			return schemaErr("%s must be a string, got %s", field, jsonType(v))
		}
		if err := checkFormat(p.Format, s); err != "" {
			return schemaErr("%s must be a %s: %s", field, p.Format, err)
		}
	case "number":
		if _, ok := v.(float64); !ok {
			return schemaErr("%s must be a number, got %s", field, jsonType(v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return schemaErr("%s must be a boolean, got %s", field, jsonType(v))
		}
	case "object":
		if _, ok := v.(map[string]any); !ok {
			return schemaErr("%s must be an object, got %s", field, jsonType(v))
		}
	case "array":
		if _, ok := v.([]any); !ok {
			return schemaErr("%s must be an array, got %s", field, jsonType(v))
		}
	}
	if len(p.Enum) > 0 {
		for _, e := range p.Enum {
			if reflect.DeepEqual(e, v) {
				return nil
			}
		}
		return schemaErr("%s must be one of %v, got %v", field, p.Enum, v)
	}
	return nil
}

// checkFormat returns why s does not have format, or "".
func checkFormat(format, s string) string {
	switch format {
	case "url":
		u, err := url.Parse(s)
		if err != nil {
			return err.Error()
		}
		if u.Scheme == "" || u.Host == "" {
			return "not an absolute URL"
		}
	case "date-time":
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return "not an RFC 3339 date-time"
		}
	case "email":
		a, err := mail.ParseAddress(s)
		if err != nil || a.Address != s {
			return "not an email address"
		}
	}
	return ""
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// checkRelationValue checks a non-null relation value's shape and returns
// its target identifiers.
func checkRelationValue(name string, rel glint.Relation, v any) ([]string, *apiError) {
	field := "relations." + name
	if rel.Many {
		list, ok := v.([]any)
		if !ok {
			return nil, schemaErr("%s is a many relation and must be a list of identifiers, got %s", field, jsonType(v))
		}
		ids := make([]string, 0, len(list))
		for i, x := range list {
			id, ok := x.(string)
			if !ok {
				return nil, schemaErr("%s[%d] must be an identifier string, got %s", field, i, jsonType(x))
			}
			if e := checkIdentifier(fmt.Sprintf("%s[%d]", field, i), id); e != nil {
				return nil, schemaErr("%s", e.msg)
			}
			ids = append(ids, id)
		}
		return ids, nil
	}
	id, ok := v.(string)
	if !ok {
		return nil, schemaErr("%s is a single relation and must be an identifier string, got %s", field, jsonType(v))
	}
	if e := checkIdentifier(field, id); e != nil {
		return nil, schemaErr("%s", e.msg)
	}
	return []string{id}, nil
}

// checkRequired checks that r has every required property and relation of bp.
func checkRequired(bp glint.Blueprint, r *record) *apiError {
	for _, name := range bp.Schema.Required {
		if _, ok := r.props[name]; !ok {
			return schemaErr("properties.%s is required", name)
		}
	}
	for _, name := range sortedKeys(bp.Relations) {
		if !bp.Relations[name].Required {
			continue
		}
		v, ok := r.rels[name]
		if ids, isList := v.([]string); !ok || (isList && len(ids) == 0) {
			return schemaErr("relations.%s is required", name)
		}
	}
	return nil
}
