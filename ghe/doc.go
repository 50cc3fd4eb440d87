// Package ghe reads GitHub Enterprise as a GitHub App: it lists the app's
// installations and the repositories each can see over REST (the only part
// GraphQL cannot do), then reads every repository's metadata and spec files
// (glint.yml) over GraphQL, up to 100 repositories a request.
//
// Every repository's outcome is explicit: read (with or without spec files)
// or failed. A caller can never mistake a failed read for a missing file.
package ghe
