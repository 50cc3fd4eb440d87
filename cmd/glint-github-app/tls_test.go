package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// testHost is a name only the test's proxy resolves (to 127.0.0.1). Go's
// ProxyFromEnvironment never proxies loopback addresses, so the proxy test
// needs a name.
const testHost = "glint-test.invalid"

// privateCA is a CA made for the test and a server certificate it signed
// for 127.0.0.1 and testHost.
type privateCA struct {
	pemFile string
	leaf    tls.Certificate
}

func newPrivateCA(t *testing.T) privateCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "glint-github-app test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: testHost},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		DNSNames: []string{testHost}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return privateCA{
		pemFile: writeTemp(t, "ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})),
		leaf:    tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey},
	}
}

// tlsFront serves target (a fake's plain http URL) over TLS with the CA's
// certificate and returns the port.
func (ca privateCA) tlsFront(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(u))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.leaf}, MinVersion: tls.VersionTLS12}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return port
}

func TestPrivateCA(t *testing.T) {
	w := newWorld(t)
	ca := newPrivateCA(t)
	ghePort, glintPort := ca.tlsFront(t, w.gh.URL()), ca.tlsFront(t, w.gl.URL())
	gheURL, glintURL := "https://127.0.0.1:"+ghePort, "https://127.0.0.1:"+glintPort

	code, _, stderr := w.run(t, []string{"GHE_URL=" + gheURL, "GLINT_URL=" + glintURL, "GHE_CA_FILE=" + ca.pemFile}, "once")
	if code != exitOK {
		t.Fatalf("once with GHE_CA_FILE: exit %d\n%s", code, stderr)
	}
	if _, ok := w.gl.Entity("service", "checkout"); !ok {
		t.Error("service/checkout was not created through TLS")
	}

	for _, tt := range []struct {
		name, ghe, glint, host string
	}{
		{name: "GHE without the CA", ghe: gheURL, glint: w.gl.URL(), host: "127.0.0.1:" + ghePort},
		{name: "Glint without the CA", ghe: w.gh.URL(), glint: glintURL, host: "127.0.0.1:" + glintPort},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := w.run(t, []string{"GHE_URL=" + tt.ghe, "GLINT_URL=" + tt.glint}, "once")
			if code != exitFailed {
				t.Errorf("exit %d, want %d", code, exitFailed)
			}
			if !strings.Contains(stderr, "x509: certificate signed by unknown authority") || !strings.Contains(stderr, tt.host) {
				t.Errorf("the error does not name the x509 failure and the host %s:\n%s", tt.host, stderr)
			}
		})
	}
}

// connectProxy is an HTTP CONNECT proxy that counts its tunnels by target
// and connects every one to 127.0.0.1, whatever the host asked for.
type connectProxy struct {
	url     string
	mu      sync.Mutex
	tunnels map[string]int
}

func newConnectProxy(t *testing.T) *connectProxy {
	p := &connectProxy{tunnels: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "this proxy only tunnels", http.StatusMethodNotAllowed)
			return
		}
		_, port, err := net.SplitHostPort(r.Host)
		if err != nil {
			http.Error(w, "bad CONNECT target", http.StatusBadRequest)
			return
		}
		up, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", port))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		p.mu.Lock()
		p.tunnels[r.Host]++
		p.mu.Unlock()
		_, _ = io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
		go func() {
			_, _ = io.Copy(up, rw.Reader)
			up.Close()
		}()
		_, _ = io.Copy(conn, up)
		conn.Close()
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

func TestHTTPSProxy(t *testing.T) {
	w := newWorld(t)
	ca := newPrivateCA(t)
	ghePort, glintPort := ca.tlsFront(t, w.gh.URL()), ca.tlsFront(t, w.gl.URL())
	proxy := newConnectProxy(t)
	code, _, stderr := w.run(t, []string{
		"HTTPS_PROXY=" + proxy.url, "NO_PROXY=",
		"GHE_URL=https://" + testHost + ":" + ghePort, "GLINT_URL=https://" + testHost + ":" + glintPort,
		"GHE_CA_FILE=" + ca.pemFile,
	}, "once")
	if code != exitOK {
		t.Fatalf("once through the proxy: exit %d\n%s", code, stderr)
	}
	if _, ok := w.gl.Entity("service", "checkout"); !ok {
		t.Error("service/checkout was not created through the proxy")
	}
	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	for _, port := range []string{ghePort, glintPort} {
		if proxy.tunnels[testHost+":"+port] == 0 {
			t.Errorf("no tunnel to %s:%s; tunnels: %v", testHost, port, proxy.tunnels)
		}
	}
	t.Logf("tunnels: %v", proxy.tunnels)
}
