package glint

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fuzz targets below serve arbitrary answers to the real client over
// loopback and check, with a decoding of their own, that garbage never
// panics and never turns into an empty or partial result: the client
// returns an error or everything the answer holds.

const fuzzSecret = "fuzz-client-secret-0123456789"

// fuzzServer answers every request with the body (and status) set last.
type fuzzServer struct {
	mu     sync.Mutex
	status int
	body   []byte
	routes map[string]func(w http.ResponseWriter, r *http.Request) // by path suffix; nil uses body
	auth   []string                                                // Authorization headers seen
	srv    *httptest.Server
}

func newFuzzServer(f *testing.F) *fuzzServer {
	fs := &fuzzServer{status: http.StatusOK, routes: map[string]func(http.ResponseWriter, *http.Request){}}
	fs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		fs.mu.Lock()
		status, body := fs.status, fs.body
		var route func(http.ResponseWriter, *http.Request)
		for suffix, h := range fs.routes {
			if strings.HasSuffix(r.URL.Path, suffix) {
				route = h
			}
		}
		if r.URL.Path != "/v1/auth/access_token" {
			fs.auth = append(fs.auth, r.Header.Get("Authorization"))
		}
		fs.mu.Unlock()
		if route != nil {
			route(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	f.Cleanup(fs.srv.Close)
	return fs
}

func (fs *fuzzServer) set(status int, body []byte) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.status, fs.body, fs.auth = status, body, nil
}

func goodToken(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true,"accessToken":"tok-fuzz","expiresIn":3600}`)
}

func fuzzClient(t *testing.T, url string) *Client {
	c, err := New(url, "fuzz-client", fuzzSecret, WithRetry(0, 0, 0), WithHTTPClient(&http.Client{Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// loose is an answer decoded with the key matching of encoding/json (the
// client's), but no types: the oracle judges the values itself.
type loose struct {
	OK          any `json:"ok"`
	Entities    any `json:"entities"`
	Next        any `json:"next"`
	Blueprints  any `json:"blueprints"`
	AccessToken any `json:"accessToken"`
}

// object decodes body as a JSON object, or reports false.
func object(body []byte) (loose, bool) {
	var m *loose
	if json.Unmarshal(body, &m) != nil || m == nil {
		return loose{}, false
	}
	return *m, true
}

func checkNoSecret(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), fuzzSecret) {
		t.Errorf("error shows the client secret: %v", err)
	}
}

// FuzzSearchAnswer serves arbitrary search and blueprint-list answers.
func FuzzSearchAnswer(f *testing.F) {
	for _, s := range []string{
		`{"ok":true,"entities":[]}`,
		`{"ok":true,"entities":[{"identifier":"a","title":"A","datasource":"x"}]}`,
		`{"ok":true,"entities":[{"identifier":"a"}],"next":"c1"}`,
		`{"ok":true}`,
		`{"ok":true,"entities":null}`,
		`{"ok":false,"error":"internal_error"}`,
		`{"ok":true,"entities":[{"identifier":1}]}`,
		`{"ok":true,"blueprints":[{"identifier":"service","schema":{"properties":{}}}],"entities":[]}`,
		`<html>maintenance</html>`,
		`{"ok":true,"entities":[`,
		``,
		`null`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	fs := newFuzzServer(f)
	fs.routes["/v1/auth/access_token"] = goodToken
	f.Fuzz(func(t *testing.T, body []byte) {
		fs.set(http.StatusOK, body)
		c := fuzzClient(t, fs.srv.URL)
		m, isObj := object(body)
		ok := isObj && m.OK == true

		es, err := c.SearchEntities(context.Background(), "service", Query{})
		checkNoSecret(t, err)
		if err == nil {
			list, isList := m.Entities.([]any)
			next, _ := m.Next.(string)
			switch {
			case !ok || !isList:
				t.Fatalf("search answer %q gave %d entities and no error", body, len(es))
			case len(list) != len(es):
				t.Fatalf("search answer holds %d entities, client returned %d", len(list), len(es))
			case next != "":
				t.Fatalf("search answer with next %q was taken as the last page", next)
			}
		}

		bps, err := c.Blueprints(context.Background())
		checkNoSecret(t, err)
		if err == nil {
			list, isList := m.Blueprints.([]any)
			if !ok || !isList || len(list) != len(bps) {
				t.Fatalf("blueprints answer %q gave %d blueprints and no error", body, len(bps))
			}
		}
	})
}

// FuzzBulkAnswer serves arbitrary answers to a bulk upsert of three
// entities: an entity counts as written only when the answer says so.
func FuzzBulkAnswer(f *testing.F) {
	for _, s := range []struct {
		status uint8
		body   string
	}{
		{0, `{"ok":true,"entities":[{"identifier":"a","index":0,"created":true},{"identifier":"b","index":1},{"identifier":"c","index":2}],"errors":[]}`},
		{2, `{"ok":true,"entities":[{"identifier":"a","index":0}],"errors":[{"identifier":"b","index":1,"statusCode":422,"error":"x","message":"m"}]}`},
		{2, `{"ok":true,"entities":[{"identifier":"a","index":0},{"identifier":"a","index":0}]}`},
		{0, `{"ok":true,"entities":[{"identifier":"b","index":0}]}`},
		{0, `{"ok":true,"entities":[{"index":5},{"index":-1}]}`},
		{0, `{"ok":true}`},
		{1, `{"ok":true,"entities":[{"identifier":"a","index":0},{"identifier":"b","index":1},{"identifier":"c","index":2}]}`},
		{0, `{"ok":true,"entities":[`},
		{0, ``},
		{2, `<html></html>`},
	} {
		f.Add(s.status, []byte(s.body))
	}
	fs := newFuzzServer(f)
	fs.routes["/v1/auth/access_token"] = goodToken
	fs.routes["/entities"] = func(w http.ResponseWriter, _ *http.Request) { // single upserts: fail the call
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"ok":false,"error":"internal_error"}`)
	}
	f.Fuzz(func(t *testing.T, status uint8, body []byte) {
		fs.set([]int{200, 201, 207}[int(status)%3], body)
		c := fuzzClient(t, fs.srv.URL)
		in := []Entity{{Identifier: "a"}, {Identifier: "b"}, {Identifier: "c"}}
		results, err := c.UpsertEntities(context.Background(), "service", in, WriteOptions{UserAgent: "fuzz"})
		checkNoSecret(t, err)
		if len(results) != len(in) {
			t.Fatalf("%d results for %d entities", len(results), len(in))
		}
		m, isObj := object(body)
		var listed []any
		if isObj && m.OK == true {
			listed, _ = m.Entities.([]any)
		}
		for pos, r := range results {
			if r.Err != nil {
				continue
			}
			found := false
			for _, x := range listed {
				b, _ := json.Marshal(x)
				var o *struct {
					Identifier any `json:"identifier"`
					Index      any `json:"index"`
				}
				if json.Unmarshal(b, &o) != nil || o == nil {
					continue
				}
				id, _ := o.Identifier.(string)
				if idx, _ := o.Index.(float64); idx == float64(pos) && (o.Identifier == nil || id == "" || id == in[pos].Identifier) {
					found = true
				}
			}
			if !found {
				t.Fatalf("entity %s counts as written but the answer %q does not say so", in[pos].Identifier, body)
			}
		}
	})
}

// FuzzTokenAnswer serves arbitrary answers to the token request: a call
// goes out only with the token the answer holds, and no error shows the
// client secret.
func FuzzTokenAnswer(f *testing.F) {
	for _, s := range []string{
		`{"ok":true,"accessToken":"tok","expiresIn":3600,"tokenType":"Bearer"}`,
		`{"ok":true,"accessToken":"","expiresIn":3600}`,
		`{"ok":true,"expiresIn":3600}`,
		`{"ok":true,"accessToken":"tok","expiresIn":-5}`,
		`{"ok":false,"error":"unauthorized","message":"bad secret ` + fuzzSecret + `"}`,
		`{"ok":true,"accessToken":5}`,
		`not json ` + fuzzSecret,
		``,
	} {
		f.Add([]byte(s))
	}
	fs := newFuzzServer(f)
	fs.routes["/v1/blueprints"] = func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true,"blueprints":[]}`)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fs.set(http.StatusOK, body)
		c := fuzzClient(t, fs.srv.URL)
		_, err := c.Blueprints(context.Background())
		checkNoSecret(t, err)
		m, isObj := object(body)
		tok, _ := m.AccessToken.(string)
		fs.mu.Lock()
		auth := append([]string(nil), fs.auth...)
		fs.mu.Unlock()
		if err == nil && (!isObj || m.OK != true || tok == "") {
			t.Fatalf("token answer %q was accepted", body)
		}
		for _, a := range auth {
			if a != "Bearer "+tok {
				t.Fatalf("a call went out with %q, the answer's token is %q", a, tok)
			}
		}
	})
}
