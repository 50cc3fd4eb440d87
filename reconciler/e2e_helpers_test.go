package reconciler_test

import (
	"bytes"
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/kozmoai/glint-github-app/ghe"
	"github.com/kozmoai/glint-github-app/ghe/ghetest"
	"github.com/kozmoai/glint-github-app/glint"
	"github.com/kozmoai/glint-github-app/glint/glinttest"
	"github.com/kozmoai/glint-github-app/reconciler"
)

// e2eVersion is the version the end-to-end reconcilers write with.
const e2eVersion = "e2e"

// e2eSchema is GitHub's GraphQL schema, loaded once for every test of the
// package (loading it takes most of a second under -race).
var e2eSchema = sync.OnceValues(func() (*ast.Schema, error) {
	path, err := ghetest.FindSchema()
	if err != nil {
		return nil, err
	}
	return ghetest.LoadSchema(path)
})

// e2eAppKey is one App key pair for every world: generating a 2048-bit key
// per test would cost more than the tests themselves.
type appKey struct {
	key *rsa.PrivateKey
	pem []byte
}

var e2eAppKey = sync.OnceValues(func() (appKey, error) {
	k, p, err := ghetest.GenerateKey()
	return appKey{k, p}, err
})

// worldOptions tune one world. Zero values are the production defaults
// where that keeps tests fast and deterministic.
type worldOptions struct {
	noMerge   bool    // write with merge=false (enableMergeEntity: false)
	threshold float64 // reconciler DeleteThreshold; 0 means 0.9
	// gheInFlight is ghe's MaxInFlight; 0 means 1, so that installations
	// and their pages are read in a fixed order and a queued fault hits a
	// known request. The scale test uses ghe's default.
	gheInFlight int
	// gheRetries is ghe's MaxRetries; 0 means 1 (a 250-500 ms backoff).
	gheRetries int
	// gheTokenTTL is the lifetime of the fake GHE's installation tokens.
	gheTokenTTL time.Duration
	// glintWrap wraps the Glint client's transport (fault hooks).
	glintWrap func(http.RoundTripper) http.RoundTripper
	// empty leaves the world unseeded (no blueprints, no repositories).
	empty bool
}

// world is a fake GHE and a fake Glint with the real clients and a
// reconciler between them.
type world struct {
	gh   *ghetest.Server
	gl   *glinttest.Server
	rec  *reconciler.Reconciler
	reg  *prometheus.Registry
	host string // GHE host[:port], as in datasources
	acme int64  // installation ids of the seeded world
	plat int64
}

// newWorld starts both fakes, seeds them (unless o.empty) and wires the real
// clients and a reconciler to them.
func newWorld(t *testing.T, o worldOptions) *world {
	t.Helper()
	schema, err := e2eSchema()
	if err != nil {
		t.Fatalf("load GitHub's GraphQL schema (run `make schema`): %v", err)
	}
	key, err := e2eAppKey()
	if err != nil {
		t.Fatalf("generate app key: %v", err)
	}
	gh := ghetest.NewForTest(t, ghetest.Options{
		Schema: schema, AppID: 4242, PublicKey: &key.key.PublicKey, TokenTTL: o.gheTokenTTL,
	})
	gl := glinttest.Start(t, glinttest.Options{ClientID: "e2e-client", ClientSecret: "e2e-secret-do-not-log"})

	u, err := url.Parse(gh.URL())
	if err != nil {
		t.Fatal(err)
	}
	w := &world{gh: gh, gl: gl, reg: prometheus.NewRegistry(), host: u.Host}
	if !o.empty {
		w.seed()
	}

	inFlight, retries := o.gheInFlight, o.gheRetries
	if inFlight == 0 {
		inFlight = 1
	}
	if retries == 0 {
		retries = 1
	}
	apiURL, gqlURL := ghe.EndpointsForBaseURL(gh.URL())
	ghc, err := ghe.New(ghe.Options{
		APIURL: apiURL, GraphQLURL: gqlURL, AppID: gh.AppID(), PrivateKey: key.pem,
		MaxInFlight: inFlight, MaxRetries: retries, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("ghe.New: %v", err)
	}
	var rt http.RoundTripper = http.DefaultTransport
	if o.glintWrap != nil {
		rt = o.glintWrap(rt)
	}
	glc, err := glint.New(gl.URL(), gl.ClientID(), gl.ClientSecret(),
		glint.WithHTTPClient(&http.Client{Transport: rt, Timeout: 10 * time.Second}),
		glint.WithUserAgent("glint-github-app/"+e2eVersion),
		glint.WithRetry(2, time.Millisecond, 10*time.Millisecond),
	)
	if err != nil {
		t.Fatalf("glint.New: %v", err)
	}
	w.rec = reconciler.New(ghc, glc, reconciler.Options{
		AppID:                        gh.AppID(),
		GHEHost:                      w.host,
		Version:                      e2eVersion,
		DeleteThreshold:              o.threshold,
		Merge:                        !o.noMerge,
		CreateMissingRelatedEntities: true,
	}, slog.New(slog.DiscardHandler), w.reg)
	return w
}

const (
	checkoutYML = `# The checkout service.
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
	checkoutReadme = "# Checkout\nTakes the money.\n"
	shopYML        = `- identifier: shop
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
`
	gatewayYAML = "identifier: gateway\nblueprint: service\ntitle: API gateway\nproperties:\n  language: Rust\n  replicas: 6\n"
)

// seed builds the standard world: blueprints system and service, teams
// payments and storefront, and
//
//	installation acme:     acme/checkout (glint.yml: service/checkout, file://README.md)
//	                       acme/shop     (glint.yml: system/shop, service/storefront)
//	installation platform: platform/gateway (glint.yaml: service/gateway)
//	                       platform/docs    (no spec file)
func (w *world) seed() {
	w.gl.AddBlueprint(glint.Blueprint{
		Identifier: "system", Title: "System",
		Schema: glint.Schema{Properties: map[string]glint.Property{"description": {Type: "string"}}},
	})
	w.gl.AddBlueprint(glint.Blueprint{
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
	w.gl.PutTeam(glint.Team{Name: "payments"}, "admin@acme.example (Glint UI)")
	w.gl.PutTeam(glint.Team{Name: "storefront"}, "admin@acme.example (Glint UI)")

	w.acme = w.gh.AddInstallation("acme", "Organization")
	w.gh.AddRepo(w.acme, ghetest.Repo{Name: "checkout", Files: map[string]string{
		"glint.yml": checkoutYML, "README.md": checkoutReadme,
	}})
	w.gh.AddRepo(w.acme, ghetest.Repo{Name: "shop", Files: map[string]string{"glint.yml": shopYML}})
	w.plat = w.gh.AddInstallation("platform", "Organization")
	w.gh.AddRepo(w.plat, ghetest.Repo{Name: "gateway", Files: map[string]string{"glint.yaml": gatewayYAML}})
	w.gh.AddRepo(w.plat, ghetest.Repo{Name: "docs", Files: map[string]string{"README.md": "no spec here\n"}})
}

// ds is the datasource this world's reconciler writes for repo of
// installation inst.
func (w *world) ds(inst int64, repo string) string {
	return reconciler.FormatDatasource(e2eVersion, w.gh.AppID(), w.host, inst, repo)
}

// pass is the outcome of one RunOnce, with the requests each fake saw
// during it.
type pass struct {
	res *reconciler.Result
	err error
	gl  glinttest.Stats
	gh  ghetest.Stats
}

// run runs one pass with fresh counters on both fakes.
func (w *world) run(t *testing.T) pass {
	t.Helper()
	w.gl.ResetStats()
	w.gh.ResetStats()
	res, err := w.rec.RunOnce(t.Context())
	if res == nil {
		t.Fatalf("RunOnce returned no result (err %v)", err)
	}
	return pass{res: res, err: err, gl: w.gl.Stats(), gh: w.gh.Stats()}
}

// mustRun runs one pass that must succeed.
func (w *world) mustRun(t *testing.T) pass {
	t.Helper()
	p := w.run(t)
	if p.err != nil {
		t.Fatalf("pass failed: %v\nproblems: %+v", p.err, p.res.Problems)
	}
	return p
}

// entity returns an entity that must exist in the fake Glint.
func (w *world) entity(t *testing.T, bp, id string) glint.Entity {
	t.Helper()
	e, ok := w.gl.Entity(bp, id)
	if !ok {
		t.Fatalf("%s/%s is not in Glint; it holds %v", bp, id, w.ids())
	}
	return e
}

// absent fails unless bp/id is not in Glint.
func (w *world) absent(t *testing.T, bp, id string) {
	t.Helper()
	if e, ok := w.gl.Entity(bp, id); ok {
		t.Errorf("%s/%s is still in Glint (datasource %q)", bp, id, e.Datasource)
	}
}

// ids lists every entity in Glint as "blueprint/identifier", sorted.
func (w *world) ids() []string {
	var out []string
	for _, bp := range []string{"system", "service"} {
		for _, e := range w.gl.Entities(bp) {
			out = append(out, bp+"/"+e.Identifier)
		}
	}
	sort.Strings(out)
	return out
}

// wantIDs fails unless Glint holds exactly want ("blueprint/identifier").
func (w *world) wantIDs(t *testing.T, want ...string) {
	t.Helper()
	sort.Strings(want)
	if diff := cmp.Diff(want, w.ids()); diff != "" {
		t.Errorf("entities in Glint (-want +got):\n%s", diff)
	}
}

// snapshot returns every entity in Glint by "blueprint/identifier", meta
// fields included, to check later that a pass left them alone.
func (w *world) snapshot() map[string]glint.Entity {
	out := map[string]glint.Entity{}
	for _, bp := range []string{"system", "service"} {
		for _, e := range w.gl.Entities(bp) {
			out[bp+"/"+e.Identifier] = e
		}
	}
	return out
}

// unchanged fails when any of keys differs from before, meta fields
// (updatedAt, datasource) included.
func (w *world) unchanged(t *testing.T, before map[string]glint.Entity, keys ...string) {
	t.Helper()
	for _, k := range keys {
		bp, id, _ := strings.Cut(k, "/")
		old, ok := before[k]
		if !ok {
			t.Fatalf("unchanged: %s was not in the snapshot", k)
		}
		now, ok := w.gl.Entity(bp, id)
		if !ok {
			t.Errorf("%s was deleted; want it left alone", k)
			continue
		}
		if diff := cmp.Diff(old, now); diff != "" {
			t.Errorf("%s changed; want it left alone (-before +after):\n%s", k, diff)
		}
	}
}

// wantWrites checks the Glint write calls of a pass: calls in total, bulk
// upserts, bulk deletes, entities deleted.
func wantWrites(t *testing.T, p pass, writes, bulk, bulkDeletes, deleted int) {
	t.Helper()
	got := [4]int{p.gl.Writes, p.gl.Total(glinttest.RouteBulk), p.gl.Total(glinttest.RouteBulkDelete), p.gl.Deletes}
	if want := [4]int{writes, bulk, bulkDeletes, deleted}; got != want {
		t.Errorf("glint writes [calls, bulk upserts, bulk deletes, entities deleted] = %v, want %v\nrequests: %v\nchanges: %s",
			got, want, p.gl.Requests, changesText(p.res))
	}
}

// changesText is the plan output of a pass, for failure messages.
func changesText(res *reconciler.Result) string {
	var b strings.Builder
	_, _ = res.Changes.WriteTo(&b)
	return b.String()
}

// problemFor returns the first problem of the pass reported against repo
// (and file, when not empty) whose message contains every string of want.
func problemFor(res *reconciler.Result, repo, file string, want ...string) (reconciler.Problem, bool) {
	for _, p := range res.Problems {
		if !strings.EqualFold(p.Repo, repo) || (file != "" && p.File != file) {
			continue
		}
		ok := true
		for _, s := range want {
			ok = ok && strings.Contains(p.Message, s)
		}
		if ok {
			return p, true
		}
	}
	return reconciler.Problem{}, false
}

// metricValue returns the value of an unlabelled counter or gauge of reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) > 0 {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// hookTransport calls before on every request to Glint, with the request's
// body, before sending it on.
type hookTransport struct {
	next   http.RoundTripper
	before func(r *http.Request, body []byte)
}

func (h *hookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("hook: read body: %w", err)
		}
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	h.before(r, body)
	return h.next.RoundTrip(r)
}

// specFile returns a one-entity glint.yml declaring service/id.
func specFile(id string, props string) string {
	s := "identifier: " + id + "\nblueprint: service\ntitle: " + id + "\n"
	if props != "" {
		s += "properties: " + props + "\n"
	}
	return s
}
