package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kozmoai/glint-github-app/ghe/ghetest"
	"github.com/kozmoai/glint-github-app/glint/glinttest"
)

// binary is the program built the way the Dockerfile builds it.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "glint-github-app-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "glint-github-app")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=e2e", "-o", binary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// world is a fake GHE and a fake Glint seeded with the demo organization,
// and the environment that points the binary at them.
type world struct {
	gh     *ghetest.Server
	gl     *glinttest.Server
	env    []string
	pemKey []byte
	secret string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	key, pemKey, err := ghetest.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	gh := ghetest.NewForTest(t, ghetest.Options{AppID: demoAppID, PublicKey: &key.PublicKey})
	t.Cleanup(gh.Close)
	secret := "s3cr3t-" + randomHex(8)
	gl := glinttest.New(glinttest.Options{ClientID: "e2e", ClientSecret: secret})
	t.Cleanup(gl.Close)
	seedDemo(gh, gl)
	w := &world{gh: gh, gl: gl, pemKey: pemKey, secret: secret}
	w.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"APP_ID=" + strconv.Itoa(demoAppID),
		"PRIVATE_KEY=" + base64.StdEncoding.EncodeToString(pemKey),
		"GHE_URL=" + gh.URL(),
		"GLINT_URL=" + gl.URL(),
		"GLINT_CLIENT_ID=e2e",
		"GLINT_CLIENT_SECRET=" + secret,
		"LOG_LEVEL=debug",
	}
	return w
}

// run runs the binary to completion and returns its exit code and output.
func (w *world) run(t *testing.T, extraEnv []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(append([]string{}, w.env...), extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	w.assertNoSecrets(t, stdout.String()+stderr.String())
	return code, stdout.String(), stderr.String()
}

// assertNoSecrets fails when any credential shows in out.
func (w *world) assertNoSecrets(t *testing.T, out string) {
	t.Helper()
	if w.pemKey == nil {
		return
	}
	b64 := base64.StdEncoding.EncodeToString(w.pemKey)
	for name, s := range map[string]string{
		"client secret":      w.secret,
		"private key (b64)":  b64[20:80],
		"private key (PEM)":  string(w.pemKey[40:100]),
		"installation token": "ghs_",
	} {
		if strings.Contains(out, s) {
			t.Errorf("output shows the %s", name)
		}
	}
}

func TestPlanOnceAndUnchangedPass(t *testing.T) {
	w := newWorld(t)

	code, out, stderr := w.run(t, nil, "plan")
	if code != exitOK {
		t.Fatalf("plan exit %d\n%s", code, stderr)
	}
	if !strings.Contains(out, "+ service/checkout") || !strings.Contains(out, "acme/checkout") {
		t.Errorf("plan output lacks the checkout create:\n%s", out)
	}
	if n := len(w.gl.Entities("service")); n != 1 { // only the person's billing entity
		t.Fatalf("plan wrote to Glint: %d services", n)
	}

	code, _, stderr = w.run(t, nil, "plan", "--output", "json")
	if code != exitOK {
		t.Fatalf("plan json exit %d\n%s", code, stderr)
	}

	code, _, stderr = w.run(t, nil, "once")
	if code != exitOK {
		t.Fatalf("once exit %d\n%s", code, stderr)
	}
	for _, id := range []string{"checkout", "storefront", "gateway"} {
		if _, ok := w.gl.Entity("service", id); !ok {
			t.Errorf("service/%s not created", id)
		}
	}
	if e, _ := w.gl.Entity("service", "billing"); e.Datasource != "alice@acme.example (Glint UI)" {
		t.Errorf("the person's entity was taken over: datasource %q", e.Datasource)
	}
	if !strings.Contains(stderr, "acme/broken") {
		t.Errorf("the broken glint.yml is not reported:\n%s", stderr)
	}

	w.gl.ResetStats()
	code, _, stderr = w.run(t, nil, "once")
	if code != exitOK {
		t.Fatalf("second once exit %d\n%s", code, stderr)
	}
	if s := w.gl.Stats(); s.Writes != 0 {
		t.Errorf("an unchanged pass wrote %d times", s.Writes)
	}
}

func TestOnceExitCodes(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name    string
		env     []string
		want    int
		stderr  string
		prepare func()
	}{
		{name: "bad app id", env: []string{"APP_ID=abc"}, want: exitBadConfig, stderr: "APP_ID"},
		{name: "bad key", env: []string{"PRIVATE_KEY=bm90IGEga2V5"}, want: exitBadConfig, stderr: "PRIVATE_KEY"},
		{name: "bad threshold", env: []string{"DELETE_THRESHOLD=2"}, want: exitBadConfig, stderr: "DELETE_THRESHOLD"},
		{name: "bad schedule", env: []string{"SCHEDULE=every minute"}, want: exitBadConfig, stderr: "SCHEDULE"},
		{name: "glint unreachable", env: []string{"GLINT_URL=http://127.0.0.1:1"}, want: exitFailed, stderr: "pass failed"},
		{name: "wrong glint secret", env: []string{"GLINT_CLIENT_SECRET=nope"}, want: exitFailed, stderr: "pass failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := w.run(t, tt.env, "once")
			if code != tt.want {
				t.Errorf("exit %d, want %d\n%s", code, tt.want, stderr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr)
			}
		})
	}
}

func TestHelpListsSettingsWithoutSecrets(t *testing.T) {
	w := newWorld(t)
	code, out, stderr := w.run(t, nil, "--help")
	if code != exitOK {
		t.Fatalf("--help exit %d", code)
	}
	for _, name := range []string{"APP_ID", "PRIVATE_KEY", "GHE_HOST", "GHE_URL", "GHE_CA_FILE", "GLINT", "GLINT_URL",
		"GLINT_CLIENT_ID", "GLINT_CLIENT_SECRET", "WEBHOOK_SECRET", "SCHEDULE", "DELETE_THRESHOLD", "LOG_LEVEL", "LOG_FORMAT"} {
		if !strings.Contains(out+stderr, name) {
			t.Errorf("--help lacks %s", name)
		}
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(good, []byte("identifier: a\nblueprint: service\nproperties:\n  readme: file://README.md\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("hi"), 0o600)
	os.WriteFile(bad, []byte("identifier: a\nblueprint: service\nproperties:\n  readme: file://../../etc/passwd\n"), 0o600)
	w := &world{}
	code, out, _ := w.run(t, nil, "validate", "--root", dir, good)
	if code != exitOK || !strings.Contains(out, "ok (1 entities)") {
		t.Errorf("good file: exit %d\n%s", code, out)
	}
	code, out, _ = w.run(t, nil, "validate", "--root", dir, good, bad)
	if code != exitFailed || !strings.Contains(out, "bad.yml:4") {
		t.Errorf("bad file: exit %d, want %d and bad.yml:4\n%s", code, exitFailed, out)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestServeHealthMetricsAndSIGTERM(t *testing.T) {
	w := newWorld(t)
	port := freePort(t)
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(append([]string{}, w.env...), "GLINT="+strconv.Itoa(port), "SCHEDULE=@every 1s", "SHUTDOWN_GRACE=5s")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	base := "http://127.0.0.1:" + strconv.Itoa(port)

	var report healthReport
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/health")
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&report)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && report.Status == "ok" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no healthy pass in time: %+v\n%s", report, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if report.LastSuccess == nil || report.LastAttempt == nil {
		t.Errorf("health lacks timestamps: %+v", report)
	}

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{
		"glint_github_app_runs_total", "glint_github_app_last_success_timestamp_seconds",
		"glint_github_app_ghe_requests_total", "glint_github_app_glint_requests_total",
		"glint_github_app_build_info", "glint_github_app_changes_total",
	} {
		if !bytes.Contains(body, []byte(name)) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	w.assertNoSecrets(t, string(body))

	resp, err = http.Post(base+"/health", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /health: %d, want 405", resp.StatusCode)
	}
	resp, err = http.Get(base + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/: %d, want 404", resp.StatusCode)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not exit after SIGTERM\n%s", stderr.String())
	}
	w.assertNoSecrets(t, stderr.String())
}
