package glint

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestCertificateErrorsAreNotRetried: a server certificate that does not
// verify fails the call at once; retrying cannot cure it.
func TestCertificateErrorsAreNotRetried(t *testing.T) {
	var handshakes atomic.Int32
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		handshakes.Add(1)
		return nil, nil
	}}
	srv.StartTLS()
	defer srv.Close()
	c, err := New(srv.URL, "id", "secret", WithRetry(3, time.Millisecond, 2*time.Millisecond),
		WithHTTPClient(&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Blueprints(context.Background())
	var cve *tls.CertificateVerificationError
	if !errors.As(err, &cve) {
		t.Fatalf("error %v, want a certificate verification error", err)
	}
	if n := handshakes.Load(); n != 1 {
		t.Errorf("%d TLS handshakes, want 1 (no retry)", n)
	}
}
