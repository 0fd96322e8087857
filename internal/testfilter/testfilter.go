// Package testfilter is the --test selection of cnigate's verbs, with
// cilium-cli's semantics: a list of regular expressions (repeat the flag or
// separate them by commas); a name runs when it matches at least one plain
// expression (or there is none) and no expression prefixed by '!'.
package testfilter

import (
	"fmt"
	"regexp"
	"strings"
)

// Filter is a parsed --test list; the zero Filter selects everything. It is
// a flag.Value (and a pflag.Value): each Set adds its comma-separated
// expressions.
type Filter struct {
	raw              []string
	include, exclude []*regexp.Regexp
}

// Parse builds a Filter from expressions, each possibly comma-separated.
func Parse(exprs ...string) (Filter, error) {
	var f Filter
	for _, e := range exprs {
		if err := f.Set(e); err != nil {
			return Filter{}, err
		}
	}
	return f, nil
}

// Set adds the comma-separated expressions of v; an empty one, or a bad
// regular expression, is an error naming it. A comma followed by a space
// does not separate: the matrix's names hold ", " ("pod -> pod, same
// node"); write any other comma in an expression as \x2c.
func (f *Filter) Set(v string) error {
	for _, e := range split(v) {
		re, neg := strings.CutPrefix(e, "!")
		if re == "" {
			return fmt.Errorf("empty expression in %q (want REGEX or !REGEX, comma-separated)", v)
		}
		r, err := regexp.Compile(re)
		if err != nil {
			return fmt.Errorf("%q: %w", e, err)
		}
		if neg {
			f.exclude = append(f.exclude, r)
		} else {
			f.include = append(f.include, r)
		}
		f.raw = append(f.raw, e)
	}
	return nil
}

// split cuts v at each comma not followed by a space.
func split(v string) []string {
	var out []string
	start := 0
	for i := 0; i < len(v); i++ {
		if v[i] == ',' && (i+1 == len(v) || v[i+1] != ' ') {
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// String is the expressions as given, comma-separated.
func (f *Filter) String() string { return strings.Join(f.raw, ",") }

// Type names the flag's value in pflag's help.
func (f *Filter) Type() string { return "regex[,regex]" }

// Empty reports whether the filter selects everything.
func (f *Filter) Empty() bool { return len(f.raw) == 0 }

// Includes is the plain expressions' sources
// (Ginkgo's focus strings).
func (f *Filter) Includes() []string { return sources(f.include) }

// Excludes is the '!' expressions' sources, without the '!' (Ginkgo's skip strings).
func (f *Filter) Excludes() []string { return sources(f.exclude) }

func sources(rs []*regexp.Regexp) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.String())
	}
	return out
}

// Match reports whether name is selected.
func (f *Filter) Match(name string) bool {
	return !f.Excluded(name) && f.Included(name)
}

// Excluded reports whether a '!' expression matches name.
func (f *Filter) Excluded(name string) bool {
	for _, r := range f.exclude {
		if r.MatchString(name) {
			return true
		}
	}
	return false
}

// Included reports whether name matches a plain expression, or there is none.
func (f *Filter) Included(name string) bool {
	if len(f.include) == 0 {
		return true
	}
	for _, r := range f.include {
		if r.MatchString(name) {
			return true
		}
	}
	return false
}

// MatchAny reports whether one of names (say a row and its cell) is
// included and none excluded: an expression may name the group, the row
// or the cell.
func (f *Filter) MatchAny(names ...string) bool {
	included := len(f.include) == 0
	for _, n := range names {
		if f.Excluded(n) {
			return false
		}
		included = included || f.Included(n)
	}
	return included
}

// Partition splits the plain expressions into those that match at least
// one of names (coarse: they name, say, rows) and the others (fine: they
// can only name something below, say cells); both keep every exclusion.
func (f *Filter) Partition(names []string) (coarse, fine Filter) {
	for i, r := range f.include {
		dst := &fine
		for _, n := range names {
			if r.MatchString(n) {
				dst = &coarse
				break
			}
		}
		dst.include = append(dst.include, f.include[i])
		dst.raw = append(dst.raw, r.String())
	}
	for _, r := range f.exclude {
		for _, dst := range []*Filter{&coarse, &fine} {
			dst.exclude = append(dst.exclude, r)
			dst.raw = append(dst.raw, "!"+r.String())
		}
	}
	return coarse, fine
}

// HasIncludes reports whether there is a plain expression.
func (f *Filter) HasIncludes() bool { return len(f.include) > 0 }
