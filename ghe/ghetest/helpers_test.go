package ghetest

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
)

// testSchema loads GitHub's schema once for the whole test binary.
var testSchema = sync.OnceValues(func() (*ast.Schema, error) {
	p, err := FindSchema()
	if err != nil {
		return nil, err
	}
	return LoadSchema(p)
})

// testKey is one App key for the whole test binary (generation is slow
// under -race).
var testKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	k, _, err := GenerateKey()
	return k, err
})

// env is a server with a key and an installation token at hand.
type env struct {
	t   *testing.T
	s   *Server
	key *rsa.PrivateKey
}

// newEnv starts a server with NewForTest: any invalid query fails the test.
func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	opts, key := envOptions(t, opts)
	return &env{t: t, s: NewForTest(t, opts), key: key}
}

// newLaxEnv starts a server with New, for tests that send invalid queries on
// purpose.
func newLaxEnv(t *testing.T, opts Options) *env {
	t.Helper()
	opts, key := envOptions(t, opts)
	s := New(opts)
	t.Cleanup(s.Close)
	return &env{t: t, s: s, key: key}
}

// envOptions completes opts with the schema, the test key and app id 42.
func envOptions(t *testing.T, opts Options) (Options, *rsa.PrivateKey) {
	t.Helper()
	schema, err := testSchema()
	if err != nil {
		t.Fatalf("load schema: %v", err)
	}
	key, err := testKey()
	if err != nil {
		t.Fatal(err)
	}
	opts.Schema = schema
	if opts.AppID == 0 {
		opts.AppID = 42
	}
	opts.PublicKey = &key.PublicKey
	return opts, key
}

// with returns e for a subtest t.
func (e *env) with(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

func (e *env) jwt() string {
	e.t.Helper()
	j, err := SignAppJWT(e.key, e.s.AppID(), e.s.now())
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

// response is a decoded HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends one request; auth is the whole Authorization header value.
func (e *env) do(method, path, auth string, body any) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = e.s.URL() + path
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, url, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// token creates an installation token.
func (e *env) token(installationID int64) string {
	e.t.Helper()
	r := e.do("POST", "/api/v3/app/installations/"+itoa(installationID)+"/access_tokens", "Bearer "+e.jwt(), nil)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create token: %d %s", r.status, r.body)
	}
	var tok struct {
		Token string `json:"token"`
	}
	r.json(e.t, &tok)
	return tok.Token
}

// gqlResult is a decoded GraphQL answer.
type gqlResult struct {
	Data   map[string]any `json:"data"`
	Errors []struct {
		Type      string           `json:"type"`
		Message   string           `json:"message"`
		Path      []any            `json:"path"`
		Locations []map[string]int `json:"locations"`
	} `json:"errors"`
}

// graphql posts a query with token tok and decodes the answer.
func (e *env) graphql(tok, query string, vars map[string]any) (gqlResult, response) {
	e.t.Helper()
	body := map[string]any{"query": query}
	if vars != nil {
		body["variables"] = vars
	}
	r := e.do("POST", "/api/graphql", "bearer "+tok, body)
	if r.status != http.StatusOK {
		e.t.Fatalf("graphql: %d %s", r.status, r.body)
	}
	var res gqlResult
	r.json(e.t, &res)
	return res, r
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// dig follows a path of keys and indexes into decoded JSON.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}
