package ghetest

import (
	"crypto/rsa"
	"log/slog"
	"strings"
)

// TB is the part of testing.TB that NewForTest uses; *testing.T and
// *testing.B satisfy it. (ghetest does not import package testing, so that
// the demo can link it.)
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// NewForTest starts a Server for a test and closes it when the test ends.
//
// It loads GitHub's schema with FindSchema and LoadSchema unless
// opts.Schema is set (pass a schema loaded once to save time in tests that
// start many servers), and stops the test with a "run `make schema`"
// message when it is missing. AppID defaults to 1; when opts.PublicKey is
// nil it generates an App key, which GeneratedKey returns. At cleanup the
// test fails if any query was invalid (InvalidQueries) or asked for a field
// the fake does not implement (UnimplementedFields).
func NewForTest(t TB, opts Options) *Server {
	t.Helper()
	if opts.Schema == nil {
		path, err := FindSchema()
		if err != nil {
			t.Fatalf("ghetest: %v", err)
			return nil
		}
		schema, err := LoadSchema(path)
		if err != nil {
			t.Fatalf("ghetest: %v (run `make schema` to fetch it again)", err)
			return nil
		}
		opts.Schema = schema
	}
	if opts.AppID == 0 {
		opts.AppID = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	var key *rsa.PrivateKey
	var keyPEM []byte
	if opts.PublicKey == nil {
		var err error
		key, keyPEM, err = GenerateKey()
		if err != nil {
			t.Fatalf("ghetest: %v", err)
			return nil
		}
		opts.PublicKey = &key.PublicKey
	}
	s := New(opts)
	s.generatedKey, s.generatedKeyPEM = key, keyPEM
	t.Cleanup(func() {
		s.Close()
		s.smu.Lock()
		invalid := append([]invalidQuery(nil), s.invalid...)
		unimplemented := append([]string(nil), s.unimplemented...)
		s.smu.Unlock()
		for _, q := range invalid {
			t.Errorf("ghetest: GitHub would refuse this GraphQL query: %s\nquery:\n%s", strings.Join(q.errors, "; "), q.query)
		}
		if len(unimplemented) > 0 {
			t.Errorf("ghetest: queries asked for fields the fake does not implement: %s", strings.Join(unimplemented, ", "))
		}
	})
	return s
}

// GeneratedKey returns the App private key NewForTest generated and its
// PKCS#1 PEM, or nil when the caller gave Options.PublicKey.
func (s *Server) GeneratedKey() (*rsa.PrivateKey, []byte) {
	return s.generatedKey, s.generatedKeyPEM
}
