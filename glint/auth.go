package glint

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// tokenRefreshMargin is how long before its expiry a token is replaced. A
// token that lives less than twice as long is replaced halfway through its
// life instead, so a token endpoint that answers with the remaining lifetime
// of the one live token is asked a few times, not on every call.
const tokenRefreshMargin = 5 * time.Minute

// fetchToken asks Glint for an access token:
// POST /v1/auth/access_token {"clientId", "clientSecret"}.
// It goes through the unauthenticated client, so it never carries an
// Authorization header.
func (c *Client) fetchToken(ctx context.Context) (*oauth2.Token, error) {
	body, err := encodeJSON(struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	}{c.clientID, c.clientSecret})
	if err != nil {
		return nil, fmt.Errorf("encode token request: %w", err)
	}
	var out struct {
		AccessToken string `json:"accessToken"`
		ExpiresIn   int64  `json:"expiresIn"`
		TokenType   string `json:"tokenType"`
	}
	now := time.Now()
	r := request{method: http.MethodPost, path: "/v1/auth/access_token", body: body, idempotent: true, noAuth: true}
	res, err := c.do(ctx, r, &out)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(out.AccessToken) == "" {
		return nil, c.apiError(r, res, codeInvalidResponse, "answer has no accessToken")
	}
	tok := &oauth2.Token{AccessToken: out.AccessToken, TokenType: "Bearer"}
	if out.ExpiresIn > 0 {
		life := time.Duration(out.ExpiresIn) * time.Second
		tok.Expiry = now.Add(life - min(tokenRefreshMargin, life/2))
	}
	return tok, nil
}

// tokenSource is the client's oauth2.TokenSource: an oauth2.ReuseTokenSource
// over fetchToken that can be thrown away when Glint answers 401.
//
// Expiry of the tokens it holds is already the time to replace them
// (tokenRefreshMargin before the real expiry).
type tokenSource struct {
	fetch func(context.Context) (*oauth2.Token, error)

	mu    sync.Mutex
	ctx   context.Context // context of the caller holding mu, for fetch
	reuse oauth2.TokenSource
	gen   uint64 // counts resets, so that concurrent 401s reset once

	last atomic.Pointer[string] // the last access token fetched, to redact it
}

var _ oauth2.TokenSource = (*tokenSource)(nil)

func newTokenSource(fetch func(context.Context) (*oauth2.Token, error)) *tokenSource {
	s := &tokenSource{fetch: fetch}
	s.resetLocked()
	return s
}

// fetcherFunc adapts a function to oauth2.TokenSource.
type fetcherFunc func() (*oauth2.Token, error)

func (f fetcherFunc) Token() (*oauth2.Token, error) { return f() }

func (s *tokenSource) resetLocked() {
	s.gen++
	// One second of margin covers the time between the check and the use;
	// the real margin is already in the token's Expiry.
	s.reuse = oauth2.ReuseTokenSourceWithExpiry(nil, fetcherFunc(s.fetchLocked), time.Second)
}

// fetchLocked runs inside s.reuse.Token(), which token calls with s.mu held.
func (s *tokenSource) fetchLocked() (*oauth2.Token, error) {
	ctx := s.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	t, err := s.fetch(ctx)
	if err != nil {
		return nil, err
	}
	s.last.Store(&t.AccessToken)
	return t, nil
}

// Token returns a valid token, fetching one when needed.
func (s *tokenSource) Token() (*oauth2.Token, error) {
	t, _, err := s.token(context.Background())
	return t, err
}

// token returns a valid token and the generation it belongs to. A fetch runs
// with ctx; callers that arrive meanwhile wait for it.
func (s *tokenSource) token(ctx context.Context) (*oauth2.Token, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ctx = ctx
	defer func() { s.ctx = nil }()
	t, err := s.reuse.Token()
	return t, s.gen, err
}

// invalidate drops the cached token if it is still the one of generation gen.
func (s *tokenSource) invalidate(gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen == s.gen {
		s.resetLocked()
	}
}

// lastToken returns the last access token fetched, or "".
func (s *tokenSource) lastToken() string {
	if p := s.last.Load(); p != nil {
		return *p
	}
	return ""
}

// authTransport adds the bearer token to each request and invalidates it when
// Glint answers 401. Client.do retries such a request once.
type authTransport struct {
	base   http.RoundTripper
	tokens *tokenSource
}

// RoundTrip implements http.RoundTripper.
func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, gen, err := t.tokens.token(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, &tokenError{err: err}
	}
	r := req.Clone(req.Context())
	tok.SetAuthHeader(r)
	resp, err := t.base.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		t.tokens.invalidate(gen)
	}
	return resp, err
}

// isTokenError reports whether err is a failure to get a token.
func isTokenError(err error) bool {
	var te *tokenError
	return errors.As(err, &te)
}
