package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/kozmoai/glint-github-app/reconciler"
)

// sideBySide is one row of the comparison with Backstage.
type sideBySide struct {
	Run          string  `json:"run"`
	Tool         string  `json:"tool"`
	Work         string  `json:"work"`
	Repos        int     `json:"repos"`
	LatencyMS    float64 `json:"latencyMs"`
	WallSeconds  float64 `json:"wallSeconds"`
	ProcSeconds  float64 `json:"processSeconds,omitempty"`
	GHERest      int     `json:"gheRest"`
	GHEGraphQL   int     `json:"gheGraphQL"`
	GHEPoints    int     `json:"ghePoints"`
	PeakRSSMiB   float64 `json:"peakRssMiB"`
	Found        int     `json:"found"`
	ReadsContent bool    `json:"readsFileContents"`
	WritesGlint  bool    `json:"writesCatalog"`
	Err          string  `json:"error,omitempty"`
}

// backstageOutput is the JSON line bench/backstage/index.mjs prints.
type backstageOutput struct {
	Mode           string  `json:"mode"`
	Providers      int     `json:"providers"`
	PageSize       int     `json:"pageSize"`
	Entities       int     `json:"entities"`
	RefreshSeconds float64 `json:"refreshSeconds"`
	ProcessSeconds float64 `json:"processSeconds"`
	MaxRSSKiB      int     `json:"maxRssKiB"`
	Warnings       int     `json:"warnings"`
	Errors         int     `json:"errors"`
}

// runBackstage is the backstage subcommand: the same synthetic enterprise
// discovered by glint-github-app and by Backstage's GithubEntityProvider.
func runBackstage(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backstage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var e enterprise
	e.register(fs)
	node := fs.String("node", "node", "the node binary")
	dir := fs.String("dir", "bench/backstage", "the Backstage driver's directory (npm ci done)")
	modes := fs.String("modes", "app,orgs", "Backstage configurations to run: app (one provider for the App's installations, organizations read in turn) and orgs (one provider per organization, refreshed at once)")
	pageSize := fs.Int("page-size", 100, "Backstage's pageSizes.repositories (100 is its best setting)")
	logLevel := fs.String("log-level", "warn", "level of glint-github-app's logs on stderr")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up a run after this long")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := e.validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	script, err := filepath.Abs(filepath.Join(*dir, "index.mjs"))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if _, err := os.Stat(filepath.Join(*dir, "node_modules", "@backstage", "plugin-catalog-backend-module-github")); err != nil {
		fmt.Fprintf(stderr, "backstage: the driver's packages are not installed: run `npm ci` in %s (make bench-backstage does)\n", *dir)
		return 1
	}
	logger, err := newLogger(stderr, *logLevel)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	fmt.Fprintf(stdout, "side by side: %d repositories over %d organizations, each with a glint.yml; %s latency on every GHE request; %d CPUs\n",
		e.Repos, e.Installations, e.Latency, numCPU())
	fc, err := spawnFakes(e, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "backstage: %v\n", err)
		return 1
	}
	defer fc.close()
	run := time.Now().UTC().Format("20060102T150405Z")
	row := func(tool, work string) sideBySide {
		return sideBySide{Run: run, Tool: tool, Work: work, Repos: e.Repos, LatencyMS: float64(e.Latency) / float64(time.Millisecond)}
	}
	fill := func(r *sideBySide) error {
		st, err := fc.stats()
		if err != nil {
			return err
		}
		r.GHERest, r.GHEGraphQL, r.GHEPoints = st.GHERest, st.GHEGraphQL, st.GHEPoints
		if st.GHEInvalid > 0 || len(st.GHEUnimplement) > 0 {
			r.Err = strings.TrimSpace(r.Err + fmt.Sprintf(" fake GHE: %d invalid queries, unimplemented fields %v", st.GHEInvalid, st.GHEUnimplement))
		}
		return nil
	}
	var rows []sideBySide

	// 1. glint-github-app's discovery: the GHE snapshot (every repository,
	// its metadata and its glint.yml, read and parsed), with a fresh client.
	{
		a, err := wireApp(fc, logger, reconciler.TeamsOff)
		if err != nil {
			fmt.Fprintf(stderr, "backstage: %v\n", err)
			return 1
		}
		r := row("glint-github-app", "discovery: list repositories, read and parse every glint.yml")
		r.ReadsContent = true
		if err := fc.reset(); err != nil {
			fmt.Fprintf(stderr, "backstage: %v\n", err)
			return 1
		}
		resetPeakRSS()
		start := time.Now()
		snap, err := a.gh.Snapshot(ctx)
		r.WallSeconds = time.Since(start).Seconds()
		r.PeakRSSMiB = float64(procStatusKiB("VmHWM")) / 1024
		if err != nil {
			r.Err = err.Error()
		} else {
			for _, ir := range snap.Installations {
				for _, rr := range ir.Repos {
					if len(rr.Specs) > 0 {
						r.Found++
					}
				}
			}
		}
		if err := fill(&r); err != nil {
			fmt.Fprintf(stderr, "backstage: %v\n", err)
			return 1
		}
		rows = append(rows, r)
		fmt.Fprintf(stdout, "glint-github-app discovery done in %.2fs\n", r.WallSeconds)
	}
	// 2. glint-github-app's whole cold pass (discovery, plan, and the
	// writes to Glint), with another fresh client.
	{
		a, err := wireApp(fc, logger, reconciler.TeamsOff)
		if err != nil {
			fmt.Fprintf(stderr, "backstage: %v\n", err)
			return 1
		}
		r := row("glint-github-app", "cold pass: discovery + plan + write every entity to Glint (team sync off)")
		r.ReadsContent, r.WritesGlint = true, true
		if err := fc.reset(); err != nil {
			fmt.Fprintf(stderr, "backstage: %v\n", err)
			return 1
		}
		resetPeakRSS()
		start := time.Now()
		res, err := a.rec.RunOnce(ctx)
		r.WallSeconds = time.Since(start).Seconds()
		r.PeakRSSMiB = float64(procStatusKiB("VmHWM")) / 1024
		if err != nil {
			r.Err = err.Error()
		}
		if res != nil {
			r.Found = res.Created + res.Updated
		}
		if err := fill(&r); err != nil {
			fmt.Fprintf(stderr, "backstage: %v\n", err)
			return 1
		}
		rows = append(rows, r)
		fmt.Fprintf(stdout, "glint-github-app cold pass done in %.2fs\n", r.WallSeconds)
	}
	// 3. Backstage, in each configuration.
	for _, mode := range strings.Split(*modes, ",") {
		mode = strings.TrimSpace(mode)
		if mode == "" {
			continue
		}
		work := "discovery: one provider for the App (organizations in turn), file presence only"
		if mode == "orgs" {
			work = fmt.Sprintf("discovery: %d providers, one per organization, at once; file presence only", e.Installations)
		}
		r := row("backstage "+mode, work)
		if err := fc.reset(); err != nil {
			fmt.Fprintf(stderr, "backstage: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "running Backstage's GithubEntityProvider (%s) ...\n", mode)
		out, wall, maxRSS, err := runNode(ctx, *node, script, fc, mode, *pageSize, stderr)
		r.ProcSeconds = wall.Seconds()
		r.PeakRSSMiB = float64(maxRSS) / 1024
		if err != nil {
			r.Err = err.Error()
		} else {
			r.WallSeconds = out.RefreshSeconds
			r.Found = out.Entities
			if out.Errors > 0 {
				r.Err = fmt.Sprintf("%d errors logged", out.Errors)
			}
		}
		if err := fill(&r); err != nil {
			fmt.Fprintf(stderr, "backstage: %v\n", err)
			return 1
		}
		rows = append(rows, r)
		fmt.Fprintf(stdout, "backstage %s done in %.2fs (process %.2fs)\n", mode, r.WallSeconds, r.ProcSeconds)
	}

	fmt.Fprintln(stdout)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "tool\twall s\tGHE REST\tGraphQL\tpoints\tpeak RSS MiB\tfound\twork")
	for _, r := range rows {
		found := strconv.Itoa(r.Found)
		if r.Err != "" {
			found += " (error: " + orDash(r.Err) + ")"
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%d\t%d\t%d\t%.1f\t%s\t%s\n", r.Tool, r.WallSeconds, r.GHERest, r.GHEGraphQL, r.GHEPoints, r.PeakRSSMiB, found, r.Work)
	}
	tw.Flush()
	fmt.Fprintln(stdout)
	failed := false
	disc, cold := rows[0], rows[1]
	for _, r := range rows[2:] {
		if r.Err != "" || disc.Err != "" || disc.WallSeconds == 0 {
			fmt.Fprintf(stdout, "MISS %s: no ratio (an error above)\n", r.Tool)
			failed = true
			continue
		}
		ratio := r.WallSeconds / disc.WallSeconds
		st := "PASS"
		if ratio < 20 {
			st = "MISS"
			failed = true
		}
		fmt.Fprintf(stdout, "%s %s takes %.1fx the wall time of glint-github-app's discovery (target: at least 20x); %.1fx its whole cold pass; %.1fx its GHE requests; %.1fx its peak RSS\n",
			st, r.Tool, ratio, r.WallSeconds/cold.WallSeconds,
			float64(r.GHERest+r.GHEGraphQL)/float64(max(1, disc.GHERest+disc.GHEGraphQL)), r.PeakRSSMiB/max(disc.PeakRSSMiB, 0.001))
	}
	fmt.Fprintf(stdout, `
What the rows do:
- Backstage's GithubEntityProvider (refresh(), page size %d) only discovers: it lists every repository of
  each organization over GraphQL and notes whether glint.yml exists; it pauses one second between pages,
  and Octokit's throttling starts at most one GraphQL request a second per process.
  It does not parse the files nor write to a catalog: its catalog re-reads every file over REST later,
  which is not counted here.
- glint-github-app's discovery lists repositories over REST, reads their metadata and glint.yml in
  GraphQL pages of 100 and parses every file. Its cold pass also reads Glint, plans and writes every
  entity (one bulk call per repository).
- Wall time: Backstage's is refresh() alone (node start-up and module loading excluded; the process
  time is in the JSON line); glint-github-app's is the call alone. Peak RSS: VmHWM of the Go process
  (reset before each run) and the node process's maximum RSS (rusage), fakes excluded (child process).
`, *pageSize)
	enc := json.NewEncoder(stdout)
	for _, r := range rows {
		_ = enc.Encode(r)
	}
	if failed {
		return 1
	}
	return 0
}

// runNode runs the Backstage driver once and returns its JSON line, the
// process's wall time and its peak RSS in KiB.
func runNode(ctx context.Context, node, script string, fc *fakesClient, mode string, pageSize int, stderr io.Writer) (backstageOutput, time.Duration, int64, error) {
	var out backstageOutput
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = filepath.Dir(script)
	cmd.Env = append(os.Environ(),
		"GHE_URL="+fc.hs.GHEURL,
		"APP_ID="+strconv.FormatInt(fc.hs.AppID, 10),
		"CREDENTIALS_FILE="+fc.hs.CredentialsFile,
		"ORGS="+strings.Join(fc.hs.Orgs, ","),
		"MODE="+mode,
		"PAGE_SIZE="+strconv.Itoa(pageSize),
	)
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var maxRSS int64
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			maxRSS = ru.Maxrss // KiB on Linux
		}
	}
	if err != nil {
		return out, wall, maxRSS, fmt.Errorf("node %s: %w", filepath.Base(script), err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
		return out, wall, maxRSS, fmt.Errorf("node %s: decode its output %q: %w", filepath.Base(script), buf.String(), err)
	}
	return out, wall, maxRSS, nil
}
