package ghetest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxBlobText is the size above which GitHub truncates Blob.text.
const maxBlobText = 512 << 10

// Object values. Each holds what its resolvers need; the server's read lock
// is held for the whole execution, so they may point into the model.
type (
	queryRoot  struct{}
	accountVal struct{ in *installation }
	refVal     struct{ repo *repoState }
	commitVal  struct {
		repo *repoState
		c    *commit
	}
	treeVal struct {
		repo *repoState
		c    *commit
		dir  string
	}
	blobVal struct {
		repo *repoState
		oid  string
	}
	treeEntryVal struct {
		repo *repoState
		c    *commit
		e    treeEntry
	}
	topicVal struct {
		repo *repoState
		name string
	}
	topicNameVal struct{ name string }
	rateLimitVal struct {
		cost, limit, remaining, used, nodeCount int
		resetAt                                 time.Time
	}
)

func (queryRoot) gqlType() string  { return "Query" }
func (*repoState) gqlType() string { return "Repository" }
func (a accountVal) gqlType() string {
	return a.in.accountType
}
func (refVal) gqlType() string       { return "Ref" }
func (commitVal) gqlType() string    { return "Commit" }
func (treeVal) gqlType() string      { return "Tree" }
func (blobVal) gqlType() string      { return "Blob" }
func (treeEntryVal) gqlType() string { return "TreeEntry" }
func (topicVal) gqlType() string     { return "RepositoryTopic" }
func (topicNameVal) gqlType() string { return "Topic" }
func (rateLimitVal) gqlType() string { return "RateLimit" }

// newResolvers builds the resolver table of every type the fake serves.
func newResolvers() resolverTable {
	t := resolverTable{
		"Query":           queryResolvers(),
		"Repository":      repositoryResolvers(),
		"Organization":    accountResolvers(),
		"User":            accountResolvers(),
		"Ref":             refResolvers(),
		"Commit":          commitResolvers(),
		"Tree":            treeResolvers(),
		"Blob":            blobResolvers(),
		"TreeEntry":       treeEntryResolvers(),
		"RepositoryTopic": topicResolvers(),
		"Topic": {
			"id": func(_ *execContext, o object, _ map[string]any) (any, error) {
				return encodeNodeID("TPC", o.(topicNameVal).name), nil
			},
			"name": func(_ *execContext, o object, _ map[string]any) (any, error) { return o.(topicNameVal).name, nil },
		},
		"RateLimit": rateLimitResolvers(),
		"PageInfo":  pageInfoResolvers(),
	}
	addConnection(t, "RepositoryTopicConnection", "RepositoryTopicEdge")
	addOrgRepos(t)
	addTeams(t)
	return t
}

// notFoundNode is GitHub's error for a node id that does not resolve.
func notFoundNode(id string) error {
	return &gqlError{Type: "NOT_FOUND", Message: fmt.Sprintf("Could not resolve to a node with the global id of '%s'", id)}
}

func queryResolvers() map[string]fieldFunc {
	return map[string]fieldFunc{
		"node": func(ec *execContext, _ object, args map[string]any) (any, error) {
			id, _ := argString(args, "id")
			if o := ec.resolveNode(id); o != nil {
				return o, nil
			}
			return nil, notFoundNode(id)
		},
		"nodes": func(ec *execContext, _ object, args map[string]any) (any, error) {
			ids, err := argStrings(args, "ids")
			if err != nil {
				return nil, err
			}
			if len(ids) > maxNodeIDs {
				return nil, tooManyIDs(len(ids))
			}
			out := make([]any, len(ids))
			for i, id := range ids {
				if o := ec.resolveNode(id); o != nil {
					out[i] = o
				} else {
					out[i] = notFoundNode(id)
				}
			}
			return out, nil
		},
		"repository": func(ec *execContext, _ object, args map[string]any) (any, error) {
			owner, _ := argString(args, "owner")
			name, _ := argString(args, "name")
			st := ec.s.repoByName(owner + "/" + name)
			if !ec.s.visibleRepo(ec.tok, st) || ec.partialMiss() {
				return nil, &gqlError{Type: "NOT_FOUND", Message: fmt.Sprintf("Could not resolve to a Repository with the name '%s/%s'.", owner, name)}
			}
			return st, nil
		},
		"organization": func(ec *execContext, _ object, args map[string]any) (any, error) {
			login, _ := argString(args, "login")
			if in := ec.s.account(login, "Organization"); in != nil {
				return accountVal{in}, nil
			}
			return nil, &gqlError{Type: "NOT_FOUND", Message: fmt.Sprintf("Could not resolve to an Organization with the login of '%s'.", login)}
		},
		"user": func(ec *execContext, _ object, args map[string]any) (any, error) {
			login, _ := argString(args, "login")
			if in := ec.s.account(login, "User"); in != nil {
				return accountVal{in}, nil
			}
			return nil, &gqlError{Type: "NOT_FOUND", Message: fmt.Sprintf("Could not resolve to a User with the login of '%s'.", login)}
		},
		"rateLimit": func(ec *execContext, _ object, _ map[string]any) (any, error) { return ec.rate, nil },
	}
}

// account returns the live installation on the account login of type typ.
func (s *Server) account(login, typ string) *installation {
	for _, in := range s.installations {
		if !in.removed && in.accountType == typ && strings.EqualFold(in.account, login) {
			return in
		}
	}
	return nil
}

// partialMiss reports whether a PartialData fault makes the next
// repository of this query NOT_FOUND: the 1st, 3rd, 5th, ...
func (ec *execContext) partialMiss() bool {
	if !ec.partial {
		return false
	}
	ec.repoSeq++
	return ec.repoSeq%2 == 1
}

// resolveNode returns the object id names, if the caller may see it.
func (ec *execContext) resolveNode(id string) object {
	d, ok := decodeNodeID(id)
	if !ok {
		return nil
	}
	s := ec.s
	repo := func() *repoState {
		if len(d.ints) < 1 {
			return nil
		}
		st := s.repos[d.ints[0]]
		if !s.visibleRepo(ec.tok, st) {
			return nil
		}
		return st
	}
	switch {
	case d.prefix == "R" && len(d.ints) == 1 && len(d.strs) == 0:
		st := repo()
		if st == nil || encodeNodeID("R", st.meta.ID) != id || ec.partialMiss() {
			return nil
		}
		return st
	case d.prefix == "T" && len(d.ints) == 1 && len(d.strs) == 0:
		return ec.teamNode(d.ints[0], id)
	case (d.prefix == "O" || d.prefix == "U") && len(d.ints) == 1:
		for _, in := range s.installations {
			if !in.removed && in.accountNode == id {
				return accountVal{in}
			}
		}
	case d.prefix == "C" && len(d.strs) == 1:
		if st := repo(); st != nil && st.commits[d.strs[0]] != nil {
			return commitVal{st, st.commits[d.strs[0]]}
		}
	case d.prefix == "B" && len(d.strs) == 1:
		if st := repo(); st != nil && st.blobs[d.strs[0]] != nil {
			return blobVal{st, d.strs[0]}
		}
	case d.prefix == "T" && len(d.strs) == 1:
		if st := repo(); st != nil {
			if tv, ok := findTree(st, d.strs[0]); ok {
				return tv
			}
		}
	}
	return nil
}

// findTree finds the tree oid in any commit of st.
func findTree(st *repoState, oid string) (treeVal, bool) {
	for _, c := range st.commits {
		for dir, t := range c.trees {
			if t == oid {
				return treeVal{st, c, dir}, true
			}
		}
	}
	return treeVal{}, false
}

func repositoryResolvers() map[string]fieldFunc {
	r := func(f func(ec *execContext, st *repoState, args map[string]any) (any, error)) fieldFunc {
		return func(ec *execContext, o object, args map[string]any) (any, error) { return f(ec, o.(*repoState), args) }
	}
	return map[string]fieldFunc{
		"id":            r(func(_ *execContext, st *repoState, _ map[string]any) (any, error) { return st.meta.NodeID, nil }),
		"databaseId":    r(func(_ *execContext, st *repoState, _ map[string]any) (any, error) { return st.meta.ID, nil }),
		"name":          r(func(_ *execContext, st *repoState, _ map[string]any) (any, error) { return st.meta.Name, nil }),
		"nameWithOwner": r(func(_ *execContext, st *repoState, _ map[string]any) (any, error) { return st.meta.FullName(), nil }),
		"owner": r(func(ec *execContext, st *repoState, _ map[string]any) (any, error) {
			return accountVal{ec.s.installation(st.installationID)}, nil
		}),
		"url": r(func(ec *execContext, st *repoState, _ map[string]any) (any, error) {
			return ec.s.URL() + "/" + st.meta.FullName(), nil
		}),
		"resourcePath": r(func(_ *execContext, st *repoState, _ map[string]any) (any, error) {
			return "/" + st.meta.FullName(), nil
		}),
		"description": r(func(_ *execContext, st *repoState, _ map[string]any) (any, error) {
			return nullString(st.meta.Description), nil
		}),
		"isArchived": r(func(_ *execContext, st *repoState, _ map[string]any) (any, error) { return st.meta.Archived, nil }),
		"isFork":     r(func(_ *execContext, st *repoState, _ map[string]any) (any, error) { return st.meta.Fork, nil }),
		"isPrivate": r(func(_ *execContext, st *repoState, _ map[string]any) (any, error) {
			return st.meta.Visibility != "public", nil
		}),
		"isEmpty":    r(func(_ *execContext, st *repoState, _ map[string]any) (any, error) { return st.head == "", nil }),
		"isDisabled": r(func(_ *execContext, _ *repoState, _ map[string]any) (any, error) { return false, nil }),
		"isLocked":   r(func(_ *execContext, _ *repoState, _ map[string]any) (any, error) { return false, nil }),
		"isTemplate": r(func(_ *execContext, _ *repoState, _ map[string]any) (any, error) { return false, nil }),
		"visibility": r(func(_ *execContext, st *repoState, _ map[string]any) (any, error) { return st.visibility(), nil }),
		"pushedAt":   r(func(_ *execContext, st *repoState, _ map[string]any) (any, error) { return st.meta.PushedAt, nil }),
		"updatedAt":  r(func(_ *execContext, st *repoState, _ map[string]any) (any, error) { return st.updated, nil }),
		"createdAt":  r(func(_ *execContext, st *repoState, _ map[string]any) (any, error) { return st.created, nil }),
		"defaultBranchRef": r(func(_ *execContext, st *repoState, _ map[string]any) (any, error) {
			if st.head == "" {
				return nil, nil
			}
			return refVal{st}, nil
		}),
		"repositoryTopics": r(func(_ *execContext, st *repoState, args map[string]any) (any, error) {
			items := make([]any, len(st.meta.Topics))
			for i, name := range st.meta.Topics {
				items[i] = topicVal{st, name}
			}
			return paginate("RepositoryTopicConnection", "RepositoryTopicEdge", "repositoryTopics", items, args)
		}),
		"object": r(func(_ *execContext, st *repoState, args map[string]any) (any, error) {
			if oid, ok := argString(args, "oid"); ok {
				return objectByOID(st, oid), nil
			}
			expr, ok := argString(args, "expression")
			if !ok {
				return nil, &gqlError{Message: "Repository.object requires an `oid` or an `expression`."}
			}
			return resolveExpression(st, expr), nil
		}),
	}
}

// nullString returns nil for "" (GitHub answers null for empty optional
// text) and s otherwise.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// isHexOID reports whether s is a full lower-case hex object id.
func isHexOID(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// objectByOID returns the commit, tree or blob oid of st, or nil.
func objectByOID(st *repoState, oid string) any {
	if c := st.commits[oid]; c != nil {
		return commitVal{st, c}
	}
	if st.blobs[oid] != nil {
		return blobVal{st, oid}
	}
	if tv, ok := findTree(st, oid); ok {
		return tv
	}
	return nil
}

// resolveExpression resolves a git revision expression: "<rev>" (a commit)
// or "<rev>:<path>" (a blob or tree), where rev is HEAD, the default branch
// (or refs/heads/<it>) or a commit oid. Anything that does not resolve is
// nil, as on GitHub.
func resolveExpression(st *repoState, expr string) any {
	rev, p, hasPath := strings.Cut(expr, ":")
	var c *commit
	switch {
	case rev == "HEAD" || rev == st.meta.DefaultBranch || rev == "refs/heads/"+st.meta.DefaultBranch:
		c = st.commits[st.head]
	case isHexOID(rev):
		c = st.commits[rev]
	}
	if c == nil {
		return nil
	}
	if !hasPath {
		return commitVal{st, c}
	}
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return treeVal{st, c, ""}
	}
	if oid, ok := c.files[p]; ok {
		return blobVal{st, oid}
	}
	if _, ok := c.trees[p]; ok {
		return treeVal{st, c, p}
	}
	return nil
}

func accountResolvers() map[string]fieldFunc {
	a := func(f func(ec *execContext, in *installation) any) fieldFunc {
		return func(ec *execContext, o object, _ map[string]any) (any, error) { return f(ec, o.(accountVal).in), nil }
	}
	return map[string]fieldFunc{
		"id":           a(func(_ *execContext, in *installation) any { return in.accountNode }),
		"databaseId":   a(func(_ *execContext, in *installation) any { return in.accountID }),
		"login":        a(func(_ *execContext, in *installation) any { return in.account }),
		"name":         a(func(_ *execContext, _ *installation) any { return nil }),
		"url":          a(func(ec *execContext, in *installation) any { return ec.s.URL() + "/" + in.account }),
		"resourcePath": a(func(_ *execContext, in *installation) any { return "/" + in.account }),
	}
}

func refResolvers() map[string]fieldFunc {
	r := func(f func(st *repoState) any) fieldFunc {
		return func(_ *execContext, o object, _ map[string]any) (any, error) { return f(o.(refVal).repo), nil }
	}
	return map[string]fieldFunc{
		"id":         r(func(st *repoState) any { return encodeNodeID("REF", st.meta.ID, "refs/heads/"+st.meta.DefaultBranch) }),
		"name":       r(func(st *repoState) any { return st.meta.DefaultBranch }),
		"prefix":     r(func(_ *repoState) any { return "refs/heads/" }),
		"target":     r(func(st *repoState) any { return commitVal{st, st.commits[st.head]} }),
		"repository": r(func(st *repoState) any { return st }),
	}
}

func commitResolvers() map[string]fieldFunc {
	c := func(f func(ec *execContext, v commitVal) any) fieldFunc {
		return func(ec *execContext, o object, _ map[string]any) (any, error) { return f(ec, o.(commitVal)), nil }
	}
	return map[string]fieldFunc{
		"id":             c(func(_ *execContext, v commitVal) any { return encodeNodeID("C", v.repo.meta.ID, v.c.oid) }),
		"oid":            c(func(_ *execContext, v commitVal) any { return v.c.oid }),
		"abbreviatedOid": c(func(_ *execContext, v commitVal) any { return v.c.oid[:7] }),
		"message":        c(func(_ *execContext, v commitVal) any { return v.c.message }),
		"messageHeadline": c(func(_ *execContext, v commitVal) any {
			h, _, _ := strings.Cut(v.c.message, "\n")
			return h
		}),
		"committedDate": c(func(_ *execContext, v commitVal) any { return v.c.date }),
		"authoredDate":  c(func(_ *execContext, v commitVal) any { return v.c.date }),
		"tree":          c(func(_ *execContext, v commitVal) any { return treeVal{v.repo, v.c, ""} }),
		"repository":    c(func(_ *execContext, v commitVal) any { return v.repo }),
		"url": c(func(ec *execContext, v commitVal) any {
			return ec.s.URL() + "/" + v.repo.meta.FullName() + "/commit/" + v.c.oid
		}),
		"commitUrl": c(func(ec *execContext, v commitVal) any {
			return ec.s.URL() + "/" + v.repo.meta.FullName() + "/commit/" + v.c.oid
		}),
	}
}

func treeResolvers() map[string]fieldFunc {
	t := func(f func(v treeVal) any) fieldFunc {
		return func(_ *execContext, o object, _ map[string]any) (any, error) { return f(o.(treeVal)), nil }
	}
	return map[string]fieldFunc{
		"id":             t(func(v treeVal) any { return encodeNodeID("T", v.repo.meta.ID, v.c.trees[v.dir]) }),
		"oid":            t(func(v treeVal) any { return v.c.trees[v.dir] }),
		"abbreviatedOid": t(func(v treeVal) any { return v.c.trees[v.dir][:7] }),
		"repository":     t(func(v treeVal) any { return v.repo }),
		"entries": t(func(v treeVal) any {
			es := dirEntries(v.c.files, v.c.trees, v.dir)
			out := make([]any, len(es))
			for i, e := range es {
				out[i] = treeEntryVal{v.repo, v.c, e}
			}
			return out
		}),
	}
}

func blobResolvers() map[string]fieldFunc {
	b := func(f func(v blobVal, data []byte) any) fieldFunc {
		return func(_ *execContext, o object, _ map[string]any) (any, error) {
			v := o.(blobVal)
			return f(v, v.repo.blobs[v.oid]), nil
		}
	}
	return map[string]fieldFunc{
		"id":             b(func(v blobVal, _ []byte) any { return encodeNodeID("B", v.repo.meta.ID, v.oid) }),
		"oid":            b(func(v blobVal, _ []byte) any { return v.oid }),
		"abbreviatedOid": b(func(v blobVal, _ []byte) any { return v.oid[:7] }),
		"repository":     b(func(v blobVal, _ []byte) any { return v.repo }),
		"byteSize":       b(func(_ blobVal, data []byte) any { return len(data) }),
		"isBinary":       b(func(_ blobVal, data []byte) any { return isBinary(data) }),
		"isTruncated":    b(func(_ blobVal, data []byte) any { return len(data) > maxBlobText }),
		"text": b(func(_ blobVal, data []byte) any {
			if isBinary(data) {
				return nil
			}
			if len(data) > maxBlobText {
				n := maxBlobText
				for n > 0 && !utf8.RuneStart(data[n]) {
					n--
				}
				data = data[:n]
			}
			return string(data)
		}),
	}
}

// isBinary reports whether git would consider data binary: a NUL byte in
// its first 8000 bytes.
func isBinary(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0
}

func treeEntryResolvers() map[string]fieldFunc {
	e := func(f func(v treeEntryVal) any) fieldFunc {
		return func(_ *execContext, o object, _ map[string]any) (any, error) { return f(o.(treeEntryVal)), nil }
	}
	return map[string]fieldFunc{
		"name":       e(func(v treeEntryVal) any { return v.e.name }),
		"path":       e(func(v treeEntryVal) any { return v.e.path }),
		"type":       e(func(v treeEntryVal) any { return v.e.typ }),
		"oid":        e(func(v treeEntryVal) any { return v.e.oid }),
		"mode":       e(func(v treeEntryVal) any { return v.e.mode }),
		"repository": e(func(v treeEntryVal) any { return v.repo }),
		"extension": e(func(v treeEntryVal) any {
			if v.e.typ != "blob" {
				return nil
			}
			return nullString(path.Ext(v.e.name))
		}),
		"size": e(func(v treeEntryVal) any {
			if v.e.typ != "blob" {
				return 0
			}
			return len(v.repo.blobs[v.e.oid])
		}),
		"object": e(func(v treeEntryVal) any {
			if v.e.typ == "tree" {
				return treeVal{v.repo, v.c, v.e.path}
			}
			return blobVal{v.repo, v.e.oid}
		}),
	}
}

func topicResolvers() map[string]fieldFunc {
	return map[string]fieldFunc{
		"id": func(_ *execContext, o object, _ map[string]any) (any, error) {
			v := o.(topicVal)
			return encodeNodeID("RT", v.repo.meta.ID, v.name), nil
		},
		"topic": func(_ *execContext, o object, _ map[string]any) (any, error) {
			return topicNameVal{o.(topicVal).name}, nil
		},
		"url": func(ec *execContext, o object, _ map[string]any) (any, error) {
			return ec.s.URL() + "/topics/" + o.(topicVal).name, nil
		},
		"resourcePath": func(_ *execContext, o object, _ map[string]any) (any, error) {
			return "/topics/" + o.(topicVal).name, nil
		},
	}
}

func rateLimitResolvers() map[string]fieldFunc {
	r := func(f func(v rateLimitVal) any) fieldFunc {
		return func(_ *execContext, o object, _ map[string]any) (any, error) { return f(o.(rateLimitVal)), nil }
	}
	return map[string]fieldFunc{
		"cost":      r(func(v rateLimitVal) any { return v.cost }),
		"limit":     r(func(v rateLimitVal) any { return v.limit }),
		"remaining": r(func(v rateLimitVal) any { return v.remaining }),
		"used":      r(func(v rateLimitVal) any { return v.used }),
		"nodeCount": r(func(v rateLimitVal) any { return v.nodeCount }),
		"resetAt":   r(func(v rateLimitVal) any { return v.resetAt }),
	}
}

// connection is one page of a connection.
type connection struct {
	typ, edgeType string
	items         []any // the page's nodes
	first         int   // index of items[0] in the whole list
	total         int
	hasNext       bool
	hasPrev       bool
}

func (c *connection) gqlType() string { return c.typ }

// edge is one edge of a connection page.
type edge struct {
	typ    string
	cursor string
	node   any
}

func (e edge) gqlType() string { return e.typ }

// pageInfo is a connection page's PageInfo.
type pageInfo struct {
	hasNext, hasPrev     bool
	startCursor, endCurs any
}

func (pageInfo) gqlType() string { return "PageInfo" }

// encodeCursor returns the opaque cursor of the item at index i.
func encodeCursor(i int) string {
	return base64.StdEncoding.EncodeToString([]byte("cursor:v2:" + strconv.Itoa(i)))
}

// decodeCursor returns the index a cursor names.
func decodeCursor(c string) (int, bool) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "cursor:v2:"))
	if err != nil || !strings.HasPrefix(string(b), "cursor:v2:") || n < 0 {
		return 0, false
	}
	return n, true
}

// paginate returns the page of items that first/after/last/before select,
// enforcing GitHub's pagination bounds on the connection field.
func paginate(typ, edgeType, field string, items []any, args map[string]any) (any, error) {
	if _, err := pageSize(field, args); err != nil {
		return nil, err
	}
	first, hasFirst, _ := argInt(args, "first")
	last, hasLast, _ := argInt(args, "last")
	lo, hi := 0, len(items)
	if after, ok := argString(args, "after"); ok {
		i, ok := decodeCursor(after)
		if !ok {
			return nil, &gqlError{Message: fmt.Sprintf("`%s` does not appear to be a valid cursor.", after)}
		}
		lo = min(i+1, hi)
	}
	if before, ok := argString(args, "before"); ok {
		i, ok := decodeCursor(before)
		if !ok {
			return nil, &gqlError{Message: fmt.Sprintf("`%s` does not appear to be a valid cursor.", before)}
		}
		hi = max(lo, min(i, hi))
	}
	if hasFirst && hi-lo > first {
		hi = lo + first
	}
	if hasLast && hi-lo > last {
		lo = hi - last
	}
	return &connection{typ: typ, edgeType: edgeType, items: items[lo:hi], first: lo, total: len(items),
		hasNext: hi < len(items), hasPrev: lo > 0}, nil
}

// addConnection adds the resolvers of a connection type and its edge type.
func addConnection(t resolverTable, typ, edgeType string) {
	t[typ] = map[string]fieldFunc{
		"totalCount": func(_ *execContext, o object, _ map[string]any) (any, error) { return o.(*connection).total, nil },
		"nodes": func(_ *execContext, o object, _ map[string]any) (any, error) {
			return append([]any(nil), o.(*connection).items...), nil
		},
		"edges": func(_ *execContext, o object, _ map[string]any) (any, error) {
			c := o.(*connection)
			out := make([]any, len(c.items))
			for i, n := range c.items {
				out[i] = edge{typ: c.edgeType, cursor: encodeCursor(c.first + i), node: n}
			}
			return out, nil
		},
		"pageInfo": func(_ *execContext, o object, _ map[string]any) (any, error) {
			c := o.(*connection)
			pi := pageInfo{hasNext: c.hasNext, hasPrev: c.hasPrev}
			if len(c.items) > 0 {
				pi.startCursor = encodeCursor(c.first)
				pi.endCurs = encodeCursor(c.first + len(c.items) - 1)
			}
			return pi, nil
		},
	}
	t[edgeType] = map[string]fieldFunc{
		"cursor": func(_ *execContext, o object, _ map[string]any) (any, error) { return o.(edge).cursor, nil },
		"node":   func(_ *execContext, o object, _ map[string]any) (any, error) { return o.(edge).node, nil },
	}
}

func pageInfoResolvers() map[string]fieldFunc {
	p := func(f func(v pageInfo) any) fieldFunc {
		return func(_ *execContext, o object, _ map[string]any) (any, error) { return f(o.(pageInfo)), nil }
	}
	return map[string]fieldFunc{
		"hasNextPage":     p(func(v pageInfo) any { return v.hasNext }),
		"hasPreviousPage": p(func(v pageInfo) any { return v.hasPrev }),
		"startCursor":     p(func(v pageInfo) any { return v.startCursor }),
		"endCursor":       p(func(v pageInfo) any { return v.endCurs }),
	}
}
