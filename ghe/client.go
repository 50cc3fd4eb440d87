package ghe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	jwt "github.com/golang-jwt/jwt/v4"
	"github.com/shurcooL/githubv4"
)

// Defaults of Options.
const (
	DefaultBatchSize   = 100
	DefaultMaxInFlight = 4
	DefaultTimeout     = 30 * time.Second
	DefaultMaxRetries  = 4
)

// DefaultSpecPaths are the spec file paths read when Options.SpecPaths is empty.
var DefaultSpecPaths = []string{"glint.yml", "glint.yaml"}

// ErrInvalidResponse is wrapped by errors for responses that are not what
// the API promises: an empty body, HTML or other non-JSON text, truncated
// JSON, or a GraphQL response whose data is null. Such a response is never
// taken for an empty result.
var ErrInvalidResponse = errors.New("invalid response from github")

// APIError is a REST or GraphQL request that GitHub answered with an
// unexpected HTTP status.
type APIError struct {
	Method     string
	URL        string // without query string
	StatusCode int
	Message    string // GitHub's "message", when the body was JSON
}

func (e *APIError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("%s %s: status %d: %s", e.Method, e.URL, e.StatusCode, e.Message)
	}
	return fmt.Sprintf("%s %s: status %d", e.Method, e.URL, e.StatusCode)
}

// GraphQLError is one entry of a GraphQL response's errors.
type GraphQLError struct {
	Type    string // e.g. NOT_FOUND, FORBIDDEN, RATE_LIMITED
	Message string
	Path    []any
}

func (e *GraphQLError) Error() string {
	if e.Type != "" {
		return fmt.Sprintf("graphql %s: %s", e.Type, e.Message)
	}
	return "graphql: " + e.Message
}

// Options configure a Client.
type Options struct {
	APIURL      string            // REST base, e.g. https://ghe.example.com/api/v3
	GraphQLURL  string            // e.g. https://ghe.example.com/api/graphql
	AppID       int64             // the GitHub App's id
	PrivateKey  []byte            // the app's private key, PEM (base64 of a PEM is accepted too)
	Transport   http.RoundTripper // base transport (TLS roots, proxy); default http.DefaultTransport
	SpecPaths   []string          // spec files read in each repository; default DefaultSpecPaths
	BatchSize   int               // repositories per GraphQL request; default and maximum 100
	MaxInFlight int               // requests in flight, shared by all installations; default 4
	Timeout     time.Duration     // per request attempt, body included; default 30s
	MaxRetries  int               // retries of one request; default 4; negative means none
	Logger      *slog.Logger      // default: discard

	// Teams reads, for every Organization installation, all teams with
	// their members and repositories (InstallationResult.Teams). It needs
	// the App's Members: Read permission.
	Teams bool

	// RetryBaseDelay is the first backoff between retries (default 500ms)
	// and RetryMaxDelay the longest (default 30s). Soak and load tests
	// shorten them; a deployment keeps the defaults.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration

	// retry tuning, unexported so that only tests shorten it.
	retryBaseDelay time.Duration // default 500ms
	retryMaxDelay  time.Duration // default 30s
	maxRateWait    time.Duration // longest in-transport wait for a rate limit; default 5m
}

// Client reads GitHub Enterprise as a GitHub App. It is safe for concurrent
// use; a long-lived Client reuses installation tokens (refreshing them before
// they expire) and remembers parsed spec files across passes.
type Client struct {
	opts     Options
	logger   *slog.Logger
	apiURL   *url.URL
	policy   retryPolicy
	limited  http.RoundTripper // base transport bounded by MaxInFlight
	apps     *ghinstallation.AppsTransport
	appsHTTP *http.Client // authenticates as the app (JWT)
	repoQ    repoQuery

	mu       sync.Mutex
	installs map[int64]*installClient

	cache *specCache

	rlMu      sync.Mutex
	rateLimit RateLimit

	parses   atomic.Int64 // spec files parsed (ParseSpec calls), for tests
	resolves atomic.Int64 // ResolveFiles calls, for tests
}

// installClient holds one installation's authenticated clients. The
// ghinstallation transport caches the installation token and refreshes it a
// minute before it expires.
type installClient struct {
	id   int64
	itr  *ghinstallation.Transport
	rest *http.Client
	gql  *githubv4.Client
}

// New validates opts and returns a Client. It makes no request.
func New(opts Options) (*Client, error) {
	if opts.AppID <= 0 {
		return nil, errors.New("new github client: APP_ID must be a positive integer")
	}
	apiURL, err := parseEndpoint("API URL", opts.APIURL)
	if err != nil {
		return nil, fmt.Errorf("new github client: %w", err)
	}
	if _, err := parseEndpoint("GraphQL URL", opts.GraphQLURL); err != nil {
		return nil, fmt.Errorf("new github client: %w", err)
	}
	pemKey, err := ParsePrivateKey(opts.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("new github client: %w", err)
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(pemKey)
	if err != nil {
		return nil, errors.New("new github client: PRIVATE_KEY is not a usable RSA private key")
	}
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport
	}
	if len(opts.SpecPaths) == 0 {
		opts.SpecPaths = DefaultSpecPaths
	}
	opts.SpecPaths = append([]string(nil), opts.SpecPaths...)
	for _, p := range opts.SpecPaths {
		if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, ":") {
			return nil, fmt.Errorf("new github client: invalid spec path %q", p)
		}
	}
	if opts.BatchSize <= 0 || opts.BatchSize > DefaultBatchSize {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	switch {
	case opts.MaxRetries == 0:
		opts.MaxRetries = DefaultMaxRetries
	case opts.MaxRetries < 0:
		opts.MaxRetries = 0
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.retryBaseDelay <= 0 {
		opts.retryBaseDelay = opts.RetryBaseDelay
	}
	if opts.retryBaseDelay <= 0 {
		opts.retryBaseDelay = 500 * time.Millisecond
	}
	if opts.retryMaxDelay <= 0 {
		opts.retryMaxDelay = opts.RetryMaxDelay
	}
	if opts.retryMaxDelay <= 0 {
		opts.retryMaxDelay = 30 * time.Second
	}
	if opts.maxRateWait <= 0 {
		opts.maxRateWait = 5 * time.Minute
	}
	opts.PrivateKey = nil // keep no copy of the key beyond the signer

	c := &Client{
		opts:   opts,
		logger: opts.Logger,
		apiURL: apiURL,
		policy: retryPolicy{
			maxRetries: opts.MaxRetries,
			timeout:    opts.Timeout,
			baseDelay:  opts.retryBaseDelay,
			maxDelay:   opts.retryMaxDelay,
			maxWait:    opts.maxRateWait,
		},
		limited:  &limitTransport{sem: make(chan struct{}, opts.MaxInFlight), next: opts.Transport},
		installs: make(map[int64]*installClient),
		cache:    newSpecCache(),
	}
	c.apps = ghinstallation.NewAppsTransportFromPrivateKey(c.limited, opts.AppID, key)
	c.apps.BaseURL = strings.TrimRight(opts.APIURL, "/")
	c.appsHTTP = &http.Client{Transport: c.retrying(c.apps)}
	c.repoQ = newRepoQuery(opts.SpecPaths)
	return c, nil
}

func parseEndpoint(name, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("%s is empty", name)
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%s %q is not an http(s) URL", name, raw)
	}
	return u, nil
}

func (c *Client) retrying(next http.RoundTripper) http.RoundTripper {
	return &retryTransport{policy: c.policy, next: next, logger: c.logger}
}

// installation returns the cached clients of installation id.
func (c *Client) installation(id int64) *installClient {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ic, ok := c.installs[id]; ok {
		return ic
	}
	// Each installation gets its own copy of the AppsTransport: ghinstallation
	// writes BaseURL and Client of the AppsTransport on every token refresh,
	// which races when installations refresh concurrently. The copies share
	// the signer and the transport below.
	apps := *c.apps
	itr := ghinstallation.NewFromAppsTransport(&apps, id)
	itr.BaseURL = c.apps.BaseURL
	rt := c.retrying(itr)
	ic := &installClient{
		id:   id,
		itr:  itr,
		rest: &http.Client{Transport: rt},
		gql:  githubv4.NewEnterpriseClient(c.opts.GraphQLURL, &http.Client{Transport: &captureTransport{next: rt}}),
	}
	c.installs[id] = ic
	return ic
}

// forgetInstallations drops the clients of installations not in keep.
func (c *Client) forgetInstallations(keep []Installation) {
	ids := make(map[int64]bool, len(keep))
	for _, in := range keep {
		ids[in.ID] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.installs {
		if !ids[id] {
			delete(c.installs, id)
		}
	}
}

// Installations lists the app's installations.
//
// GitHub API docs: https://docs.github.com/rest/apps/apps#list-installations-for-the-authenticated-app
func (c *Client) Installations(ctx context.Context) ([]Installation, error) {
	type restInstallation struct {
		ID      int64 `json:"id"`
		Account *struct {
			Login string `json:"login"`
			Type  string `json:"type"`
		} `json:"account"`
	}
	var out []Installation
	seen := make(map[int64]bool)
	err := c.paginate(ctx, c.appsHTTP, c.endpoint("/app/installations"), func(body []byte) error {
		var page []restInstallation
		if err := json.Unmarshal(body, &page); err != nil {
			return err
		}
		if page == nil {
			// "null" decodes without error; it is not an empty listing.
			return errors.New("body is not a list of installations")
		}
		for _, in := range page {
			if in.ID <= 0 || in.Account == nil {
				return errors.New("installation without id or account")
			}
			if seen[in.ID] {
				continue
			}
			seen[in.ID] = true
			out = append(out, Installation{ID: in.ID, Account: in.Account.Login, AccountType: in.Account.Type})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list installations: %w", err)
	}
	return out, nil
}

// Repositories lists the repositories installation installationID can see.
// The listing is checked against GitHub's total_count, so a listing that
// changed while it was paged through is retried, then reported as an error,
// rather than returned incomplete.
//
// GitHub API docs: https://docs.github.com/rest/apps/installations#list-repositories-accessible-to-the-app-installation
func (c *Client) Repositories(ctx context.Context, installationID int64) ([]Repository, error) {
	ic := c.installation(installationID)
	var err error
	for try := 0; try < 3; try++ {
		var repos []Repository
		var total int
		repos, total, err = c.listRepositories(ctx, ic)
		if err != nil {
			break
		}
		if len(repos) >= total {
			return repos, nil
		}
		err = fmt.Errorf("%w: listing holds %d repositories, total_count says %d", ErrInvalidResponse, len(repos), total)
		c.logger.Warn("repository listing inconsistent, listing again",
			"installation", installationID, "listed", len(repos), "total_count", total)
	}
	return nil, fmt.Errorf("list repositories of installation %d: %w", installationID, err)
}

func (c *Client) listRepositories(ctx context.Context, ic *installClient) ([]Repository, int, error) {
	type restRepo struct {
		ID            int64  `json:"id"`
		NodeID        string `json:"node_id"`
		Name          string `json:"name"`
		FullName      string `json:"full_name"`
		Owner         *struct{ Login string }
		HTMLURL       string     `json:"html_url"`
		Description   *string    `json:"description"`
		DefaultBranch string     `json:"default_branch"`
		Archived      bool       `json:"archived"`
		Fork          bool       `json:"fork"`
		Visibility    string     `json:"visibility"`
		Private       bool       `json:"private"`
		Topics        []string   `json:"topics"`
		PushedAt      *time.Time `json:"pushed_at"`
	}
	var repos []Repository
	seen := make(map[int64]bool)
	total := 0
	err := c.paginate(ctx, ic.rest, c.endpoint("/installation/repositories"), func(body []byte) error {
		var page struct {
			TotalCount   *int       `json:"total_count"`
			Repositories []restRepo `json:"repositories"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return err
		}
		if page.TotalCount == nil || page.Repositories == nil {
			return errors.New("no total_count or repositories in response")
		}
		total = *page.TotalCount
		for _, r := range page.Repositories {
			if r.ID <= 0 || r.NodeID == "" || r.Owner == nil {
				return errors.New("repository without id, node_id or owner")
			}
			if seen[r.ID] {
				continue
			}
			seen[r.ID] = true
			vis := strings.ToUpper(r.Visibility)
			if vis == "" {
				vis = "PUBLIC"
				if r.Private {
					vis = "PRIVATE"
				}
			}
			repo := Repository{
				InstallationID: ic.id,
				ID:             r.ID,
				NodeID:         r.NodeID,
				Owner:          r.Owner.Login,
				Name:           r.Name,
				FullName:       r.FullName,
				URL:            r.HTMLURL,
				DefaultBranch:  r.DefaultBranch,
				Archived:       r.Archived,
				Fork:           r.Fork,
				Visibility:     vis,
				Topics:         r.Topics,
			}
			if r.Description != nil {
				repo.Description = *r.Description
			}
			if r.PushedAt != nil {
				repo.PushedAt = *r.PushedAt
			}
			repos = append(repos, repo)
		}
		return nil
	})
	return repos, total, err
}

func (c *Client) endpoint(path string) string {
	return strings.TrimRight(c.opts.APIURL, "/") + path + "?per_page=100"
}

// maxPages stops a listing whose Link headers never end.
const maxPages = 10000

// paginate GETs next and every page its Link header points to, handing each
// JSON body to page.
func (c *Client) paginate(ctx context.Context, hc *http.Client, next string, page func([]byte) error) error {
	visited := make(map[string]bool)
	for n := 0; next != ""; n++ {
		if n >= maxPages || visited[next] {
			return fmt.Errorf("pagination does not end at %s", redactURL(next))
		}
		visited[next] = true
		body, link, err := c.getJSON(ctx, hc, next)
		if err != nil {
			return err
		}
		if err := page(body); err != nil {
			return fmt.Errorf("%w: decode %s: %w", ErrInvalidResponse, redactURL(next), err)
		}
		next, err = c.nextLink(link)
		if err != nil {
			return err
		}
	}
	return nil
}

// getJSON GETs u and returns its body, which must be JSON, and its Link header.
func (c *Client) getJSON(ctx context.Context, hc *http.Client, u string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("GET %s: %w", redactURL(u), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", fmt.Errorf("GET %s: read body: %w", redactURL(u), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", newAPIError(http.MethodGet, u, resp, body)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); !strings.HasSuffix(mt, "json") {
		return nil, "", fmt.Errorf("%w: GET %s: content type %q, want JSON", ErrInvalidResponse, redactURL(u), mt)
	}
	if !json.Valid(body) {
		return nil, "", fmt.Errorf("%w: GET %s: body is not complete JSON (%d bytes)", ErrInvalidResponse, redactURL(u), len(body))
	}
	return body, resp.Header.Get("Link"), nil
}

func newAPIError(method, u string, resp *http.Response, body []byte) *APIError {
	e := &APIError{Method: method, URL: redactURL(u), StatusCode: resp.StatusCode}
	var msg struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &msg) == nil {
		e.Message = msg.Message
	}
	return e
}

// nextLink returns the rel="next" target of a Link header. It must point at
// the same host as the API, since the request carries a token.
func (c *Client) nextLink(link string) (string, error) {
	for part := range strings.SplitSeq(link, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if !ok {
			continue
		}
		isNext := false
		for p := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.TrimSpace(k) == "rel" && strings.Contains(" "+strings.Trim(v, `"`)+" ", " next ") {
				isNext = true
			}
		}
		if !isNext {
			continue
		}
		target = strings.TrimSpace(target)
		target = strings.TrimSuffix(strings.TrimPrefix(target, "<"), ">")
		u, err := c.apiURL.Parse(target)
		if err != nil {
			return "", fmt.Errorf("%w: bad Link next %q", ErrInvalidResponse, redactURL(target))
		}
		if u.Scheme != c.apiURL.Scheme || u.Host != c.apiURL.Host {
			return "", fmt.Errorf("%w: Link next points to another host %q", ErrInvalidResponse, u.Host)
		}
		return u.String(), nil
	}
	return "", nil
}

// redactURL drops the query string except for paging parameters.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	q := url.Values{}
	for _, k := range []string{"page", "per_page"} {
		if v := u.Query().Get(k); v != "" {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	u.User = nil
	return u.String()
}

// noteRateLimit remembers the last GraphQL rate limit seen.
func (c *Client) noteRateLimit(rl RateLimit) {
	c.rlMu.Lock()
	c.rateLimit = rl
	c.rlMu.Unlock()
}

func (c *Client) lastRateLimit() RateLimit {
	c.rlMu.Lock()
	defer c.rlMu.Unlock()
	return c.rateLimit
}

// itoa is strconv.Itoa, shortened for query building.
func itoa(i int) string { return strconv.Itoa(i) }
