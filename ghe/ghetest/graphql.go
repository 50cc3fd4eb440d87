package ghetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

const docsGraphQLAuth = "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"

// partialKey marks a request the PartialData fault applies to.
type partialKey struct{}

func withPartial(ctx context.Context) context.Context {
	return context.WithValue(ctx, partialKey{}, true)
}

// graphQLResponse is a GraphQL answer that executed: data is always present.
type graphQLResponse struct {
	Data   any         `json:"data"`
	Errors []*gqlError `json:"errors,omitempty"`
}

// graphQLErrors is a GraphQL answer that did not execute: no data key.
type graphQLErrors struct {
	Errors []*gqlError `json:"errors"`
}

// handleGraphQL serves POST /api/graphql.
func (s *Server) handleGraphQL(w http.ResponseWriter, r *http.Request) {
	tok, err := s.authToken(r)
	if err != nil {
		var ae *authError
		if errors.As(err, &ae) && ae.message == msgRequiresAuth {
			writeError(w, http.StatusUnauthorized, "This endpoint requires you to be authenticated.", docsGraphQLAuth)
			return
		}
		writeAuthError(w, err)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON", "https://docs.github.com/graphql")
		return
	}
	var req struct {
		Query         *string         `json:"query"`
		Variables     json.RawMessage `json:"variables"`
		OperationName string          `json:"operationName"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON", "https://docs.github.com/graphql")
		return
	}
	refuse := func(query string, errs ...*gqlError) {
		s.recordInvalid(query, errs)
		writeJSON(w, http.StatusOK, graphQLErrors{Errors: errs})
	}
	if req.Query == nil {
		refuse(string(body), &gqlError{Message: "A query attribute must be specified and must be a string."})
		return
	}
	query := *req.Query
	vars := map[string]any{}
	if v := bytes.TrimSpace(req.Variables); len(v) > 0 && !bytes.Equal(v, []byte("null")) {
		vd := json.NewDecoder(bytes.NewReader(v))
		vd.UseNumber()
		if err := vd.Decode(&vars); err != nil {
			refuse(query, &gqlError{Message: "Variables are invalid JSON: " + err.Error() + "."})
			return
		}
	}

	doc, perr := parser.ParseQuery(&ast.Source{Name: "query", Input: query})
	if perr != nil {
		refuse(query, fromGQLErrors(perr)...)
		return
	}
	if s.opts.Schema != nil {
		if errs := validator.ValidateWithRules(s.opts.Schema, doc, nil); len(errs) > 0 {
			refuse(query, fromGQLErrors(errs)...)
			return
		}
	}
	op, gerr := selectOperation(doc, req.OperationName)
	if gerr != nil {
		refuse(query, gerr)
		return
	}
	if s.opts.Schema != nil {
		coerced, err := validator.VariableValues(s.opts.Schema, op, vars)
		if err != nil {
			refuse(query, fromGQLErrors(err)...)
			return
		}
		vars = coerced
	} else {
		for _, vd := range op.VariableDefinitions {
			if _, ok := vars[vd.Variable]; !ok && vd.DefaultValue != nil {
				if v, err := vd.DefaultValue.Value(nil); err == nil {
					vars[vd.Variable] = v
				}
			}
		}
	}
	if op.Operation != ast.Query {
		name := "Mutation"
		if op.Operation == ast.Subscription {
			name = "Subscription"
		}
		s.recordUnimplemented(name)
		writeJSON(w, http.StatusOK, graphQLErrors{Errors: []*gqlError{{Message: "ghetest: " + string(op.Operation) + " operations not implemented"}}})
		return
	}

	ec := &execContext{
		s:         s,
		schema:    s.opts.Schema,
		doc:       doc,
		vars:      vars,
		tok:       tok,
		now:       s.now(),
		resolvers: s.resolvers,
		partial:   r.Context().Value(partialKey{}) != nil,
	}
	var a analysis
	s.mu.RLock()
	ec.analyze(op.SelectionSet, 1, true, nil, &a, 0)
	s.mu.RUnlock()
	if len(a.errs) > 0 {
		refuse(query, a.errs...)
		return
	}
	if a.nodes > maxNodeLimit {
		refuse(query, &gqlError{Type: "MAX_NODE_LIMIT_EXCEEDED",
			Message: fmt.Sprintf("This query requests up to %d nodes which exceeds the maximum limit of %d.", a.nodes, maxNodeLimit)})
		return
	}
	s.smu.Lock()
	maxBatch := s.maxBatch
	s.smu.Unlock()
	if maxBatch > 0 && a.repos > maxBatch {
		writeJSON(w, http.StatusOK, graphQLResponse{Errors: []*gqlError{{Type: "RESOURCE_LIMITS_EXCEEDED",
			Message: "Resource limits for this query exceeded."}}})
		return
	}

	key := "graphql/" + strconv.FormatInt(tok.installationID, 10)
	cost := a.cost()
	var b budget
	if a.dryRun {
		b = s.budgetState(key)
	} else {
		var ok bool
		ok, b = s.spend(key, cost)
		if !ok {
			s.setExhausted(w, "graphql", Fault{RetryAfter: b.reset.Sub(s.now())})
			writeJSON(w, http.StatusOK, graphQLResponse{Errors: []*gqlError{{Type: "RATE_LIMITED", Extensions: nil,
				Message: fmt.Sprintf("API rate limit exceeded for installation ID %d.", tok.installationID)}}})
			return
		}
	}
	s.setRateHeaders(w, "graphql", b)
	ec.rate = rateLimitVal{cost: cost, limit: s.opts.RateLimit, remaining: max(0, s.opts.RateLimit-b.used),
		used: b.used, nodeCount: a.nodes, resetAt: b.reset}
	s.smu.Lock()
	s.stats.GraphQLQueries++
	if !a.dryRun {
		s.stats.PointsUsed += cost
	}
	s.stats.NodesRequested += a.repos
	s.smu.Unlock()

	s.mu.RLock()
	data, ok := ec.execSelectionSet(queryRoot{}, op.SelectionSet, nil)
	s.mu.RUnlock()
	resp := graphQLResponse{Errors: ec.errs}
	if ok {
		resp.Data = data
	}
	writeJSON(w, http.StatusOK, resp)
}

// selectOperation picks the operation to run.
func selectOperation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, *gqlError) {
	if name != "" {
		if op := doc.Operations.ForName(name); op != nil {
			return op, nil
		}
		return nil, &gqlError{Message: fmt.Sprintf("No operation named \"%s\"", name)}
	}
	switch len(doc.Operations) {
	case 0:
		return nil, &gqlError{Message: "No operations in query document"}
	case 1:
		return doc.Operations[0], nil
	}
	return nil, &gqlError{Message: "An operation name is required"}
}

// fromGQLErrors converts gqlparser's errors to GitHub-shaped ones.
func fromGQLErrors(err error) []*gqlError {
	var list gqlerror.List
	var one *gqlerror.Error
	switch {
	case errors.As(err, &list):
	case errors.As(err, &one):
		list = gqlerror.List{one}
	default:
		return []*gqlError{{Message: err.Error()}}
	}
	out := make([]*gqlError, 0, len(list))
	for _, e := range list {
		ge := &gqlError{Message: e.Message}
		for _, l := range e.Locations {
			ge.Locations = append(ge.Locations, location{Line: l.Line, Column: l.Column})
		}
		if len(e.Path) > 0 {
			for _, p := range e.Path {
				switch v := p.(type) {
				case ast.PathName:
					ge.Path = append(ge.Path, string(v))
				case ast.PathIndex:
					ge.Path = append(ge.Path, int(v))
				}
			}
		}
		if e.Rule != "" {
			ge.Extensions = map[string]any{"code": e.Rule}
		}
		out = append(out, ge)
	}
	return out
}
