// Command glint-github-app keeps a Glint software catalog in step with a
// GitHub Enterprise server, by polling: no inbound webhooks.
//
// Subcommands: serve (the default), once, plan, validate, demo, version.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/robfig/cron/v3"

	"github.com/kozmoai/glint-github-app/ghe"
	wire "github.com/kozmoai/glint-github-app/internal/app"
	"github.com/kozmoai/glint-github-app/reconciler"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes of once and plan.
const (
	exitOK        = 0
	exitFailed    = 1
	exitBadConfig = 2
)

func main() {
	wire.TuneGC(os.Getenv)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

const usageHead = `glint-github-app keeps a Glint catalog in step with GitHub Enterprise, by polling.

Usage:
  glint-github-app [serve] [flags]     passes on SCHEDULE, with /health and /metrics on port GLINT
  glint-github-app once [flags]        one pass, then exit: 0 done, 1 failed, 2 bad configuration
  glint-github-app plan [flags]        print what a pass would change; writes nothing (--output json)
  glint-github-app validate FILE...    check glint.yml files offline
  glint-github-app demo                a fake GHE and Glint on loopback, and serve against them
  glint-github-app version

`

// run is the whole program; only it decides the exit code.
func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve", "once", "plan":
		return runMain(cmd, args, stdout, stderr, getenv)
	case "validate":
		return runValidate(args, stdout, stderr)
	case "demo":
		return runDemo(args, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "glint-github-app %s %s\n", version, runtime.Version())
		return exitOK
	case "help":
		fmt.Fprint(stdout, usageHead)
		printUsage(stdout, nil)
		return exitOK
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usageHead)
	return exitBadConfig
}

func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// runMain runs serve, once or plan.
func runMain(cmd string, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	output := "text"
	if cmd == "plan" {
		fs.StringVar(&output, "output", "text", "plan output: text or json")
	}
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		printUsage(stderr, fs)
		if cmd == "plan" {
			fmt.Fprintf(stderr, "  -output                 text or json\n")
		}
	}
	v, rest, err := parseFlags(fs, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitBadConfig
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "%s takes no arguments, got %q\n", cmd, rest)
		return exitBadConfig
	}
	if output != "text" && output != "json" {
		fmt.Fprintf(stderr, "--output: must be text or json, got %q\n", output)
		return exitBadConfig
	}
	cfg, err := loadConfig(v, true, true, readFileFunc)
	if err != nil {
		fmt.Fprintf(stderr, "configuration: %v\n", err)
		return exitBadConfig
	}
	logger := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	if cfg.WebhookSecret {
		logger.Info("WEBHOOK_SECRET is set and ignored: this app polls and takes no inbound webhooks")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	reg := prometheus.NewRegistry()
	a, err := newApp(cfg, logger, reg)
	if err != nil {
		var ce *configError
		if errors.As(err, &ce) {
			fmt.Fprintf(stderr, "configuration: %v\n", err)
			return exitBadConfig
		}
		logger.Error("start-up failed", "err", err)
		return exitFailed
	}
	switch cmd {
	case "once":
		if err := a.pass(ctx); err != nil {
			return exitFailed
		}
		return exitOK
	case "plan":
		return a.plan(ctx, stdout, output)
	}
	return a.serve(ctx)
}

// app is the wired program: clients, reconciler, health and metrics.
type app struct {
	cfg    *Config
	logger *slog.Logger
	reg    *prometheus.Registry
	rec    *reconciler.Reconciler
	health *health
	// onPass, when set, sees every finished pass (the demo prints it).
	onPass func(*reconciler.Result, error)
}

// newApp builds the clients and the reconciler from cfg.
func newApp(cfg *Config, logger *slog.Logger, reg *prometheus.Registry) (*app, error) {
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "glint_github_app_build_info",
		Help: "Build information; always 1.",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	reg.MustRegister(buildInfo)

	key, err := ghe.ParsePrivateKey(cfg.PrivateKey)
	if err != nil {
		return nil, badConfig("%s: %w", cfg.PrivateKeyFrom, err)
	}
	w, err := wire.Wire(wire.Config{
		GHEBaseURL:      cfg.gheBaseURL(),
		GHEHost:         cfg.GHEHost,
		AppID:           cfg.AppID,
		PrivateKey:      key,
		CAFile:          cfg.CAFile,
		GlintURL:        cfg.GlintURL,
		GlintClientID:   cfg.GlintClientID,
		GlintSecret:     cfg.GlintSecret,
		Version:         version,
		DeleteThreshold: cfg.DeleteThreshold,
		Policy:          cfg.Policy,
		TeamsSync:       cfg.TeamsSync,
	}, logger, reg)
	if err != nil {
		return nil, &configError{err}
	}
	rec := w.Reconciler
	return &app{cfg: cfg, logger: logger, reg: reg, rec: rec, health: newHealth(cfg.HealthMaxAge, time.Now)}, nil
}

// pass runs one reconcile pass within RUN_TIMEOUT and records its outcome.
func (a *app) pass(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.RunTimeout)
	defer cancel()
	a.health.attempt()
	res, err := a.rec.RunOnce(ctx)
	summary := ""
	if res != nil {
		summary = passSummary(res)
	}
	a.health.finish(summary, err)
	if a.onPass != nil {
		a.onPass(res, err)
	}
	if err != nil {
		a.logger.Error("pass failed", "err", err)
	}
	return err
}

// plan prints the changes a pass would make.
func (a *app) plan(ctx context.Context, w io.Writer, output string) int {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.RunTimeout)
	defer cancel()
	res, err := a.rec.Plan(ctx)
	if err != nil {
		a.logger.Error("plan failed", "err", err)
		return exitFailed
	}
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return exitFailed
		}
		return exitOK
	}
	if err := writeResult(w, res); err != nil {
		return exitFailed
	}
	return exitOK
}

// serve runs passes on the schedule, with /health and /metrics, until ctx
// ends; then it stops taking passes, lets a running one finish within
// SHUTDOWN_GRACE (or cancels it) and returns 0.
func (a *app) serve(ctx context.Context) int {
	ln, err := net.Listen("tcp", listenAddr(a.cfg.ListenPort))
	if err != nil {
		a.logger.Error("listen", "port", a.cfg.ListenPort, "err", err)
		return exitFailed
	}
	return a.serveOn(ctx, ln)
}

// serveOn is serve on a listener the caller opened.
func (a *app) serveOn(ctx context.Context, ln net.Listener) int {
	srv := newServer(ln.Addr().String(), a.health, a.reg)
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	a.logger.Info("serving", "addr", ln.Addr().String(), "schedule", a.cfg.Schedule, "version", version)

	code := a.schedule(ctx, srvErr)

	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		a.logger.Warn("http shutdown", "err", err)
	}
	return code
}

// schedule runs the cron loop until ctx ends or the HTTP server fails.
func (a *app) schedule(ctx context.Context, srvErr <-chan error) int {
	cl := cronLogger{a.logger}
	// Passes get their own context: a signal stops scheduling at once, but
	// a running pass is cancelled only when the grace period runs out.
	passCtx, cancelPasses := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelPasses()
	// passMu is held while a pass runs; stopping keeps a late pass from starting.
	var passMu sync.Mutex
	var stopping atomic.Bool
	job := cron.NewChain(cron.SkipIfStillRunning(cl), cron.Recover(cl)).Then(cron.FuncJob(func() {
		if stopping.Load() {
			return
		}
		passMu.Lock()
		defer passMu.Unlock()
		if stopping.Load() {
			return
		}
		_ = a.pass(passCtx)
	}))
	c := cron.New(cron.WithLogger(cl))
	c.Schedule(a.cfg.Sched, job)
	c.Start()
	go job.Run() // the first pass, at start

	code := exitOK
	select {
	case <-ctx.Done():
		a.logger.Info("shutting down: no new passes", "grace", a.cfg.ShutdownGrace.String())
	case err := <-srvErr:
		a.logger.Error("http server failed", "err", err)
		code = exitFailed
	}
	stopping.Store(true)
	c.Stop()
	done := make(chan struct{})
	go func() {
		passMu.Lock() // waits for the running pass, if any
		passMu.Unlock()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(a.cfg.ShutdownGrace):
		a.logger.Warn("grace period over: cancelling the running pass")
		cancelPasses()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			a.logger.Error("pass did not stop after cancel")
		}
	}
	return code
}

// passSummary is one line about a pass, for /health.
func passSummary(r *reconciler.Result) string {
	return fmt.Sprintf("%d repositories read (%d failed, %d invalid), %d desired, %d created, %d updated, %d deleted, %d conflicts, %d write errors in %s",
		r.Repositories, r.RepositoriesFailed, r.RepositoriesInvalid, r.Desired, r.Created, r.Updated, r.Deleted, r.Conflicts, r.WriteErrors,
		r.Duration.Round(time.Millisecond))
}

// writeResult prints a pass for a person: one line a change, then the
// problems by repository and the notices.
func writeResult(w io.Writer, r *reconciler.Result) error {
	if _, err := r.Changes.WriteTo(w); err != nil {
		return err
	}
	if r.Teams != nil {
		if _, err := r.Teams.WriteTo(w); err != nil {
			return err
		}
	}
	for _, p := range r.Problems {
		where := p.Repo
		if p.File != "" && !strings.HasPrefix(p.Message, p.File+":") {
			where += ": " + p.File
		}
		if _, err := fmt.Fprintf(w, "! %s: %s\n", where, p.Message); err != nil {
			return err
		}
	}
	for _, n := range r.Notices {
		if _, err := fmt.Fprintf(w, "notice: %s\n", n); err != nil {
			return err
		}
	}
	return nil
}

// cronLogger adapts slog to cron.Logger.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
