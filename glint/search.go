package glint

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// searchPageSize is the limit asked for on each page of a blueprint search.
const searchPageSize = 1000

// Query is a search query: rules joined by a combinator ("and" when empty).
type Query struct {
	Combinator string `json:"combinator"` // "and" or "or"
	Rules      []any  `json:"rules"`      // each a Rule or a Query
}

// MarshalJSON encodes q with "and" for an empty combinator and [] for no rules.
func (q Query) MarshalJSON() ([]byte, error) {
	type plain Query // without this method
	if q.Combinator == "" {
		q.Combinator = "and"
	}
	if q.Rules == nil {
		q.Rules = []any{}
	}
	return json.Marshal(plain(q))
}

// Rule is one search rule. Property is a property name or a meta-property
// ("$identifier", "$title", "$blueprint", "$team", "$datasource",
// "$updatedAt"); Operator is "=", "!=", "in", "contains", "beginsWith",
// "endsWith", "isEmpty" or "isNotEmpty". Value is left out when nil.
type Rule struct {
	Property string `json:"property"`
	Operator string `json:"operator"`
	Value    any    `json:"value,omitempty"`
}

// Blueprints lists the organization's blueprints.
//
// Glint API: GET /v1/blueprints
func (c *Client) Blueprints(ctx context.Context) ([]Blueprint, error) {
	var out struct {
		Blueprints []Blueprint `json:"blueprints"`
	}
	r := request{method: http.MethodGet, path: "/v1/blueprints", idempotent: true}
	res, err := c.do(ctx, r, &out)
	if err == nil && out.Blueprints == nil {
		// An answer without the list is not an empty catalog.
		err = c.apiError(r, res, codeInvalidResponse, "answer has no blueprints list")
	}
	if err != nil {
		return nil, fmt.Errorf("list blueprints: %w", err)
	}
	return out.Blueprints, nil
}

// Blueprint returns one blueprint. An unknown blueprint is an error matching
// ErrNotFound.
//
// Glint API: GET /v1/blueprints/{blueprint}
func (c *Client) Blueprint(ctx context.Context, id string) (Blueprint, error) {
	var out struct {
		Blueprint *Blueprint `json:"blueprint"`
	}
	r := request{method: http.MethodGet, path: "/v1/blueprints/" + url.PathEscape(id), idempotent: true}
	res, err := c.do(ctx, r, &out)
	if err == nil && out.Blueprint == nil {
		err = c.apiError(r, res, codeInvalidResponse, "answer has no blueprint")
	}
	if err != nil {
		return Blueprint{}, fmt.Errorf("get blueprint %s: %w", id, err)
	}
	return *out.Blueprint, nil
}

// SearchEntities returns every entity of blueprint that matches q, following
// the pages of the answer. It returns all of them or an error, never part of
// them.
//
// Glint API: POST /v1/blueprints/{blueprint}/entities/search
func (c *Client) SearchEntities(ctx context.Context, blueprint string, q Query) ([]Entity, error) {
	path := "/v1/blueprints/" + url.PathEscape(blueprint) + "/entities/search"
	var (
		all  []Entity
		from string
		seen = map[string]bool{}
	)
	for page := 1; ; page++ {
		body, err := encodeJSON(struct {
			Query Query  `json:"query"`
			Limit int    `json:"limit"`
			From  string `json:"from,omitempty"`
		}{q, searchPageSize, from})
		if err != nil {
			return nil, fmt.Errorf("search entities of %s: encode query: %w", blueprint, err)
		}
		var out struct {
			Entities []Entity `json:"entities"`
			Next     string   `json:"next"`
		}
		r := request{method: http.MethodPost, path: path, body: body, idempotent: true}
		res, err := c.do(ctx, r, &out)
		if err == nil && out.Entities == nil {
			// An answer without the list is not an empty page.
			err = c.apiError(r, res, codeInvalidResponse, fmt.Sprintf("page %d has no entities list", page))
		}
		if err == nil && seen[out.Next] {
			err = c.apiError(r, res, codeInvalidResponse, fmt.Sprintf("page %d repeats cursor %q", page, out.Next))
		}
		if err != nil {
			return nil, fmt.Errorf("search entities of %s (page %d): %w", blueprint, page, err)
		}
		all = append(all, out.Entities...)
		if out.Next == "" {
			if all == nil {
				all = []Entity{}
			}
			return all, nil
		}
		seen[out.Next] = true
		from = out.Next
	}
}

// SearchAll returns the entities of every blueprint that match q. Glint
// does not page this search.
//
// Glint API: POST /v1/entities/search
func (c *Client) SearchAll(ctx context.Context, q Query) ([]Entity, error) {
	body, err := encodeJSON(q)
	if err != nil {
		return nil, fmt.Errorf("search entities: encode query: %w", err)
	}
	var out struct {
		Entities []Entity `json:"entities"`
	}
	r := request{method: http.MethodPost, path: "/v1/entities/search", body: body, idempotent: true}
	res, err := c.do(ctx, r, &out)
	if err == nil && out.Entities == nil {
		err = c.apiError(r, res, codeInvalidResponse, "answer has no entities list")
	}
	if err != nil {
		return nil, fmt.Errorf("search entities: %w", err)
	}
	return out.Entities, nil
}
