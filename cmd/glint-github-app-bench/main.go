// Command glint-github-app-bench measures glint-github-app at enterprise
// scale against a synthetic enterprise served by the fakes (ghetest and
// glinttest) on loopback, with latency added to every request.
//
// Usage:
//
//	glint-github-app-bench [flags]              cold, unchanged and 1%-changed passes; a table, targets, JSON lines
//	glint-github-app-bench serve-fakes [flags]  serve the synthetic enterprise; one handshake line, then commands on stdin
//	glint-github-app-bench backstage [flags]    the same discovery by glint-github-app and Backstage's GithubEntityProvider
//
// The fakes run in a child process (serve-fakes), so that the peak RSS
// reported is the app's alone.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kozmoai/glint-github-app/ghe"
	wire "github.com/kozmoai/glint-github-app/internal/app"
	"github.com/kozmoai/glint-github-app/reconciler"
)

// version is the app version the bench writes as (datasource).
const version = "bench"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "serve-fakes":
			return runServeFakes(args[1:], stdin, stdout, stderr)
		case "backstage":
			return runBackstage(args[1:], stdout, stderr)
		}
	}
	return runBench(args, stdout, stderr)
}

// benchFlags are the flags of the passes.
type benchFlags struct {
	e          enterprise
	changedPct float64
	cpuProfile string
	memProfile string
	memPass    string
	logLevel   string
	jsonOnly   bool
	timeout    time.Duration
	teamsSync  string
}

func (b *benchFlags) register(fs *flag.FlagSet) {
	b.e.register(fs)
	fs.Float64Var(&b.changedPct, "changed", 1, "percentage of glint.yml files changed before the third pass")
	fs.StringVar(&b.cpuProfile, "cpuprofile", "", "write a CPU profile of the three passes to this file")
	fs.StringVar(&b.memProfile, "memprofile", "", "write a heap profile of one pass (-memprofile-pass), taken near its peak of live heap, to this file")
	fs.StringVar(&b.memPass, "memprofile-pass", "cold", "the pass -memprofile profiles: cold, unchanged or changed")
	fs.StringVar(&b.logLevel, "log-level", "warn", "level of the app's logs on stderr: debug, info, warn or error")
	fs.BoolVar(&b.jsonOnly, "json", false, "print only the JSON lines")
	fs.DurationVar(&b.timeout, "timeout", 10*time.Minute, "give up a pass after this long")
	fs.StringVar(&b.teamsSync, "teams-sync", reconciler.TeamsEntities, "TEAMS_SYNC of the app: entities (its default), glint-teams, both or off")
}

// passReport is one pass, as printed and as the JSON line.
type passReport struct {
	Run             string  `json:"run"`
	Pass            string  `json:"pass"`
	Repos           int     `json:"repos"`
	Installations   int     `json:"installations"`
	LatencyMS       float64 `json:"latencyMs"`
	WallSeconds     float64 `json:"wallSeconds"`
	PeakRSSMiB      float64 `json:"peakRssMiB"`
	PeakRSSReset    bool    `json:"peakRssReset"`
	PeakHeapMiB     float64 `json:"peakGoHeapMiB"`
	GHERest         int     `json:"gheRest"`
	GHEGraphQL      int     `json:"gheGraphQL"`
	GHEPoints       int     `json:"ghePoints"`
	GlintReads      int     `json:"glintReads"`
	GlintWrites     int     `json:"glintWrites"`
	GlintOther      int     `json:"glintOther"`
	Created         int     `json:"created"`
	Updated         int     `json:"updated"`
	Deleted         int     `json:"deleted"`
	Problems        int     `json:"problems"`
	WriteBound      int     `json:"writeBound"`
	FakesPeakRSSMiB float64 `json:"fakesPeakRssMiB"`
	Err             string  `json:"error,omitempty"`
	Targets         []check `json:"targets"`
}

// check is one target and whether the pass met it.
type check struct {
	Name   string `json:"name"`
	Want   string `json:"want"`
	Got    string `json:"got"`
	Status string `json:"status"` // PASS, MISS or n/a
}

func runBench(args []string, stdout, stderr io.Writer) int {
	wire.TuneGC(os.Getenv) // as cmd/glint-github-app does
	fs := flag.NewFlagSet("glint-github-app-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var bf benchFlags
	bf.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := bf.e.validate(); err != nil || bf.changedPct < 0 || bf.changedPct > 100 || !slices.Contains(reconciler.TeamsModes, bf.teamsSync) ||
		!slices.Contains([]string{"cold", "unchanged", "changed"}, bf.memPass) {
		fmt.Fprintf(stderr, "bad flags: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	say := func(format string, a ...any) {
		if !bf.jsonOnly {
			fmt.Fprintf(stdout, format, a...)
		}
	}
	say("glint-github-app-bench: %d repositories over %d installations, a one-entity glint.yml each, %d teams of %d members in Glint\n",
		bf.e.Repos, bf.e.Installations, bf.e.Teams, bf.e.TeamMembers)
	say("latency %s on every GHE request, %s on every Glint request; %d CPUs, %s\n",
		bf.e.Latency, bf.e.GlintLatency, numCPU(), runtime.Version())
	say("teams: %d GitHub teams of %d members (TEAMS_SYNC=%s); the same names are Glint teams, which glint.yml files name\n",
		bf.e.Teams, bf.e.TeamMembers, bf.teamsSync)
	say("the fakes run in a child process (serve-fakes): peak RSS below is the app's alone\n")

	buildStart := time.Now()
	fc, err := spawnFakes(bf.e, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	defer fc.close()
	say("synthetic enterprise built in %.1fs (fake GHE %s, fake Glint %s)\n\n", time.Since(buildStart).Seconds(), fc.hs.GHEURL, fc.hs.GlintURL)

	logger, err := newLogger(stderr, bf.logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "bad flags: %v\n", err)
		return 2
	}
	a, err := wireApp(fc, logger, bf.teamsSync)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}

	if bf.cpuProfile != "" {
		f, err := os.Create(bf.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}

	runID := time.Now().UTC().Format("20060102T150405Z")
	var reports []passReport
	failed := false
	for _, pass := range []string{"cold", "unchanged", "changed"} {
		if pass == "changed" {
			n := int(math.Round(float64(bf.e.Repos) * bf.changedPct / 100))
			if _, err := fc.change(n); err != nil {
				fmt.Fprintf(stderr, "bench: %v\n", err)
				return 1
			}
			say("changed the glint.yml of %d repositories (%.3g%%)\n", n, bf.changedPct)
		}
		rep, err := measurePass(ctx, bf, a, fc, pass)
		if err != nil {
			fmt.Fprintf(stderr, "bench: %s pass: %v\n", pass, err)
			return 1
		}
		rep.Run = runID
		reports = append(reports, rep)
		say("%-9s pass done in %.2fs\n", pass, rep.WallSeconds)
	}

	if !bf.jsonOnly {
		fmt.Fprintln(stdout)
		writeTable(stdout, reports)
		fmt.Fprintln(stdout)
		for _, r := range reports {
			for _, c := range r.Targets {
				fmt.Fprintf(stdout, "%-4s %-9s %-52s want %-22s got %s\n", c.Status, r.Pass, c.Name, c.Want, c.Got)
			}
		}
		fmt.Fprintln(stdout)
	}
	enc := json.NewEncoder(stdout)
	for _, r := range reports {
		_ = enc.Encode(r)
		if r.Err != "" {
			failed = true
		}
		for _, c := range r.Targets {
			if c.Status == "MISS" {
				failed = true
			}
		}
	}
	if failed {
		return 1
	}
	return 0
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// app is the program as cmd/glint-github-app wires it.
type app struct {
	gh  *ghe.Client
	rec *reconciler.Reconciler
}

// wireApp builds the GHE client, the Glint client and the reconciler with
// internal/app's Wire, which cmd/glint-github-app calls too: the same
// transport settings, timeouts, user agent and reconciler options.
func wireApp(fc *fakesClient, logger *slog.Logger, teamsSync string) (*app, error) {
	u, err := url.Parse(fc.hs.GHEURL)
	if err != nil {
		return nil, fmt.Errorf("fake GHE url: %w", err)
	}
	w, err := wire.Wire(wire.Config{
		GHEBaseURL:      fc.hs.GHEURL,
		GHEHost:         strings.ToLower(u.Host),
		AppID:           fc.hs.AppID,
		PrivateKey:      []byte(fc.cr.PrivateKeyPEM),
		GlintURL:        fc.hs.GlintURL,
		GlintClientID:   fc.cr.GlintClientID,
		GlintSecret:     fc.cr.GlintClientSecret,
		Version:         version,
		DeleteThreshold: reconciler.DefaultDeleteThreshold,
		Policy:          reconciler.PolicySync,
		TeamsSync:       teamsSync,
	}, logger, prometheus.NewRegistry())
	if err != nil {
		return nil, fmt.Errorf("wire the app: %w", err)
	}
	return &app{gh: w.GHE, rec: w.Reconciler}, nil
}

// measurePass runs one pass and measures it.
func measurePass(ctx context.Context, bf benchFlags, a *app, fc *fakesClient, pass string) (passReport, error) {
	rep := passReport{Pass: pass, Repos: bf.e.Repos, Installations: bf.e.Installations,
		LatencyMS: float64(bf.e.Latency) / float64(time.Millisecond)}
	if err := fc.reset(); err != nil {
		return rep, err
	}
	rep.PeakRSSReset = resetPeakRSS()
	hs := startHeapSampler(pass == bf.memPass && bf.memProfile != "")
	ctx, cancel := context.WithTimeout(ctx, bf.timeout)
	defer cancel()
	start := time.Now()
	res, err := a.rec.RunOnce(ctx)
	rep.WallSeconds = time.Since(start).Seconds()
	rep.PeakHeapMiB = float64(hs.Stop()) / (1 << 20)
	if hs.capture {
		if err := os.WriteFile(bf.memProfile, hs.profile.Bytes(), 0o644); err != nil {
			return rep, fmt.Errorf("write heap profile: %w", err)
		}
	}
	rep.PeakRSSMiB = float64(procStatusKiB("VmHWM")) / 1024
	if err != nil {
		rep.Err = err.Error()
		if len(rep.Err) > 500 {
			rep.Err = rep.Err[:500] + "..."
		}
	}
	st, serr := fc.stats()
	if serr != nil {
		return rep, serr
	}
	rep.GHERest, rep.GHEGraphQL, rep.GHEPoints = st.GHERest, st.GHEGraphQL, st.GHEPoints
	rep.GlintReads, rep.GlintWrites = st.GlintReads, st.GlintWrites
	for _, n := range st.GlintByRoute {
		rep.GlintOther += n
	}
	rep.GlintOther -= rep.GlintReads + rep.GlintWrites
	rep.FakesPeakRSSMiB = float64(st.FakesPeakRSSKiB) / 1024
	if st.GHEInvalid > 0 || len(st.GHEUnimplement) > 0 {
		rep.Err = strings.TrimSpace(rep.Err + fmt.Sprintf(" fake GHE: %d invalid queries, unimplemented fields %v", st.GHEInvalid, st.GHEUnimplement))
	}
	if res != nil {
		rep.Created, rep.Updated, rep.Deleted = res.Created, res.Updated, res.Deleted
		rep.Problems = len(res.Problems)
		rep.WriteBound = writeBound(res)
	}
	rep.Targets = targets(bf.e, bf.teamsSync, rep, res)
	return rep, nil
}

// writeBound is the most bulk writes a pass may make: one call per
// repository and blueprint with changes (20 entities a call), plus one
// bulk delete per blueprint and 100 identifiers.
//
// Team entities (githubTeam, githubUser) count the same way, except that
// teams are written parents first: one call per depth of the team tree
// (the synthetic teams are all roots, depth 0).
func writeBound(res *reconciler.Result) int {
	n := changesBound(&res.Changes)
	if res.Teams != nil {
		n += changesBound(&res.Teams.Entities)
	}
	return n
}

func changesBound(ch *reconciler.Changes) int {
	groups := map[[2]string]int{}
	for _, c := range ch.Create {
		groups[[2]string{c.Blueprint, c.Datasource}]++
	}
	for _, c := range ch.Update {
		groups[[2]string{c.Blueprint, c.Datasource}]++
	}
	n := 0
	for _, k := range groups {
		n += (k + 19) / 20
	}
	deletes := map[string]int{}
	for _, c := range ch.Delete {
		deletes[c.Blueprint]++
	}
	for _, k := range deletes {
		n += (k + 99) / 100
	}
	return n
}

// teamQueries is the GraphQL requests team sync may make a pass: per
// organization ceil(teams/50), and as many again for every further 100
// members (see the README's Teams section).
func teamQueries(e enterprise, teamsSync string) int {
	if teamsSync == reconciler.TeamsOff {
		return 0
	}
	rounds := 1 + max(0, (e.TeamMembers-1)/100)
	n := 0
	for i := range e.Installations {
		t := e.Teams / e.Installations
		if i < e.Teams%e.Installations {
			t++
		}
		n += rounds * max(1, (t+49)/50)
	}
	return n
}

// targets checks rep against the targets of issue 6.
func targets(e enterprise, teamsSync string, rep passReport, res *reconciler.Result) []check {
	var out []check
	add := func(name, want, got string, ok bool, applies bool) {
		st := "PASS"
		switch {
		case !applies:
			st = "n/a"
		case !ok:
			st = "MISS"
		}
		out = append(out, check{Name: name, Want: want, Got: got, Status: st})
	}
	add("pass completes without errors", "no error", orDash(rep.Err), rep.Err == "", true)

	// GHE: no request per repository.
	perInst := (e.Repos + e.Installations - 1) / e.Installations
	restMax := e.Installations * (2 + (perInst+99)/100)
	gqlMax := 0
	for i := range e.Installations {
		n := e.Repos / e.Installations
		if i < e.Repos%e.Installations {
			n++
		}
		gqlMax += (n + 99) / 100
	}
	add("GHE REST requests <= inst x (2 + repos/inst/100)", fmt.Sprintf("<= %d", restMax), fmt.Sprint(rep.GHERest), rep.GHERest <= restMax, true)
	gqlMax += teamQueries(e, teamsSync)
	add("GHE GraphQL requests <= repos/100 (+ team pages)", fmt.Sprintf("<= %d", gqlMax), fmt.Sprint(rep.GHEGraphQL), rep.GHEGraphQL <= gqlMax, true)

	switch rep.Pass {
	case "unchanged":
		add("Glint writes", "0", fmt.Sprint(rep.GlintWrites), rep.GlintWrites == 0, true)
		// Owned entities (glint.yml and team sync) over Glint's search page
		// of 1000, plus one page per blueprint.
		readMax := 0
		if res != nil {
			owned := res.Owned
			if res.Teams != nil {
				owned += res.Teams.Entities.Owned
			}
			readMax = owned/1000 + benchBlueprints
		}
		add("Glint reads <= owned/1000 + 1 per blueprint", fmt.Sprintf("<= %d", readMax), fmt.Sprint(rep.GlintReads), rep.GlintReads <= readMax, res != nil)
		add("unchanged pass wall time (10,000 repos, 20 ms)", "< 10 s", fmt.Sprintf("%.2f s", rep.WallSeconds), rep.WallSeconds < 10, atDefaults(e))
	case "cold":
		add("Glint writes <= one bulk call per repo and blueprint", fmt.Sprintf("<= %d", rep.WriteBound), fmt.Sprint(rep.GlintWrites), rep.GlintWrites <= rep.WriteBound, res != nil)
		add("cold pass wall time (10,000 repos, 20 ms)", "< 30 s", fmt.Sprintf("%.2f s", rep.WallSeconds), rep.WallSeconds < 30, atDefaults(e))
	case "changed":
		add("Glint writes <= one bulk call per repo and blueprint", fmt.Sprintf("<= %d", rep.WriteBound), fmt.Sprint(rep.GlintWrites), rep.GlintWrites <= rep.WriteBound, res != nil)
	}
	rssMax, applies := 0.0, true
	switch {
	case e.Repos <= 10000:
		rssMax = 150
	case e.Repos <= 100000:
		rssMax = 500
	default:
		applies = false
	}
	add(fmt.Sprintf("peak RSS (%d repos)", e.Repos), fmt.Sprintf("< %.0f MiB", rssMax), fmt.Sprintf("%.1f MiB", rep.PeakRSSMiB), rep.PeakRSSMiB < rssMax, applies && rep.PeakRSSReset)
	return out
}

// atDefaults reports whether e is the shape the wall-time targets are set for.
func atDefaults(e enterprise) bool {
	return e.Repos == 10000 && e.Latency == 20*time.Millisecond && e.GlintLatency == 20*time.Millisecond
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

func writeTable(w io.Writer, reports []passReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "pass\twall s\tpeak RSS MiB\tpeak Go heap MiB\tGHE REST\tGraphQL\tpoints\tGlint reads\tGlint writes\tGlint other\tcreated\tupdated\tdeleted\t")
	for _, r := range reports {
		fmt.Fprintf(tw, "%s\t%.2f\t%.1f\t%.1f\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", r.Pass, r.WallSeconds, r.PeakRSSMiB, r.PeakHeapMiB,
			r.GHERest, r.GHEGraphQL, r.GHEPoints, r.GlintReads, r.GlintWrites, r.GlintOther, r.Created, r.Updated, r.Deleted)
	}
	tw.Flush()
	fmt.Fprintln(w, "Glint other: token and blueprint list. Peak RSS: VmHWM of the bench process, reset before each pass.")
}
