package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kozmoai/glint-github-app/reconciler"
)

// TestMain lets the test binary stand in for the bench binary when the
// bench spawns `<itself> serve-fakes`.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "serve-fakes" {
		os.Exit(runServeFakes(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

var small = []string{"-repos=60", "-installations=3", "-teams=5", "-team-members=2", "-latency=0s", "-glint-latency=0s"}

func TestServeFakesProtocol(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int)
	go func() { done <- runServeFakes(small, inR, outW, &stderr); outW.Close() }()
	sc := bufio.NewScanner(outR)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	read := func(v any) {
		t.Helper()
		if !sc.Scan() {
			t.Fatalf("serve-fakes ended: %v; stderr: %s", sc.Err(), stderr.String())
		}
		if err := json.Unmarshal(sc.Bytes(), v); err != nil {
			t.Fatalf("decode %q: %v", sc.Text(), err)
		}
	}
	send := func(cmd string) { fmt.Fprintln(inW, cmd) }

	var hs handshake
	read(&hs)
	if hs.Repos != 60 || len(hs.Orgs) != 3 || hs.AppID != benchAppID || !strings.HasPrefix(hs.GHEURL, "http://127.0.0.1:") {
		t.Fatalf("handshake = %+v", hs)
	}
	fi, err := os.Stat(hs.CredentialsFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v, mode %v", err, fi.Mode())
	}
	b, _ := os.ReadFile(hs.CredentialsFile)
	if !strings.Contains(string(b), "PRIVATE KEY") {
		t.Error("credentials file holds no private key")
	}

	send("change 6")
	var ch map[string]int
	read(&ch)
	if ch["changed"] != 6 {
		t.Errorf("change 6 = %v", ch)
	}
	send("stats")
	var st fakeStats
	read(&st)
	if st.GHERest != 0 || st.GlintWrites != 0 || st.FakesPeakRSSKiB <= 0 {
		t.Errorf("stats before any request = %+v", st)
	}
	send("bogus")
	var e map[string]string
	read(&e)
	if !strings.Contains(e["error"], "bogus") {
		t.Errorf("unknown command answered %v", e)
	}
	send("quit")
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve-fakes did not quit")
	}
	if _, err := os.Stat(hs.CredentialsFile); !os.IsNotExist(err) {
		t.Errorf("credentials file left behind: %v", err)
	}
}

func TestChangeSpreadsAndAdvances(t *testing.T) {
	f, err := startFakes(enterprise{Repos: 10, Installations: 2, NoSchema: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	if n := f.change(3); n != 3 {
		t.Fatalf("change(3) = %d", n)
	}
	if n := f.change(3); n != 3 {
		t.Fatalf("change(3) = %d", n)
	}
	changed := 0
	for _, r := range f.rev {
		if r > 0 {
			changed++
		}
	}
	if changed != 6 {
		t.Errorf("two changes of 3 touched %d repositories, want 6 different ones (revs %v)", changed, f.rev)
	}
	if n := f.change(50); n != 10 {
		t.Errorf("change(50) of 10 repositories = %d", n)
	}
}

// TestBenchEndToEnd runs the three passes on a small enterprise, the fakes
// in a child process, and checks the JSON lines.
func TestBenchEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	var out, errb bytes.Buffer
	code := run(append([]string{"-json", "-changed=5"}, small...), nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	var reps []passReport
	for line := range strings.SplitSeq(strings.TrimSpace(out.String()), "\n") {
		var r passReport
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		reps = append(reps, r)
	}
	if len(reps) != 3 {
		t.Fatalf("%d JSON lines, want 3", len(reps))
	}
	cold, unchanged, changed := reps[0], reps[1], reps[2]
	// 60 services, and with TEAMS_SYNC=entities 5 teams and their 10
	// members; 60 bulk calls for the services (one a repository), 1 for
	// the users, 3 for the teams (one an organization); 3 GraphQL pages of
	// repositories and 3 of teams.
	if cold.Created != 75 || cold.GlintWrites != 64 || cold.WriteBound != 64 || cold.GHEGraphQL != 6 {
		t.Errorf("cold = %+v", cold)
	}
	if unchanged.GlintWrites != 0 || unchanged.Created+unchanged.Updated != 0 {
		t.Errorf("unchanged = %+v", unchanged)
	}
	if changed.Updated != 3 || changed.GlintWrites != 3 {
		t.Errorf("changed (5%% of 60) = %+v", changed)
	}
	for _, r := range reps {
		if !r.PeakRSSReset || r.PeakRSSMiB <= 0 {
			t.Errorf("%s: peak RSS %v, reset %v", r.Pass, r.PeakRSSMiB, r.PeakRSSReset)
		}
		for _, c := range r.Targets {
			if c.Status == "MISS" {
				t.Errorf("%s: %s missed: want %s, got %s", r.Pass, c.Name, c.Want, c.Got)
			}
		}
	}
}

func TestTargets(t *testing.T) {
	e := enterprise{Repos: 10000, Installations: 10, Latency: 20 * time.Millisecond, GlintLatency: 20 * time.Millisecond}
	good := passReport{Pass: "unchanged", GHERest: 101, GHEGraphQL: 100, GlintReads: 11, WallSeconds: 2, PeakRSSMiB: 80, PeakRSSReset: true}
	res := &reconciler.Result{Owned: 10000}
	status := func(r passReport, name string) string {
		for _, c := range targets(e, reconciler.TeamsOff, r, res) {
			if strings.HasPrefix(c.Name, name) {
				return c.Status
			}
		}
		return "absent"
	}
	tests := []struct {
		name   string
		edit   func(*passReport)
		target string
		want   string
	}{
		{"good REST", func(*passReport) {}, "GHE REST", "PASS"},
		{"one REST request a repository", func(r *passReport) { r.GHERest = 10101 }, "GHE REST", "MISS"},
		{"GraphQL over repos/100", func(r *passReport) { r.GHEGraphQL = 101 }, "GHE GraphQL", "MISS"},
		{"a write in an unchanged pass", func(r *passReport) { r.GlintWrites = 1 }, "Glint writes", "MISS"},
		{"reads at the bound", func(r *passReport) { r.GlintReads = 10000/1000 + benchBlueprints }, "Glint reads", "PASS"},
		{"reads over the bound", func(r *passReport) { r.GlintReads = 10000/1000 + benchBlueprints + 1 }, "Glint reads", "MISS"},
		{"slow unchanged pass", func(r *passReport) { r.WallSeconds = 10 }, "unchanged pass wall", "MISS"},
		{"RSS over 150 MiB", func(r *passReport) { r.PeakRSSMiB = 150 }, "peak RSS", "MISS"},
		{"RSS not reset", func(r *passReport) { r.PeakRSSMiB = 900; r.PeakRSSReset = false }, "peak RSS", "n/a"},
		{"an error", func(r *passReport) { r.Err = "boom" }, "pass completes", "MISS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			tt.edit(&r)
			if got := status(r, tt.target); got != tt.want {
				t.Errorf("%s = %s, want %s", tt.target, got, tt.want)
			}
		})
	}
	cold := passReport{Pass: "cold", GHERest: 111, GHEGraphQL: 100, GlintWrites: 10001, WriteBound: 10000, WallSeconds: 31, PeakRSSMiB: 80, PeakRSSReset: true}
	if got := status(cold, "Glint writes"); got != "MISS" {
		t.Errorf("cold writes over the bound = %s", got)
	}
	if got := status(cold, "cold pass wall"); got != "MISS" {
		t.Errorf("31 s cold pass = %s", got)
	}
	e.Repos = 5000
	if got := status(cold, "cold pass wall"); got != "n/a" {
		t.Errorf("wall target at 5000 repositories = %s, want n/a", got)
	}
}
