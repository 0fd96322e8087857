package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cnigate/cnigate/e2e/harness/cni"
)

// cnisVerb prints the e2e's CNI table (e2e/cni.CNIs) for people and for
// the scripts that follow it: ci/e2e.sh (--install), .ci/run (--ci local) and
// the GitHub workflow (--ci github).
func cnisVerb() verb {
	return verb{name: "cnis", short: "the CNIs the e2e can install (the table ci/e2e.sh, .ci/run and the GitHub workflow follow)",
		example: "  cnigate cnis\n  cnigate cnis --install bridge\n  cnigate cnis --ci github",
		define: func(fs *flag.FlagSet) runFunc {
			install := fs.String("install", "", "print how the e2e installs this CNI: manifest (its image and manifest) or conflist (by hand)")
			ci := fs.String("ci", "", "print the CI's e2e runs: local (.ci/run: make variables, one run a line) or github (the workflow's matrix, JSON)")
			return func(_ context.Context, c *call) error {
				if err := noArgs(c); err != nil {
					return err
				}
				return printCNIs(c.stdout, *install, *ci)
			}
		}}
}

func printCNIs(stdout io.Writer, install, ci string) error {
	switch {
	case install != "":
		c, err := cni.Lookup(install)
		if err != nil {
			return usagef("--install: %v", err)
		}
		_, err = fmt.Fprintln(stdout, c.Install)
		return err
	case ci == "local":
		_, err := fmt.Fprintln(stdout, strings.Join(cni.CILocalRuns(), "\n"))
		return err
	case ci == "github":
		raw, err := cni.CIGitHubMatrix()
		if err == nil {
			_, err = fmt.Fprintf(stdout, "%s\n", raw)
		}
		return err
	case ci != "":
		return usagef("--ci %q: want local or github", ci)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CNI\tINSTALL\tPLUGINS\tSTORE\tAGENT\tPODNET CELLS\tCI FAMILIES\tWHAT")
	for _, c := range cni.CNIs {
		var fams []string
		for _, r := range c.CI {
			f := r.Family
			if !r.Local {
				f += "(github)"
			}
			fams = append(fams, f)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%v\t%s\t%s\n", c.Name, c.Install, strings.Join(c.Plugins, ","), c.StoreDir, c.Agent, c.PodnetCells, strings.Join(fams, ","), c.Summary)
	}
	return tw.Flush()
}
