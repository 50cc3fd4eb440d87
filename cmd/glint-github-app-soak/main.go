package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program: 0 no violation, 1 violations, 2 bad usage or
// the soak could not start.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("glint-github-app-soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config{}
	fs.IntVar(&cfg.Passes, "passes", 300, "passes with random faults, before the clean passes")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the faults and of the changes between passes")
	fs.Float64Var(&cfg.FaultRate, "fault-rate", 0.15, "chance that one request to GHE or Glint fails")
	fs.IntVar(&cfg.FreshEvery, "fresh-every", 10, "every n-th pass starts from new clients, as `once` does (0: never)")
	short := fs.Bool("short", false, "the CI form: 40 passes")
	verbose := fs.Bool("v", false, "log the app's warnings to stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *short {
		cfg.Passes = 40
	}
	if cfg.Passes < 1 || cfg.FaultRate < 0 || cfg.FaultRate > 1 {
		fmt.Fprintln(stderr, "-passes must be positive and -fault-rate in [0, 1]")
		return 2
	}
	if *verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	cfg.Progress = stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := runSoak(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "soak: %v\n", err)
		return 2
	}
	printReport(stdout, cfg, rep)
	if len(rep.Violations) > 0 {
		return 1
	}
	return 0
}

// printReport writes the figures of a run.
func printReport(w io.Writer, cfg config, r *report) {
	total := func(m map[string]int) int {
		n := 0
		for _, v := range m {
			n += v
		}
		return n
	}
	fmt.Fprintf(w, "soak: seed %d, fault rate %g, %s\n", cfg.Seed, cfg.FaultRate, r.Elapsed.Round(1e6))
	fmt.Fprintf(w, "passes: %d (%d with faults, then 3 clean); %d failed, %d succeeded\n",
		r.Passes, cfg.Passes, r.FailedPasses, r.SuccessfulPass)
	fmt.Fprintf(w, "changes applied: %d created, %d updated, %d deleted; %d owned entities at the end\n",
		r.Created, r.Updated, r.Deleted, r.Entities)
	fmt.Fprintf(w, "GHE faults: %d seen by the client (%d injected by the fake)\n", total(r.GHEFaults), r.GHEFaultsServer)
	for _, k := range sortedKeys(r.GHEFaults) {
		fmt.Fprintf(w, "  %-20s %d\n", k, r.GHEFaults[k])
	}
	fmt.Fprintf(w, "Glint faults: %d\n", total(r.GlintFaults))
	for _, k := range sortedKeys(r.GlintFaults) {
		fmt.Fprintf(w, "  %-20s %d\n", k, r.GlintFaults[k])
	}
	fmt.Fprintf(w, "GHE changes between passes: %d\n", total(r.ModelChanges))
	for _, k := range sortedKeys(r.ModelChanges) {
		fmt.Fprintf(w, "  %-26s %d\n", k, r.ModelChanges[k])
	}
	fmt.Fprintf(w, "violations: %d\n", len(r.Violations))
	for _, v := range r.Violations {
		fmt.Fprintf(w, "  %s\n", v)
	}
}
