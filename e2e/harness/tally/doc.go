// Package tally keeps the e2e matrix's running record while its cells run
// concurrently: Matrix collects the cells (results.Cell) and renders the human
// table, Phases times the setup steps. What it collects becomes a
// results.Matrix (matrix.json), which e2e/matrix writes.
package tally
