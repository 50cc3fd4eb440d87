package ghetest

import (
	"crypto/sha1" //nolint:gosec // git object ids are sha1 by definition
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Repo is a repository of the fake server's model.
//
// AddRepo fills in what is left empty: Owner defaults to the installation's
// account, DefaultBranch to "main", Visibility to "private", PushedAt to the
// time of the call; ID and NodeID are always assigned by the server.
type Repo struct {
	Owner         string
	Name          string
	Description   string
	DefaultBranch string
	Archived      bool
	Fork          bool
	Visibility    string // "public", "private" or "internal" (any case)
	Topics        []string
	PushedAt      time.Time
	// Files are the files of the default branch's head commit, by
	// repository-relative path. Nil or empty makes an empty repository (no
	// commit, no default branch ref) until SetFile is called.
	Files map[string]string
	// ID is the REST database id, assigned by AddRepo.
	ID int64
	// NodeID is the GraphQL node id (REST node_id), assigned by AddRepo.
	NodeID string
}

// FullName returns owner/name.
func (r Repo) FullName() string { return r.Owner + "/" + r.Name }

// installation is one installation of the App in the model.
type installation struct {
	id          int64
	account     string
	accountID   int64
	accountNode string
	accountType string // "Organization" or "User"
	selection   string // "all" or "selected"
	repos       []int64
	removed     bool
	created     time.Time
}

// repoState is a repository in the model.
type repoState struct {
	meta           Repo
	installationID int64
	deleted        bool
	created        time.Time
	updated        time.Time
	head           string // head commit oid of the default branch; "" when empty
	commits        map[string]*commit
	blobs          map[string][]byte
}

// commit is one commit: a flat snapshot of the files and its tree oids.
type commit struct {
	oid     string
	parent  string
	message string
	date    time.Time
	files   map[string]string // path -> blob oid
	trees   map[string]string // directory path ("" for the root) -> tree oid
}

// treeEntry is one entry of a git tree.
type treeEntry struct {
	name string
	path string
	typ  string // "blob" or "tree"
	mode int
	oid  string
}

// gitBlobOID is the git object id of a blob with content b.
func gitBlobOID(b []byte) string {
	h := sha1.New() //nolint:gosec // git object ids are sha1
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// gitObjectOID is the git object id of an object of kind with body.
func gitObjectOID(kind string, body []byte) string {
	h := sha1.New() //nolint:gosec // git object ids are sha1
	fmt.Fprintf(h, "%s %d\x00", kind, len(body))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// dirEntries lists the entries of directory dir ("" for the root) of a flat
// file snapshot, in git's tree order.
func dirEntries(files map[string]string, trees map[string]string, dir string) []treeEntry {
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	seen := map[string]bool{}
	var out []treeEntry
	for p, oid := range files {
		if !strings.HasPrefix(p, prefix) {
			continue
		}
		rest := p[len(prefix):]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			name := rest[:i]
			if seen[name] {
				continue
			}
			seen[name] = true
			out = append(out, treeEntry{name: name, path: prefix + name, typ: "tree", mode: 0o40000, oid: trees[prefix+name]})
			continue
		}
		out = append(out, treeEntry{name: rest, path: p, typ: "blob", mode: 0o100644, oid: oid})
	}
	slices.SortFunc(out, func(a, b treeEntry) int { return strings.Compare(gitSortKey(a), gitSortKey(b)) })
	return out
}

// gitSortKey is the key git sorts tree entries by: directories sort as if
// their name ended with a slash.
func gitSortKey(e treeEntry) string {
	if e.typ == "tree" {
		return e.name + "/"
	}
	return e.name
}

// computeTrees computes the git tree oid of every directory of files.
func computeTrees(files map[string]string) map[string]string {
	dirs := map[string]bool{"": true}
	for p := range files {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	// Deepest directories first, so subtrees are known before their parents.
	order := make([]string, 0, len(dirs))
	for d := range dirs {
		order = append(order, d)
	}
	depth := func(d string) int {
		if d == "" {
			return 0
		}
		return strings.Count(d, "/") + 1
	}
	slices.SortFunc(order, func(a, b string) int {
		if c := depth(b) - depth(a); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	trees := make(map[string]string, len(dirs))
	for _, d := range order {
		var body []byte
		for _, e := range dirEntries(files, trees, d) {
			body = append(body, strconv.FormatInt(int64(e.mode), 8)...)
			body = append(body, ' ')
			body = append(body, e.name...)
			body = append(body, 0)
			raw, _ := hex.DecodeString(e.oid)
			body = append(body, raw...)
		}
		trees[d] = gitObjectOID("tree", body)
	}
	return trees
}

// cleanPath validates a repository-relative file path as git stores it.
func cleanPath(p string) (string, error) {
	if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || path.Clean(p) != p || p == "." || strings.HasPrefix(p, "../") || p == ".." {
		return "", fmt.Errorf("invalid repository path %q", p)
	}
	return p, nil
}

// newCommit records a commit of files on top of the head of r and makes it
// the new head. Caller holds the server lock.
func (r *repoState) newCommit(files map[string]string, message string, now time.Time) {
	trees := computeTrees(files)
	body := fmt.Sprintf("tree %s\n", trees[""])
	if r.head != "" {
		body += fmt.Sprintf("parent %s\n", r.head)
	}
	sig := fmt.Sprintf("ghetest <ghetest@example.invalid> %d +0000", now.Unix())
	body += fmt.Sprintf("author %s\ncommitter %s\n\n%s\n", sig, sig, message)
	c := &commit{
		oid:     gitObjectOID("commit", []byte(body)),
		parent:  r.head,
		message: message,
		date:    now.UTC().Truncate(time.Second),
		files:   files,
		trees:   trees,
	}
	r.commits[c.oid] = c
	r.head = c.oid
	r.meta.PushedAt = c.date
	r.updated = c.date
}

// headFiles returns a copy of the head commit's file snapshot.
func (r *repoState) headFiles() map[string]string {
	out := map[string]string{}
	if c := r.commits[r.head]; c != nil {
		for p, oid := range c.files {
			out[p] = oid
		}
	}
	return out
}

// visibility returns the repository's visibility in GraphQL's upper case.
func (r *repoState) visibility() string { return strings.ToUpper(r.meta.Visibility) }

// AddInstallation adds an installation of the App on account, of
// accountType "Organization" or "User", with access to all of the account's
// repositories, and returns its id.
func (s *Server) AddInstallation(account, accountType string) int64 {
	if accountType != "Organization" && accountType != "User" {
		panic(fmt.Sprintf("ghetest: AddInstallation %s: account type %q is not Organization or User", account, accountType))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextInstallation++
	s.nextAccount++
	in := &installation{
		id:          s.nextInstallation,
		account:     account,
		accountID:   s.nextAccount,
		accountType: accountType,
		selection:   "all",
		created:     s.now(),
	}
	prefix := "O"
	if accountType == "User" {
		prefix = "U"
	}
	in.accountNode = encodeNodeID(prefix, in.accountID)
	s.installations = append(s.installations, in)
	return in.id
}

// AddRepo adds repository r to the account of installation installationID,
// visible to that installation, and returns it with ID, NodeID and defaults
// filled in. It panics on an unknown installation, an owner other than the
// installation's account, or a name already taken: those are mistakes in the
// test's setup.
func (s *Server) AddRepo(installationID int64, r Repo) Repo {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.installation(installationID)
	if in == nil {
		panic(fmt.Sprintf("ghetest: AddRepo %s: unknown installation %d", r.Name, installationID))
	}
	if r.Owner == "" {
		r.Owner = in.account
	}
	if !strings.EqualFold(r.Owner, in.account) {
		panic(fmt.Sprintf("ghetest: AddRepo %s: owner is not installation %d's account %s", r.FullName(), installationID, in.account))
	}
	if r.Name == "" {
		panic("ghetest: AddRepo: empty repository name")
	}
	if s.repoByName(r.FullName()) != nil {
		panic(fmt.Sprintf("ghetest: AddRepo %s: repository exists", r.FullName()))
	}
	now := s.now()
	if r.DefaultBranch == "" {
		r.DefaultBranch = "main"
	}
	switch strings.ToLower(r.Visibility) {
	case "":
		r.Visibility = "private"
	case "public", "private", "internal":
		r.Visibility = strings.ToLower(r.Visibility)
	default:
		panic(fmt.Sprintf("ghetest: AddRepo %s: visibility %q", r.FullName(), r.Visibility))
	}
	r.Topics = slices.Clone(r.Topics)
	s.nextRepo++
	r.ID = s.nextRepo
	r.NodeID = encodeNodeID("R", r.ID)
	st := &repoState{
		installationID: installationID,
		created:        now,
		updated:        now,
		commits:        map[string]*commit{},
		blobs:          map[string][]byte{},
	}
	files := map[string]string{}
	for p, content := range r.Files {
		if _, err := cleanPath(p); err != nil {
			panic(fmt.Sprintf("ghetest: AddRepo %s: %v", r.FullName(), err))
		}
		oid := gitBlobOID([]byte(content))
		st.blobs[oid] = []byte(content)
		files[p] = oid
	}
	r.Files = nil
	st.meta = r
	if len(files) > 0 {
		pushed := r.PushedAt
		st.newCommit(files, "Initial commit", now)
		if !pushed.IsZero() {
			st.meta.PushedAt = pushed.UTC()
		}
	} else if st.meta.PushedAt.IsZero() {
		st.meta.PushedAt = now.UTC().Truncate(time.Second)
	}
	s.repos[r.ID] = st
	s.names[strings.ToLower(r.FullName())] = r.ID
	in.repos = append(in.repos, r.ID)
	return s.repoMeta(st)
}

// repoMeta returns the public view of st, with Files from its head commit.
func (s *Server) repoMeta(st *repoState) Repo {
	r := st.meta
	r.Topics = slices.Clone(r.Topics)
	r.Files = map[string]string{}
	if c := st.commits[st.head]; c != nil {
		for p, oid := range c.files {
			r.Files[p] = string(st.blobs[oid])
		}
	}
	return r
}

// Repo returns the repository fullName (owner/name) as the model holds it,
// and whether it exists.
func (s *Server) Repo(fullName string) (Repo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.repoByName(fullName)
	if st == nil {
		return Repo{}, false
	}
	return s.repoMeta(st), true
}

// HeadOID returns the head commit oid of the default branch of fullName,
// empty for an empty or unknown repository.
func (s *Server) HeadOID(fullName string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if st := s.repoByName(fullName); st != nil {
		return st.head
	}
	return ""
}

// SetFile writes content to path on the default branch of fullName, making a
// new commit. It panics on an unknown repository.
func (s *Server) SetFile(fullName, path, content string) {
	s.SetBinaryFile(fullName, path, []byte(content))
}

// SetBinaryFile writes content to path on the default branch of fullName,
// making a new commit. It panics on an unknown repository.
func (s *Server) SetBinaryFile(fullName, path string, content []byte) {
	if _, err := cleanPath(path); err != nil {
		panic(fmt.Sprintf("ghetest: SetFile %s: %v", fullName, err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.mustRepo("SetFile", fullName)
	files := st.headFiles()
	// A file replaces a directory of the same name and vice versa, as in git.
	for p := range files {
		if strings.HasPrefix(p, path+"/") || strings.HasPrefix(path, p+"/") {
			delete(files, p)
		}
	}
	oid := gitBlobOID(content)
	st.blobs[oid] = slices.Clone(content)
	files[path] = oid
	st.newCommit(files, "Update "+path, s.now())
}

// RemoveFile deletes path (a file) from the default branch of fullName,
// making a new commit; nothing happens when the file does not exist. It
// panics on an unknown repository.
func (s *Server) RemoveFile(fullName, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.mustRepo("RemoveFile", fullName)
	files := st.headFiles()
	if _, ok := files[path]; !ok {
		return
	}
	delete(files, path)
	st.newCommit(files, "Delete "+path, s.now())
}

// SetTopics replaces the topics of fullName.
func (s *Server) SetTopics(fullName string, topics []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.mustRepo("SetTopics", fullName)
	st.meta.Topics = slices.Clone(topics)
	st.updated = s.now()
}

// SetArchived archives or unarchives fullName.
func (s *Server) SetArchived(fullName string, archived bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.mustRepo("SetArchived", fullName)
	st.meta.Archived = archived
	st.updated = s.now()
}

// RemoveRepo deletes the repository fullName: it disappears from listings
// and its node id no longer resolves.
func (s *Server) RemoveRepo(fullName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.mustRepo("RemoveRepo", fullName)
	st.deleted = true
	delete(s.names, strings.ToLower(st.meta.FullName()))
	if in := s.installation(st.installationID); in != nil {
		in.repos = slices.DeleteFunc(in.repos, func(id int64) bool { return id == st.meta.ID })
	}
}

// DeselectRepo removes fullName from the repositories installation
// installationID may access; the installation's repository_selection
// becomes "selected". The repository itself stays.
func (s *Server) DeselectRepo(installationID int64, fullName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.installation(installationID)
	if in == nil {
		panic(fmt.Sprintf("ghetest: DeselectRepo %s: unknown installation %d", fullName, installationID))
	}
	st := s.mustRepo("DeselectRepo", fullName)
	in.selection = "selected"
	in.repos = slices.DeleteFunc(in.repos, func(id int64) bool { return id == st.meta.ID })
}

// SelectRepo gives installation installationID access to fullName again
// after DeselectRepo.
func (s *Server) SelectRepo(installationID int64, fullName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.installation(installationID)
	if in == nil {
		panic(fmt.Sprintf("ghetest: SelectRepo %s: unknown installation %d", fullName, installationID))
	}
	st := s.mustRepo("SelectRepo", fullName)
	if st.installationID != installationID {
		panic(fmt.Sprintf("ghetest: SelectRepo %s: repository does not belong to installation %d", fullName, installationID))
	}
	if !slices.Contains(in.repos, st.meta.ID) {
		in.repos = append(in.repos, st.meta.ID)
		slices.Sort(in.repos)
	}
}

// Uninstall removes installation installationID: it disappears from the
// App's installations, its tokens stop working and new ones are refused.
func (s *Server) Uninstall(installationID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.installation(installationID)
	if in == nil {
		panic(fmt.Sprintf("ghetest: Uninstall: unknown installation %d", installationID))
	}
	in.removed = true
}

// installation returns the installation id, removed or not, or nil.
func (s *Server) installation(id int64) *installation {
	for _, in := range s.installations {
		if in.id == id {
			return in
		}
	}
	return nil
}

// repoByName returns the live repository fullName (case-insensitive), or nil.
func (s *Server) repoByName(fullName string) *repoState {
	st := s.repos[s.names[strings.ToLower(fullName)]]
	if st == nil || st.deleted {
		return nil
	}
	return st
}

func (s *Server) mustRepo(action, fullName string) *repoState {
	st := s.repoByName(fullName)
	if st == nil {
		panic(fmt.Sprintf("ghetest: %s: unknown repository %s", action, fullName))
	}
	return st
}

// visibleRepo reports whether token tok may see repository st.
func (s *Server) visibleRepo(tok *token, st *repoState) bool {
	if st == nil || st.deleted || st.installationID != tok.installationID {
		return false
	}
	in := s.installation(tok.installationID)
	if in == nil || in.removed {
		return false
	}
	// in.repos is sorted (AddRepo appends ever larger ids, SelectRepo sorts):
	// a binary search keeps listing 100,000 repositories linear.
	if _, ok := slices.BinarySearch(in.repos, st.meta.ID); !ok {
		return false
	}
	return tok.repoIDs == nil || tok.repoIDs[st.meta.ID]
}
