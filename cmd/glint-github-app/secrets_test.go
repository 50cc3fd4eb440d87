package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kozmoai/glint-github-app/ghe/ghetest"
	"github.com/kozmoai/glint-github-app/glint/glinttest"
	"github.com/kozmoai/glint-github-app/reconciler"
)

// glintToken returns the access token the fake Glint currently hands out
// for the world's credentials: the one the app used, unless it expired.
func (w *world) glintToken(t *testing.T) string {
	t.Helper()
	resp, err := http.Post(w.gl.URL()+"/v1/auth/access_token", "application/json",
		strings.NewReader(fmt.Sprintf(`{"clientId":"e2e","clientSecret":%q}`, w.secret)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("get the fake's token: %v", err)
	}
	return out.AccessToken
}

// secretsIn returns the names of the secrets text shows: the client secret,
// any 24-character piece of the private key (base64 or PEM body), an
// installation token, or the given Glint tokens.
func (w *world) secretsIn(text string, glintTokens ...string) []string {
	var found []string
	if strings.Contains(text, w.secret) {
		found = append(found, "Glint client secret")
	}
	// The base64 of the key without the encoded PEM header and footer,
	// which are the same in every key (an error quoting the start of a
	// misplaced value shows only the header).
	b64 := base64.StdEncoding.EncodeToString(w.pemKey)
	b64 = b64[44 : len(b64)-44]
	for i := 0; i+24 <= len(b64); i += 12 {
		if strings.Contains(text, b64[i:i+24]) {
			found = append(found, "private key (base64)")
			break
		}
	}
	body := strings.ReplaceAll(string(w.pemKey), "\n", "")
	body = strings.TrimSuffix(strings.TrimPrefix(body, "-----BEGIN RSA PRIVATE KEY-----"), "-----END RSA PRIVATE KEY-----")
	for i := 0; i+24 <= len(body); i += 12 {
		if strings.Contains(text, body[i:i+24]) {
			found = append(found, "private key (PEM)")
			break
		}
	}
	if strings.Contains(text, "ghs_") {
		found = append(found, "installation token")
	}
	for _, tok := range glintTokens {
		if tok != "" && strings.Contains(text, tok) {
			found = append(found, "Glint token")
		}
	}
	return found
}

// TestSecretsNeverInOutput runs the binary at LOG_LEVEL=debug in every way
// that succeeds or fails and checks that no secret shows in its output.
func TestSecretsNeverInOutput(t *testing.T) {
	w := newWorld(t)
	_, wrongPEM, err := ghetest.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     []string
		args    []string
		prepare func()
	}{
		{name: "once, base64 key", args: []string{"once"}},
		{name: "once, PEM key", env: []string{"PRIVATE_KEY=" + string(w.pemKey)}, args: []string{"once"}},
		{name: "once, PEM key in a file", env: []string{"PRIVATE_KEY=", "PRIVATE_KEY_FILE=" + writeTemp(t, "key.pem", w.pemKey)}, args: []string{"once"}},
		{name: "plan", args: []string{"plan"}},
		{name: "plan json", args: []string{"plan", "--output", "json"}},
		{name: "help", args: []string{"--help"}},
		{name: "once help", args: []string{"once", "-h"}},
		{name: "bad flag", args: []string{"once", "-nope"}},
		{name: "wrong glint secret", env: []string{"GLINT_CLIENT_SECRET=" + w.secret + "-wrong"}, args: []string{"once"}},
		{name: "key the GHE does not know", env: []string{"PRIVATE_KEY=" + base64.StdEncoding.EncodeToString(wrongPEM)}, args: []string{"once"}},
		{name: "truncated key", env: []string{"PRIVATE_KEY=" + base64.StdEncoding.EncodeToString(w.pemKey[:len(w.pemKey)/2])}, args: []string{"once"}},
		{name: "key in the wrong variable", env: []string{"APP_ID=" + base64.StdEncoding.EncodeToString(w.pemKey)}, args: []string{"once"}},
		{name: "glint faults", args: []string{"once"}, prepare: func() {
			w.gl.InjectFault(glinttest.Fault{Route: glinttest.RouteSearch, Kind: glinttest.Status401, Count: 2})
			w.gl.InjectFault(glinttest.Fault{Route: glinttest.RouteBulk, Kind: glinttest.Partial207, Count: 3})
			w.gl.InjectFault(glinttest.Fault{Route: glinttest.RouteBlueprints, Kind: glinttest.Status500})
		}},
		{name: "ghe faults", args: []string{"once"}, prepare: func() {
			w.gh.InjectFault(ghetest.Fault{Target: ghetest.RouteAccessTokens, Kind: ghetest.Status500})
			w.gh.InjectFault(ghetest.Fault{Target: ghetest.RouteGraphQL, Kind: ghetest.HTMLMaintenance})
			w.gh.InjectFault(ghetest.Fault{Target: ghetest.RouteGraphQL, Kind: ghetest.PartialData})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.prepare != nil {
				tt.prepare()
				t.Cleanup(w.gl.ClearFaults)
			}
			before := w.glintToken(t)
			_, stdout, stderr := w.run(t, tt.env, tt.args...)
			out := stdout + stderr
			if found := w.secretsIn(out, before, w.glintToken(t)); len(found) > 0 {
				t.Errorf("output shows %v:\n%s", found, out)
			}
			if out == "" {
				t.Error("no output at all: the check would be vacuous")
			}
		})
	}
}

// TestSecretsNeverInHealthOrMetrics serves with a pass that fails (a wrong
// Glint secret, so /health carries the error) and one that succeeds, and
// checks /health and /metrics.
func TestSecretsNeverInHealthOrMetrics(t *testing.T) {
	w := newWorld(t)
	for _, tt := range []struct {
		name string
		env  []string
	}{
		{name: "failing", env: []string{"GLINT_CLIENT_SECRET=" + w.secret + "x"}},
		{name: "succeeding"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			port := freePort(t)
			cmd := exec.Command(binary, "serve")
			cmd.Env = append(append(append([]string{}, w.env...), tt.env...), "GLINT="+strconv.Itoa(port), "SCHEDULE=@every 1h")
			var out syncBuffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			base := "http://127.0.0.1:" + strconv.Itoa(port)
			var health []byte
			deadline := time.Now().Add(20 * time.Second)
			for {
				resp, err := http.Get(base + "/health")
				if err == nil {
					health, _ = io.ReadAll(resp.Body)
					resp.Body.Close()
					if bytes.Contains(health, []byte(`"lastPass"`)) || bytes.Contains(health, []byte(`"lastError"`)) {
						break
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("no pass finished: %s\n%s", health, out.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			if tt.name == "failing" && !bytes.Contains(health, []byte("lastError")) {
				t.Errorf("/health shows no error: %s", health)
			}
			resp, err := http.Get(base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			metrics, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			tok := w.glintToken(t)
			for what, text := range map[string]string{"/health": string(health), "/metrics": string(metrics), "logs": out.String()} {
				if found := w.secretsIn(text, tok); len(found) > 0 {
					t.Errorf("%s shows %v:\n%s", what, found, text)
				}
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSecretsNeverInPanicOutput makes a pass panic (after it read both
// sides and failed on a Glint fault, so its error is in the panic value)
// and checks what cron.Recover logs: the panic and its stack, no secret.
func TestSecretsNeverInPanicOutput(t *testing.T) {
	w := newWorld(t)
	w.gl.InjectFault(glinttest.Fault{Route: glinttest.RouteBulk, Kind: glinttest.Partial207, Count: -1})
	t.Cleanup(w.gl.ClearFaults)
	env := map[string]string{}
	for _, kv := range w.env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	env["SCHEDULE"] = "@every 1h"
	fs := newFlagSet()
	v, _, err := parseFlags(fs, nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(v, true, true, readFileFunc)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	a, err := newApp(cfg, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	a.onPass = func(res *reconciler.Result, err error) {
		panic(fmt.Sprintf("injected panic after a pass: %v; %+v", err, res.Problems))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- a.serveOn(ctx, ln) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "injected panic") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no panic logged:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	out := logs.String()
	if !strings.Contains(out, "cron: panic") || !strings.Contains(out, "goroutine") {
		t.Errorf("the panic was not recovered with its stack:\n%s", out)
	}
	if found := w.secretsIn(out, w.glintToken(t)); len(found) > 0 {
		t.Errorf("panic output shows %v:\n%s", found, out)
	}
}

func newFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := t.TempDir() + "/" + name
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
