package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kozmoai/glint-github-app/ghe/ghetest"
	"github.com/kozmoai/glint-github-app/glint"
	"github.com/kozmoai/glint-github-app/glint/glinttest"
	"github.com/kozmoai/glint-github-app/reconciler"
)

const demoAppID = 4242

// runDemo starts a fake GHE and a fake Glint on loopback with a small sample
// organization, and serves against them: the first pass creates the sample
// entities, then the demo edits a glint.yml so the next pass shows an update.
func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("listen-port", envInt("GLINT", 8080), "port for /health and /metrics (env GLINT); 0 picks a free one")
	every := fs.Duration("every", 10*time.Second, "time between passes")
	passes := fs.Int("passes", 0, "stop after this many passes (0: run until Ctrl-C)")
	logLevel := fs.String("log-level", "warn", "log level of the app's own JSON logs on stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitBadConfig
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	key, pemKey, err := ghetest.GenerateKey()
	if err != nil {
		fmt.Fprintf(stderr, "demo: generate key: %v\n", err)
		return exitFailed
	}
	opts := ghetest.Options{AppID: demoAppID, PublicKey: &key.PublicKey}
	if path, err := ghetest.FindSchema(); err == nil {
		if opts.Schema, err = ghetest.LoadSchema(path); err != nil {
			fmt.Fprintf(stderr, "demo: load GitHub's GraphQL schema: %v\n", err)
			return exitFailed
		}
	} else {
		fmt.Fprintf(stdout, "note: GitHub's GraphQL schema is not here (run `make schema`); the fake GHE will not validate queries\n")
	}
	gh := ghetest.New(opts)
	defer gh.Close()
	secret := randomHex(16)
	gl := glinttest.New(glinttest.Options{ClientID: "demo-client", ClientSecret: secret})
	defer gl.Close()
	seedDemo(gh, gl)

	v := values{}
	for _, st := range settings() {
		v[st.env] = st.def
	}
	for k, val := range map[string]string{
		"APP_ID": strconv.Itoa(demoAppID), "PRIVATE_KEY": base64.StdEncoding.EncodeToString(pemKey),
		"GHE_URL": gh.URL(), "GLINT": strconv.Itoa(*port), "GLINT_URL": gl.URL(),
		"GLINT_CLIENT_ID": "demo-client", "GLINT_CLIENT_SECRET": secret,
		"SCHEDULE": "@every " + every.String(), "RUN_TIMEOUT": "2m", "SHUTDOWN_GRACE": "10s", "LOG_LEVEL": *logLevel,
	} {
		v[k] = val
	}
	cfg, err := loadConfig(v, true, true, readFileFunc)
	if err != nil {
		fmt.Fprintf(stderr, "demo: configuration: %v\n", err)
		return exitBadConfig
	}
	a, err := newApp(cfg, newLogger(stderr, cfg.LogLevel, cfg.LogFormat), prometheus.NewRegistry())
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return exitFailed
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil && *port != 0 {
		fmt.Fprintf(stdout, "port %d is taken; picking a free one\n", *port)
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		fmt.Fprintf(stderr, "demo: listen: %v\n", err)
		return exitFailed
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, `glint-github-app demo
  fake GitHub Enterprise: %s  (app %d, 2 installations, 6 repositories)
  fake Glint:             %s
  health:                 %s/health
  metrics:                %s/metrics
  a pass every %s; Ctrl-C stops

`, gh.URL(), demoAppID, gl.URL(), base, base, every)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	n := 0
	a.onPass = func(res *reconciler.Result, err error) {
		mu.Lock()
		defer mu.Unlock()
		n++
		fmt.Fprintf(stdout, "── pass %d at %s\n", n, time.Now().Format("15:04:05"))
		if res != nil {
			_ = writeResult(stdout, res)
		}
		if err != nil {
			fmt.Fprintf(stdout, "pass error: %v\n", err)
		}
		switch {
		case n == 1:
			gh.SetFile("acme/checkout", "glint.yml", demoCheckoutEdited())
			fmt.Fprintf(stdout, "\nedited acme/checkout/glint.yml in the fake GHE (tier: gold, on-call changed); the next pass updates service/checkout\n\n")
		case n == 2:
			fmt.Fprintf(stdout, "\nfrom here on nothing changes, so passes write nothing. Try: curl %s/metrics | grep glint_github_app_\n\n", base)
		}
		if *passes > 0 && n >= *passes {
			cancel()
		}
	}
	code := a.serveOn(runCtx, ln)
	if n > 0 {
		fmt.Fprintf(stdout, "demo stopped after %d passes; Glint holds %d services and %d systems\n", n, len(gl.Entities("service")), len(gl.Entities("system")))
	}
	return code
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

const demoCheckout = `# The checkout service: one entity.
identifier: checkout
blueprint: service
title: Checkout
team: payments
properties:
  language: Go
  tier: silver
  url: https://checkout.acme.example
  onCall: "@alice"
  readme: file://README.md
relations:
  system: shop
`

// demoCheckoutEdited is demoCheckout after the demo's edit.
func demoCheckoutEdited() string {
	return strings.NewReplacer("tier: silver", "tier: gold", `"@alice"`, `"@bob"`).Replace(demoCheckout)
}

// seedDemo builds the sample organization and the catalog's blueprints.
func seedDemo(gh *ghetest.Server, gl *glinttest.Server) {
	gl.AddBlueprint(glint.Blueprint{
		Identifier: "system", Title: "System",
		Schema: glint.Schema{Properties: map[string]glint.Property{"description": {Type: "string"}}},
	})
	gl.AddBlueprint(glint.Blueprint{
		Identifier: "service", Title: "Service",
		Schema: glint.Schema{Properties: map[string]glint.Property{
			"language": {Type: "string"},
			"tier":     {Type: "string", Enum: []any{"bronze", "silver", "gold"}},
			"url":      {Type: "string", Format: "url"},
			"onCall":   {Type: "string"},
			"readme":   {Type: "string"},
			"replicas": {Type: "number"},
		}},
		Relations: map[string]glint.Relation{"system": {Target: "system"}},
	})
	gl.AddBlueprint(glint.Blueprint{
		Identifier: "githubUser", Title: "GitHub User",
		Schema: glint.Schema{Properties: map[string]glint.Property{
			"login": {Type: "string"}, "name": {Type: "string"}, "email": {Type: "string", Format: "email"},
		}},
	})
	gl.AddBlueprint(glint.Blueprint{
		Identifier: "githubTeam", Title: "GitHub Team",
		Schema: glint.Schema{Properties: map[string]glint.Property{
			"slug": {Type: "string"}, "name": {Type: "string"}, "description": {Type: "string"},
			"link": {Type: "string", Format: "url"}, "privacy": {Type: "string", Enum: []any{"VISIBLE", "SECRET"}},
			"githubId": {Type: "number"},
		}},
		Relations: map[string]glint.Relation{
			"parentTeam": {Target: "githubTeam"},
			"members":    {Target: "githubUser", Many: true},
		},
	})
	gl.PutTeam(glint.Team{Name: "payments"}, "admin@acme.example (Glint UI)")
	gl.PutTeam(glint.Team{Name: "storefront"}, "admin@acme.example (Glint UI)")
	// A person's entity: a glint.yml naming it gets a conflict, never a takeover.
	gl.PutEntity("service", glint.Entity{Identifier: "billing", Title: ptr("Billing (hand-made)")}, "alice@acme.example (Glint UI)")

	acme := gh.AddInstallation("acme", "Organization")
	gh.AddRepo(acme, ghetest.Repo{Owner: "acme", Name: "checkout", Description: "Checkout service", DefaultBranch: "main",
		Topics: []string{"go", "payments"}, Files: map[string]string{
			"glint.yml": demoCheckout,
			"README.md": "# Checkout\nTakes the money.\n",
		}})
	gh.AddRepo(acme, ghetest.Repo{Owner: "acme", Name: "shop", DefaultBranch: "main", Files: map[string]string{
		"glint.yml": `- identifier: shop
  blueprint: system
  title: Shop
  properties:
    description: Everything a customer touches
- identifier: storefront
  blueprint: service
  title: Storefront
  team: storefront
  properties: {language: TypeScript, tier: gold, replicas: 3}
  relations: {system: shop}
`,
	}})
	gh.AddRepo(acme, ghetest.Repo{Owner: "acme", Name: "billing", DefaultBranch: "main", Files: map[string]string{
		"glint.yml": "identifier: billing\nblueprint: service\ntitle: Billing\n",
	}})
	gh.AddRepo(acme, ghetest.Repo{Owner: "acme", Name: "broken", DefaultBranch: "main", Files: map[string]string{
		"glint.yml": "identifier: broken\nblueprint: service\nproperties: [not, a, mapping]\n",
	}})
	gh.AddRepo(acme, ghetest.Repo{Owner: "acme", Name: "docs", DefaultBranch: "main", Files: map[string]string{
		"README.md": "no glint.yml here\n",
	}})
	gh.AddTeam(ghetest.Team{Org: "acme", Name: "Engineering", Description: "Everyone who ships"})
	gh.AddTeam(ghetest.Team{Org: "acme", Name: "Payments", Parent: "engineering"})
	gh.AddTeamMembers("acme", "payments",
		ghetest.TeamMember{Login: "alice", Name: "Alice Doe", Email: "alice@acme.example", Role: "MAINTAINER"},
		ghetest.TeamMember{Login: "bob", Name: "Bob Roe"})
	gh.AddTeamMembers("acme", "engineering", ghetest.TeamMember{Login: "carol", Name: "Carol Poe", Email: "carol@acme.example"})
	platform := gh.AddInstallation("platform", "Organization")
	gh.AddRepo(platform, ghetest.Repo{Owner: "platform", Name: "gateway", DefaultBranch: "main", Files: map[string]string{
		"glint.yaml": "identifier: gateway\nblueprint: service\ntitle: API gateway\nproperties:\n  language: Rust\n  replicas: 6\n",
	}})
}

func ptr[T any](v T) *T { return &v }
