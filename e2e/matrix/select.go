package matrix

import (
	"context"

	"github.com/cnigate/cnigate/internal/testfilter"
)

// --test: which rows and cells run. A row is named "Group/behaviour", a
// cell "Group/behaviour/cell" (its name in matrix.json). An expression that
// matches a row's name selects rows (the whole row); one that matches no
// row's name selects cells, in every row; '!' expressions exclude rows or
// cells. A cell not selected is listed as skipped, saying so, like a cell
// whose row cannot run; a row that changes the cluster by itself (churn)
// runs only when selected as a row.

// selection is the suite's --test, split once against the table's rows.
type selection struct {
	all, rows, cells testfilter.Filter
}

func newSelection(f testfilter.Filter) selection {
	var names []string
	for _, r := range rows() {
		names = append(names, r.names()...)
	}
	s := selection{all: f}
	s.rows, s.cells = f.Partition(names)
	return s
}

// names are the row's names: by its behaviour, and without podnet.
func (r row) names() []string {
	n := []string{r.group + "/" + r.name}
	if r.withoutPodnet != "" {
		n = append(n, r.group+"/"+r.withoutPodnet)
	}
	return n
}

func (sel selection) excluded(names ...string) bool {
	for _, n := range names {
		if sel.all.Excluded(n) {
			return true
		}
	}
	return false
}

// whole: every cell of the row may run (each still subject to exclusions);
// partial: only its cells a cell expression selects.
func (sel selection) row(r row) (whole, partial bool) {
	names := r.names()
	switch {
	case sel.excluded(names...):
		return false, false
	case !sel.all.HasIncludes():
		return true, false
	}
	for _, n := range names {
		if sel.rows.Included(n) && sel.rows.HasIncludes() {
			return true, false
		}
	}
	return false, sel.cells.HasIncludes()
}

// cell reports whether the cell named name, of behaviour, in row r, runs.
func (sel selection) cell(r rowName, behaviour, name string) bool {
	if sel.all.Empty() {
		return true
	}
	rowNames := []string{r.group + "/" + r.name, r.group + "/" + behaviour}
	key := r.group + "/" + behaviour + "/" + name
	if sel.excluded(append(rowNames, key)...) {
		return false
	}
	if r.whole {
		return true
	}
	return sel.cells.HasIncludes() && sel.cells.Included(key)
}

type rowKey struct{}

// rowName is the row whose cells run under a context.
type rowName struct {
	group, name string
	whole       bool
}

func withRow(ctx context.Context, r rowName) context.Context {
	return context.WithValue(ctx, rowKey{}, r)
}

func rowFrom(ctx context.Context) rowName {
	r, _ := ctx.Value(rowKey{}).(rowName)
	return r
}

// Listed is a row of the matrix as `cnigate e2e --list` prints it.
type Listed struct {
	Group     string `json:"group"`
	Behaviour string `json:"behaviour"`
	// WithoutPodnet is the row's name when the nodes do not run podnet.
	WithoutPodnet string `json:"without_podnet,omitempty"`
	What          string `json:"what"`
	// Cells: "all", or "matching" when only the cells whose names match
	// --test run (the cells are named after the cluster's nodes, known at
	// run time).
	Cells string `json:"cells"`
}

// List is the rows f selects, in table order.
func List(f testfilter.Filter) []Listed {
	sel := newSelection(f)
	var out []Listed
	for _, r := range rows() {
		whole, partial := sel.row(r)
		if !whole && (!partial || r.run != nil) { // churn runs only when selected as a row
			continue
		}
		l := Listed{Group: r.group, Behaviour: r.name, WithoutPodnet: r.withoutPodnet, What: r.what, Cells: "all"}
		if !whole {
			l.Cells = "matching"
		}
		out = append(out, l)
	}
	return out
}
