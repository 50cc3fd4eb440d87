package ghetest

import (
	"net/http"
	"testing"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v88/github"
	"github.com/shurcooL/githubv4"
)

// TestInteropWithGitHubLibraries drives the fake with the libraries a real
// client uses (ghinstallation, go-github, githubv4): they must understand
// its answers as they understand GitHub's.
func TestInteropWithGitHubLibraries(t *testing.T) {
	s := NewForTest(t, Options{AppID: 7})
	key, keyPEM := s.GeneratedKey()
	acme := s.AddInstallation("acme", "Organization")
	repo := s.AddRepo(acme, Repo{Name: "checkout", Files: map[string]string{".github/glint.yml": "a: 1\n"}, Topics: []string{"go"}})
	for i := range 3 {
		s.AddRepo(acme, Repo{Name: "extra" + string(rune('a'+i))})
	}
	ctx := t.Context()

	atr := ghinstallation.NewAppsTransportFromPrivateKey(http.DefaultTransport, 7, key)
	atr.BaseURL = s.APIURL()
	app, err := github.NewClient(github.WithHTTPClient(&http.Client{Transport: atr}), github.WithEnterpriseURLs(s.URL()+"/", s.URL()+"/"))
	if err != nil {
		t.Fatal(err)
	}
	ins, _, err := app.Apps.ListInstallations(ctx, &github.ListOptions{PerPage: 100})
	if err != nil {
		t.Fatalf("list installations: %v", err)
	}
	if len(ins) != 1 || ins[0].GetID() != acme || ins[0].GetAccount().GetLogin() != "acme" {
		t.Fatalf("installations %v", ins)
	}

	itr, err := ghinstallation.New(http.DefaultTransport, 7, acme, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	itr.BaseURL = s.APIURL()
	httpc := &http.Client{Transport: itr}
	inst, err := github.NewClient(github.WithHTTPClient(httpc), github.WithEnterpriseURLs(s.URL()+"/", s.URL()+"/"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	opts := &github.ListOptions{PerPage: 2}
	for {
		page, resp, err := inst.Apps.ListRepos(ctx, opts)
		if err != nil {
			t.Fatalf("list repos: %v", err)
		}
		for _, r := range page.Repositories {
			names = append(names, r.GetFullName())
		}
		if resp.Rate.Limit != 5000 {
			t.Errorf("rate %+v", resp.Rate)
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(names) != 4 || names[0] != "acme/checkout" {
		t.Errorf("repositories %v", names)
	}

	gql := githubv4.NewEnterpriseClient(s.GraphQLURL(), httpc)
	var q struct {
		Nodes []struct {
			Repository struct {
				NameWithOwner    string
				DefaultBranchRef struct {
					Target struct{ Oid githubv4.GitObjectID }
				}
				RepositoryTopics struct {
					Nodes []struct{ Topic struct{ Name string } }
				} `graphql:"repositoryTopics(first: 10)"`
				Object struct {
					Blob struct {
						Oid  githubv4.GitObjectID
						Text *string
					} `graphql:"... on Blob"`
				} `graphql:"object(expression: $expr)"`
			} `graphql:"... on Repository"`
		} `graphql:"nodes(ids: $ids)"`
		RateLimit struct {
			Cost      int
			Remaining int
			ResetAt   githubv4.DateTime
		}
	}
	err = gql.Query(ctx, &q, map[string]any{
		"ids":  []githubv4.ID{githubv4.ID(repo.NodeID)},
		"expr": githubv4.String("HEAD:.github/glint.yml"),
	})
	if err != nil {
		t.Fatalf("graphql: %v", err)
	}
	got := q.Nodes[0].Repository
	if got.NameWithOwner != "acme/checkout" || string(got.DefaultBranchRef.Target.Oid) != s.HeadOID("acme/checkout") ||
		got.Object.Blob.Text == nil || *got.Object.Blob.Text != "a: 1\n" || len(got.RepositoryTopics.Nodes) != 1 ||
		q.RateLimit.Cost != 1 || q.RateLimit.ResetAt.IsZero() {
		t.Errorf("graphql answer %+v %+v", got, q.RateLimit)
	}
}
