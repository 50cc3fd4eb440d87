package glint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

const (
	// maxBulkUpsert is Glint's limit on entities in one bulk upsert.
	maxBulkUpsert = 20
	// maxBulkDelete is Glint's limit on identifiers in one bulk delete.
	maxBulkDelete = 100
)

// WriteOptions are the options of an entity write.
type WriteOptions struct {
	// UserAgent is the User-Agent of the write, which Glint records as each
	// written entity's datasource. Required.
	UserAgent string
	// Merge keeps the properties an entity does not send (merge=true);
	// otherwise the entity is replaced whole.
	Merge bool
	// CreateMissingRelatedEntities creates empty targets for relations to
	// identifiers that do not exist, instead of failing with 404.
	CreateMissingRelatedEntities bool
}

// BulkResult is the outcome of one entity of UpsertEntities.
type BulkResult struct {
	Identifier string
	Index      int  // index in the input slice
	Created    bool // the entity did not exist before
	Err        error
}

// DeleteOptions are the options of an entity delete.
type DeleteOptions struct {
	// UserAgent is the User-Agent of the request; the client's when empty.
	UserAgent string
	// DeleteDependents also deletes entities whose required relations point
	// at a deleted entity; without it such a delete fails with 422.
	DeleteDependents bool
}

// DeleteResult is the outcome of one identifier of DeleteEntities.
type DeleteResult struct {
	Identifier string
	Err        error
}

// writeEntity is the body of an entity write: an Entity without the
// read-only fields and the blueprint.
type writeEntity struct {
	Identifier string         `json:"identifier"`
	Title      *string        `json:"title,omitempty"`
	Icon       *string        `json:"icon,omitempty"`
	Team       any            `json:"team,omitempty"`
	Properties map[string]any `json:"properties,omitempty"`
	Relations  map[string]any `json:"relations,omitempty"`
}

func encodeEntity(e Entity) ([]byte, error) {
	return encodeJSON(writeEntity{
		Identifier: e.Identifier,
		Title:      e.Title,
		Icon:       e.Icon,
		Team:       e.Team,
		Properties: e.Properties,
		Relations:  e.Relations,
	})
}

func entitiesPath(blueprint string) string {
	return "/v1/blueprints/" + url.PathEscape(blueprint) + "/entities"
}

func (o WriteOptions) query() url.Values {
	return url.Values{
		"upsert":                          {"true"},
		"merge":                           {strconv.FormatBool(o.Merge)},
		"create_missing_related_entities": {strconv.FormatBool(o.CreateMissingRelatedEntities)},
	}
}

// UpsertEntities creates or updates entities of blueprint in bulk calls of
// at most 20 entities and less than 1 MiB each. It returns one BulkResult
// per entity, in input order; an entity Glint refused has an *APIError as
// its Err. A bulk call refused as too large is split, down to single
// upserts; a bulk call refused as a whole for another client reason (except
// 401, 404 and 429) is sent again entity by entity, so that each gets its
// own outcome.
//
// The error is for failures that are not one entity's: no token, network,
// 5xx or 429 after retries, an unknown blueprint. Entities not written then
// carry that error as their Err.
//
// Glint API: POST /v1/blueprints/{blueprint}/entities/bulk
func (c *Client) UpsertEntities(ctx context.Context, blueprint string, entities []Entity, opts WriteOptions) ([]BulkResult, error) {
	u := &upsert{
		c:         c,
		blueprint: blueprint,
		opts:      opts,
		results:   make([]BulkResult, len(entities)),
		bodies:    make([][]byte, len(entities)),
		done:      make([]bool, len(entities)),
	}
	var todo []int
	for i, e := range entities {
		u.results[i] = BulkResult{Identifier: e.Identifier, Index: i}
		b, err := encodeEntity(e)
		if err != nil {
			u.finish(i, fmt.Errorf("encode entity %s: %w", e.Identifier, err))
			continue
		}
		u.bodies[i] = b
		todo = append(todo, i)
	}
	err := func() error {
		if opts.UserAgent == "" {
			return errors.New("no user agent in write options")
		}
		for _, chunk := range chunkBySize(todo, func(i int) int { return len(u.bodies[i]) }, maxBulkUpsert, len(`{"entities":[]}`)) {
			if err := u.bulk(ctx, chunk); err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		err = fmt.Errorf("upsert entities of %s: %w", blueprint, err)
		for i := range u.results {
			if !u.done[i] {
				u.results[i].Err = err
			}
		}
		return u.results, err
	}
	return u.results, nil
}

// upsert is the state of one UpsertEntities call.
type upsert struct {
	c         *Client
	blueprint string
	opts      WriteOptions
	results   []BulkResult
	bodies    [][]byte // encoded entities
	done      []bool   // results[i] is final
}

func (u *upsert) finish(i int, err error) {
	u.results[i].Err = err
	u.done[i] = true
}

// bulk upserts the entities at indices idx in one bulk call, or more when
// Glint refuses it. It returns only errors that are not one entity's.
func (u *upsert) bulk(ctx context.Context, idx []int) error {
	body := bulkBody(`{"entities":[`, idx, u.bodies, `]}`)
	if len(body) >= maxBodyBytes {
		if len(idx) == 1 {
			return u.single(ctx, idx[0])
		}
		return u.split(ctx, idx) // chunkBySize only does this for one entity
	}
	var out struct {
		Entities []struct {
			Identifier string `json:"identifier"`
			Index      int    `json:"index"`
			Created    bool   `json:"created"`
		} `json:"entities"`
		Errors []struct {
			Identifier string `json:"identifier"`
			Index      int    `json:"index"`
			StatusCode int    `json:"statusCode"`
			Error      string `json:"error"`
			Message    string `json:"message"`
		} `json:"errors"`
	}
	r := request{
		method:     http.MethodPost,
		path:       entitiesPath(u.blueprint) + "/bulk",
		query:      u.opts.query(),
		body:       body,
		userAgent:  u.opts.UserAgent,
		idempotent: true,
	}
	res, err := u.c.do(ctx, r, &out)
	switch s := statusOf(err); {
	case err == nil:
	case s == http.StatusRequestEntityTooLarge:
		if len(idx) == 1 {
			return u.single(ctx, idx[0])
		}
		return u.split(ctx, idx)
	case isFatal(err) || s == http.StatusNotFound:
		// A 404 for the whole call is the blueprint (a missing related
		// entity is one entity's error, in a 207).
		return err
	default:
		for _, i := range idx {
			if err := u.single(ctx, i); err != nil {
				return err
			}
		}
		return nil
	}

	// The answer's indices are positions in this call's list.
	seen := make([]bool, len(idx))
	claim := func(pos int, id string) (int, bool) {
		if pos < 0 || pos >= len(idx) || seen[pos] {
			return 0, false
		}
		i := idx[pos]
		if id != "" && id != u.results[i].Identifier {
			return 0, false
		}
		seen[pos] = true
		return i, true
	}
	for _, e := range out.Entities {
		if i, ok := claim(e.Index, e.Identifier); ok {
			u.results[i].Created = e.Created
			u.finish(i, nil)
		}
	}
	for _, e := range out.Errors {
		if i, ok := claim(e.Index, e.Identifier); ok {
			ae := u.c.apiError(r, res, e.Error, e.Message)
			if e.StatusCode != 0 {
				ae.StatusCode = e.StatusCode
			}
			u.finish(i, ae)
		}
	}
	for pos, i := range idx {
		if !seen[pos] {
			u.finish(i, u.c.apiError(r, res, codeInvalidResponse, fmt.Sprintf("entity %q (index %d) has no outcome in the bulk answer", u.results[i].Identifier, pos)))
		}
	}
	return nil
}

// split upserts the two halves of idx separately.
func (u *upsert) split(ctx context.Context, idx []int) error {
	h := len(idx) / 2
	if err := u.bulk(ctx, idx[:h]); err != nil {
		return err
	}
	return u.bulk(ctx, idx[h:])
}

// single upserts the entity at index i alone.
func (u *upsert) single(ctx context.Context, i int) error {
	if len(u.bodies[i]) >= maxBodyBytes {
		u.finish(i, fmt.Errorf("upsert entity %s: %d bytes encoded: %w", u.results[i].Identifier, len(u.bodies[i]), ErrTooLarge))
		return nil
	}
	created, err := u.c.upsertOne(ctx, u.blueprint, u.bodies[i], u.opts, false)
	if err != nil && isFatal(err) {
		return err
	}
	u.results[i].Created = created
	u.finish(i, err)
	return nil
}

// upsertOne sends one entity write and reports whether it created the
// entity. Glint answers 201 to every upsert, so an entity counts as created
// when the answer's createdAt equals its updatedAt.
func (c *Client) upsertOne(ctx context.Context, blueprint string, body []byte, opts WriteOptions, validateOnly bool) (bool, error) {
	q := opts.query()
	q.Set("validation_only", strconv.FormatBool(validateOnly))
	var out struct {
		Entity *Entity `json:"entity"`
	}
	r := request{
		method:     http.MethodPost,
		path:       entitiesPath(blueprint),
		query:      q,
		body:       body,
		userAgent:  opts.UserAgent,
		idempotent: true,
	}
	res, err := c.do(ctx, r, &out)
	if err != nil {
		return false, err
	}
	if out.Entity == nil {
		return false, c.apiError(r, res, codeInvalidResponse, "answer has no entity")
	}
	e := out.Entity
	return e.CreatedAt != nil && e.UpdatedAt != nil && e.CreatedAt.Equal(*e.UpdatedAt), nil
}

// ValidateEntity runs Glint's checks of an upsert of e into blueprint
// without writing anything (validation_only=true). A refused entity is an
// *APIError, such as 422 blueprint_schema_mismatch.
//
// Glint API: POST /v1/blueprints/{blueprint}/entities?validation_only=true
func (c *Client) ValidateEntity(ctx context.Context, blueprint string, e Entity, opts WriteOptions) error {
	if opts.UserAgent == "" {
		return fmt.Errorf("validate entity %s/%s: no user agent in write options", blueprint, e.Identifier)
	}
	body, err := encodeEntity(e)
	if err != nil {
		return fmt.Errorf("validate entity %s/%s: encode: %w", blueprint, e.Identifier, err)
	}
	if _, err := c.upsertOne(ctx, blueprint, body, opts, true); err != nil {
		return fmt.Errorf("validate entity %s/%s: %w", blueprint, e.Identifier, err)
	}
	return nil
}

// DeleteEntities deletes entities of blueprint in bulk calls of at most 100
// identifiers, each all or nothing. When Glint refuses a bulk call for a
// client reason (a 4xx other than 401 and 429), its identifiers are deleted
// one by one, so each gets its own outcome; an entity already gone counts
// as deleted. It returns one DeleteResult per identifier, in input order.
//
// The error is for failures that are not one entity's (no token, network,
// 5xx or 429 after retries); identifiers not deleted then carry it as
// their Err.
//
// Glint API: POST /v1/blueprints/{blueprint}/bulk/entities/delete
func (c *Client) DeleteEntities(ctx context.Context, blueprint string, ids []string, opts DeleteOptions) ([]DeleteResult, error) {
	results := make([]DeleteResult, len(ids))
	done := make([]bool, len(ids))
	encoded := make([][]byte, len(ids))
	todo := make([]int, len(ids))
	for i, id := range ids {
		results[i].Identifier = id
		encoded[i], _ = encodeJSON(id) // a string always encodes
		todo[i] = i
	}
	err := func() error {
		for _, chunk := range chunkBySize(todo, func(i int) int { return len(encoded[i]) }, maxBulkDelete, len(`{"entities":[]}`)) {
			err := c.bulkDelete(ctx, blueprint, bulkBody(`{"entities":[`, chunk, encoded, `]}`), opts)
			if err == nil {
				for _, i := range chunk {
					done[i] = true
				}
				continue
			}
			if isFatal(err) {
				return err
			}
			for _, i := range chunk {
				_, err := c.deleteOne(ctx, blueprint, ids[i], opts)
				if errors.Is(err, ErrNotFound) {
					err = nil // already gone
				}
				if err != nil && isFatal(err) {
					return err
				}
				results[i].Err = err
				done[i] = true
			}
		}
		return nil
	}()
	if err != nil {
		err = fmt.Errorf("delete entities of %s: %w", blueprint, err)
		for i := range results {
			if !done[i] {
				results[i].Err = err
			}
		}
		return results, err
	}
	return results, nil
}

func (c *Client) bulkDelete(ctx context.Context, blueprint string, body []byte, opts DeleteOptions) error {
	_, err := c.do(ctx, request{
		method:     http.MethodPost,
		path:       "/v1/blueprints/" + url.PathEscape(blueprint) + "/bulk/entities/delete",
		query:      url.Values{"delete_dependents": {strconv.FormatBool(opts.DeleteDependents)}},
		body:       body,
		userAgent:  opts.UserAgent,
		idempotent: true,
	}, nil)
	return err
}

// DeleteEntity deletes one entity. An entity that does not exist is an
// error matching ErrNotFound, unless an earlier attempt of this call may
// have deleted it.
//
// Glint API: DELETE /v1/blueprints/{blueprint}/entities/{identifier}
func (c *Client) DeleteEntity(ctx context.Context, blueprint, id string, opts DeleteOptions) error {
	res, err := c.deleteOne(ctx, blueprint, id, opts)
	if err != nil {
		if errors.Is(err, ErrNotFound) && res != nil && res.uncertain {
			return nil
		}
		return fmt.Errorf("delete entity %s/%s: %w", blueprint, id, err)
	}
	return nil
}

func (c *Client) deleteOne(ctx context.Context, blueprint, id string, opts DeleteOptions) (*response, error) {
	return c.do(ctx, request{
		method:     http.MethodDelete,
		path:       entitiesPath(blueprint) + "/" + url.PathEscape(id),
		query:      url.Values{"delete_dependents": {strconv.FormatBool(opts.DeleteDependents)}},
		userAgent:  opts.UserAgent,
		idempotent: true,
	}, nil)
}

// chunkBySize splits idx into consecutive runs of at most maxItems whose
// bulk body (overhead, the items, and a comma between two) stays below
// maxBodyBytes. An item too large to share a body gets a run of its own.
func chunkBySize(idx []int, size func(int) int, maxItems, overhead int) [][]int {
	var (
		chunks [][]int
		cur    []int
		n      int
	)
	for _, i := range idx {
		s := size(i)
		if len(cur) > 0 && (len(cur) == maxItems || n+1+s >= maxBodyBytes) {
			chunks = append(chunks, cur)
			cur = nil
		}
		if len(cur) == 0 {
			n = overhead + s
		} else {
			n += 1 + s
		}
		cur = append(cur, i)
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}

// bulkBody joins the items at idx with commas between prefix and suffix.
func bulkBody(prefix string, idx []int, items [][]byte, suffix string) []byte {
	var b bytes.Buffer
	b.WriteString(prefix)
	for k, i := range idx {
		if k > 0 {
			b.WriteByte(',')
		}
		b.Write(items[i])
	}
	b.WriteString(suffix)
	return b.Bytes()
}
