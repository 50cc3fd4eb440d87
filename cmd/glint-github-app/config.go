package main

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/kozmoai/glint-github-app/reconciler"
)

// setting is one configuration value: a flag with an environment variable
// behind it. Secrets never show their value, not even in --help.
type setting struct {
	name   string // flag name
	env    string // environment variable
	def    string // default
	usage  string
	secret bool
}

// settings is the table of every configuration value, in --help order.
func settings() []setting {
	return []setting{
		{name: "app-id", env: "APP_ID", usage: "GitHub App id (the App's settings page)"},
		{name: "private-key", env: "PRIVATE_KEY", usage: "the App's private key: base64 of the PEM, or the PEM itself", secret: true},
		{name: "private-key-file", env: "PRIVATE_KEY_FILE", usage: "path of a PEM file with the App's private key (instead of PRIVATE_KEY)"},
		{name: "ghe-host", env: "GHE_HOST", usage: "GitHub Enterprise host[:port]: REST at https://HOST/api/v3, GraphQL at https://HOST/api/graphql"},
		{name: "ghe-url", env: "GHE_URL", usage: "full GitHub Enterprise base URL (overrides GHE_HOST), e.g. http://127.0.0.1:9000"},
		{name: "ghe-ca-file", env: "GHE_CA_FILE", usage: "PEM bundle of extra CA certificates trusted for GHE and Glint (added to the system roots)"},
		{name: "listen-port", env: "GLINT", def: "8080", usage: "port for /health and /metrics (the seed docs name it GLINT)"},
		{name: "glint-url", env: "GLINT_URL", def: "https://api.useglint.io", usage: "Glint API base URL"},
		{name: "glint-client-id", env: "GLINT_CLIENT_ID", usage: "Glint client id"},
		{name: "glint-client-secret", env: "GLINT_CLIENT_SECRET", usage: "Glint client secret", secret: true},
		{name: "webhook-secret", env: "WEBHOOK_SECRET", usage: "accepted for compatibility and ignored: this app takes no inbound webhooks", secret: true},
		{name: "schedule", env: "SCHEDULE", def: "@every 5m", usage: "cron schedule of passes for serve (5 fields or @every; CRON_TZ= prefix works)"},
		{name: "delete-threshold", env: "DELETE_THRESHOLD", def: "0.9", usage: "a pass that would delete more than this share (0..1] of the app's entities deletes nothing"},
		{name: "policy", env: "POLICY", def: "sync", usage: "sync (create, update, delete) or upsert-only (never delete)"},
		{name: "teams-sync", env: "TEAMS_SYNC", def: "entities", usage: "GitHub teams to Glint: entities (githubTeam/githubUser entities), glint-teams (Glint teams), both, or off"},
		{name: "run-timeout", env: "RUN_TIMEOUT", def: "30m", usage: "longest a pass may take before it is cancelled"},
		{name: "shutdown-grace", env: "SHUTDOWN_GRACE", def: "30s", usage: "on SIGTERM, how long a running pass may go on before it is cancelled"},
		{name: "health-max-age", env: "HEALTH_MAX_AGE", usage: "GET /health answers 503 when no pass succeeded for this long (default: 3 schedule intervals plus the run timeout)"},
		{name: "log-level", env: "LOG_LEVEL", def: "info", usage: "debug, info, warn or error"},
		{name: "log-format", env: "LOG_FORMAT", def: "json", usage: "json or text"},
	}
}

// Config is the validated configuration of the program.
type Config struct {
	AppID           int64
	PrivateKey      []byte `json:"-"` // raw value of PRIVATE_KEY or PRIVATE_KEY_FILE; never printed
	PrivateKeyFrom  string // which variable it came from, for errors
	GHEHost         string // host[:port], used in the ownership key
	GHEURL          string // base URL; empty: https://GHEHost
	CAFile          string
	ListenPort      int
	GlintURL        string
	GlintClientID   string
	GlintSecret     string `json:"-"`
	WebhookSecret   bool   // set, and ignored
	Schedule        string
	Sched           cron.Schedule // Schedule, parsed
	DeleteThreshold float64
	Policy          string
	TeamsSync       string // reconciler.TeamsEntities, TeamsGlint, TeamsBoth or TeamsOff
	RunTimeout      time.Duration
	ShutdownGrace   time.Duration
	HealthMaxAge    time.Duration
	LogLevel        slog.Level
	LogFormat       string
}

// configError is a bad configuration value: exit code 2.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

func badConfig(format string, args ...any) error {
	return &configError{fmt.Errorf(format, args...)}
}

// values is the raw string value of each setting after flags and environment.
type values map[string]string

// parseFlags registers the settings on fs, parses args and resolves each
// value: a flag wins, then the environment, then the default.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) (values, []string, error) {
	table := settings()
	raw := make(map[string]*string, len(table))
	for _, s := range table {
		def := s.def
		usage := fmt.Sprintf("%s (env %s)", s.usage, s.env)
		raw[s.name] = fs.String(s.name, def, usage)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	v := values{}
	for _, s := range table {
		switch {
		case set[s.name]:
			v[s.env] = *raw[s.name]
		case getenv(s.env) != "":
			v[s.env] = getenv(s.env)
		default:
			v[s.env] = s.def
		}
	}
	return v, fs.Args(), nil
}

// printUsage writes the settings table for --help. Defaults of secrets are
// never shown (they have none), and no value from the environment is shown.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Settings (flag, environment variable, default):\n")
	for _, s := range settings() {
		def := s.def
		if def == "" {
			def = "none"
		}
		fmt.Fprintf(w, "  -%-22s %-22s default %s\n      %s\n", s.name, s.env, def, s.usage)
	}
	_ = fs
}

// loadConfig turns raw values into a Config. Which values are required
// depends on what the subcommand talks to.
func loadConfig(v values, needGHE, needGlint bool, readFile func(string) ([]byte, error)) (*Config, error) {
	c := &Config{
		GHEURL:        strings.TrimRight(v["GHE_URL"], "/"),
		CAFile:        v["GHE_CA_FILE"],
		GlintURL:      strings.TrimRight(v["GLINT_URL"], "/"),
		GlintClientID: v["GLINT_CLIENT_ID"],
		GlintSecret:   v["GLINT_CLIENT_SECRET"],
		WebhookSecret: v["WEBHOOK_SECRET"] != "",
		Schedule:      strings.TrimSpace(v["SCHEDULE"]),
		Policy:        v["POLICY"],
		TeamsSync:     strings.ToLower(strings.TrimSpace(v["TEAMS_SYNC"])),
		LogFormat:     strings.ToLower(v["LOG_FORMAT"]),
	}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if s := v["APP_ID"]; s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			fail("APP_ID: must be a positive integer, got %s", shown(s))
		}
		c.AppID = id
	} else if needGHE {
		fail("APP_ID: required")
	}
	switch {
	case v["PRIVATE_KEY"] != "" && v["PRIVATE_KEY_FILE"] != "":
		fail("PRIVATE_KEY and PRIVATE_KEY_FILE: set only one")
	case v["PRIVATE_KEY"] != "":
		c.PrivateKey, c.PrivateKeyFrom = []byte(v["PRIVATE_KEY"]), "PRIVATE_KEY"
	case v["PRIVATE_KEY_FILE"] != "":
		b, err := readFile(v["PRIVATE_KEY_FILE"])
		if err != nil {
			// The path is not a secret; the content is never read into the error.
			fail("PRIVATE_KEY_FILE: cannot read %s: %w", v["PRIVATE_KEY_FILE"], errors.Unwrap(err))
		}
		c.PrivateKey, c.PrivateKeyFrom = b, "PRIVATE_KEY_FILE"
	case needGHE:
		fail("PRIVATE_KEY: required (or PRIVATE_KEY_FILE)")
	}

	host := strings.TrimSpace(v["GHE_HOST"])
	if c.GHEURL != "" {
		u, err := url.Parse(c.GHEURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fail("GHE_URL: must be an http(s) URL like https://ghe.example.com, got %s", shown(c.GHEURL))
		} else if host == "" {
			host = u.Host
		}
	}
	if host != "" {
		if strings.Contains(host, "/") || strings.Contains(host, "://") {
			fail("GHE_HOST: must be host[:port] without scheme or path, got %s", shown(host))
		} else if h, p, err := net.SplitHostPort(host); err == nil {
			if h == "" || p == "" {
				fail("GHE_HOST: must be host[:port], got %s", shown(host))
			}
		}
		c.GHEHost = strings.ToLower(host)
	} else if needGHE {
		fail("GHE_HOST: required (or GHE_URL)")
	}
	if c.CAFile != "" {
		b, err := readFile(c.CAFile)
		if err != nil {
			fail("GHE_CA_FILE: cannot read %s: %w", c.CAFile, errors.Unwrap(err))
		} else if !x509.NewCertPool().AppendCertsFromPEM(b) {
			fail("GHE_CA_FILE: %s holds no PEM certificate", c.CAFile)
		}
	}

	if p, err := strconv.Atoi(v["GLINT"]); err != nil || p < 0 || p > 65535 {
		fail("GLINT: the listen port must be a number from 0 to 65535, got %s", shown(v["GLINT"]))
	} else {
		c.ListenPort = p
	}
	if u, err := url.Parse(c.GlintURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fail("GLINT_URL: must be an http(s) URL, got %s", shown(c.GlintURL))
	}
	if needGlint {
		if c.GlintClientID == "" {
			fail("GLINT_CLIENT_ID: required")
		}
		if c.GlintSecret == "" {
			fail("GLINT_CLIENT_SECRET: required")
		}
	}

	sched, err := cron.ParseStandard(c.Schedule)
	if err != nil {
		fail("SCHEDULE: %s is not a cron schedule: %w", shown(c.Schedule), err)
	}
	c.Sched = sched
	if f, err := strconv.ParseFloat(v["DELETE_THRESHOLD"], 64); err != nil || f <= 0 || f > 1 {
		fail("DELETE_THRESHOLD: must be a number in (0, 1], got %s", shown(v["DELETE_THRESHOLD"]))
	} else {
		c.DeleteThreshold = f
	}
	if c.Policy != "sync" && c.Policy != "upsert-only" {
		fail("POLICY: must be sync or upsert-only, got %s", shown(c.Policy))
	}
	if !slices.Contains(reconciler.TeamsModes, c.TeamsSync) {
		fail("TEAMS_SYNC: must be one of %s, got %s", strings.Join(reconciler.TeamsModes, ", "), shown(c.TeamsSync))
	}
	c.RunTimeout = parseDuration(v["RUN_TIMEOUT"], "RUN_TIMEOUT", fail)
	c.ShutdownGrace = parseDuration(v["SHUTDOWN_GRACE"], "SHUTDOWN_GRACE", fail)
	if v["HEALTH_MAX_AGE"] != "" {
		c.HealthMaxAge = parseDuration(v["HEALTH_MAX_AGE"], "HEALTH_MAX_AGE", fail)
	} else if sched != nil {
		now := time.Now()
		next := sched.Next(now)
		interval := sched.Next(next).Sub(next)
		c.HealthMaxAge = 3*interval + c.RunTimeout
	}
	if err := c.LogLevel.UnmarshalText([]byte(v["LOG_LEVEL"])); err != nil {
		fail("LOG_LEVEL: must be debug, info, warn or error, got %s", shown(v["LOG_LEVEL"]))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		fail("LOG_FORMAT: must be json or text, got %s", shown(c.LogFormat))
	}
	if len(errs) > 0 {
		return nil, &configError{errors.Join(errs...)}
	}
	return c, nil
}

func parseDuration(s, name string, fail func(string, ...any)) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		fail("%s: must be a positive duration like 30s or 5m, got %s", name, shown(s))
	}
	return d
}

// shown quotes a bad value for an error message, unless it may be a
// secret pasted into the wrong variable: key material, or anything long.
func shown(s string) string {
	if len(s) > 64 || strings.Contains(s, "-----") || strings.Contains(s, "PRIVATE") || strings.Contains(s, "LS0tLS1") {
		return fmt.Sprintf("a value of %d characters (not shown)", len(s))
	}
	return strconv.Quote(s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// gheBaseURL is the GHE base URL: GHE_URL, or https://GHE_HOST.
func (c *Config) gheBaseURL() string {
	if c.GHEURL != "" {
		return c.GHEURL
	}
	return "https://" + c.GHEHost
}

// readFileFunc is os.ReadFile; a variable only in tests.
func readFileFunc(path string) ([]byte, error) { return os.ReadFile(path) }
