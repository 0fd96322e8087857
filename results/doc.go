// Package results holds the result types of cnigate's runs: what the
// producers (e2e/matrix, bench, e2e/clusterbench, the rollout gate) fill,
// what package report renders in the same process, and what
// `cnigate report` decodes from disk. One Go type per file cnigate writes,
// so the writer and the readers cannot drift apart.
//
// # Conventions of a kind of file
//
// Each kind of JSON file is one type of this package that implements File:
//
//   - its first field is Schema (JSON "schema"): "<kind>/v<N>", e.g.
//     "e2e-matrix/v1". Encode and WriteFile set it; a producer never writes
//     it by hand;
//   - Spec() names the kind (a Kind constant in kinds.go), the version this
//     code writes and the oldest it still reads;
//   - upgrade(from) brings a value decoded from an older version up to the
//     current one (from 0: a file written before schema versions, with no
//     "schema" field), or says why that version cannot be read;
//   - Check() refuses a value that is no run of its kind (a matrix without
//     cells, a bench without contenders): a file of the wrong kind or an
//     empty `{}` must never render as a passed run;
//   - result values are the Result constants (pass, fail, skip), spelled once.
//
// Decode (and ReadFile) read any kind: they refuse unknown fields
// (json.Decoder.DisallowUnknownFields), a file of another kind, a version
// outside [oldest, current] (the message names the versions it reads), and
// whatever Check refuses.
//
// To add a kind (e.g. the rollout gate's, in rollout.go): declare its Kind
// constant beside the type (kinds.go lists the first ones), give the type
// its Schema field, Spec, upgrade and Check (a kind born with a schema field
// has Oldest = Version = 1 and an upgrade that is never called), use Result
// for its verdicts, add a v0 marker in kinds.go only if files without a
// schema field exist, and let its producer's test check what it writes with
// resultstest.CheckProduced. Bump a kind's version when a field changes
// meaning or goes away (adding an optional field does not need it), and
// teach upgrade the old one.
//
// The conformance suite's result is Ginkgo's own JSON report, written by
// Ginkgo: Conformance wraps it without a schema field of its own.
//
// docs/results.md describes the kinds, their versions and the golden files.
package results
