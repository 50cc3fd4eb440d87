package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kozmoai/glint-github-app/ghe/ghetest"
	"github.com/kozmoai/glint-github-app/glint"
	"github.com/kozmoai/glint-github-app/glint/glinttest"
)

// crashWorld is a fake GHE whose glint.yml files the test writes from a
// model, so that what Glint should hold is known without the app's code.
type crashWorld struct {
	gh    *ghetest.Server
	gl    *glinttest.Server
	env   []string
	host  string
	rng   *rand.Rand
	repos []*crashRepo
	seeds map[string][]byte // other writers' entities, JSON
}

type crashRepo struct {
	inst     int64
	owner    string
	name     string
	entities map[string]crashEntity // by identifier
	gone     bool                   // deleted from GHE
}

type crashEntity struct {
	tier string
	n    int
}

func (r *crashRepo) fullName() string { return r.owner + "/" + r.name }

func (r *crashRepo) spec() string {
	if len(r.entities) == 0 {
		return "[]\n"
	}
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(r.entities)) {
		e := r.entities[id]
		fmt.Fprintf(&b, "- identifier: %s\n  blueprint: service\n  title: %s\n  properties:\n    tier: %s\n    replicas: %d\n", id, id, e.tier, e.n)
	}
	return b.String()
}

var crashTiers = []string{"bronze", "silver", "gold"}

func newCrashWorld(t *testing.T, latency time.Duration) *crashWorld {
	t.Helper()
	key, pemKey, err := ghetest.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	gh := ghetest.NewForTest(t, ghetest.Options{AppID: demoAppID, PublicKey: &key.PublicKey, Latency: latency})
	gl := glinttest.New(glinttest.Options{ClientID: "crash", ClientSecret: "crash-secret", Latency: latency})
	t.Cleanup(gl.Close)
	w := &crashWorld{gh: gh, gl: gl, host: strings.TrimPrefix(gh.URL(), "http://"), rng: rand.New(rand.NewPCG(7, 7)), seeds: map[string][]byte{}}
	gl.AddBlueprint(glint.Blueprint{
		Identifier: "service", Title: "Service",
		Schema: glint.Schema{Properties: map[string]glint.Property{
			"tier": {Type: "string", Enum: []any{"bronze", "silver", "gold"}}, "replicas": {Type: "number"},
		}},
	})
	title := "Someone else's"
	for id, ds := range map[string]string{
		"billing":  "alice@acme.example (Glint UI)",
		"legacy-1": "glint-github-app/0.9.0 (app/999@other.example; installation/1; repo/x/y; gitops)",
	} {
		gl.PutEntity("service", glint.Entity{Identifier: id, Title: &title, Properties: map[string]any{"tier": "gold"}}, ds)
		e, _ := gl.Entity("service", id)
		w.seeds[id], _ = json.Marshal(e)
	}
	for i := range 2 {
		owner := "org" + strconv.Itoa(i)
		inst := gh.AddInstallation(owner, "Organization")
		for j := range 8 {
			r := &crashRepo{inst: inst, owner: owner, name: "repo" + strconv.Itoa(j), entities: map[string]crashEntity{}}
			for k := range 3 {
				r.entities[fmt.Sprintf("%s-%d-%d", owner, j, k)] = crashEntity{tier: crashTiers[w.rng.IntN(3)], n: w.rng.IntN(9)}
			}
			if i == 0 && j == 0 {
				// A declaration of a person's entity: a conflict, never a takeover.
				r.entities["billing"] = crashEntity{tier: "bronze", n: 1}
			}
			gh.AddRepo(inst, ghetest.Repo{Owner: owner, Name: r.name, Files: map[string]string{"glint.yml": r.spec()}})
			w.repos = append(w.repos, r)
		}
	}
	w.env = []string{
		"PATH=/usr/bin:/bin",
		"APP_ID=" + strconv.Itoa(demoAppID),
		"PRIVATE_KEY=" + base64.StdEncoding.EncodeToString(pemKey),
		"GHE_URL=" + gh.URL(),
		"GLINT_URL=" + gl.URL(),
		"GLINT_CLIENT_ID=crash",
		"GLINT_CLIENT_SECRET=crash-secret",
		"LOG_LEVEL=warn",
	}
	return w
}

// mutate changes a few repositories so that the next pass has creates,
// updates and deletes to make.
func (w *crashWorld) mutate(round int) {
	for range 6 {
		r := w.repos[w.rng.IntN(len(w.repos))]
		if r.gone {
			continue
		}
		switch w.rng.IntN(3) {
		case 0: // edit
			for id, e := range r.entities {
				if id != "billing" {
					e.n = w.rng.IntN(9)
					e.tier = crashTiers[w.rng.IntN(3)]
					r.entities[id] = e
				}
			}
		case 1: // remove one
			for id := range r.entities {
				if id != "billing" {
					delete(r.entities, id)
					break
				}
			}
		case 2: // add one
			r.entities[fmt.Sprintf("%s-%s-new%d", r.owner, r.name, round)] = crashEntity{tier: "gold", n: round}
		}
		w.gh.SetFile(r.fullName(), "glint.yml", r.spec())
	}
	if round%5 == 4 {
		// Delete a repository: its entities go once a complete listing
		// shows it gone.
		for _, r := range w.repos {
			if !r.gone && r.name != "repo0" {
				w.gh.RemoveRepo(r.fullName())
				r.gone = true
				break
			}
		}
	}
}

// desired is what Glint must hold for the app, by identifier: tier,
// replicas and the repository in the datasource.
func (w *crashWorld) desired() map[string]string {
	out := map[string]string{}
	for _, r := range w.repos {
		if r.gone {
			continue
		}
		for id, e := range r.entities {
			if _, foreign := w.seeds[id]; foreign {
				continue
			}
			out[id] = fmt.Sprintf("%s %d (app/%d@%s; installation/%d; repo/%s; gitops)", e.tier, e.n, demoAppID, w.host, r.inst, r.fullName())
		}
	}
	return out
}

// describe is an entity as desired describes it.
func describe(e glint.Entity) string {
	ds := e.Datasource
	if i := strings.Index(ds, " (app/"); i >= 0 {
		ds = ds[i+1:]
	}
	return fmt.Sprintf("%v %v %s", e.Properties["tier"], e.Properties["replicas"], ds)
}

func (w *crashWorld) owned() map[string]glint.Entity {
	out := map[string]glint.Entity{}
	for _, e := range w.gl.Entities("service") {
		if strings.Contains(e.Datasource, fmt.Sprintf("(app/%d@%s;", demoAppID, w.host)) {
			out[e.Identifier] = e
		}
	}
	return out
}

// checkSafe checks what must hold after any run, killed or not: other
// writers' entities are unchanged, and no entity still declared was
// deleted.
func (w *crashWorld) checkSafe(t *testing.T, when string, before map[string]glint.Entity) {
	t.Helper()
	for id, seed := range w.seeds {
		e, ok := w.gl.Entity("service", id)
		b, _ := json.Marshal(e)
		if !ok || !bytes.Equal(b, seed) {
			t.Errorf("%s: %s of another writer changed:\n was %s\n now %s", when, id, seed, b)
		}
	}
	after := w.owned()
	want := w.desired()
	for id := range before {
		if _, declared := want[id]; declared {
			if _, ok := after[id]; !ok {
				t.Errorf("%s: service/%s is still declared but was deleted", when, id)
			}
		}
	}
	for id, e := range after {
		if _, declared := want[id]; !declared {
			if _, existed := before[id]; !existed {
				t.Errorf("%s: service/%s was created although nothing declares it (%s)", when, id, e.Datasource)
			}
		}
	}
}

// TestCrashSafety kills `once` with SIGKILL at many points of a pass (after
// the k-th GHE request, during the reads; after the k-th Glint write, in
// the middle of the apply), checks after each kill that nothing declared
// was lost and nothing foreign changed, then lets a run finish and checks
// that Glint holds exactly the desired entities and a further run writes
// nothing.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the binary many times; skipped with -short")
	}
	w := newCrashWorld(t, 10*time.Millisecond)
	type killAt struct {
		ghe, glintWrites int           // kill after this many GHE requests, or Glint writes
		after            time.Duration // or after this long
	}
	points := []killAt{{after: time.Millisecond}, {after: 10 * time.Millisecond}, {after: 30 * time.Millisecond}}
	for k := 1; k <= 7; k++ {
		points = append(points, killAt{ghe: k})
	}
	for k := 1; k <= 8; k++ {
		points = append(points, killAt{glintWrites: 1 + k%4})
	}
	killedDuringReads, killedDuringApply, finished := 0, 0, 0
	for i, p := range points {
		w.mutate(i)
		before := w.owned()
		w.gh.ResetStats()
		w.gl.ResetStats()
		cmd := exec.Command(binary, "once")
		cmd.Env = w.env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		killed := false
		started := time.Now()
		deadline := time.After(30 * time.Second)
	poll:
		for {
			select {
			case <-done:
				break poll
			case <-deadline:
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("kill point %d: once neither finished nor reached the point\n%s", i, out.String())
			case <-time.After(time.Millisecond):
			}
			ghe, gl := 0, w.gl.Stats().Writes
			for _, byStatus := range w.gh.Stats().Requests {
				for _, n := range byStatus {
					ghe += n
				}
			}
			if (p.ghe > 0 && ghe >= p.ghe) || (p.glintWrites > 0 && gl >= p.glintWrites) || (p.after > 0 && time.Since(started) >= p.after) {
				_ = cmd.Process.Kill() // SIGKILL: no deferred function, no flush
				<-done
				killed = true
				break
			}
		}
		switch {
		case !killed:
			finished++
		case w.gl.Stats().Writes == 0:
			killedDuringReads++
		default:
			killedDuringApply++
		}
		w.checkSafe(t, fmt.Sprintf("kill point %d %+v (killed %v)", i, p, killed), before)
	}
	t.Logf("%d runs killed during the reads, %d in the middle of the apply, %d finished first", killedDuringReads, killedDuringApply, finished)
	if killedDuringReads == 0 || killedDuringApply == 0 {
		t.Errorf("the kills did not cover both phases: %d during reads, %d during apply", killedDuringReads, killedDuringApply)
	}

	// A run that is not killed converges exactly.
	before := w.owned()
	run := func() (int, string) {
		cmd := exec.Command(binary, "once")
		cmd.Env = w.env
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	if code, out := run(); code != exitOK {
		t.Fatalf("once after the kills: exit %d\n%s", code, out)
	}
	w.checkSafe(t, "after the final run", before)
	got := map[string]string{}
	for id, e := range w.owned() {
		got[id] = describe(e)
	}
	want := w.desired()
	for id, d := range want {
		if got[id] != d {
			t.Errorf("service/%s: got %q, want %q", id, got[id], d)
		}
	}
	for id, d := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("service/%s (%s) is not declared but is still in Glint", id, d)
		}
	}
	w.gl.ResetStats()
	if code, out := run(); code != exitOK {
		t.Fatalf("second once: exit %d\n%s", code, out)
	}
	if n := w.gl.Stats().Writes; n != 0 {
		t.Errorf("a run after convergence made %d writes", n)
	}
}
