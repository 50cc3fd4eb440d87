package reconciler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFormatDatasource(t *testing.T) {
	got := FormatDatasource("1.4.0", 12, "ghe.example.com", 7, "acme/checkout")
	want := "glint-github-app/1.4.0 (app/12@ghe.example.com; installation/7; repo/acme/checkout; gitops)"
	if got != want {
		t.Errorf("FormatDatasource = %q, want %q", got, want)
	}
	if o, ok := ParseDatasource(got); !ok || o.String() != got {
		t.Errorf("ParseDatasource(%q) = %+v, %v; its String() does not round-trip", got, o, ok)
	}
}

func TestParseDatasource(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   Owner
		wantOK bool
	}{
		{
			name:   "full",
			in:     "glint-github-app/1.4.0 (app/12@ghe.example.com; installation/7; repo/acme/checkout; gitops)",
			want:   Owner{Version: "1.4.0", AppID: 12, Host: "ghe.example.com", InstallationID: 7, Repo: "acme/checkout", Features: []string{"gitops"}},
			wantOK: true,
		},
		{
			name:   "later version with unknown keys",
			in:     "glint-github-app/2.0.0-rc.1 (app/12@ghe.example.com; installation/7; repo/acme/checkout; shard/3; gitops; exporter)",
			want:   Owner{Version: "2.0.0-rc.1", AppID: 12, Host: "ghe.example.com", InstallationID: 7, Repo: "acme/checkout", Features: []string{"gitops", "exporter"}},
			wantOK: true,
		},
		{
			name:   "no repo or installation",
			in:     "glint-github-app/1.0.0 (app/3@ghe.corp:8443; teams)",
			want:   Owner{Version: "1.0.0", AppID: 3, Host: "ghe.corp:8443", Features: []string{"teams"}},
			wantOK: true,
		},
		{name: "a person", in: "", wantOK: false},
		{name: "another integration", in: "terraform-provider-glint/1.0 (app/12@ghe.example.com; gitops)", wantOK: false},
		{name: "no app key", in: "glint-github-app/1.0.0 (installation/7; repo/acme/x; gitops)", wantOK: false},
		{name: "bad app id", in: "glint-github-app/1.0.0 (app/x@ghe; gitops)", wantOK: false},
		{name: "no host", in: "glint-github-app/1.0.0 (app/12; gitops)", wantOK: false},
		{name: "bad installation", in: "glint-github-app/1.0.0 (app/12@h; installation/-1; gitops)", wantOK: false},
		{name: "bad repo", in: "glint-github-app/1.0.0 (app/12@h; repo/acme; gitops)", wantOK: false},
		{name: "no parentheses", in: "glint-github-app/1.0.0", wantOK: false},
		{name: "unclosed", in: "glint-github-app/1.0.0 (app/12@h; gitops", wantOK: false},
		{name: "no version", in: "glint-github-app/ (app/12@h; gitops)", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseDatasource(tt.in)
			if ok != tt.wantOK {
				t.Fatalf("ParseDatasource(%q) ok = %v, want %v", tt.in, ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseDatasource(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestOwnerSameApp(t *testing.T) {
	o := Owner{AppID: 12, Host: "GHE.example.com"}
	if !o.SameApp(12, "ghe.example.com") {
		t.Error("host comparison must ignore case")
	}
	if o.SameApp(13, "ghe.example.com") || o.SameApp(12, "ghe.other.com") {
		t.Error("another app id or host must not match")
	}
}

func TestSourceString(t *testing.T) {
	tests := []struct {
		src  Source
		want string
	}{
		{Source{Repo: "acme/x", File: "glint.yml", Line: 3}, "acme/x: glint.yml:3"},
		{Source{Repo: "acme/x", File: "svc/glint.yml"}, "acme/x: svc/glint.yml"},
		{Source{Repo: "acme/x"}, "acme/x"},
	}
	for _, tt := range tests {
		if got := tt.src.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.src, got, tt.want)
		}
	}
}
