// Package app wires glint-github-app: the GitHub Enterprise client, the
// Glint client and the reconciler, with the transport, timeouts, user agent,
// request metrics and reconciler options the program runs with.
//
// cmd/glint-github-app builds its configuration (flags, environment) and
// calls Wire; cmd/glint-github-app-bench calls the same Wire, so that the
// bench measures exactly what the binary runs.
package app
