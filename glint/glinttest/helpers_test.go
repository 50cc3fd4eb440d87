package glinttest

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kozmoai/glint-github-app/glint"
)

const testUA = "glint-github-app/test (app/1@ghe.example.com; gitops)"

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newServer starts a server with testdata/blueprints.json and teams
// "platform" and "payments".
func newServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := Start(t, opts)
	data, err := os.ReadFile("testdata/blueprints.json")
	if err != nil {
		t.Fatal(err)
	}
	var bps []glint.Blueprint
	if err := json.Unmarshal(data, &bps); err != nil {
		t.Fatal(err)
	}
	for _, bp := range bps {
		s.AddBlueprint(bp)
	}
	s.PutTeam(glint.Team{Name: "platform", Users: []glint.TeamUser{{Email: "a@example.com"}}}, "person")
	s.PutTeam(glint.Team{Name: "payments"}, "person")
	return s
}

// client is a bare HTTP client of the fake: plain net/http and JSON.
type client struct {
	t     testing.TB
	s     *Server
	token string
	ua    string
	http  *http.Client
}

// newClient fetches a token and returns a client using it.
func newClient(t testing.TB, s *Server) *client {
	t.Helper()
	c := &client{t: t, s: s, ua: testUA, http: &http.Client{Timeout: 10 * time.Second}}
	c.token = c.fetchToken()
	return c
}

func (c *client) fetchToken() string {
	c.t.Helper()
	saved := c.token
	c.token = ""
	defer func() { c.token = saved }()
	code, _, body := c.do("POST", "/v1/auth/access_token", map[string]string{
		"clientId": c.s.ClientID(), "clientSecret": c.s.ClientSecret(),
	})
	if code != http.StatusOK {
		c.t.Fatalf("fetch token: status %d: %v", code, body)
	}
	return body["accessToken"].(string)
}

// response is a decoded JSON body.
type response map[string]any

// do sends body (raw []byte, or a value to encode as JSON; nil for none) and
// decodes the JSON answer.
func (c *client) do(method, path string, body any) (int, http.Header, response) {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.s.URL()+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	var out response
	if err := json.Unmarshal(data, &out); err != nil {
		c.t.Fatalf("%s %s: status %d: body is not JSON: %q", method, path, resp.StatusCode, data)
	}
	checkEnvelope(c.t, resp, out)
	return resp.StatusCode, resp.Header, out
}

// checkEnvelope checks what every response must carry.
func checkEnvelope(t testing.TB, resp *http.Response, body response) {
	t.Helper()
	for _, h := range []string{"x-trace-id", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-period", "x-ratelimit-reset"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("%s %s: response has no %s header", resp.Request.Method, resp.Request.URL.Path, h)
		}
	}
	if resp.StatusCode >= 400 {
		if body["ok"] != false {
			t.Errorf("error body ok = %v, want false", body["ok"])
		}
		if code, _ := body["error"].(string); code == "" {
			t.Errorf("error body has no error code: %v", body)
		}
		if _, ok := body["message"].(string); !ok {
			t.Errorf("error body has no message: %v", body)
		}
	} else if body["ok"] != true {
		t.Errorf("status %d body ok = %v, want true", resp.StatusCode, body["ok"])
	}
}

// wantError checks status and error code, and that the message mentions each of parts.
func wantError(t *testing.T, code int, body response, wantCode int, wantErr string, parts ...string) {
	t.Helper()
	if code != wantCode || body["error"] != wantErr {
		t.Fatalf("got %d %v, want %d %s", code, body, wantCode, wantErr)
	}
	msg, _ := body["message"].(string)
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("message %q does not mention %q", msg, p)
		}
	}
}

// upsert posts one entity to blueprint with query q and wants status want.
func (c *client) upsert(blueprint, q string, entity any, want int) response {
	c.t.Helper()
	code, _, body := c.do("POST", "/v1/blueprints/"+blueprint+"/entities?"+q, entity)
	if code != want {
		c.t.Fatalf("upsert %s?%s: status %d, want %d: %v", blueprint, q, code, want, body)
	}
	return body
}

// ids lists the identifiers of a response's entities, in order.
func ids(body response) []string {
	var out []string
	list, _ := body["entities"].([]any)
	for _, e := range list {
		out = append(out, e.(map[string]any)["identifier"].(string))
	}
	return out
}

func svc(id string, props map[string]any) map[string]any {
	if props == nil {
		props = map[string]any{}
	}
	if _, ok := props["name"]; !ok {
		props["name"] = id
	}
	return map[string]any{"identifier": id, "properties": props}
}
