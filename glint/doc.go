// Package glint is a client of Glint's REST API (v1): access tokens, blueprints,
// entity search, bulk upserts and deletes, and teams. Every write carries a
// User-Agent, which Glint records as the entity's datasource: that is how the
// app knows which entities are its own.
package glint
