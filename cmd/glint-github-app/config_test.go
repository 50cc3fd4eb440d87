package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func validEnv() map[string]string {
	return map[string]string{
		"APP_ID":              "42",
		"PRIVATE_KEY":         "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ==",
		"GHE_HOST":            "ghe.example.com",
		"GLINT_CLIENT_ID":     "id",
		"GLINT_CLIENT_SECRET": "topsecret-value",
	}
}

func noFile(string) ([]byte, error) {
	return nil, &fs.PathError{Op: "open", Path: "x", Err: fs.ErrNotExist}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr []string // substrings; empty: valid
		check   func(t *testing.T, c *Config)
	}{
		{name: "defaults", check: func(t *testing.T, c *Config) {
			if c.ListenPort != 8080 || c.Schedule != "@every 5m" || c.DeleteThreshold != 0.9 || c.Policy != "sync" {
				t.Errorf("defaults: %+v", c)
			}
			if c.gheBaseURL() != "https://ghe.example.com" || c.GlintURL != "https://api.useglint.io" {
				t.Errorf("urls: %s %s", c.gheBaseURL(), c.GlintURL)
			}
			if c.HealthMaxAge != 15*time.Minute+30*time.Minute {
				t.Errorf("health max age %s", c.HealthMaxAge)
			}
		}},
		{name: "flag beats env", args: []string{"-schedule", "*/10 * * * *", "-listen-port", "9100"}, check: func(t *testing.T, c *Config) {
			if c.Schedule != "*/10 * * * *" || c.ListenPort != 9100 {
				t.Errorf("got %q %d", c.Schedule, c.ListenPort)
			}
		}},
		{name: "GHE_URL overrides and sets the host", env: map[string]string{"GHE_HOST": "", "GHE_URL": "http://127.0.0.1:9000/"}, check: func(t *testing.T, c *Config) {
			if c.gheBaseURL() != "http://127.0.0.1:9000" || c.GHEHost != "127.0.0.1:9000" {
				t.Errorf("got %q %q", c.gheBaseURL(), c.GHEHost)
			}
		}},
		{name: "CRON_TZ prefix", env: map[string]string{"SCHEDULE": "CRON_TZ=Europe/Paris 0 3 * * *"}},
		{name: "webhook secret accepted", env: map[string]string{"WEBHOOK_SECRET": "whatever"}, check: func(t *testing.T, c *Config) {
			if !c.WebhookSecret {
				t.Error("WEBHOOK_SECRET not noticed")
			}
		}},
		{name: "missing required", env: map[string]string{"APP_ID": "", "PRIVATE_KEY": "", "GHE_HOST": "", "GLINT_CLIENT_ID": "", "GLINT_CLIENT_SECRET": ""},
			wantErr: []string{"APP_ID: required", "PRIVATE_KEY: required", "GHE_HOST: required", "GLINT_CLIENT_ID: required", "GLINT_CLIENT_SECRET: required"}},
		{name: "bad values", env: map[string]string{"APP_ID": "x1", "GLINT": "http", "SCHEDULE": "often", "DELETE_THRESHOLD": "0", "POLICY": "yolo",
			"RUN_TIMEOUT": "5", "LOG_LEVEL": "loud", "LOG_FORMAT": "xml", "GHE_HOST": "https://ghe/x", "GLINT_URL": "ftp://x"},
			wantErr: []string{"APP_ID", "GLINT:", "SCHEDULE", "DELETE_THRESHOLD", "POLICY", "RUN_TIMEOUT", "LOG_LEVEL", "LOG_FORMAT", "GHE_HOST", "GLINT_URL"}},
		{name: "both key sources", env: map[string]string{"PRIVATE_KEY_FILE": "/k.pem"}, wantErr: []string{"set only one"}},
		{name: "unreadable key file", env: map[string]string{"PRIVATE_KEY": "", "PRIVATE_KEY_FILE": "/nope.pem"}, wantErr: []string{"PRIVATE_KEY_FILE: cannot read /nope.pem"}},
		{name: "unreadable CA file", env: map[string]string{"GHE_CA_FILE": "/ca.pem"}, wantErr: []string{"GHE_CA_FILE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := validEnv()
			for k, v := range tt.env {
				env[k] = v
			}
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			v, _, err := parseFlags(fs, tt.args, envOf(env))
			if err != nil {
				t.Fatal(err)
			}
			c, err := loadConfig(v, true, true, noFile)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tt.check != nil {
					tt.check(t, c)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			var ce *configError
			if !errors.As(err, &ce) {
				t.Errorf("error is not a configuration error: %T", err)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error lacks %q:\n%v", s, err)
				}
			}
			if strings.Contains(err.Error(), "topsecret-value") || strings.Contains(err.Error(), "LS0tLS1") {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

func TestUsageShowsNoSecretValues(t *testing.T) {
	var buf bytes.Buffer
	printUsage(&buf, nil)
	out := buf.String()
	for _, s := range settings() {
		if !strings.Contains(out, s.env) {
			t.Errorf("usage lacks %s", s.env)
		}
	}
	// Even when the environment holds secrets, usage is built from defaults only.
	if strings.Contains(out, "topsecret") {
		t.Error("usage shows a secret")
	}
}

func TestHealth(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	h := newHealth(10*time.Minute, clock)
	if r, code := h.report(); code != http.StatusOK || r.Status != "starting" {
		t.Errorf("fresh: %d %+v", code, r)
	}
	now = now.Add(11 * time.Minute)
	if r, code := h.report(); code != http.StatusServiceUnavailable || r.Status != "stale" {
		t.Errorf("no success for too long: %d %+v", code, r)
	}
	h.attempt()
	h.finish("created 3", nil)
	if r, code := h.report(); code != http.StatusOK || r.Status != "ok" || r.LastSuccess == nil {
		t.Errorf("after success: %d %+v", code, r)
	}
	now = now.Add(5 * time.Minute)
	h.attempt()
	h.finish("", errors.New("list installations: 502"))
	if r, code := h.report(); code != http.StatusOK || r.LastError == "" {
		t.Errorf("a failure within the window stays ok with the error shown: %d %+v", code, r)
	}
	now = now.Add(10 * time.Minute)
	if _, code := h.report(); code != http.StatusServiceUnavailable {
		t.Errorf("stale after the window: %d", code)
	}
}
