package ghe

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// maxFilesPerQuery bounds the file:// targets read in one GraphQL request.
const maxFilesPerQuery = 100

// Snapshot reads everything the app can see: every installation, the
// repositories each can see, and every repository's metadata and spec files.
//
// It returns an error only when the installations cannot be listed. Any
// other failure is recorded where it happened: InstallationResult.Err when
// an installation's repositories cannot be listed, RepoResult.Err when a
// repository cannot be read, SpecFile.Err when a spec file (or a file it
// refers to) cannot be read, parsed or resolved.
func (c *Client) Snapshot(ctx context.Context) (*Snapshot, error) {
	start := time.Now()
	pass := c.cache.begin()
	insts, err := c.Installations(ctx)
	if err != nil {
		return nil, fmt.Errorf("read github snapshot: %w", err)
	}
	results := make([]InstallationResult, len(insts))
	forEach(len(insts), c.opts.MaxInFlight, func(i int) {
		results[i] = c.readInstallation(ctx, insts[i])
	})
	c.forgetInstallations(insts)
	if ctx.Err() == nil {
		c.cache.end(pass)
	}

	var repos, failedRepos, failedSpecs, failedInsts int
	for _, ir := range results {
		if ir.Err != nil {
			failedInsts++
		}
		repos += len(ir.Repos)
		for _, rr := range ir.Repos {
			if rr.Err != nil {
				failedRepos++
			}
			for _, sf := range rr.Specs {
				if sf.Err != nil {
					failedSpecs++
				}
			}
		}
	}
	rl := c.lastRateLimit()
	c.logger.Info("github snapshot read",
		"installations", len(insts), "failed_installations", failedInsts,
		"repositories", repos, "failed_repositories", failedRepos, "failed_spec_files", failedSpecs,
		"rate_limit_remaining", rl.Remaining, "duration", time.Since(start))
	return &Snapshot{Installations: results, RateLimit: rl}, nil
}

// readInstallation lists an installation's repositories and reads them in
// batches.
func (c *Client) readInstallation(ctx context.Context, inst Installation) InstallationResult {
	res := InstallationResult{Installation: inst}
	if c.opts.Teams && inst.AccountType == "Organization" {
		res.TeamsRead = true
		res.Teams, res.TeamsErr = c.Teams(ctx, inst.ID, inst.Account)
	}
	repos, err := c.Repositories(ctx, inst.ID)
	if err != nil {
		c.logger.Warn("list repositories failed", "installation", inst.ID, "account", inst.Account, "err", err)
		res.Err = err
		return res
	}
	ic := c.installation(inst.ID)
	res.Repos = make([]RepoResult, len(repos))
	size := c.opts.BatchSize
	batches := (len(repos) + size - 1) / size
	forEach(batches, c.opts.MaxInFlight, func(b int) {
		lo, hi := b*size, min((b+1)*size, len(repos))
		copy(res.Repos[lo:hi], c.readBatch(ctx, ic, repos[lo:hi]))
	})
	return res
}

// forEach calls fn(0..n-1) on up to workers goroutines and waits.
func forEach(n, workers int, fn func(i int)) {
	if n == 0 {
		return
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// repoRead is the first-round read of one repository.
type repoRead struct {
	repo  Repository
	err   error
	blobs []*blobObject // by spec path; nil where the file does not exist
}

// readBatch reads up to BatchSize repositories: their metadata and spec
// files in one request (split on resource limits), then the file:// targets
// of their spec files in as few requests as possible.
func (c *Client) readBatch(ctx context.Context, ic *installClient, repos []Repository) []RepoResult {
	reads := make([]repoRead, len(repos))
	for i := range repos {
		reads[i].repo = repos[i]
	}
	c.readRepos(ctx, ic, repos, reads)

	results := make([]RepoResult, len(repos))
	type pending struct {
		repo, spec int
		parsed     *parsedSpec
	}
	type fileKey struct {
		repo int
		path string
	}
	var (
		pend    []pending
		files   []fileRef
		fileIdx = make(map[fileKey]int)
	)
	for i, rd := range reads {
		results[i].Repo = rd.repo
		if rd.err != nil {
			results[i].Err = rd.err
			continue
		}
		results[i].Specs = []SpecFile{}
		for j, b := range rd.blobs {
			if b == nil {
				continue
			}
			path := c.opts.SpecPaths[j]
			sf := SpecFile{Path: path, OID: b.Blob.OID}
			if err := checkBlob(b); err != nil {
				sf.Err = fmt.Errorf("read spec file %s: %w", path, err)
				results[i].Specs = append(results[i].Specs, sf)
				continue
			}
			ps := c.parse(path, b.Blob.OID, *b.Blob.Text)
			sf.OID = ps.oid // the cached copy: this pass's is then garbage
			switch {
			case ps.err != nil:
				sf.Err = ps.err
			case len(ps.refs) == 0:
				sf.Entities = readOnly(ps.entities)
			default:
				pend = append(pend, pending{repo: i, spec: len(results[i].Specs), parsed: ps})
				for _, ref := range ps.refs {
					k := fileKey{i, ref}
					if _, ok := fileIdx[k]; !ok {
						fileIdx[k] = len(files)
						// Read targets at the commit the spec file was read
						// at, so that a push between the two requests cannot
						// mix two versions.
						rev := rd.repo.HeadOID
						if rev == "" {
							rev = "HEAD"
						}
						files = append(files, fileRef{owner: rd.repo.Owner, name: rd.repo.Name, rev: rev, path: ref})
					}
				}
			}
			results[i].Specs = append(results[i].Specs, sf)
		}
	}
	if len(pend) == 0 {
		return results
	}

	fileReads := make([]fileRead, len(files))
	for lo := 0; lo < len(files); lo += maxFilesPerQuery {
		hi := min(lo+maxFilesPerQuery, len(files))
		c.readFiles(ctx, ic, files[lo:hi], fileReads[lo:hi])
	}
	for _, p := range pend {
		sf := &results[p.repo].Specs[p.spec]
		targets := make(map[string]target, len(p.parsed.refs))
		for _, ref := range p.parsed.refs {
			fr := fileReads[fileIdx[fileKey{p.repo, ref}]]
			if fr.err != nil {
				// GitHub failed to answer: the repository was not read in
				// full, which is a read failure, not a problem of the file.
				results[p.repo].Err = fmt.Errorf("read file://%s referenced by %s: %w", ref, sf.Path, fr.err)
				sf.Err = results[p.repo].Err
				break
			}
			if err := checkBlob(fr.blob); err != nil {
				sf.Err = fmt.Errorf("read file://%s referenced by %s: %w", ref, sf.Path, err)
				break
			}
			targets[ref] = target{oid: fr.blob.Blob.OID, text: *fr.blob.Blob.Text}
		}
		if sf.Err != nil {
			continue
		}
		sf.Entities, sf.Err = c.resolve(sf.Path, sf.OID, p.parsed, targets)
	}
	return results
}

// errFileMissing is a spec file's file:// target that does not exist.
var errFileMissing = errors.New("file does not exist on the default branch")

// checkBlob reports why a blob cannot be used as a spec file or target.
func checkBlob(b *blobObject) error {
	switch {
	case b == nil:
		return errFileMissing
	case b.Blob.OID == "":
		return errors.New("not a file")
	case b.Blob.IsBinary != nil && *b.Blob.IsBinary:
		return errors.New("binary file")
	case b.Blob.ByteSize > MaxSpecBytes:
		return fmt.Errorf("file is %d bytes, more than the limit of %d", b.Blob.ByteSize, MaxSpecBytes)
	case b.Blob.IsTruncated:
		return errors.New("file text truncated by github")
	case b.Blob.Text == nil:
		return errors.New("file has no text")
	}
	return nil
}

// readRepos reads repos with one GraphQL request into out (same length),
// halving the batch while GitHub answers that it is too expensive.
func (c *Client) readRepos(ctx context.Context, ic *installClient, repos []Repository, out []repoRead) {
	ids := make([]string, len(repos))
	for i, r := range repos {
		ids[i] = r.NodeID
	}
	q := reflect.New(c.repoQ.typ)
	res := c.query(ctx, ic, q, c.repoQ.variables(ids))
	if res.err != nil {
		if res.split && len(repos) > 1 {
			h := len(repos) / 2
			c.logger.Info("splitting graphql batch", "installation", ic.id, "size", len(repos), "err", res.err)
			c.readRepos(ctx, ic, repos[:h], out[:h])
			c.readRepos(ctx, ic, repos[h:], out[h:])
			return
		}
		for i := range out {
			out[i].err = fmt.Errorf("read repository %s: %w", repos[i].FullName, res.err)
		}
		return
	}
	nodes := c.repoQ.nodes(q)
	if len(nodes) != len(repos) {
		for i := range out {
			out[i].err = fmt.Errorf("read repository %s: %w: %d nodes for %d ids", repos[i].FullName, ErrInvalidResponse, len(nodes), len(repos))
		}
		return
	}
	perRepo := make(map[int]error)
	var batchErrs []error
	for _, e := range res.errs {
		if i, ok := pathIndex(e.Path, "nodes"); ok && i >= 0 && i < len(repos) {
			perRepo[i] = errors.Join(perRepo[i], gqlErr(e))
			continue
		}
		if pathAlias(e.Path) == "rateLimit" {
			continue
		}
		batchErrs = append(batchErrs, gqlErr(e))
	}
	batchErr := errors.Join(batchErrs...)
	for i, n := range nodes {
		name := repos[i].FullName
		switch {
		case batchErr != nil:
			out[i].err = fmt.Errorf("read repository %s: %w", name, batchErr)
		case perRepo[i] != nil:
			out[i].err = fmt.Errorf("read repository %s: %w", name, perRepo[i])
		case !n.present:
			out[i].err = fmt.Errorf("read repository %s: %w: node is null", name, ErrInvalidResponse)
		case n.fields.ID != repos[i].NodeID:
			out[i].err = fmt.Errorf("read repository %s: %w: node %q is not the repository asked for", name, ErrInvalidResponse, n.fields.ID)
		default:
			out[i].repo = mergeRepo(repos[i], n.fields)
			out[i].blobs = n.specs
		}
	}
}

// mergeRepo overlays the GraphQL view of a repository on the REST listing's.
func mergeRepo(r Repository, f repoFields) Repository {
	if f.DatabaseID != 0 {
		r.ID = f.DatabaseID
	}
	r.Owner = f.Owner.Login
	r.Name = f.Name
	r.FullName = f.NameWithOwner
	if len(r.FullName) == len(r.Owner)+1+len(r.Name) && r.FullName[:len(r.Owner)] == r.Owner && r.FullName[len(r.Owner)+1:] == r.Name {
		// One string for the three: the snapshot keeps 100,000 of them.
		r.Owner, r.Name = r.FullName[:len(r.Owner)], r.FullName[len(r.Owner)+1:]
	}
	r.URL = f.URL
	r.Description = ""
	if f.Description != nil {
		r.Description = *f.Description
	}
	r.Archived = f.IsArchived
	r.Fork = f.IsFork
	if f.Visibility != "" {
		r.Visibility = f.Visibility
	}
	if f.PushedAt != nil {
		r.PushedAt = *f.PushedAt
	}
	r.Visibility = common(r.Visibility)
	r.DefaultBranch, r.HeadOID = "", ""
	if ref := f.DefaultBranchRef; ref != nil {
		r.DefaultBranch = common(ref.Name)
		if ref.Target != nil {
			r.HeadOID = ref.Target.OID
		}
	}
	r.Topics = make([]string, 0, len(f.RepositoryTopics.Nodes))
	for _, t := range f.RepositoryTopics.Nodes {
		r.Topics = append(r.Topics, t.Topic.Name)
	}
	return r
}

// common returns s as a constant when it is one of the values most
// repositories share (visibilities, default branch names), so that the
// snapshot does not hold 100,000 copies of "PRIVATE" and "main".
func common(s string) string {
	for _, c := range [...]string{"PRIVATE", "INTERNAL", "PUBLIC", "main", "master", "develop", "trunk"} {
		if s == c {
			return c
		}
	}
	return s
}

// fileRead is the outcome of reading one file:// target.
type fileRead struct {
	blob *blobObject // nil: the file does not exist
	err  error
}

// readFiles reads files with one GraphQL request into out (same length),
// halving the list while GitHub answers that it is too expensive.
func (c *Client) readFiles(ctx context.Context, ic *installClient, files []fileRef, out []fileRead) {
	fq := newFilesQuery(files)
	q := reflect.New(fq.typ)
	res := c.query(ctx, ic, q, fq.vars)
	if res.err != nil {
		if res.split && len(files) > 1 {
			h := len(files) / 2
			c.logger.Info("splitting graphql file batch", "installation", ic.id, "size", len(files), "err", res.err)
			c.readFiles(ctx, ic, files[:h], out[:h])
			c.readFiles(ctx, ic, files[h:], out[h:])
			return
		}
		for i := range out {
			out[i].err = res.err
		}
		return
	}
	blobs, repoNull := fq.blobs(q, len(files))
	aliasErr := make(map[string]error)
	var batchErrs []error
	for _, e := range res.errs {
		a := pathAlias(e.Path)
		switch {
		case a == "rateLimit":
		case strings.HasPrefix(a, "r"):
			aliasErr[a] = errors.Join(aliasErr[a], gqlErr(e))
		default:
			batchErrs = append(batchErrs, gqlErr(e))
		}
	}
	batchErr := errors.Join(batchErrs...)
	for r, idx := range fq.repos {
		for _, fi := range idx {
			switch {
			case batchErr != nil:
				out[fi].err = batchErr
			case aliasErr["r"+itoa(r)] != nil:
				out[fi].err = aliasErr["r"+itoa(r)]
			case repoNull[r]:
				out[fi].err = fmt.Errorf("%w: repository is null", ErrInvalidResponse)
			default:
				out[fi].blob = blobs[fi]
			}
		}
	}
}

// target is a file:// target's content.
type target struct {
	oid, text string
}

// parsedSpec is a parsed spec file, cached by path and blob oid.
type parsedSpec struct {
	oid      string       // the blob oid, as the cache key holds it
	entities []SpecEntity // immutable; handed out read-only (see SpecFile)
	refs     []string     // file:// targets, repository-relative
	err      error
	seen     uint64 // last pass that used it
}

// resolvedSpec is a spec file with its file:// targets resolved, cached by
// the oids of the file and all its targets.
type resolvedSpec struct {
	entities []SpecEntity
	err      error
	seen     uint64
}

// specCache remembers parsed and resolved spec files across passes, so an
// unchanged file is not parsed again. Entries a pass did not use are dropped
// at its end.
type specCache struct {
	mu       sync.Mutex
	pass     uint64
	parsed   map[specKey]*parsedSpec
	resolved map[string]*resolvedSpec
	intern   *interner // shares the strings repeated across parsed files
}

// specKey is a spec file's path and blob oid. Both strings are those the
// snapshot holds anyway (the configured path, the oid GitHub returned), so
// a key allocates nothing of its own.
type specKey struct {
	path, oid string
}

func newSpecCache() *specCache {
	return &specCache{parsed: make(map[specKey]*parsedSpec), resolved: make(map[string]*resolvedSpec), intern: newInterner()}
}

func (s *specCache) begin() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pass++
	return s.pass
}

// end drops the entries not used since pass began.
func (s *specCache) end(pass uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.parsed {
		if e.seen < pass {
			delete(s.parsed, k)
		}
	}
	for k, e := range s.resolved {
		if e.seen < pass {
			delete(s.resolved, k)
		}
	}
}

func (s *specCache) len() (parsed, resolved int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.parsed), len(s.resolved)
}

// parse returns the parsed spec file at path with blob oid, from the cache
// when possible. The key includes the path because entities record it.
func (c *Client) parse(path, oid, text string) *parsedSpec {
	key := specKey{path: path, oid: oid}
	s := c.cache
	s.mu.Lock()
	if e, ok := s.parsed[key]; ok {
		e.seen = s.pass
		s.mu.Unlock()
		return e
	}
	s.mu.Unlock()

	c.parses.Add(1)
	e := &parsedSpec{oid: oid}
	e.entities, e.err = ParseSpec(path, []byte(text))
	if e.err == nil {
		e.refs, e.err = FileRefs(e.entities)
	}
	if e.err != nil {
		e.entities, e.refs = nil, nil
	}
	s.mu.Lock()
	s.intern.entities(e.entities)
	e.seen = s.pass
	s.parsed[key] = e
	s.mu.Unlock()
	return e
}

// resolve returns the entities of a spec file with its file:// targets
// substituted, from the cache when the file and every target are unchanged.
func (c *Client) resolve(path, oid string, ps *parsedSpec, targets map[string]target) ([]SpecEntity, error) {
	refs := slices.Sorted(func(yield func(string) bool) {
		for r := range targets {
			if !yield(r) {
				return
			}
		}
	})
	var kb strings.Builder
	kb.WriteString(path + "\x00" + oid)
	for _, r := range refs {
		kb.WriteString("\x00" + r + "\x00" + targets[r].oid)
	}
	key := kb.String()
	s := c.cache
	s.mu.Lock()
	if e, ok := s.resolved[key]; ok {
		e.seen = s.pass
		s.mu.Unlock()
		return readOnly(e.entities), e.err
	}
	s.mu.Unlock()

	c.resolves.Add(1)
	files := make(map[string]string, len(targets))
	for r, t := range targets {
		files[r] = t.text
	}
	e := &resolvedSpec{}
	// ResolveFiles copies what it substitutes into: ps stays as it is.
	e.entities, e.err = ResolveFiles(ps.entities, files)
	if e.err != nil {
		e.entities = nil
	}
	s.mu.Lock()
	e.seen = s.pass
	s.resolved[key] = e
	s.mu.Unlock()
	return readOnly(e.entities), e.err
}

// readOnly returns the cached entities as a SpecFile hands them out: the
// same values (read-only, see SpecFile), in a slice whose capacity is its
// length, so that a caller's append copies instead of writing into the cache.
func readOnly(in []SpecEntity) []SpecEntity {
	if in == nil {
		return nil
	}
	return in[:len(in):len(in)]
}
