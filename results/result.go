package results

import "fmt"

// Result is the outcome of one check (a matrix cell, a report case).
type Result string

// The results, in every file and report: one spelling.
const (
	Pass Result = "pass"
	Fail Result = "fail"
	Skip Result = "skip"
)

// Valid is true for Pass, Fail and Skip.
func (r Result) Valid() bool { return r == Pass || r == Fail || r == Skip }

func (r Result) check(what string) error {
	if !r.Valid() {
		return fmt.Errorf("%s: result %q is not one of %s, %s, %s", what, r, Pass, Fail, Skip)
	}
	return nil
}
