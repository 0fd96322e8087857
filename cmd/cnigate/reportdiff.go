package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cnigate/cnigate/report"
	"github.com/cnigate/cnigate/results"
)

// writeDiffFiles writes the diff as NAME.md and NAME.html in dir.
func writeDiffFiles(dir, name string, d *report.Diff) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for ext, write := range map[string]func(io.Writer, *report.Diff) error{".md": report.WriteDiffMarkdown, ".html": report.WriteDiffHTML} {
		f, err := os.Create(filepath.Join(dir, name+ext))
		if err != nil {
			return err
		}
		err = write(f, d)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// diffRuns reads two runs of one kind: e2e matrices or bench runs.
func diffRuns(a, b string, tolerance float64) (*report.Diff, error) {
	var ma, mb results.Matrix
	errA := results.ReadFile(a, &ma)
	if errA == nil {
		if err := results.ReadFile(b, &mb); err != nil {
			return nil, fmt.Errorf("%s is an e2e matrix, so %s must be one: %w", a, b, err)
		}
		return report.DiffMatrix(a, &ma, b, &mb, tolerance), nil
	}
	var ba, bb results.Bench
	errB := results.ReadFile(a, &ba)
	if errB != nil {
		return nil, fmt.Errorf("%s: neither an e2e matrix nor a bench run: %w", a, errors.Join(errA, errB))
	}
	if err := results.ReadFile(b, &bb); err != nil {
		return nil, fmt.Errorf("%s is a bench run, so %s must be one: %w", a, b, err)
	}
	return report.DiffBench(a, &ba, b, &bb, tolerance), nil
}
