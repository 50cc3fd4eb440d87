package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// baseTransport is the transport every outbound call starts from: TLS always
// verified against the system roots plus GHE_CA_FILE, and HTTPS_PROXY,
// HTTP_PROXY and NO_PROXY honoured.
func baseTransport(caFile string) (*http.Transport, error) {
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
