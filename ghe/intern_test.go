package ghe

import (
	"strings"
	"testing"
	"unsafe"
)

func TestInternerSharesRepeatedStrings(t *testing.T) {
	in := newInterner()
	parse := func(id string) SpecEntity {
		t.Helper()
		es, err := ParseSpec("glint.yml", []byte("identifier: "+id+"\nblueprint: service\nteam: payments\n"+
			"properties:\n  tier: gold\n  tags: [a, b]\n  url: https://"+id+".example.com/a/long/path/that/is/not/interned\nrelations:\n  system: shop\n"))
		if err != nil {
			t.Fatal(err)
		}
		in.entities(es)
		return es[0]
	}
	a, b := parse("a"), parse("b")
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	keyOf := func(m map[string]any, k string) string {
		for mk := range m {
			if mk == k {
				return mk
			}
		}
		t.Fatalf("no key %q in %v", k, m)
		return ""
	}
	for _, c := range []struct {
		name string
		x, y string
	}{
		{"blueprint", a.Blueprint, b.Blueprint},
		{"team", a.Team[0], b.Team[0]},
		{"property name", keyOf(a.Properties, "tier"), keyOf(b.Properties, "tier")},
		{"property value", a.Properties["tier"].(string), b.Properties["tier"].(string)},
		{"list item", a.Properties["tags"].([]any)[1].(string), b.Properties["tags"].([]any)[1].(string)},
		{"relation", a.Relations["system"].(string), b.Relations["system"].(string)},
	} {
		if c.x != c.y || !same(c.x, c.y) {
			t.Errorf("%s: %q and %q are separate copies", c.name, c.x, c.y)
		}
	}
	// Long and unique strings are left alone, and values are unchanged.
	if u := a.Properties["url"].(string); !strings.HasPrefix(u, "https://a.") || len(in.strs) > 16 {
		t.Errorf("url = %q; interner holds %d strings", u, len(in.strs))
	}
	if a.Identifier != "a" || b.Identifier != "b" {
		t.Errorf("identifiers = %q, %q", a.Identifier, b.Identifier)
	}
}

func TestInternerBound(t *testing.T) {
	in := newInterner()
	for i := range maxInterned + 10 {
		in.value(strings.Repeat("x", i%maxInternLen) + string(rune('a'+i%26)) + itoa(i))
	}
	if len(in.strs) > maxInterned || len(in.boxed) > maxInterned {
		t.Errorf("interner holds %d strings, %d boxed; bound %d", len(in.strs), len(in.boxed), maxInterned)
	}
}
