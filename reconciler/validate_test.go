package reconciler

import (
	"strings"
	"testing"

	"github.com/kozmoai/glint-github-app/glint"
)

func testBlueprints() []glint.Blueprint {
	return []glint.Blueprint{
		{
			Identifier: "service",
			Schema: glint.Schema{Properties: map[string]glint.Property{
				"tier":     {Type: "string"},
				"url":      {Type: "string", Format: "url"},
				"since":    {Type: "string", Format: "date-time"},
				"owner":    {Type: "string", Format: "email"},
				"lang":     {Type: "string", Enum: []any{"go", "java"}},
				"replicas": {Type: "number"},
				"public":   {Type: "boolean"},
				"meta":     {Type: "object"},
				"tags":     {Type: "array"},
				"extra":    {Type: "string"},
				"old":      {Type: "string"},
			}},
			Relations: map[string]glint.Relation{
				"system": {Target: "system"},
				"deps":   {Target: "service", Many: true},
			},
		},
		{
			Identifier: "library",
			Schema: glint.Schema{
				Properties: map[string]glint.Property{"lang": {Type: "string"}, "desc": {Type: "string"}},
				Required:   []string{"lang"},
			},
			Relations: map[string]glint.Relation{"owner": {Target: "team", Required: true}},
		},
	}
}

func TestValidate(t *testing.T) {
	bps := testBlueprints()
	service, library := &bps[0], &bps[1]
	tests := []struct {
		name    string
		e       glint.Entity
		bp      *glint.Blueprint
		create  bool
		merge   bool
		wantErr string // substring; empty means valid
	}{
		{name: "valid", bp: service, create: true, merge: true, e: glint.Entity{Identifier: "checkout", Properties: map[string]any{
			"tier": "1", "url": "https://x.example.com/a", "since": "2024-01-02T03:04:05Z", "owner": "a@example.com",
			"lang": "go", "replicas": 3.0, "public": true, "meta": map[string]any{"a": 1.0}, "tags": []any{"x"}, "old": nil,
		}, Relations: map[string]any{"system": "shop", "deps": []any{"a", "b"}}, Team: []string{"t"}}},
		{name: "bad identifier", bp: service, e: glint.Entity{Identifier: "a b"}, wantErr: "character Glint does not allow"},
		{name: "dot identifier", bp: service, e: glint.Entity{Identifier: ".."}, wantErr: "not allowed"},
		{name: "unicode identifier", bp: service, e: glint.Entity{Identifier: "dienst-ü@x/y:z=1+2\\3"}},
		{name: "long identifier", bp: service, e: glint.Entity{Identifier: strings.Repeat("a", 1001)}, wantErr: "longer than 1000"},
		{name: "wrong type", bp: service, e: glint.Entity{Identifier: "a", Properties: map[string]any{"replicas": "3"}}, wantErr: `property "replicas": want a number, got a string`},
		{name: "bad url", bp: service, e: glint.Entity{Identifier: "a", Properties: map[string]any{"url": "not a url"}}, wantErr: "is not a URL"},
		{name: "bad date-time", bp: service, e: glint.Entity{Identifier: "a", Properties: map[string]any{"since": "yesterday"}}, wantErr: "date-time"},
		{name: "bad email", bp: service, e: glint.Entity{Identifier: "a", Properties: map[string]any{"owner": "Bob <b@x.com>"}}, wantErr: "email"},
		{name: "enum", bp: service, e: glint.Entity{Identifier: "a", Properties: map[string]any{"lang": "cobol"}}, wantErr: "is not one of"},
		{name: "unknown property", bp: service, e: glint.Entity{Identifier: "a", Properties: map[string]any{"nope": 1.0}}, wantErr: `property "nope" is not in blueprint service`},
		{name: "unknown relation", bp: service, e: glint.Entity{Identifier: "a", Relations: map[string]any{"nope": "x"}}, wantErr: `relation "nope" is not in blueprint service`},
		{name: "many relation given one", bp: service, e: glint.Entity{Identifier: "a", Relations: map[string]any{"deps": "x"}}, wantErr: "is many"},
		{name: "single relation given many", bp: service, e: glint.Entity{Identifier: "a", Relations: map[string]any{"system": []any{"x"}}}, wantErr: "is single"},
		{name: "bad team", bp: service, e: glint.Entity{Identifier: "a", Team: 3}, wantErr: "team"},
		{name: "required on create", bp: library, create: true, merge: true, e: glint.Entity{Identifier: "a", Properties: map[string]any{"desc": "x"}},
			wantErr: `property "lang" is required; relation "owner" is required`},
		{name: "required not needed on merge update", bp: library, merge: true, e: glint.Entity{Identifier: "a", Properties: map[string]any{"desc": "x"}}},
		{name: "required on replace update", bp: library, e: glint.Entity{Identifier: "a", Properties: map[string]any{"desc": "x"}, Relations: map[string]any{"owner": "t"}},
			wantErr: `property "lang" is required`},
		{name: "null clears a required property", bp: library, create: true, merge: true, e: glint.Entity{Identifier: "a", Properties: map[string]any{"lang": nil}, Relations: map[string]any{"owner": "t"}},
			wantErr: `property "lang" is required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(&tt.e, tt.bp, tt.create, tt.merge)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("Validate() = nil, want an error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
