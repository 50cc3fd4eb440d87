package app

import (
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kozmoai/glint-github-app/ghe/ghetest"
	"github.com/kozmoai/glint-github-app/glint"
	"github.com/kozmoai/glint-github-app/glint/glinttest"
	"github.com/kozmoai/glint-github-app/reconciler"
)

// Wire's program runs a pass against the fakes on loopback, writes as
// glint-github-app/<Version>, and counts its requests on reg.
func TestWireRunsAPass(t *testing.T) {
	gh := ghetest.NewForTest(t, ghetest.Options{})
	_, keyPEM := gh.GeneratedKey()
	inst := gh.AddInstallation("acme", "Organization")
	gh.AddRepo(inst, ghetest.Repo{Owner: "acme", Name: "checkout", Files: map[string]string{
		"glint.yml": "identifier: checkout\nblueprint: service\ntitle: Checkout\n",
	}})
	gl := glinttest.New(glinttest.Options{})
	t.Cleanup(gl.Close)
	gl.AddBlueprint(glint.Blueprint{Identifier: "service", Schema: glint.Schema{Properties: map[string]glint.Property{}}})

	u, err := url.Parse(gh.URL())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	a, err := Wire(Config{
		GHEBaseURL: gh.URL(), GHEHost: u.Host, AppID: gh.AppID(), PrivateKey: keyPEM,
		GlintURL: gl.URL(), GlintClientID: gl.ClientID(), GlintSecret: gl.ClientSecret(),
		Version: "1.2.3", Policy: reconciler.PolicySync, TeamsSync: reconciler.TeamsOff,
	}, slog.New(slog.DiscardHandler), reg)
	if err != nil {
		t.Fatalf("Wire: %v", err)
	}
	res, err := a.Reconciler.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if res.Created != 1 {
		t.Fatalf("created %d entities, want 1: %+v", res.Created, res)
	}
	if e, _ := gl.Entity("service", "checkout"); !strings.HasPrefix(e.Datasource, "glint-github-app/1.2.3 (") {
		t.Errorf("datasource = %q, want the app's user agent with version 1.2.3", e.Datasource)
	}
	for _, c := range []struct{ metric, api string }{
		{"glint_github_app_ghe_requests_total", "graphql"},
		{"glint_github_app_ghe_requests_total", "rest"},
		{"glint_github_app_glint_requests_total", "token"},
		{"glint_github_app_glint_requests_total", "search"},
		{"glint_github_app_glint_requests_total", "bulk_upsert"},
	} {
		if n := countOf(t, reg, c.metric, c.api); n < 1 {
			t.Errorf("%s{api=%q} = %v, want at least 1", c.metric, c.api, n)
		}
	}
	if n := testutil.CollectAndCount(reg, "glint_github_app_runs_total"); n == 0 {
		t.Error("the reconciler's metrics are not on reg")
	}
}

// countOf sums metric's series with label api, any code.
func countOf(t *testing.T, reg *prometheus.Registry, metric, api string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != metric {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "api" && l.GetValue() == api {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

func TestBaseTransportCAFile(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, file, wantErr string
	}{
		{"none", "", ""},
		{"missing", filepath.Join(dir, "missing.pem"), "GHE_CA_FILE: read"},
		{"no certificate", notPEM, "holds no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := BaseTransport(tc.file)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if _, werr := Wire(Config{CAFile: tc.file}, slog.New(slog.DiscardHandler), prometheus.NewRegistry()); werr == nil {
					t.Error("Wire accepted the bad CA file")
				}
				return
			}
			if err != nil || tr.MaxIdleConnsPerHost != 16 || tr.Proxy == nil {
				t.Fatalf("BaseTransport = %+v, %v", tr, err)
			}
		})
	}
}

func TestRequestLabels(t *testing.T) {
	for _, tc := range []struct {
		method, path, ghe, glint string
	}{
		{http.MethodPost, "/api/graphql", "graphql", "other"},
		{http.MethodGet, "/api/v3/app/installations", "rest", "other"},
		{http.MethodPost, "/v1/auth/access_token", "rest", "token"},
		{http.MethodPost, "/v1/blueprints/service/entities/search", "rest", "search"},
		{http.MethodPost, "/v1/blueprints/service/entities/bulk", "rest", "bulk_upsert"},
		{http.MethodPost, "/v1/blueprints/service/bulk/entities/delete", "rest", "bulk_delete"},
		{http.MethodDelete, "/v1/blueprints/service/entities/a", "rest", "delete"},
		{http.MethodPost, "/v1/blueprints/service/entities", "rest", "upsert"},
		{http.MethodGet, "/v1/blueprints", "rest", "blueprints"},
		{http.MethodGet, "/v1/teams", "rest", "teams"},
	} {
		req, err := http.NewRequest(tc.method, "http://h"+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := gheAPI(req); got != tc.ghe {
			t.Errorf("gheAPI(%s %s) = %q, want %q", tc.method, tc.path, got, tc.ghe)
		}
		if got := glintAPI(req); got != tc.glint {
			t.Errorf("glintAPI(%s %s) = %q, want %q", tc.method, tc.path, got, tc.glint)
		}
	}
}
