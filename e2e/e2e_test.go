package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"

	"github.com/cnigate/cnigate/e2e/matrix"
)

var (
	flagRun = flag.Bool("e2e.run", false, "run the e2e suite (ci/e2e.sh sets it); without it the package does nothing")
	options matrix.Options
	suite   func(t *testing.T)
)

func init() { options.Register(flag.CommandLine, "e2e.") }

func TestMain(m *testing.M) {
	flag.Parse()
	if err := matrix.FlagsFromEnv(flag.CommandLine, "e2e."); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(2)
	}
	if !*flagRun {
		fmt.Println("e2e: skipped (needs a cluster; run it with `make e2e`, which passes -e2e.run)")
		os.Exit(0)
	}
	// Cells run -test.parallel at a time; unless given, the suite's default
	// for the number of workers (cnigate e2e sets the same).
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		if err := flag.Set("test.parallel", strconv.Itoa(matrix.DefaultParallel(options.Workers))); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			os.Exit(2)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	if suite, err = matrix.Suite(ctx, options); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(2)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

// TestE2E is the whole suite (matrix.Suite): setup, the matrix table, finish.
func TestE2E(t *testing.T) { suite(t) }
