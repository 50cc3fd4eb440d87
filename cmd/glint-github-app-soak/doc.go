// Command glint-github-app-soak runs the real GHE client, Glint client and
// reconciler against the fake GHE (ghetest) and the fake Glint (glinttest)
// for many passes, with random faults on every kind of request and random
// changes to the repositories between passes. After every pass it checks
// the app's safety promises against an oracle computed from the model of
// the fake GHE, never from the reconciler's code:
//
//   - no protected entity is deleted: an entity that existed before a pass
//     and is still declared by a readable spec file of a visible
//     repository, or is owned by a repository whose spec file is broken,
//     exists after it;
//   - no entity the app does not own changes, byte for byte;
//   - a pass that reports success leaves Glint exactly as desired;
//   - after the faults stop, one clean pass converges exactly and a
//     further pass writes nothing.
//
// It prints the passes, the faults injected by kind and the violations,
// and exits 1 when there is a violation.
//
// Usage:
//
//	glint-github-app-soak [-passes 300] [-seed 1] [-fault-rate 0.15] [-v]
package main
