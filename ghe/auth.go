package ghe

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/url"
	"strings"
	"unicode"
)

// ParsePrivateKey accepts the value of PRIVATE_KEY, the GitHub App's private
// key: either a PEM or the base64 encoding of a PEM (what `docker run -e
// PRIVATE_KEY="$(base64 key.pem)"` passes; whitespace and line breaks in the
// base64 are ignored). The key must be an RSA key in PKCS#1 ("RSA PRIVATE
// KEY") or PKCS#8 ("PRIVATE KEY") form. It returns the PEM block alone.
//
// Errors never contain any part of the value.
func ParsePrivateKey(value []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(value)
	if len(trimmed) == 0 {
		return nil, errors.New("PRIVATE_KEY is empty")
	}
	pemBytes := trimmed
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		compact := bytes.Map(func(r rune) rune {
			if unicode.IsSpace(r) {
				return -1
			}
			return r
		}, trimmed)
		decoded, err := decodeBase64(compact)
		if err != nil {
			return nil, errors.New("PRIVATE_KEY is neither a PEM nor base64 of a PEM")
		}
		pemBytes = bytes.TrimSpace(decoded)
		if !bytes.HasPrefix(pemBytes, []byte("-----BEGIN")) {
			return nil, errors.New("PRIVATE_KEY is base64 but does not decode to a PEM")
		}
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("PRIVATE_KEY holds no valid PEM block")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
			// The x509 error text carries no key material, but it adds
			// nothing a user can act on either.
			return nil, errors.New("PRIVATE_KEY is not a valid PKCS#1 RSA private key")
		}
	case "PRIVATE KEY":
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("PRIVATE_KEY is not a valid PKCS#8 private key")
		}
		if _, ok := key.(*rsa.PrivateKey); !ok {
			return nil, errors.New("PRIVATE_KEY is not an RSA key (GitHub Apps use RSA keys)")
		}
	default:
		// The block type is a label such as "PUBLIC KEY", not key material.
		return nil, errors.New("PRIVATE_KEY is a PEM of type " + quoteLabel(block.Type) + ", want RSA PRIVATE KEY or PRIVATE KEY")
	}
	return pem.EncodeToMemory(block), nil
}

func decodeBase64(s []byte) ([]byte, error) {
	var lastErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		out := make([]byte, enc.DecodedLen(len(s)))
		n, err := enc.Decode(out, s)
		if err == nil {
			return out[:n], nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// quoteLabel quotes a PEM label, keeping it short and printable.
func quoteLabel(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return "\"" + strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s) + "\""
}

// EndpointsForHost returns the REST and GraphQL endpoints of the GitHub
// Enterprise Server at host (GHE_HOST, "host" or "host:port"):
// https://HOST/api/v3 and https://HOST/api/graphql. For github.com it
// returns GitHub's public endpoints.
func EndpointsForHost(host string) (apiURL, graphqlURL string) {
	host = strings.TrimSpace(host)
	if strings.Contains(host, "://") {
		return EndpointsForBaseURL(host)
	}
	host = strings.TrimRight(host, "/")
	return EndpointsForBaseURL("https://" + host)
}

// EndpointsForBaseURL returns the REST and GraphQL endpoints of the GitHub
// Enterprise Server whose web address is base (GHE_URL, e.g.
// https://ghe.example.com): BASE/api/v3 and BASE/api/graphql. A base that
// already ends in /api/v3 or /api/graphql is accepted as well. For
// https://github.com it returns GitHub's public endpoints.
func EndpointsForBaseURL(base string) (apiURL, graphqlURL string) {
	base = strings.TrimRight(strings.TrimSpace(base), "/")
	for _, suffix := range []string{"/api/v3", "/api/graphql", "/api"} {
		if strings.HasSuffix(base, suffix) {
			base = strings.TrimSuffix(base, suffix)
			break
		}
	}
	if u, err := url.Parse(base); err == nil && (u.Host == "github.com" || u.Host == "api.github.com") && u.Path == "" {
		return "https://api.github.com", "https://api.github.com/graphql"
	}
	return base + "/api/v3", base + "/api/graphql"
}
