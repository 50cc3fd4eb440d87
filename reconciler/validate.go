package reconciler

import (
	"fmt"
	"net/mail"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kozmoai/glint-github-app/glint"
)

// validateIdentifier checks an identifier the way Glint does:
// ^(?!\.{1,2}$)[\p{L}0-9@_.+:\\/=-]+$, 1 to 1000 characters.
func validateIdentifier(id string) error {
	n := utf8.RuneCountInString(id)
	switch {
	case n == 0:
		return fmt.Errorf("identifier is empty")
	case n > 1000:
		return fmt.Errorf("identifier is longer than 1000 characters")
	case id == "." || id == "..":
		return fmt.Errorf("identifier %q is not allowed", id)
	}
	for _, r := range id {
		if !unicode.IsLetter(r) && (r < '0' || r > '9') && !strings.ContainsRune(`@_.+:\/=-`, r) {
			return fmt.Errorf("identifier %q has a character Glint does not allow: %q", id, r)
		}
	}
	return nil
}

// Validate checks entity e against its blueprint bp the way Glint would, so
// that an entity Glint would refuse is reported instead of being sent every
// pass. create says whether the write would create the entity; merge
// whether the write merges (then properties and relations not sent are
// kept, so required ones need not be sent). It returns every problem found,
// sorted and joined with "; ".
func Validate(e *glint.Entity, bp *glint.Blueprint, create, merge bool) error {
	if err := validateIdentifier(e.Identifier); err != nil {
		return err
	}
	var probs []string
	if err := validateTeam(e.Team); err != nil {
		probs = append(probs, err.Error())
	}
	needRequired := create || !merge
	for name, v := range e.Properties {
		p, ok := bp.Schema.Properties[name]
		if !ok {
			probs = append(probs, fmt.Sprintf("property %q is not in blueprint %s", name, bp.Identifier))
			continue
		}
		if v == nil {
			continue
		}
		if err := validateProperty(p, v); err != nil {
			probs = append(probs, fmt.Sprintf("property %q: %v", name, err))
		}
	}
	if needRequired {
		for _, name := range bp.Schema.Required {
			if e.Properties[name] == nil {
				probs = append(probs, fmt.Sprintf("property %q is required", name))
			}
		}
	}
	for name, v := range e.Relations {
		rel, ok := bp.Relations[name]
		if !ok {
			probs = append(probs, fmt.Sprintf("relation %q is not in blueprint %s", name, bp.Identifier))
			continue
		}
		if v == nil {
			continue
		}
		if err := validateRelation(rel, v); err != nil {
			probs = append(probs, fmt.Sprintf("relation %q: %v", name, err))
		}
	}
	if needRequired {
		for name, rel := range bp.Relations {
			if rel.Required && e.Relations[name] == nil {
				probs = append(probs, fmt.Sprintf("relation %q is required", name))
			}
		}
	}
	if len(probs) == 0 {
		return nil
	}
	sort.Strings(probs)
	return fmt.Errorf("%s", strings.Join(probs, "; "))
}

func validateTeam(v any) error {
	switch t := v.(type) {
	case nil, string, []string:
		return nil
	case []any:
		for _, x := range t {
			if _, ok := x.(string); !ok {
				return fmt.Errorf("team must be a name or a list of names")
			}
		}
		return nil
	}
	return fmt.Errorf("team must be a name or a list of names")
}

func validateProperty(p glint.Property, v any) error {
	switch p.Type {
	case "string":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a string, got %s", jsonType(v))
		}
		if err := validateFormat(p.Format, s); err != nil {
			return err
		}
	case "number":
		if _, ok := toFloat(v); !ok {
			return fmt.Errorf("want a number, got %s", jsonType(v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("want a boolean, got %s", jsonType(v))
		}
	case "object":
		if _, ok := v.(map[string]any); !ok {
			return fmt.Errorf("want an object, got %s", jsonType(v))
		}
	case "array":
		if _, ok := asList(v); !ok {
			return fmt.Errorf("want an array, got %s", jsonType(v))
		}
	}
	if len(p.Enum) > 0 {
		for _, allowed := range p.Enum {
			if equalValue(v, allowed) {
				return nil
			}
		}
		return fmt.Errorf("%v is not one of %v", v, p.Enum)
	}
	return nil
}

func validateFormat(format, s string) error {
	switch format {
	case "url":
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("%q is not a URL", s)
		}
	case "date-time":
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return fmt.Errorf("%q is not an RFC 3339 date-time", s)
		}
	case "email":
		a, err := mail.ParseAddress(s)
		if err != nil || a.Address != s {
			return fmt.Errorf("%q is not an email address", s)
		}
	}
	return nil
}

func validateRelation(rel glint.Relation, v any) error {
	if rel.Many {
		l, ok := asList(v)
		if !ok {
			return fmt.Errorf("relation to %s is many: want a list of identifiers, got %s", rel.Target, jsonType(v))
		}
		for _, x := range l {
			if _, ok := x.(string); !ok {
				return fmt.Errorf("want a list of identifiers, got an element of type %s", jsonType(x))
			}
		}
		return nil
	}
	if _, ok := v.(string); !ok {
		return fmt.Errorf("relation to %s is single: want one identifier, got %s", rel.Target, jsonType(v))
	}
	return nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any, []string:
		return "an array"
	}
	if _, ok := toFloat(v); ok {
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
