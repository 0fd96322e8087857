package main

import (
	"encoding/json"
	"flag"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// The --output formats.
const (
	outputText = "text"
	outputJSON = "json"
)

// output is a verb's --output flag.
type output struct{ v *string }

func outputFlag(fs *flag.FlagSet) output {
	return output{fs.String("output", outputText, "text, or json: the run's results document on stdout (the model the report files use), messages on stderr")}
}

func (o output) format() (string, error) {
	switch *o.v {
	case outputText, outputJSON:
		return *o.v, nil
	}
	return "", usagef("--output %q: want text or json", *o.v)
}

// writeJSON is --output json: one indented document.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// quietStdout sends what the process writes to file descriptor 1 (Ginkgo's
// and testing's progress, which write to the os.Stdout they found at start)
// to standard error until restore, so that stdout carries the document
// alone (--output json, --list). It returns the writer for the document:
// the real standard output when stdout is os.Stdout, else stdout itself
// (a test's buffer), untouched.
func quietStdout(stdout io.Writer) (doc io.Writer, restore func(), err error) {
	if stdout != io.Writer(os.Stdout) {
		return stdout, func() {}, nil
	}
	saved, err := unix.Dup(1)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.Dup3(2, 1, 0); err != nil {
		_ = unix.Close(saved)
		return nil, nil, err
	}
	f := os.NewFile(uintptr(saved), "stdout")
	return f, func() {
		_ = unix.Dup3(saved, 1, 0)
		_ = f.Close()
	}, nil
}
