package ghetest

import (
	"fmt"
	"math"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// GitHub's GraphQL limits.
const (
	maxNodeIDs   = 100     // ids in one nodes(ids:)
	maxPageSize  = 100     // first/last of a connection
	maxNodeLimit = 500_000 // nodes one query may request
)

func tooManyIDs(n int) error {
	return &gqlError{Type: "EXCESSIVE_PAGINATION", Message: fmt.Sprintf("You may not provide more than %d node ids; you provided %d.", maxNodeIDs, n)}
}

// pageSize checks the first/last arguments of connection field as GitHub
// does and returns the page size they ask for.
func pageSize(field string, args map[string]any) (int, error) {
	first, hasFirst, err := argInt(args, "first")
	if err != nil {
		return 0, err
	}
	last, hasLast, err := argInt(args, "last")
	if err != nil {
		return 0, err
	}
	switch {
	case !hasFirst && !hasLast:
		return 0, &gqlError{Type: "MISSING_PAGINATION_BOUNDARIES",
			Message: fmt.Sprintf("You must provide a `first` or `last` value to properly paginate the `%s` connection.", field)}
	case hasFirst && hasLast:
		return 0, &gqlError{Type: "EXCESSIVE_PAGINATION",
			Message: fmt.Sprintf("Passing both `first` and `last` to paginate the `%s` connection is not supported.", field)}
	}
	arg, n := "first", first
	if hasLast {
		arg, n = "last", last
	}
	if n < 0 {
		return 0, &gqlError{Type: "EXCESSIVE_PAGINATION",
			Message: fmt.Sprintf("`%s` on the `%s` connection cannot be less than zero.", arg, field)}
	}
	if n > maxPageSize {
		return 0, &gqlError{Type: "EXCESSIVE_PAGINATION",
			Message: fmt.Sprintf("Requesting %d records on the `%s` connection exceeds the `%s` limit of %d records.", n, field, arg, maxPageSize)}
	}
	return n, nil
}

// analysis is what a query asks for, computed before it runs.
type analysis struct {
	requests int // connection page requests, GitHub's unit of cost
	nodes    int // nodes the connections may return
	repos    int // repositories selected: nodes(ids:) ids, node(), repository()
	dryRun   bool
	errs     []*gqlError
}

// cost is GitHub's rateLimit cost: the connection requests divided by 100,
// rounded, at least 1.
func (a *analysis) cost() int {
	return max(1, int(math.Round(float64(a.requests)/100)))
}

// analyze walks sel (with every fragment, whatever its type condition) to
// check pagination bounds and id counts and to compute the cost. mult is
// how many times sel may be evaluated: the product of the page sizes (and
// node id counts) above it. This is stricter than GitHub, which does not
// multiply through nodes(ids:).
func (ec *execContext) analyze(sel ast.SelectionSet, mult int, root bool, path []any, a *analysis, depth int) {
	if depth > 64 {
		return
	}
	for _, s := range sel {
		switch x := s.(type) {
		case *ast.InlineFragment:
			if ec.included(x.Directives) {
				ec.analyze(x.SelectionSet, mult, root, path, a, depth+1)
			}
		case *ast.FragmentSpread:
			def := x.Definition
			if def == nil {
				def = ec.doc.Fragments.ForName(x.Name)
			}
			if def != nil && ec.included(x.Directives) {
				ec.analyze(def.SelectionSet, mult, root, path, a, depth+1)
			}
		case *ast.Field:
			if !ec.included(x.Directives) {
				continue
			}
			ec.analyzeField(x, mult, root, path, a, depth)
		}
	}
}

func (ec *execContext) analyzeField(f *ast.Field, mult int, root bool, path []any, a *analysis, depth int) {
	key := f.Alias
	if key == "" {
		key = f.Name
	}
	path = appendPath(path, key)
	fail := func(err error) {
		ge := err.(*gqlError)
		cp := *ge
		cp.Path = path
		cp.Locations = locationsOf(f.Position)
		a.errs = append(a.errs, &cp)
	}
	args, err := ec.args(f)
	if err != nil {
		a.errs = append(a.errs, &gqlError{Message: err.Error(), Path: path, Locations: locationsOf(f.Position)})
		return
	}
	switch {
	case isConnectionField(f, args):
		n, err := pageSize(f.Name, args)
		if err != nil {
			fail(err)
			return
		}
		a.requests += mult
		a.nodes += mult * n
		ec.analyze(f.SelectionSet, mult*n, false, path, a, depth+1)
		return
	case root && f.Name == "nodes":
		ids, err := argStrings(args, "ids")
		if err != nil {
			a.errs = append(a.errs, &gqlError{Message: err.Error(), Path: path, Locations: locationsOf(f.Position)})
			return
		}
		if len(ids) > maxNodeIDs {
			fail(tooManyIDs(len(ids)))
			return
		}
		a.repos += mult * len(ids)
		ec.analyze(f.SelectionSet, mult*len(ids), false, path, a, depth+1)
		return
	case root && (f.Name == "node" || f.Name == "repository"):
		a.repos += mult
	case root && f.Name == "rateLimit":
		if argBool(args, "dryRun") {
			a.dryRun = true
		}
	}
	ec.analyze(f.SelectionSet, mult, false, path, a, depth+1)
}

// isConnectionField reports whether f is a paginated connection: with the
// schema, a field of a *Connection type taking first; without, a field
// given first or last.
func isConnectionField(f *ast.Field, args map[string]any) bool {
	if f.Definition != nil {
		return strings.HasSuffix(f.Definition.Type.Name(), "Connection") && f.Definition.Arguments.ForName("first") != nil
	}
	_, first := args["first"]
	_, last := args["last"]
	return first || last
}
