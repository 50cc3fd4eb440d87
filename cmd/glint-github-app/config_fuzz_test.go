package main

import (
	"bytes"
	"flag"
	"io/fs"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// FuzzConfig feeds arbitrary environment values and flags through
// parseFlags, loadConfig and newApp (which parses the private key and
// builds the clients, without a request). It never panics, and no value of
// PRIVATE_KEY, a PRIVATE_KEY_FILE's content, GLINT_CLIENT_SECRET or
// WEBHOOK_SECRET appears in an error or a log line.
func FuzzConfig(f *testing.F) {
	f.Add("42", "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ==", "ghe.example.com", "", "https://api.useglint.io", "topsecret", "@every 5m", "0.9|sync|30m|30s||info|json|8080||", "")
	f.Add("x", "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n", "https://ghe/x", "ftp://h", "ftp://x", "", "often", "2|yolo|5|0|-1|loud|xml|http|key.pem|ca.pem", "-schedule @hourly")
	f.Add("9223372036854775808", "AAAA", "h:", "http://[::1", "http://%zz", "s", "CRON_TZ=Nowhere 0 3 * * *", "NaN|sync|1h|1ns|1h|debug|text|65536||", "-app-id 1 -bogus")
	f.Add("1", "", "", "http://127.0.0.1:9000/", "http://127.0.0.1:1", "sec", "* * * * *", "1|upsert-only|1s|1s|1s|error|json|0|key.pem|", "-h")
	keyFile := []byte("-----BEGIN RSA PRIVATE KEY-----\npkf-SECRET-in-the-file\n-----END RSA PRIVATE KEY-----\n")
	readFile := func(path string) ([]byte, error) {
		if path == "key.pem" {
			return keyFile, nil
		}
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	names := []string{"DELETE_THRESHOLD", "POLICY", "RUN_TIMEOUT", "SHUTDOWN_GRACE", "HEALTH_MAX_AGE", "LOG_LEVEL", "LOG_FORMAT", "GLINT", "PRIVATE_KEY_FILE", "GHE_CA_FILE"}
	f.Fuzz(func(t *testing.T, appID, privateKey, gheHost, gheURL, glintURL, secret, schedule, misc, args string) {
		env := map[string]string{
			"APP_ID": appID, "GHE_HOST": gheHost, "GHE_URL": gheURL, "GLINT_URL": glintURL,
			"GLINT_CLIENT_ID": "id", "SCHEDULE": schedule,
		}
		for i, v := range strings.SplitN(misc, "|", len(names)) {
			env[names[i]] = v
		}
		secrets := map[string]string{
			"PRIVATE_KEY":         "pk-SECRET-" + privateKey,
			"GLINT_CLIENT_SECRET": "gs-SECRET-" + secret,
			"WEBHOOK_SECRET":      "wh-SECRET-" + secret,
		}
		if privateKey == "" {
			secrets["PRIVATE_KEY"] = "" // let PRIVATE_KEY_FILE be used
		}
		for k, v := range secrets {
			env[k] = v
		}
		leaks := []string{"pkf-SECRET-in-the-file"}
		for _, v := range secrets {
			if v != "" {
				leaks = append(leaks, v)
			}
		}
		// A secret that a plain value also holds may show through it.
		for _, v := range append([]string{args}, mapValues(env, secrets)...) {
			for _, s := range leaks {
				if strings.Contains(v, s) {
					return
				}
			}
		}
		check := func(what, text string) {
			t.Helper()
			for _, s := range leaks {
				if strings.Contains(text, s) {
					t.Fatalf("%s shows a secret:\n%s", what, text)
				}
			}
		}

		flags := flag.NewFlagSet("fuzz", flag.ContinueOnError)
		var usage bytes.Buffer
		flags.SetOutput(&usage)
		flags.Usage = func() { printUsage(&usage, flags) }
		v, _, err := parseFlags(flags, strings.Fields(args), func(k string) string { return env[k] })
		check("flag output", usage.String())
		if err != nil {
			check("flag error", err.Error())
			return
		}
		cfg, err := loadConfig(v, true, true, readFile)
		if err != nil {
			check("configuration error", err.Error())
			return
		}
		var logs bytes.Buffer
		_, err = newApp(cfg, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), prometheus.NewRegistry())
		if err != nil {
			check("start-up error", err.Error())
		}
		check("logs", logs.String())
	})
}

// mapValues returns the values of env whose keys are not in skip.
func mapValues(env, skip map[string]string) []string {
	var out []string
	for k, v := range env {
		if _, ok := skip[k]; !ok {
			out = append(out, v)
		}
	}
	return out
}
