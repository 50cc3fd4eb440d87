//go:build integration

package ghe_test

import (
	"log/slog"
	"os"
	"strconv"
	"testing"

	"github.com/kozmoai/glint-github-app/ghe"
)

// TestLiveSnapshot reads a real GitHub Enterprise as the App configured by
// APP_ID, PRIVATE_KEY (or PRIVATE_KEY_FILE) and GHE_HOST (or GHE_URL). It
// only reads. Run with `make test-integration`.
func TestLiveSnapshot(t *testing.T) {
	appID, err := strconv.ParseInt(os.Getenv("APP_ID"), 10, 64)
	if err != nil {
		t.Skip("APP_ID not set: no live GitHub Enterprise to read")
	}
	raw := []byte(os.Getenv("PRIVATE_KEY"))
	if f := os.Getenv("PRIVATE_KEY_FILE"); f != "" {
		if raw, err = os.ReadFile(f); err != nil {
			t.Fatalf("PRIVATE_KEY_FILE: %v", err)
		}
	}
	key, err := ghe.ParsePrivateKey(raw)
	if err != nil {
		t.Fatalf("PRIVATE_KEY: %v", err)
	}
	apiURL, graphqlURL := ghe.EndpointsForHost(os.Getenv("GHE_HOST"))
	if base := os.Getenv("GHE_URL"); base != "" {
		apiURL, graphqlURL = ghe.EndpointsForBaseURL(base)
	}
	c, err := ghe.New(ghe.Options{
		APIURL: apiURL, GraphQLURL: graphqlURL, AppID: appID, PrivateKey: key,
		Teams:  true,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := c.Snapshot(t.Context())
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	for _, inst := range snap.Installations {
		specs, failed := 0, 0
		for _, r := range inst.Repos {
			if r.Err != nil {
				failed++
				t.Errorf("%s: %v", r.Repo.FullName, r.Err)
			}
			specs += len(r.Specs)
		}
		if inst.Err != nil {
			t.Errorf("installation %d (%s): %v", inst.Installation.ID, inst.Installation.Account, inst.Err)
		}
		if inst.TeamsErr != nil {
			t.Errorf("teams of %s: %v", inst.Installation.Account, inst.TeamsErr)
		}
		t.Logf("installation %d (%s): %d repositories, %d failed, %d spec files, %d teams",
			inst.Installation.ID, inst.Installation.Account, len(inst.Repos), failed, specs, len(inst.Teams))
	}
	t.Logf("rate limit: cost %d, remaining %d", snap.RateLimit.Cost, snap.RateLimit.Remaining)
}
