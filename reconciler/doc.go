// Package reconciler makes Glint's catalog match the glint.yml files in GitHub
// Enterprise: it reads both sides in full, plans the difference with the pure
// function Plan, and applies it with guards (ownership, deletion proofs, a
// deletion threshold, bounded concurrency).
//
// An entity belongs to this app when its Glint datasource (the User-Agent of
// its last write) names the same GitHub App id and GHE host and the gitops
// feature; see FormatDatasource and ParseDatasource. Only such entities are
// ever updated or deleted.
package reconciler
