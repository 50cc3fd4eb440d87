package ghe

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kozmoai/glint-github-app/ghe/ghetest"
)

// TestSnapshotHostileInput reads repositories whose glint.yml is hostile or
// huge through the real client and the fake GHE, all in one installation
// and one batch: each gets a clear error (or its entities, where the input
// is merely unusual), the others are unaffected, and the pass stays within
// bounded time and memory.
func TestSnapshotHostileInput(t *testing.T) {
	s, c := fake(t, ghetest.Options{}, func(o *Options) { o.Timeout = 60 * time.Second })
	inst := s.AddInstallation("acme", "Organization")

	id1000 := strings.Repeat("a", MaxIdentifierLength)
	var hundredK strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&hundredK, "- {identifier: e%d, blueprint: service}\n", i)
	}
	var aliased strings.Builder
	aliased.WriteString("- &e {identifier: same, blueprint: service}\n")
	for range 100_000 {
		aliased.WriteString("- *e\n")
	}
	deep := "identifier: deep\nblueprint: service\nproperties:\n  x: " + strings.Repeat("[", 10_000) + strings.Repeat("]", 10_000) + "\n"
	bomb := `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
identifier: bomb
blueprint: service
properties: {x: *i}
`
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string // substring of the spec file's error; "" means it parses
		wantIDs []string
	}{
		{name: "ten-megabytes", files: map[string]string{"glint.yml": spec("big", "properties:\n  x: \""+strings.Repeat("x", 10<<20)+"\"\n")}, wantErr: "more than the limit"},
		{name: "hundred-thousand-entities", files: map[string]string{"glint.yml": hundredK.String()}, wantErr: "more than the limit"}, // 4 MB
		{name: "hundred-thousand-aliases", files: map[string]string{"glint.yml": aliased.String()}, wantErr: "glint.yml"},
		{name: "deep-nesting", files: map[string]string{"glint.yml": deep}, wantErr: "glint.yml"},
		{name: "alias-bomb", files: map[string]string{"glint.yml": bomb}, wantErr: "glint.yml"},
		{name: "invalid-utf8", files: map[string]string{"glint.yml": "identifier: \xff\xfe\nblueprint: service\n"}, wantErr: "glint.yml"},
		{name: "identifier-1000", files: map[string]string{"glint.yml": spec(id1000)}, wantIDs: []string{id1000}},
		{name: "identifier-1001", files: map[string]string{"glint.yml": spec(id1000 + "a")}, wantErr: "identifier"},
		{name: "unicode-identifier", files: map[string]string{"glint.yml": spec("サービス-ü")}, wantIDs: []string{"サービス-ü"}},
		{name: "file-self-reference", files: map[string]string{"glint.yml": spec("self", "properties:\n  me: file://glint.yml\n")}, wantIDs: []string{"self"}},
		{name: "file-escape", files: map[string]string{"glint.yml": spec("esc", "properties:\n  p: file://../../etc/passwd\n")}, wantErr: "escapes the repository"},
		{name: "file-absolute", files: map[string]string{"glint.yml": spec("abs", "properties:\n  p: file:///etc/passwd\n")}, wantErr: "absolute"},
		{name: "file-directory", files: map[string]string{"glint.yml": spec("dir", "properties:\n  p: file://docs\n"), "docs/a.md": "a"}, wantErr: "file://docs"},
		{name: "file-huge-target", files: map[string]string{"glint.yml": spec("huge", "properties:\n  p: file://big.txt\n"), "big.txt": strings.Repeat("y", 10<<20)}, wantErr: "more than the limit"},
		{name: "file-chain", files: map[string]string{"glint.yml": spec("chain", "properties:\n  p: file://a.md\n"), "a.md": "file://glint.yml"}, wantIDs: []string{"chain"}},
		{name: "good", files: map[string]string{"glint.yml": spec("good")}, wantIDs: []string{"good"}},
	}
	for _, tt := range tests {
		s.AddRepo(inst, ghetest.Repo{Name: tt.name, Files: tt.files})
	}

	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	snap, err := c.Snapshot(t.Context())
	elapsed := time.Since(start)
	runtime.ReadMemStats(&m1)
	if err != nil {
		t.Fatal(err)
	}
	alloc := m1.TotalAlloc - m0.TotalAlloc
	t.Logf("hostile snapshot: %s, %d MiB allocated", elapsed.Round(time.Millisecond), alloc>>20)
	if elapsed > 30*time.Second {
		t.Errorf("snapshot took %s", elapsed)
	}
	if alloc > 2<<30 {
		t.Errorf("snapshot allocated %d MiB", alloc>>20)
	}

	repos := byName(t, snap)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr, ok := repos["acme/"+tt.name]
			if !ok {
				t.Fatal("repository missing from the snapshot")
			}
			if rr.Err != nil {
				t.Fatalf("repository read failed: %v", rr.Err)
			}
			if len(rr.Specs) != 1 {
				t.Fatalf("%d spec files, want 1", len(rr.Specs))
			}
			sf := rr.Specs[0]
			if tt.wantErr != "" {
				if sf.Err == nil || !strings.Contains(sf.Err.Error(), tt.wantErr) {
					t.Fatalf("spec error %v, want one containing %q", sf.Err, tt.wantErr)
				}
				if len(sf.Entities) != 0 || rr.Complete() {
					t.Errorf("a file that failed still counts: %d entities, complete %v", len(sf.Entities), rr.Complete())
				}
				if n := len(sf.Err.Error()); n > 20_000 {
					t.Errorf("error of %d bytes", n)
				}
				return
			}
			if sf.Err != nil {
				t.Fatalf("spec error: %v", sf.Err)
			}
			var ids []string
			for _, e := range sf.Entities {
				ids = append(ids, e.Identifier)
			}
			if strings.Join(ids, ",") != strings.Join(tt.wantIDs, ",") {
				t.Errorf("entities %q, want %q", ids, tt.wantIDs)
			}
		})
	}
	if got := repos["acme/file-self-reference"].Specs[0].Entities; len(got) == 1 && !strings.Contains(fmt.Sprint(got[0].Properties["me"]), "file://glint.yml") {
		t.Errorf("self reference resolved to %v, want the file's own text", got[0].Properties["me"])
	}
}

// TestParseSpecEntityLimit feeds the parser 25,000 entities in less than
// the size limit: it stops at the entity limit, quickly.
func TestParseSpecEntityLimit(t *testing.T) {
	var b strings.Builder
	for i := range 25_000 {
		fmt.Fprintf(&b, "- {identifier: e%d, blueprint: s}\n", i)
	}
	start := time.Now()
	es, err := ParseSpec("glint.yml", []byte(b.String()))
	if err == nil || es != nil {
		t.Fatalf("ParseSpec of 25,000 entities: %d entities, error %v", len(es), err)
	}
	if !strings.Contains(err.Error(), fmt.Sprint(MaxEntitiesPerFile)) {
		t.Errorf("error %v does not name the limit", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %s", d)
	}
}

// TestSnapshotFileReadFailureIsARepositoryFailure: when GitHub fails to
// answer the request for a spec file's file:// targets, the repository was
// not read in full. That is a read failure of the repository (RepoResult.Err,
// the pass fails), not a problem of its glint.yml.
func TestSnapshotFileReadFailureIsARepositoryFailure(t *testing.T) {
	s, c := fake(t, ghetest.Options{}, nil)
	inst := s.AddInstallation("acme", "Organization")
	s.AddRepo(inst, ghetest.Repo{Name: "docs", Files: map[string]string{
		"glint.yml": spec("docs", "properties:\n  readme: file://README.md\n"), "README.md": "hi",
	}})
	s.AddRepo(inst, ghetest.Repo{Name: "plain", Files: map[string]string{"glint.yml": spec("plain")}})
	s.AddRepo(inst, ghetest.Repo{Name: "missing", Files: map[string]string{"glint.yml": spec("missing", "properties:\n  readme: file://NOPE.md\n")}})

	// The metadata request goes through; every attempt of the file request fails.
	s.InjectFault(ghetest.Fault{Target: ghetest.RouteGraphQL, Kind: ghetest.Slow})
	s.InjectFault(ghetest.Fault{Target: ghetest.RouteGraphQL, Kind: ghetest.Status500, Count: 4}) // 1 + fastOptions' MaxRetries
	snap, err := c.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	repos := byName(t, snap)
	if rr := repos["acme/docs"]; rr.Err == nil || !strings.Contains(rr.Err.Error(), "file://README.md") {
		t.Errorf("docs: repository error %v, want the failed read of file://README.md", rr.Err)
	}
	if rr := repos["acme/missing"]; rr.Err == nil {
		t.Errorf("missing: the failed file request must fail the repository too, got specs %+v", rr.Specs)
	}
	if rr := repos["acme/plain"]; rr.Err != nil || !rr.Complete() {
		t.Errorf("plain: %v", rr.Err)
	}

	// Without faults, a missing target is a problem of the file, not a read failure.
	snap, err = c.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	repos = byName(t, snap)
	rr := repos["acme/missing"]
	if rr.Err != nil || len(rr.Specs) != 1 || !errors.Is(rr.Specs[0].Err, errFileMissing) {
		t.Errorf("missing target: repository error %v, specs %+v; want a spec error", rr.Err, rr.Specs)
	}
	if rr := repos["acme/docs"]; rr.Err != nil || !rr.Complete() {
		t.Errorf("docs after the faults: %v", rr.Err)
	}
}
