// Package ghetest is a fake GitHub Enterprise Server on loopback, for tests,
// the demo and benchmarks.
//
// It follows GitHub's real protocols, and where GitHub's behaviour is in
// doubt it is stricter than GitHub, so that a client that works against it
// does not rely on leniency:
//
//   - REST under URL()+"/api/v3": GET /app/installations and
//     /app/installations/{id} and POST /app/installations/{id}/access_tokens
//     with an App JWT (RS256, iss the App id, at most 10 minutes long);
//     GET /installation/repositories with an installation token ("token X"
//     or "Bearer X"). Paging with per_page (default 30, at most 100), page
//     and Link headers; GitHub's JSON error bodies, X-GitHub-Request-Id and
//     X-RateLimit-* headers; 403 without a User-Agent.
//   - GraphQL at URL()+"/api/graphql": every query is parsed and validated
//     against GitHub's published schema (LoadSchema, FindSchema), then run
//     by a small executor over the in-memory model. Connection bounds,
//     the 100 node ids limit, rateLimit cost and an hourly point budget per
//     installation are enforced; what an installation cannot see answers
//     null with a NOT_FOUND error, as on GitHub. A field the executor does
//     not implement is an error, never a silent null.
//
// The model (AddInstallation, AddRepo, SetFile, RemoveRepo, DeselectRepo,
// Uninstall, ...) computes git object ids as git does, so blob, tree and
// commit oids change exactly when content does.
//
// Faults (InjectFault, SetRandomFaults, SetMaxBatch, SetLatency) exercise a
// client's error handling: 5xx and HTML error pages, hangs, connection
// resets, secondary and primary rate limits, truncated or empty bodies,
// partial GraphQL data and RESOURCE_LIMITS_EXCEEDED.
//
// Tests in other packages use NewForTest, which loads the schema, makes an
// App key (GeneratedKey) and fails the test when a query was invalid.
// Package ghetest does not import package testing.
package ghetest
