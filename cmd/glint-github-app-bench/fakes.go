package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kozmoai/glint-github-app/ghe/ghetest"
	"github.com/kozmoai/glint-github-app/glint"
	"github.com/kozmoai/glint-github-app/glint/glinttest"
)

// benchAppID is the GitHub App id of the synthetic enterprise.
const benchAppID = 31337

// benchBlueprints is the number of blueprints in the fake Glint: service,
// system, githubTeam and githubUser.
const benchBlueprints = 4

// enterprise is the shape of the synthetic enterprise.
type enterprise struct {
	Repos         int
	Installations int
	Teams         int
	TeamMembers   int
	Latency       time.Duration // added to every request of the fake GHE
	GlintLatency  time.Duration // added to every request of the fake Glint
	NoSchema      bool          // run the fake GHE without GitHub's schema (no query validation)
}

// register adds the enterprise flags to fs.
func (e *enterprise) register(fs *flag.FlagSet) {
	fs.IntVar(&e.Repos, "repos", 10000, "repositories, each with a one-entity glint.yml")
	fs.IntVar(&e.Installations, "installations", 10, "installations (organizations) the repositories are spread over")
	fs.IntVar(&e.Teams, "teams", 500, "teams")
	fs.IntVar(&e.TeamMembers, "team-members", 20, "members per team")
	fs.DurationVar(&e.Latency, "latency", 20*time.Millisecond, "latency added to every request of the fake GHE")
	fs.DurationVar(&e.GlintLatency, "glint-latency", 20*time.Millisecond, "latency added to every request of the fake Glint")
	fs.BoolVar(&e.NoSchema, "no-schema", false, "run the fake GHE without GitHub's GraphQL schema (queries are not validated)")
}

// args returns the flags that reproduce e, for the child process.
func (e *enterprise) args() []string {
	return []string{
		"-repos=" + strconv.Itoa(e.Repos),
		"-installations=" + strconv.Itoa(e.Installations),
		"-teams=" + strconv.Itoa(e.Teams),
		"-team-members=" + strconv.Itoa(e.TeamMembers),
		"-latency=" + e.Latency.String(),
		"-glint-latency=" + e.GlintLatency.String(),
		"-no-schema=" + strconv.FormatBool(e.NoSchema),
	}
}

func (e *enterprise) validate() error {
	if e.Repos < 0 || e.Installations < 1 || e.Teams < 0 || e.TeamMembers < 0 || e.Latency < 0 || e.GlintLatency < 0 {
		return errors.New("-repos, -teams and -team-members must not be negative, -installations must be at least 1, latencies not negative")
	}
	return nil
}

// orgName and repoName name the synthetic enterprise's accounts and repositories.
func orgName(i int) string  { return fmt.Sprintf("org-%03d", i) }
func repoName(i int) string { return fmt.Sprintf("svc-%06d", i) }
func teamName(i int) string { return fmt.Sprintf("team-%04d", i) }

// specFile is the glint.yml of repository i, revision rev (0 at the start;
// each change bumps it).
func specFile(i, rev int, teams int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Service %d of the synthetic enterprise.\nidentifier: %s\nblueprint: service\ntitle: Service %d\n", i, repoName(i), i)
	if teams > 0 {
		fmt.Fprintf(&b, "team: %s\n", teamName(i%teams))
	}
	tier := []string{"bronze", "silver", "gold"}[(i+rev)%3]
	fmt.Fprintf(&b, "properties:\n  language: Go\n  tier: %s\n  replicas: %d\n  url: https://%s.example.com\n", tier, 2+rev, repoName(i))
	return b.String()
}

// handshake is the first line serve-fakes prints: where the fakes are.
// Credentials are in CredentialsFile (mode 0600), not on stdout.
type handshake struct {
	GHEURL          string   `json:"gheURL"`
	GlintURL        string   `json:"glintURL"`
	AppID           int64    `json:"appID"`
	Orgs            []string `json:"orgs"`
	Repos           int      `json:"repos"`
	Teams           int      `json:"teams"`
	TeamsModelled   bool     `json:"teamsModelledInGHE"`
	CredentialsFile string   `json:"credentialsFile"`
	BuildSeconds    float64  `json:"buildSeconds"`
}

// credentials is the content of handshake.CredentialsFile.
type credentials struct {
	PrivateKeyPEM      string `json:"privateKeyPEM"`
	GlintClientID      string `json:"glintClientID"`
	GlintClientSecret  string `json:"glintClientSecret"`
	ConfigHint         string `json:"note"`
	GeneratedForFakeOn string `json:"generated"`
}

// fakeStats is what the fakes counted since the last reset.
type fakeStats struct {
	GHERest         int            `json:"gheRest"`
	GHEGraphQL      int            `json:"gheGraphQL"`
	GHEPoints       int            `json:"ghePoints"`
	GHEByRoute      map[string]int `json:"gheByRoute"`
	GHEInvalid      int            `json:"gheInvalidQueries"`
	GHEUnimplement  []string       `json:"gheUnimplemented,omitempty"`
	GlintReads      int            `json:"glintReads"`
	GlintWrites     int            `json:"glintWrites"`
	GlintByRoute    map[string]int `json:"glintByRoute"`
	GlintEntities   int            `json:"glintEntityWrites"`
	FakesPeakRSSKiB int            `json:"fakesPeakRSSKiB"`
}

// runServeFakes is the serve-fakes subcommand: it builds the synthetic
// enterprise in ghetest and glinttest, prints the handshake, then answers
// one command a line on stdin (stats, reset, change N, quit) until EOF.
func runServeFakes(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve-fakes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var e enterprise
	e.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := e.validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	start := time.Now()
	f, err := startFakes(e)
	if err != nil {
		fmt.Fprintf(stderr, "serve-fakes: %v\n", err)
		return 1
	}
	defer f.close()
	f.hs.BuildSeconds = time.Since(start).Seconds()
	out := bufio.NewWriter(stdout)
	reply := func(v any) {
		b, _ := json.Marshal(v)
		out.Write(append(b, '\n'))
		out.Flush()
	}
	reply(f.hs)
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		switch cmd {
		case "stats":
			reply(f.stats())
		case "reset":
			f.gh.ResetStats()
			f.gl.ResetStats()
			reply(map[string]bool{"ok": true})
		case "change":
			n, err := strconv.Atoi(arg)
			if err != nil || n < 0 {
				reply(map[string]string{"error": "change takes a count"})
				continue
			}
			reply(map[string]int{"changed": f.change(n)})
		case "quit":
			return 0
		case "":
		default:
			reply(map[string]string{"error": "unknown command " + cmd})
		}
	}
	return 0
}

// fakes is the synthetic enterprise, served.
type fakes struct {
	e       enterprise
	gh      *ghetest.Server
	gl      *glinttest.Server
	hs      handshake
	dir     string
	mu      sync.Mutex
	rev     []int // per repository: how often its glint.yml changed
	changes int   // changes so far, to pick the next repositories
}

func startFakes(e enterprise) (*fakes, error) {
	key, pemKey, err := ghetest.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("generate app key: %w", err)
	}
	opts := ghetest.Options{AppID: benchAppID, PublicKey: &key.PublicKey, Latency: e.Latency}
	if !e.NoSchema {
		path, err := ghetest.FindSchema()
		if err != nil {
			return nil, fmt.Errorf("%w (run `make schema`, or pass -no-schema)", err)
		}
		if opts.Schema, err = ghetest.LoadSchema(path); err != nil {
			return nil, fmt.Errorf("load GitHub's GraphQL schema: %w", err)
		}
	}
	gh := ghetest.New(opts)
	secret := randomHex(16)
	gl := glinttest.New(glinttest.Options{ClientID: "bench-client", ClientSecret: secret, Latency: e.GlintLatency})
	f := &fakes{e: e, gh: gh, gl: gl, rev: make([]int, e.Repos)}

	gl.AddBlueprint(glint.Blueprint{Identifier: "system", Title: "System",
		Schema: glint.Schema{Properties: map[string]glint.Property{"description": {Type: "string"}}}})
	gl.AddBlueprint(glint.Blueprint{Identifier: "service", Title: "Service",
		Schema: glint.Schema{Properties: map[string]glint.Property{
			"language": {Type: "string"},
			"tier":     {Type: "string", Enum: []any{"bronze", "silver", "gold"}},
			"replicas": {Type: "number"},
			"url":      {Type: "string", Format: "url"},
		}}})
	// The blueprints of team sync, as the README gives them.
	gl.AddBlueprint(glint.Blueprint{Identifier: "githubUser", Title: "GitHub User",
		Schema: glint.Schema{Properties: map[string]glint.Property{
			"login": {Type: "string"}, "name": {Type: "string"}, "email": {Type: "string", Format: "email"},
		}}})
	gl.AddBlueprint(glint.Blueprint{Identifier: "githubTeam", Title: "GitHub Team",
		Schema: glint.Schema{Properties: map[string]glint.Property{
			"slug": {Type: "string"}, "name": {Type: "string"}, "description": {Type: "string"},
			"link": {Type: "string", Format: "url"}, "privacy": {Type: "string", Enum: []any{"VISIBLE", "SECRET"}},
			"githubId": {Type: "number"},
		}},
		Relations: map[string]glint.Relation{
			"parentTeam": {Target: "githubTeam"},
			"members":    {Target: "githubUser", Many: true},
		}})
	insts := make([]int64, e.Installations)
	for i := range insts {
		insts[i] = gh.AddInstallation(orgName(i), "Organization")
		f.hs.Orgs = append(f.hs.Orgs, orgName(i))
	}
	// Teams: team t belongs to organization t mod installations, with its
	// own members; the same names are Glint teams, which glint.yml files name.
	for t := range e.Teams {
		users := make([]glint.TeamUser, e.TeamMembers)
		members := make([]ghetest.TeamMember, e.TeamMembers)
		for m := range users {
			login := fmt.Sprintf("user-%06d", t*e.TeamMembers+m)
			users[m].Email = login + "@example.com"
			members[m] = ghetest.TeamMember{Login: login, Name: "User " + login, Email: users[m].Email}
		}
		gl.PutTeam(glint.Team{Name: teamName(t), Users: users}, "admin@example.com (Glint UI)")
		org := orgName(t % e.Installations)
		gt := gh.AddTeam(ghetest.Team{Org: org, Name: teamName(t), Description: "Team " + strconv.Itoa(t)})
		if len(members) > 0 {
			gh.AddTeamMembers(org, gt.Slug, members...)
		}
	}
	for i := range e.Repos {
		gh.AddRepo(insts[i%len(insts)], ghetest.Repo{
			Name: repoName(i), Description: "Service " + strconv.Itoa(i), Topics: []string{"go", "service"},
			Files: map[string]string{"glint.yml": specFile(i, 0, e.Teams), "README.md": "# " + repoName(i) + "\n"},
		})
	}

	f.dir, err = os.MkdirTemp("", "glint-bench-")
	if err != nil {
		f.close()
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	cred := credentials{PrivateKeyPEM: string(pemKey), GlintClientID: gl.ClientID(), GlintClientSecret: secret,
		ConfigHint:         "throwaway credentials of the loopback fakes of glint-github-app-bench serve-fakes",
		GeneratedForFakeOn: time.Now().UTC().Format(time.RFC3339)}
	b, _ := json.Marshal(cred)
	credPath := filepath.Join(f.dir, "credentials.json")
	if err := os.WriteFile(credPath, b, 0o600); err != nil {
		f.close()
		return nil, fmt.Errorf("write credentials: %w", err)
	}
	f.hs = handshake{GHEURL: gh.URL(), GlintURL: gl.URL(), AppID: benchAppID, Orgs: f.hs.Orgs, Repos: e.Repos,
		Teams: e.Teams, TeamsModelled: true, CredentialsFile: credPath}
	return f, nil
}

func (f *fakes) close() {
	f.gh.Close()
	f.gl.Close()
	if f.dir != "" {
		os.RemoveAll(f.dir)
	}
}

// change edits the glint.yml of n repositories, spread evenly over the
// enterprise and different at every call, and returns how many it edited.
func (f *fakes) change(n int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	total := len(f.rev)
	n = min(n, total)
	if n == 0 {
		return 0
	}
	step := total / n
	for k := range n {
		i := (k*step + f.changes) % total
		f.rev[i]++
		f.gh.SetFile(orgName(i%f.e.Installations)+"/"+repoName(i), "glint.yml", specFile(i, f.rev[i], f.e.Teams))
	}
	f.changes++
	return n
}

func (f *fakes) stats() fakeStats {
	gs, ls := f.gh.Stats(), f.gl.Stats()
	st := fakeStats{GHEByRoute: map[string]int{}, GlintByRoute: map[string]int{}}
	for route := range gs.Requests {
		n := gs.Total(route)
		st.GHEByRoute[route] = n
		if route != ghetest.RouteGraphQL {
			st.GHERest += n
		}
	}
	st.GHEGraphQL = gs.GraphQLRequests
	st.GHEPoints = gs.PointsUsed
	st.GHEInvalid = len(f.gh.InvalidQueries())
	st.GHEUnimplement = f.gh.UnimplementedFields()
	for route := range ls.Requests {
		st.GlintByRoute[route] = ls.Total(route)
	}
	st.GlintReads, st.GlintWrites, st.GlintEntities = ls.Reads, ls.Writes, ls.EntityWrites
	st.FakesPeakRSSKiB = procStatusKiB("VmHWM")
	return st
}

// fakesClient is the parent's end of a serve-fakes child process.
type fakesClient struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
	hs  handshake
	cr  credentials
}

// spawnFakes starts `<this binary> serve-fakes` with e and reads its handshake.
func spawnFakes(e enterprise, stderr io.Writer) (*fakesClient, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own binary: %w", err)
	}
	cmd := exec.Command(self, append([]string{"serve-fakes"}, e.args()...)...)
	cmd.Stderr = stderr
	// GOGC and GOMEMLIMIT tune the app under test, not the fakes.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOGC=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	setChildAttrs(cmd)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start serve-fakes: %w", err)
	}
	c := &fakesClient{cmd: cmd, in: in, out: bufio.NewScanner(outPipe)}
	c.out.Buffer(make([]byte, 1<<20), 1<<20)
	if err := c.read(&c.hs); err != nil {
		c.close()
		return nil, fmt.Errorf("serve-fakes handshake: %w", err)
	}
	b, err := os.ReadFile(c.hs.CredentialsFile)
	if err == nil {
		err = json.Unmarshal(b, &c.cr)
	}
	if err != nil {
		c.close()
		return nil, fmt.Errorf("read fakes' credentials: %w", err)
	}
	return c, nil
}

func (c *fakesClient) read(v any) error {
	if !c.out.Scan() {
		if err := c.out.Err(); err != nil {
			return err
		}
		return errors.New("serve-fakes exited")
	}
	return json.Unmarshal(c.out.Bytes(), v)
}

func (c *fakesClient) call(cmd string, v any) error {
	if _, err := io.WriteString(c.in, cmd+"\n"); err != nil {
		return fmt.Errorf("serve-fakes %s: %w", cmd, err)
	}
	if err := c.read(v); err != nil {
		return fmt.Errorf("serve-fakes %s: %w", cmd, err)
	}
	return nil
}

func (c *fakesClient) reset() error {
	var ok map[string]bool
	return c.call("reset", &ok)
}

func (c *fakesClient) stats() (fakeStats, error) {
	var st fakeStats
	err := c.call("stats", &st)
	return st, err
}

func (c *fakesClient) change(n int) (int, error) {
	var r struct {
		Changed int    `json:"changed"`
		Error   string `json:"error"`
	}
	if err := c.call("change "+strconv.Itoa(n), &r); err != nil {
		return 0, err
	}
	if r.Error != "" {
		return 0, errors.New(r.Error)
	}
	return r.Changed, nil
}

func (c *fakesClient) close() {
	_, _ = io.WriteString(c.in, "quit\n")
	c.in.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// procStatusKiB returns a "<name>: N kB" field of /proc/self/status, 0
// when it cannot be read.
func procStatusKiB(name string) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return n
		}
	}
	return 0
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// numCPU is runtime.NumCPU, named for the report.
func numCPU() int { return runtime.NumCPU() }
