package reconciler

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kozmoai/glint-github-app/ghe"
	"github.com/kozmoai/glint-github-app/glint"
)

func ptr[T any](v T) *T { return &v }

func TestEntityFromSpec(t *testing.T) {
	se := ghe.SpecEntity{
		Identifier: "checkout",
		Blueprint:  "service",
		Title:      ptr("Checkout"),
		Team:       []string{"payments"},
		Properties: map[string]any{"tier": "1", "old": nil},
		Relations:  map[string]any{"system": "shop"},
		File:       "glint.yml",
		Line:       3,
	}
	want := glint.Entity{
		Identifier: "checkout",
		Blueprint:  "service",
		Title:      ptr("Checkout"),
		Team:       []string{"payments"},
		Properties: map[string]any{"tier": "1", "old": nil},
		Relations:  map[string]any{"system": "shop"},
	}
	got := EntityFromSpec(se)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EntityFromSpec mismatch (-want +got):\n%s", diff)
	}
	got.Team.([]string)[0] = "changed"
	if se.Team[0] != "payments" {
		t.Error("EntityFromSpec shares its team slice with the spec entity")
	}
	if e := EntityFromSpec(ghe.SpecEntity{Identifier: "x", Blueprint: "b"}); e.Team != nil || e.Title != nil || e.Properties != nil {
		t.Errorf("absent fields must stay absent, got %+v", e)
	}
}

func TestDesiredEntities(t *testing.T) {
	snap := &ghe.Snapshot{Installations: []ghe.InstallationResult{
		{Installation: ghe.Installation{ID: 7, Account: "acme"}, Repos: []ghe.RepoResult{
			{Repo: ghe.Repository{InstallationID: 7, FullName: "acme/a"}, Specs: []ghe.SpecFile{
				{Path: "glint.yml", Entities: []ghe.SpecEntity{{Identifier: "a", Blueprint: "service", File: "glint.yml", Line: 1}}},
				{Path: "broken/glint.yml", Err: errors.New("yaml: line 2: bad")},
				{Path: "svc/glint.yml", Entities: []ghe.SpecEntity{{Identifier: "b", Blueprint: "service", Line: 4}}},
			}},
			{Repo: ghe.Repository{InstallationID: 7, FullName: "acme/failed"}, Err: errors.New("boom"), Specs: []ghe.SpecFile{
				{Path: "glint.yml", Entities: []ghe.SpecEntity{{Identifier: "never", Blueprint: "service"}}},
			}},
		}},
		{Installation: ghe.Installation{ID: 8, Account: "beta"}, Repos: []ghe.RepoResult{
			{Repo: ghe.Repository{FullName: "beta/c"}, Specs: []ghe.SpecFile{
				{Path: "glint.yml", Entities: []ghe.SpecEntity{{Identifier: "c", Blueprint: "service", File: "glint.yml", Line: 2}}},
			}},
		}},
	}}
	got := DesiredEntities(snap)
	want := []Desired{
		{Entity: glint.Entity{Identifier: "a", Blueprint: "service"}, Source: Source{InstallationID: 7, Repo: "acme/a", File: "glint.yml", Line: 1}},
		{Entity: glint.Entity{Identifier: "b", Blueprint: "service"}, Source: Source{InstallationID: 7, Repo: "acme/a", File: "svc/glint.yml", Line: 4}},
		{Entity: glint.Entity{Identifier: "c", Blueprint: "service"}, Source: Source{InstallationID: 8, Repo: "beta/c", File: "glint.yml", Line: 2}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DesiredEntities mismatch (-want +got):\n%s", diff)
	}
	if DesiredEntities(nil) != nil {
		t.Error("DesiredEntities(nil) must be nil")
	}
}

func TestEqualValue(t *testing.T) {
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"int and float", 1, 1.0, true},
		{"float and json number", 1.5, json.Number("1.5"), true},
		{"int64 and float", int64(3), float64(3), true},
		{"different numbers", 1, 2.0, false},
		{"number and string", 1.0, "1", false},
		{"maps by key", map[string]any{"a": 1, "b": "x"}, map[string]any{"b": "x", "a": 1.0}, true},
		{"map missing key", map[string]any{"a": 1}, map[string]any{"a": 1, "b": nil}, false},
		{"nested", map[string]any{"a": []any{1, map[string]any{"x": true}}}, map[string]any{"a": []any{1.0, map[string]any{"x": true}}}, true},
		{"lists in order", []any{"a", "b"}, []any{"b", "a"}, false},
		{"string list and any list", []string{"a"}, []any{"a"}, true},
		{"null and null", nil, nil, true},
		{"null and empty string", nil, "", false},
		{"bools", true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := equalValue(tt.a, tt.b); got != tt.want {
				t.Errorf("equalValue(%#v, %#v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := equalValue(tt.b, tt.a); got != tt.want {
				t.Errorf("equalValue(%#v, %#v) = %v, want %v (not symmetric)", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name    string
		desired glint.Entity
		current glint.Entity
		merge   bool
		want    []string
	}{
		{
			name:    "equal up to number types and key order",
			desired: glint.Entity{Properties: map[string]any{"n": 1.0, "o": map[string]any{"a": 1.0, "b": 2.0}}},
			current: glint.Entity{Properties: map[string]any{"o": map[string]any{"b": 2, "a": json.Number("1")}, "n": 1}},
			merge:   true,
		},
		{
			name:    "property differs",
			desired: glint.Entity{Properties: map[string]any{"tier": "1", "lang": "go"}},
			current: glint.Entity{Properties: map[string]any{"tier": "2", "lang": "go"}},
			merge:   true,
			want:    []string{"properties.tier"},
		},
		{
			name:    "absent in desired, set in current, merge",
			desired: glint.Entity{Properties: map[string]any{"tier": "1"}},
			current: glint.Entity{Properties: map[string]any{"tier": "1", "extra": "x"}},
			merge:   true,
		},
		{
			name:    "absent in desired, set in current, replace",
			desired: glint.Entity{Properties: map[string]any{"tier": "1"}},
			current: glint.Entity{Properties: map[string]any{"tier": "1", "extra": "x"}},
			want:    []string{"properties.extra"},
		},
		{
			name:    "absent in desired, null in current, replace",
			desired: glint.Entity{Properties: map[string]any{"tier": "1"}},
			current: glint.Entity{Properties: map[string]any{"tier": "1", "extra": nil}},
		},
		{
			name:    "null in desired, absent in current",
			desired: glint.Entity{Properties: map[string]any{"old": nil}},
			current: glint.Entity{},
			merge:   true,
		},
		{
			name:    "null in desired, set in current",
			desired: glint.Entity{Properties: map[string]any{"old": nil}},
			current: glint.Entity{Properties: map[string]any{"old": "x"}},
			merge:   true,
			want:    []string{"properties.old"},
		},
		{
			name:    "title and icon only when set",
			desired: glint.Entity{},
			current: glint.Entity{Title: ptr("T"), Icon: ptr("Go")},
			merge:   true,
		},
		{
			name:    "title differs",
			desired: glint.Entity{Title: ptr("New"), Icon: ptr("Go")},
			current: glint.Entity{Title: ptr("Old"), Icon: ptr("Go")},
			merge:   true,
			want:    []string{"title"},
		},
		{
			name:    "team as a sorted list",
			desired: glint.Entity{Team: []string{"b", "a"}},
			current: glint.Entity{Team: []any{"a", "b"}},
			merge:   true,
		},
		{
			name:    "team string and one-element list",
			desired: glint.Entity{Team: []string{"a"}},
			current: glint.Entity{Team: "a"},
			merge:   true,
		},
		{
			name:    "team differs",
			desired: glint.Entity{Team: []string{"a"}},
			current: glint.Entity{Team: []any{"a", "b"}},
			merge:   true,
			want:    []string{"team"},
		},
		{
			name:    "unset team, replace, current has one",
			desired: glint.Entity{},
			current: glint.Entity{Team: "a"},
			want:    []string{"team"},
		},
		{
			name:    "many relation in any order, single relation as string",
			desired: glint.Entity{Relations: map[string]any{"deps": []any{"x", "y"}, "system": "shop"}},
			current: glint.Entity{Relations: map[string]any{"deps": []any{"y", "x"}, "system": "shop"}},
			merge:   true,
		},
		{
			name:    "relation differs",
			desired: glint.Entity{Relations: map[string]any{"deps": []any{"x"}}},
			current: glint.Entity{Relations: map[string]any{"deps": []any{"x", "y"}}},
			merge:   true,
			want:    []string{"relations.deps"},
		},
		{
			name:    "null relation and empty list",
			desired: glint.Entity{Relations: map[string]any{"deps": nil}},
			current: glint.Entity{Relations: map[string]any{"deps": []any{}}},
			merge:   true,
		},
		{
			name:    "meta fields never differ",
			desired: glint.Entity{Identifier: "a", Blueprint: "service", Properties: map[string]any{"tier": "1"}},
			current: glint.Entity{Identifier: "a", Blueprint: "service", Properties: map[string]any{"tier": "1"},
				Datasource: "someone", CreatedBy: "x", UpdatedBy: "y"},
			merge: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diff(&tt.desired, &tt.current, tt.merge)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("diff (merge=%v) mismatch (-want +got):\n%s", tt.merge, d)
			}
		})
	}
}
