package app

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kozmoai/glint-github-app/ghe"
	"github.com/kozmoai/glint-github-app/glint"
	"github.com/kozmoai/glint-github-app/reconciler"
)

// Compile-time checks that the clients satisfy the reconciler's seams.
var (
	_ reconciler.GitHub      = (*ghe.Client)(nil)
	_ reconciler.Catalog     = (*glint.Client)(nil)
	_ reconciler.TeamCatalog = (*glint.Client)(nil)
)

// Config is what Wire needs: the validated configuration of the program.
type Config struct {
	// GHEBaseURL is the GHE base URL (https://host, or a URL with a path).
	GHEBaseURL string
	// GHEHost is the GHE host as the datasource of writes names it.
	GHEHost string
	// AppID and PrivateKey (a PEM, or the base64 of one) are the GitHub
	// App's credentials.
	AppID      int64
	PrivateKey []byte
	// CAFile, when set, is a PEM file of CA certificates trusted besides
	// the system's (GHE_CA_FILE).
	CAFile string
	// GlintURL, GlintClientID and GlintSecret reach Glint.
	GlintURL      string
	GlintClientID string
	GlintSecret   string
	// Version is the app version in the User-Agent and datasource.
	Version string
	// DeleteThreshold, Policy and TeamsSync are reconciler.Options'.
	DeleteThreshold float64
	Policy          string
	TeamsSync       string
}

// App is the wired program.
type App struct {
	GHE        *ghe.Client
	Glint      *glint.Client
	Reconciler *reconciler.Reconciler
}

// Wire builds the clients and the reconciler from cfg and registers their
// metrics (the reconciler's and the request counters) on reg. Its errors
// are all errors of the configuration.
func Wire(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*App, error) {
	gheRequests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "glint_github_app_ghe_requests_total",
		Help: "Requests sent to GitHub Enterprise, by API (rest or graphql) and HTTP status code (error: no response).",
	}, []string{"api", "code"})
	glintRequests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "glint_github_app_glint_requests_total",
		Help: "Requests sent to Glint, by call and HTTP status code (error: no response).",
	}, []string{"api", "code"})
	reg.MustRegister(gheRequests, glintRequests)

	base, err := BaseTransport(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	apiURL, graphqlURL := ghe.EndpointsForBaseURL(cfg.GHEBaseURL)
	gh, err := ghe.New(ghe.Options{
		APIURL:     apiURL,
		GraphQLURL: graphqlURL,
		AppID:      cfg.AppID,
		PrivateKey: cfg.PrivateKey,
		Transport:  &countingTransport{next: base, counter: gheRequests, api: gheAPI},
		Logger:     logger.With("component", "ghe"),
		Teams:      cfg.TeamsSync != reconciler.TeamsOff,
	})
	if err != nil {
		return nil, fmt.Errorf("GitHub App: %w", err)
	}
	cat, err := glint.New(cfg.GlintURL, cfg.GlintClientID, cfg.GlintSecret,
		glint.WithHTTPClient(&http.Client{
			Transport: &countingTransport{next: base, counter: glintRequests, api: glintAPI},
			Timeout:   60 * time.Second,
		}),
		glint.WithLogger(logger.With("component", "glint")),
		glint.WithUserAgent("glint-github-app/"+cfg.Version),
	)
	if err != nil {
		return nil, fmt.Errorf("Glint client: %w", err)
	}
	rec := reconciler.New(gh, cat, reconciler.Options{
		AppID:                        cfg.AppID,
		GHEHost:                      cfg.GHEHost,
		Version:                      cfg.Version,
		DeleteThreshold:              cfg.DeleteThreshold,
		Policy:                       cfg.Policy,
		Merge:                        true,
		CreateMissingRelatedEntities: true,
		TeamsSync:                    cfg.TeamsSync,
	}, logger, reg)
	return &App{GHE: gh, Glint: cat, Reconciler: rec}, nil
}

// BaseTransport is the transport every outbound call starts from: TLS
// always verified against the system roots plus caFile (GHE_CA_FILE), and
// HTTPS_PROXY, HTTP_PROXY and NO_PROXY honoured. It keeps 16 idle
// connections a host, as many as the reconciler's Glint calls in flight.
func BaseTransport(caFile string) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = http.ProxyFromEnvironment
	t.MaxIdleConnsPerHost = 16
	t.ResponseHeaderTimeout = 60 * time.Second
	if caFile == "" {
		return t, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("GHE_CA_FILE: read %s: %w", caFile, err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("GHE_CA_FILE: %s holds no PEM certificate", caFile)
	}
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return t, nil
}

// countingTransport counts outbound requests by API and status code. It
// never looks at headers or bodies, so no credential can reach a label.
type countingTransport struct {
	next    http.RoundTripper
	counter *prometheus.CounterVec // labels: api, code
	api     func(*http.Request) string
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	t.counter.WithLabelValues(t.api(req), code).Inc()
	return resp, err
}

// gheAPI labels a GHE request "graphql" or "rest".
func gheAPI(req *http.Request) string {
	if strings.HasSuffix(req.URL.Path, "/graphql") {
		return "graphql"
	}
	return "rest"
}

// glintAPI labels a Glint request by what it does, from its method and path.
func glintAPI(req *http.Request) string {
	p := req.URL.Path
	switch {
	case strings.HasSuffix(p, "/auth/access_token"):
		return "token"
	case strings.HasSuffix(p, "/entities/search"):
		return "search"
	case strings.Contains(p, "/bulk/entities/delete"):
		return "bulk_delete"
	case strings.HasSuffix(p, "/entities/bulk"):
		return "bulk_upsert"
	case strings.Contains(p, "/teams"):
		return "teams"
	case req.Method == http.MethodDelete:
		return "delete"
	case strings.HasSuffix(p, "/entities"):
		return "upsert"
	case strings.Contains(p, "/blueprints"):
		return "blueprints"
	}
	return "other"
}
