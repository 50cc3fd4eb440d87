// Package glint is a client of Glint's REST API (v1): access tokens, blueprints,
// entity search, bulk upserts and deletes, and teams. Every write carries a
// User-Agent, which Glint records as the entity's datasource: that is how the
// app knows which entities are its own.
//
// The client fetches access tokens with the client ID and secret and reuses
// them until shortly before they expire; a 401 fetches a new one and retries
// the call once. 429s, 5xx answers and network failures are retried with
// exponential backoff where that is safe (reads, upserts, deletes). Failures
// are *APIError values carrying Glint's x-trace-id; a 404 matches
// ErrNotFound. Neither errors nor logs ever hold the secret or a token.
package glint
