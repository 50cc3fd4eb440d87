package ghe

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/shurcooL/githubv4"
)

// The GraphQL queries are built by githubv4 from struct types. Because the
// spec paths (and, for file:// targets, the files) are only known at run
// time, the query types are assembled with reflect.StructOf from the static
// pieces below; githubv4 writes aliases from the graphql struct tags and
// decodes the aliased fields back into them.

// repoFields is the metadata read for every repository.
type repoFields struct {
	ID         string `graphql:"id"`
	DatabaseID int64  `graphql:"databaseId"`
	Name       string `graphql:"name"`
	Owner      struct {
		Login string `graphql:"login"`
	} `graphql:"owner"`
	NameWithOwner    string     `graphql:"nameWithOwner"`
	URL              string     `graphql:"url"`
	Description      *string    `graphql:"description"`
	IsArchived       bool       `graphql:"isArchived"`
	IsFork           bool       `graphql:"isFork"`
	Visibility       string     `graphql:"visibility"`
	PushedAt         *time.Time `graphql:"pushedAt"`
	DefaultBranchRef *struct {
		Name   string `graphql:"name"`
		Target *struct {
			OID string `graphql:"oid"`
		} `graphql:"target"`
	} `graphql:"defaultBranchRef"`
	RepositoryTopics struct {
		Nodes []struct {
			Topic struct {
				Name string `graphql:"name"`
			} `graphql:"topic"`
		} `graphql:"nodes"`
	} `graphql:"repositoryTopics(first: 20)"`
}

// blobObject is a git object read by path; only a Blob fills it.
type blobObject struct {
	Blob struct {
		OID         string  `graphql:"oid"`
		ByteSize    int     `graphql:"byteSize"`
		IsBinary    *bool   `graphql:"isBinary"`
		IsTruncated bool    `graphql:"isTruncated"`
		Text        *string `graphql:"text"`
	} `graphql:"... on Blob"`
}

// rateLimitFields is GraphQL's top-level rateLimit.
type rateLimitFields struct {
	Cost      int       `graphql:"cost"`
	Remaining int       `graphql:"remaining"`
	ResetAt   time.Time `graphql:"resetAt"`
}

var (
	repoFieldsType = reflect.TypeFor[repoFields]()
	blobPtrType    = reflect.TypeFor[*blobObject]()
	rateLimitType  = reflect.TypeFor[*rateLimitFields]()
)

// repoQuery is the query type that reads a batch of repositories by node id:
//
//	query($ids:[ID!]!, $spec0:String!, ...) {
//	  nodes(ids: $ids) { ... on Repository { id ... spec0: object(expression: $spec0) { ... on Blob { ... } } } }
//	  rateLimit { cost remaining resetAt }
//	}
type repoQuery struct {
	typ       reflect.Type // struct{Nodes []*node; RateLimit *rateLimitFields}
	specPaths []string
}

func newRepoQuery(specPaths []string) repoQuery {
	repoFieldsOf := []reflect.StructField{{
		Name:      "RepoFields",
		Type:      repoFieldsType,
		Anonymous: true, // inlined into the fragment by githubv4
	}}
	for i := range specPaths {
		repoFieldsOf = append(repoFieldsOf, reflect.StructField{
			Name: "Spec" + strconv.Itoa(i),
			Type: blobPtrType,
			Tag:  reflect.StructTag(fmt.Sprintf(`graphql:"spec%d: object(expression: $spec%d)"`, i, i)),
		})
	}
	node := reflect.StructOf([]reflect.StructField{{
		Name: "Repository",
		Type: reflect.StructOf(repoFieldsOf),
		Tag:  `graphql:"... on Repository"`,
	}})
	typ := reflect.StructOf([]reflect.StructField{
		{Name: "Nodes", Type: reflect.SliceOf(reflect.PointerTo(node)), Tag: `graphql:"nodes(ids: $ids)"`},
		{Name: "RateLimit", Type: rateLimitType, Tag: `graphql:"rateLimit"`},
	})
	return repoQuery{typ: typ, specPaths: specPaths}
}

// variables returns the query's variables for the given node ids.
func (q repoQuery) variables(ids []string) map[string]any {
	gids := make([]githubv4.ID, len(ids))
	for i, id := range ids {
		gids[i] = githubv4.ID(id)
	}
	vars := map[string]any{"ids": gids}
	for i, p := range q.specPaths {
		vars["spec"+strconv.Itoa(i)] = githubv4.String("HEAD:" + p)
	}
	return vars
}

// repoNode is what one node of a repoQuery answer holds.
type repoNode struct {
	present bool // the node was not null
	fields  repoFields
	specs   []*blobObject // by spec path; nil where no object exists
}

// nodes extracts the nodes from a decoded repoQuery value (a pointer).
func (q repoQuery) nodes(v reflect.Value) []repoNode {
	list := v.Elem().Field(0)
	out := make([]repoNode, list.Len())
	for i := range out {
		p := list.Index(i)
		if p.IsNil() {
			continue
		}
		repo := p.Elem().Field(0)
		out[i].present = true
		out[i].fields = repo.Field(0).Interface().(repoFields)
		out[i].specs = make([]*blobObject, len(q.specPaths))
		for j := range q.specPaths {
			out[i].specs[j], _ = repo.Field(1 + j).Interface().(*blobObject)
		}
	}
	return out
}

// rateLimitOf returns the rateLimit field of a decoded query (a pointer to a
// struct with a RateLimit field), if GitHub sent one.
func rateLimitOf(v reflect.Value) (RateLimit, bool) {
	f := v.Elem().FieldByName("RateLimit")
	if !f.IsValid() || f.IsNil() {
		return RateLimit{}, false
	}
	rl := f.Interface().(*rateLimitFields)
	return RateLimit{Cost: rl.Cost, Remaining: rl.Remaining, ResetAt: rl.ResetAt}, true
}

// fileRef is one file to read in a filesQuery.
type fileRef struct {
	owner, name string
	rev         string // commit oid the spec file was read at, or HEAD
	path        string
}

// filesQuery reads files of several repositories in one request:
//
//	query($o0:String!, $n0:String!, $e0_0:String!, ...) {
//	  r0: repository(owner: $o0, name: $n0) { f0: object(expression: $e0_0) { ... on Blob { ... } } ... }
//	  rateLimit { cost remaining resetAt }
//	}
type filesQuery struct {
	typ   reflect.Type
	vars  map[string]any
	repos [][]int // per repository alias: indexes into the files
}

func newFilesQuery(files []fileRef) filesQuery {
	type repoKey struct{ owner, name string }
	index := make(map[repoKey]int)
	var keys []repoKey
	var repos [][]int
	for i, f := range files {
		k := repoKey{f.owner, f.name}
		r, ok := index[k]
		if !ok {
			r = len(keys)
			index[k] = r
			keys = append(keys, k)
			repos = append(repos, nil)
		}
		repos[r] = append(repos[r], i)
	}
	vars := make(map[string]any)
	fields := make([]reflect.StructField, 0, len(keys)+1)
	for r, k := range keys {
		objs := make([]reflect.StructField, 0, len(repos[r]))
		for j, fi := range repos[r] {
			v := fmt.Sprintf("e%d_%d", r, j)
			objs = append(objs, reflect.StructField{
				Name: "F" + strconv.Itoa(j),
				Type: blobPtrType,
				Tag:  reflect.StructTag(fmt.Sprintf(`graphql:"f%d: object(expression: $%s)"`, j, v)),
			})
			vars[v] = githubv4.String(files[fi].rev + ":" + files[fi].path)
		}
		vars["o"+strconv.Itoa(r)] = githubv4.String(k.owner)
		vars["n"+strconv.Itoa(r)] = githubv4.String(k.name)
		fields = append(fields, reflect.StructField{
			Name: "R" + strconv.Itoa(r),
			Type: reflect.PointerTo(reflect.StructOf(objs)),
			Tag:  reflect.StructTag(fmt.Sprintf(`graphql:"r%d: repository(owner: $o%d, name: $n%d)"`, r, r, r)),
		})
	}
	fields = append(fields, reflect.StructField{Name: "RateLimit", Type: rateLimitType, Tag: `graphql:"rateLimit"`})
	return filesQuery{typ: reflect.StructOf(fields), vars: vars, repos: repos}
}

// blobs extracts the blobs from a decoded filesQuery value, by file index,
// and reports which repository aliases were null.
func (q filesQuery) blobs(v reflect.Value, n int) (blobs []*blobObject, repoNull []bool) {
	blobs = make([]*blobObject, n)
	repoNull = make([]bool, len(q.repos))
	for r, files := range q.repos {
		rp := v.Elem().Field(r)
		if rp.IsNil() {
			repoNull[r] = true
			continue
		}
		for j, fi := range files {
			blobs[fi], _ = rp.Elem().Field(j).Interface().(*blobObject)
		}
	}
	return blobs, repoNull
}

// queryResult is the outcome of one GraphQL request.
type queryResult struct {
	// err is set when the request as a whole failed; the data is then unusable.
	err error
	// split is set with err when a smaller request may succeed
	// (RESOURCE_LIMITS_EXCEEDED, timeouts, 502/504).
	split bool
	// errs are GraphQL errors that came with usable data.
	errs []gqlError
}

// query runs one GraphQL query into q (a pointer to a query struct),
// waiting out RATE_LIMITED answers, and classifies the outcome.
func (c *Client) query(ctx context.Context, ic *installClient, q reflect.Value, vars map[string]any) queryResult {
	for attempt := 0; ; attempt++ {
		sink := &gqlSink{}
		err := ic.gql.Query(withSink(withRetrySafe(ctx), sink), q.Interface(), vars)
		rl, hasRL := rateLimitOf(q)
		if hasRL {
			c.noteRateLimit(rl)
		}
		if ctx.Err() != nil {
			return queryResult{err: ctx.Err()}
		}
		if isRateLimited(sink) && attempt < c.opts.MaxRetries {
			wait := c.rateLimitedWait(sink, rl, hasRL, attempt)
			if dl, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(dl) {
				return queryResult{err: fmt.Errorf("graphql rate limited for %s, longer than the pass may take", wait.Round(time.Second))}
			}
			c.logger.Warn("graphql rate limited, waiting", "installation", ic.id, "wait", wait, "attempt", attempt+1)
			if err := sleep(ctx, wait); err != nil {
				return queryResult{err: err}
			}
			q.Elem().SetZero()
			continue
		}
		return c.classify(sink, err)
	}
}

func isRateLimited(s *gqlSink) bool {
	for _, e := range s.errs {
		if e.Type == "RATE_LIMITED" {
			return true
		}
	}
	return false
}

// rateLimitedWait is how long to wait after a RATE_LIMITED answer: what the
// headers say, else until resetAt, else a backoff.
func (c *Client) rateLimitedWait(s *gqlSink, rl RateLimit, hasRL bool, attempt int) time.Duration {
	now := time.Now()
	if d, ok := rateLimitWait(s.header, now); ok {
		return d
	}
	if !hasRL {
		// The answer carried no rateLimit; the last one seen tells when the
		// primary budget resets, if it is the budget that ran out.
		rl = c.lastRateLimit()
		if rl.Remaining > 0 {
			return c.policy.backoff(attempt)
		}
	}
	if d := rl.ResetAt.Sub(now); d > 0 {
		return d + time.Second
	}
	return c.policy.backoff(attempt)
}

// classify turns what the sink captured and githubv4's error into a result.
func (c *Client) classify(s *gqlSink, err error) queryResult {
	switch {
	case s.status == 0:
		if err == nil {
			return queryResult{err: errors.New("graphql: no response captured")}
		}
		// No response at all, after the transport's retries.
		return queryResult{err: fmt.Errorf("graphql request: %w", err), split: isTimeout(err)}
	case s.status == 502 || s.status == 504:
		return queryResult{err: &APIError{Method: "POST", URL: c.opts.GraphQLURL, StatusCode: s.status, Message: joinMessages(s.errs)}, split: true}
	case s.status != 200:
		return queryResult{err: &APIError{Method: "POST", URL: c.opts.GraphQLURL, StatusCode: s.status, Message: joinMessages(s.errs)}}
	case s.bodyErr != nil:
		return queryResult{err: fmt.Errorf("graphql: %w", s.bodyErr)}
	}
	for _, e := range s.errs {
		if e.Type == "RESOURCE_LIMITS_EXCEEDED" || timeoutMessage(e) {
			return queryResult{err: gqlErr(e), split: true}
		}
	}
	if s.dataNull {
		if len(s.errs) == 0 {
			return queryResult{err: fmt.Errorf("%w: graphql data is null without errors", ErrInvalidResponse)}
		}
		return queryResult{err: gqlErrs(s.errs)}
	}
	// githubv4 returns GraphQL errors as an error whose text is the first
	// message; anything else (a decoding failure) makes the data unusable.
	if err != nil && (len(s.errs) == 0 || err.Error() != s.errs[0].Message) {
		return queryResult{err: fmt.Errorf("%w: decode graphql data: %w", ErrInvalidResponse, err)}
	}
	return queryResult{errs: s.errs}
}

func isTimeout(err error) bool {
	var te *timeoutError
	return errors.As(err, &te) || errors.Is(err, context.DeadlineExceeded)
}

func timeoutMessage(e gqlError) bool {
	m := strings.ToLower(e.Message)
	return strings.Contains(m, "timedout") || strings.Contains(m, "timed out") || strings.Contains(m, "timeout") ||
		strings.EqualFold(e.Type, "TIMEOUT")
}

func gqlErr(e gqlError) *GraphQLError {
	return &GraphQLError{Type: e.Type, Message: e.Message, Path: e.Path}
}

func gqlErrs(es []gqlError) error {
	errs := make([]error, 0, len(es))
	for _, e := range es {
		errs = append(errs, gqlErr(e))
	}
	return errors.Join(errs...)
}

func joinMessages(es []gqlError) string {
	ms := make([]string, 0, len(es))
	for _, e := range es {
		ms = append(ms, e.Message)
	}
	return strings.Join(ms, "; ")
}

// pathIndex returns the list index in an error path like ["nodes", 3, ...]
// whose first element is field.
func pathIndex(path []any, field string) (int, bool) {
	if len(path) < 2 {
		return 0, false
	}
	if f, _ := path[0].(string); f != field {
		return 0, false
	}
	switch n := path[1].(type) {
	case float64:
		return int(n), true
	case int:
		return n, true
	}
	return 0, false
}

// pathAlias returns the first element of an error path, like "r3".
func pathAlias(path []any) string {
	if len(path) == 0 {
		return ""
	}
	s, _ := path[0].(string)
	return s
}
