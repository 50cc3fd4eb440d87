package main

import (
	"flag"
	"io"
	"strings"
	"testing"
)

func TestTeamsSyncSetting(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     string
		args    []string
		want    string
		wantErr bool
	}{
		{name: "default", want: "entities"},
		{name: "env", env: "glint-teams", want: "glint-teams"},
		{name: "env is case-insensitive", env: " Both ", want: "both"},
		{name: "flag beats env", env: "both", args: []string{"-teams-sync", "off"}, want: "off"},
		{name: "invalid", env: "teams", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := validEnv()
			if tc.env != "" {
				env["TEAMS_SYNC"] = tc.env
			}
			fs := flag.NewFlagSet("once", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			v, _, err := parseFlags(fs, tc.args, envOf(env))
			if err != nil {
				t.Fatal(err)
			}
			c, err := loadConfig(v, true, true, noFile)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "TEAMS_SYNC") {
					t.Errorf("err = %v, want a TEAMS_SYNC error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.TeamsSync != tc.want {
				t.Errorf("TeamsSync = %q, want %q", c.TeamsSync, tc.want)
			}
		})
	}
}
