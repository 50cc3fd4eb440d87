// Package glinttest is a fake Glint server on loopback for tests, the demo
// and benchmarks.
//
// It follows the Glint contract (shared/glint-api.md) to the status code:
// access tokens (one live token per credential pair), blueprints, entity
// upserts (single and bulk, merge and replace), deletes (single and bulk, with
// dependents), paged searches with rules, and teams. Every write records the
// request's User-Agent as the entity's datasource. Where the contract is
// silent the fake does what Port's v1 API does, and where in doubt it is
// stricter than the real service: unknown body fields, unknown query
// parameters and malformed values are refused, so client bugs surface here
// rather than in production.
//
// Tests can seed state (AddBlueprint, PutEntity, PutTeam), inspect it
// (Entity, Entities, Teams, Stats) and inject faults (InjectFault,
// ExpireTokens).
package glinttest
