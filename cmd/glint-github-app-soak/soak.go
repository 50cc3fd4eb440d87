package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kozmoai/glint-github-app/ghe"
	"github.com/kozmoai/glint-github-app/ghe/ghetest"
	"github.com/kozmoai/glint-github-app/glint"
	"github.com/kozmoai/glint-github-app/glint/glinttest"
	"github.com/kozmoai/glint-github-app/reconciler"
)

// config is what one soak run does.
type config struct {
	Passes    int     // passes with faults, before the clean passes
	Seed      uint64  // seeds faults and changes
	FaultRate float64 // chance that one request fails, on each side
	// FreshEvery makes every n-th pass use new clients, as `once` does
	// (no token or parse cache); 0 never.
	FreshEvery int
	Logger     *slog.Logger
	Progress   io.Writer // one line every few passes; nil for none
}

// report is the outcome of a soak run.
type report struct {
	Passes          int // passes run, the clean ones included
	FailedPasses    int // passes that returned an error
	SuccessfulPass  int // passes that returned no error
	GHEFaults       map[string]int
	GHEFaultsServer int // faults the fake GHE says it injected
	GlintFaults     map[string]int
	ModelChanges    map[string]int
	Created         int
	Updated         int
	Deleted         int
	Entities        int // owned entities at the end
	Violations      []string
	Elapsed         time.Duration
}

// The GHE fault kinds the soak injects: every failure ghetest knows.
var gheKinds = []ghetest.FaultKind{
	ghetest.Status500, ghetest.Status502HTML, ghetest.Timeout, ghetest.ConnReset,
	ghetest.SecondaryRateLimit, ghetest.PrimaryRateLimit, ghetest.Status429,
	ghetest.GraphQLRateLimited, ghetest.HTMLMaintenance, ghetest.TruncatedJSON,
	ghetest.EmptyBody, ghetest.PartialData, ghetest.GraphQLTimeout,
}

// The Glint fault kinds: 5xx, timeouts, 429, expired tokens, 207.
var glintKinds = []glinttest.Kind{
	glinttest.Status500, glinttest.Status503, glinttest.Timeout, glinttest.Status429,
	glinttest.Status401, glinttest.Partial207,
}

const (
	appID        = 7070
	clientID     = "soak-client"
	clientSecret = "soak-secret-not-a-real-one"
	version      = "soak"
)

// world is the fakes, the model and the app's clients.
type world struct {
	cfg    config
	gh     *ghetest.Server
	gl     *glinttest.Server
	pemKey []byte
	host   string
	model  *model
	obs    *observer
	rec    *reconciler.Reconciler
	check  *checker
}

// runSoak runs a soak as cfg says.
func runSoak(ctx context.Context, cfg config) (*report, error) {
	start := time.Now()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	path, err := ghetest.FindSchema()
	if err != nil {
		return nil, fmt.Errorf("find github's graphql schema (run `make schema`): %w", err)
	}
	schema, err := ghetest.LoadSchema(path)
	if err != nil {
		return nil, fmt.Errorf("load github's graphql schema: %w", err)
	}
	appKey, pemKey, err := ghetest.GenerateKey()
	if err != nil {
		return nil, err
	}
	gh := ghetest.New(ghetest.Options{Schema: schema, AppID: appID, PublicKey: &appKey.PublicKey})
	defer gh.Close()
	gl := glinttest.New(glinttest.Options{ClientID: clientID, ClientSecret: clientSecret})
	defer gl.Close()

	rng := rand.New(rand.NewPCG(cfg.Seed, 0x50a4))
	w := &world{
		cfg: cfg, gh: gh, gl: gl, pemKey: pemKey,
		host: strings.TrimPrefix(gh.URL(), "http://"),
		obs:  &observer{next: http.DefaultTransport.(*http.Transport).Clone(), counts: map[string]int{}},
	}
	seeds := w.seedGlint()
	w.model = newModel(gh, rng, []string{"billing", "legacy-1", "staging-1", "exported-1"})
	for range 3 {
		w.model.addInstallation(5)
	}
	w.check = &checker{
		o:          oracle{appID: appID, host: w.host, version: version, foreign: map[string]bool{}},
		blueprints: []string{"service", "system"},
		seeds:      map[string][]byte{},
	}
	for _, s := range seeds {
		e, _ := gl.Entity(s[0], s[1])
		b, _ := json.Marshal(e)
		w.check.seeds[key(s[0], s[1])] = b
		if s[0] == blueprint {
			w.check.o.foreign[s[1]] = true
		}
	}
	if err := w.newClients(); err != nil {
		return nil, err
	}

	rep := &report{}
	gh.SetRandomFaults(&ghetest.RandomFaults{
		Rand: rand.New(rand.NewPCG(cfg.Seed, 0x6e)), Probability: cfg.FaultRate, Kinds: gheKinds,
		RetryAfter: time.Millisecond,
	})
	gl.SetRandomFaults(&glinttest.RandomFaults{
		Rand: rand.New(rand.NewPCG(cfg.Seed, 0x91)), Probability: cfg.FaultRate, Kinds: glintKinds,
		RetryAfter: time.Millisecond,
	})
	for i := 1; i <= cfg.Passes; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if cfg.FreshEvery > 0 && i%cfg.FreshEvery == 0 {
			if err := w.newClients(); err != nil {
				return nil, err
			}
		}
		w.pass(ctx, i, rep)
		w.model.mutate()
		if cfg.Progress != nil && i%25 == 0 {
			fmt.Fprintf(cfg.Progress, "pass %d/%d: %d failed so far, %d violations\n", i, cfg.Passes, rep.FailedPasses, len(w.check.violations))
		}
	}
	rep.GHEFaults = w.obs.snapshot()
	rep.GHEFaultsServer = gh.Stats().Faults
	rep.GlintFaults = map[string]int{}
	for k, n := range gl.RandomFaultCounts() {
		rep.GlintFaults[k.String()] = n
	}

	// The faults stop and every file is repaired: one clean pass converges
	// exactly, and the next writes nothing, with the same clients and with
	// new ones.
	gh.SetRandomFaults(nil)
	gl.SetRandomFaults(nil)
	w.model.fixAll()
	n := cfg.Passes + 1
	if res, err := w.pass(ctx, n, rep); err != nil {
		w.check.violate(n, "the clean pass failed: %v", err)
	} else if res.Changes.Threshold != nil {
		w.check.violate(n, "the clean pass withheld deletions: %s", res.Changes.Threshold)
	}
	for _, fresh := range []bool{false, true} {
		n++
		if fresh {
			if err := w.newClients(); err != nil {
				return nil, err
			}
		}
		gl.ResetStats()
		res, err := w.pass(ctx, n, rep)
		switch {
		case err != nil:
			w.check.violate(n, "a pass after convergence failed: %v", err)
		case res.Created+res.Updated+res.Deleted != 0 || gl.Stats().Writes != 0:
			w.check.violate(n, "a pass after convergence wrote: %d created, %d updated, %d deleted, %d write calls",
				res.Created, res.Updated, res.Deleted, gl.Stats().Writes)
		}
	}
	for _, q := range gh.InvalidQueries() {
		w.check.violations = append(w.check.violations, "GitHub would refuse a query the app sent:\n"+q)
	}
	for _, f := range gh.UnimplementedFields() {
		w.check.violations = append(w.check.violations, "the app asked for a field the fake does not implement: "+f)
	}
	after := w.glintState()
	for _, e := range after {
		if w.check.o.owned(e.Datasource) {
			rep.Entities++
		}
	}
	rep.ModelChanges = w.model.changes
	rep.Violations = w.check.violations
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// seedGlint adds the blueprints, entities of other writers (some of them
// declared in glint.yml files too), and an entity the app owns from a
// repository that no longer exists. It returns the other writers'
// entities as blueprint, identifier pairs.
func (w *world) seedGlint() [][2]string {
	w.gl.AddBlueprint(glint.Blueprint{
		Identifier: "service", Title: "Service",
		Schema: glint.Schema{Properties: map[string]glint.Property{
			"tier":   {Type: "string", Enum: []any{"bronze", "silver", "gold"}},
			"n":      {Type: "number"},
			"readme": {Type: "string"},
			"owner":  {Type: "string"},
		}},
	})
	w.gl.AddBlueprint(glint.Blueprint{
		Identifier: "system", Title: "System",
		Schema: glint.Schema{Properties: map[string]glint.Property{"description": {Type: "string"}}},
	})
	title := func(s string) *string { return &s }
	foreign := []struct {
		bp, id, ds string
	}{
		{"service", "billing", "alice@acme.example (Glint UI)"},
		{"service", "legacy-1", "glint-github-app/0.9.0 (app/999@ghe.other.example; installation/5; repo/old/legacy; gitops)"},
		{"service", "staging-1", fmt.Sprintf("glint-github-app/1.0.0 (app/%d@staging.ghe.example; installation/1; repo/acme/x; gitops)", appID)},
		{"service", "exported-1", fmt.Sprintf("glint-github-app/1.0.0 (app/%d@%s; installation/1; repo/acme/x; exporter)", appID, w.host)},
		{"service", "hand-made", ""},
		{"system", "shop", "bob@acme.example (Glint UI)"},
	}
	var out [][2]string
	for _, f := range foreign {
		w.gl.PutEntity(f.bp, glint.Entity{
			Identifier: f.id, Title: title("Kept as is: " + f.id),
			Properties: map[string]any{"owner": "someone else", "n": 42},
		}, f.ds)
		out = append(out, [2]string{f.bp, f.id})
	}
	// Owned, from a repository that is gone from a complete listing: the
	// first clean pass may delete it.
	w.gl.PutEntity("service", glint.Entity{Identifier: "ghost-1", Title: title("Ghost")},
		fmt.Sprintf("glint-github-app/0.1.0 (app/%d@%s; installation/1; repo/gone/ghost; gitops)", appID, w.host))
	return out
}

// newClients wires new clients and a new reconciler, as a new process would.
func (w *world) newClients() error {
	gc, err := ghe.New(ghe.Options{
		APIURL: w.gh.APIURL(), GraphQLURL: w.gh.GraphQLURL(), AppID: appID, PrivateKey: w.pemKey,
		Transport: w.obs, Timeout: time.Second, MaxRetries: 3,
		RetryBaseDelay: 2 * time.Millisecond, RetryMaxDelay: 20 * time.Millisecond,
		Logger: w.cfg.Logger.With("component", "ghe"),
	})
	if err != nil {
		return err
	}
	cat, err := glint.New(w.gl.URL(), clientID, clientSecret,
		glint.WithHTTPClient(&http.Client{Timeout: time.Second}),
		glint.WithRetry(3, 2*time.Millisecond, 20*time.Millisecond),
		glint.WithLogger(w.cfg.Logger.With("component", "glint")),
		glint.WithUserAgent("glint-github-app/"+version),
	)
	if err != nil {
		return err
	}
	w.rec = reconciler.New(gc, cat, reconciler.Options{
		AppID: appID, GHEHost: w.host, Version: version,
		Merge: true, CreateMissingRelatedEntities: true,
	}, w.cfg.Logger, prometheus.NewRegistry())
	return nil
}

// glintState returns every entity of every blueprint.
func (w *world) glintState() state {
	st := state{}
	for _, bp := range w.check.blueprints {
		for _, e := range w.gl.Entities(bp) {
			st[key(bp, e.Identifier)] = e
		}
	}
	return st
}

// pass runs one pass and checks it.
func (w *world) pass(ctx context.Context, n int, rep *report) (*reconciler.Result, error) {
	before := w.glintState()
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	res, err := w.rec.RunOnce(pctx)
	cancel()
	after := w.glintState()
	rep.Passes++
	if err != nil {
		rep.FailedPasses++
	} else {
		rep.SuccessfulPass++
	}
	if res == nil {
		w.check.violate(n, "RunOnce returned no result (error %v)", err)
		return nil, err
	}
	rep.Created += res.Created
	rep.Updated += res.Updated
	rep.Deleted += res.Deleted
	w.check.checkPass(n, w.model, before, after, err == nil && res.Changes.Threshold == nil, func(id string) string {
		for _, b := range res.Changes.Blocked {
			if b.Identifier == id {
				return "the app kept it: " + b.Reason
			}
		}
		for _, c := range res.Changes.Conflicts {
			if c.Identifier == id {
				return "the app saw a conflict: " + c.Message
			}
		}
		for _, d := range append(res.Changes.Create, res.Changes.Update...) {
			if d.Identifier == id {
				return fmt.Sprintf("the app planned to write it: %+v (pass started %s)", *d.Entity, res.Started)
			}
		}
		for _, d := range res.Changes.Delete {
			if d.Identifier == id {
				return fmt.Sprintf("the app planned to delete it and reported %d deleted, %d write errors, problems %v", res.Deleted, res.WriteErrors, res.Problems)
			}
		}
		return fmt.Sprintf("the app planned nothing for it (owned %d, desired %d, blocked %d, withheld %d)", res.Owned, res.Desired, len(res.Changes.Blocked), len(res.Changes.Withheld))
	})
	return res, err
}

// observer sees every GHE request attempt and names the fault it met, from
// what came back: the fake does not say which fault it chose.
type observer struct {
	next   http.RoundTripper
	mu     sync.Mutex
	counts map[string]int
}

func (o *observer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := o.next.RoundTrip(req)
	if err != nil {
		var ne net.Error
		switch {
		case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
			o.add("Timeout")
		case req.Context().Err() == nil:
			o.add("ConnReset")
		}
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		o.add("ConnReset")
		return resp, nil
	}
	if k := classify(req, resp, body); k != "" {
		o.add(k)
	}
	return resp, nil
}

func (o *observer) add(kind string) {
	o.mu.Lock()
	o.counts[kind]++
	o.mu.Unlock()
}

func (o *observer) snapshot() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]int, len(o.counts))
	for k, v := range o.counts {
		out[k] = v
	}
	return out
}

// classify names the fault an answer shows, or "" for a normal answer.
func classify(req *http.Request, resp *http.Response, body []byte) string {
	h := resp.Header
	switch resp.StatusCode {
	case http.StatusInternalServerError:
		return "Status500"
	case http.StatusBadGateway:
		return "Status502HTML"
	case http.StatusTooManyRequests:
		return "Status429"
	case http.StatusForbidden:
		if h.Get("Retry-After") != "" {
			return "SecondaryRateLimit"
		}
		if h.Get("X-RateLimit-Remaining") == "0" {
			return "PrimaryRateLimit"
		}
		return ""
	}
	if resp.StatusCode/100 != 2 {
		return ""
	}
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return "EmptyBody"
	case strings.HasPrefix(h.Get("Content-Type"), "text/html"):
		return "HTMLMaintenance"
	case !json.Valid(body):
		return "TruncatedJSON"
	}
	if !strings.HasSuffix(req.URL.Path, "/graphql") {
		return ""
	}
	var gql struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &gql) != nil || len(gql.Errors) == 0 {
		return ""
	}
	e := gql.Errors[0]
	switch {
	case e.Type == "RATE_LIMITED":
		return "GraphQLRateLimited"
	case strings.Contains(e.Message, "timeout"):
		return "GraphQLTimeout"
	case e.Type == "NOT_FOUND":
		return "PartialData"
	}
	return ""
}
