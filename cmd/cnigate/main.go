package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// errFailed is a run that worked but found failures: exit status 1, already reported.
var errFailed = errors.New("failed")

// exitStatus is every verb's help footer: the codes run returns.
const exitStatus = `Exit status: 0 everything it ran passed; 1 something failed (or an error);
2 a usage error; 3 the host cannot run what was asked (conformance).`

// call is one verb's invocation, once cobra has parsed its flags.
type call struct {
	args           []string
	stdout, stderr io.Writer
	// changed reports whether the flag name was given on the command line.
	changed func(name string) bool
}

// runFunc runs a verb; it reads the flag values its verb's define bound.
type runFunc func(ctx context.Context, c *call) error

// verb is one subcommand. define registers its flags on a stdlib FlagSet
// (the package option structs' Register methods take one) and returns the
// run function reading them: cobra parses the FlagSet through pflag
// (AddGoFlagSet), so a flag a package adds appears in the verb with no
// change here.
type verb struct {
	name, args, short, long, example string
	define                           func(fs *flag.FlagSet) runFunc
	// rawArgs: the verb parses its own arguments (report KIND ...).
	rawArgs bool
	// sub: subcommands (report's kinds).
	sub []verb
}

func verbs() []verb {
	return []verb{
		versionVerb(),
		reportVerb(),
		conformanceVerb(),
		publishVerb(),
		e2eVerb(),
		benchVerb(),
		hermeticCleanVerb(),
		rolloutVerb(),
		manifestVerb(),
		cnisVerb(),
		clusterBenchVerb(),
	}
}

// binaryName is how the user called cnigate: "kubectl cnigate" when it is
// installed as kubectl-cnigate (a kubectl plugin).
func binaryName(argv0 string) string {
	base := filepath.Base(argv0)
	if strings.HasPrefix(base, "kubectl-") {
		return "kubectl " + strings.ReplaceAll(strings.TrimPrefix(base, "kubectl-"), "_", "-")
	}
	return "cnigate"
}

// newRoot builds the command tree writing to stdout and stderr; each verb's
// run, once it returns, is in *ran (for the error's prefix).
func newRoot(name string, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "cnigate",
		Short: "the podnet CNI plugin's harness: conformance, e2e matrix, rollout gate, bench, reports",
		Long: `cnigate tests CNI plugins: the netns conformance suite against a plugin binary, the kind
e2e matrix (or a gate run against your cluster), a DaemonSet rollout gate under live traffic,
benchmarks, and the reports (JUnit XML, JSON, Markdown, HTML) of each.
Installed as kubectl-cnigate it is the kubectl plugin "kubectl cnigate".

` + exitStatus,
		Example: `  cnigate version
  cnigate conformance --plugin /opt/cni/bin/ptp --netconf builtin:ptp.json --profile builtin:ptp
  cnigate e2e --kubeconfig staging.yaml --test '!Healing' --list
  cnigate completion bash > /etc/bash_completion.d/cnigate`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("name a command")
			}
			return usagef("unknown command %q", args[0])
		},
	}
	if name != "cnigate" {
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: name}
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	for _, v := range verbs() {
		root.AddCommand(v.command(stdout, stderr))
	}
	if name != "cnigate" { // the examples as the user types them: kubectl cnigate ...
		var rename func(c *cobra.Command)
		rename = func(c *cobra.Command) {
			c.Example = strings.ReplaceAll(c.Example, "  cnigate ", "  "+name+" ")
			for _, s := range c.Commands() {
				rename(s)
			}
		}
		rename(root)
	}
	return root
}

// command is the verb as a cobra command.
func (v verb) command(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:     strings.TrimSpace(v.name + " " + v.args),
		Short:   v.short,
		Long:    strings.TrimSpace(v.short+".\n\n"+v.long) + "\n\n" + exitStatus,
		Example: v.example,
		Args:    cobra.ArbitraryArgs, // each verb names its own unexpected argument
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	if v.rawArgs {
		cmd.DisableFlagParsing = true
	}
	var run runFunc
	if v.define != nil {
		fs := flag.NewFlagSet(v.name, flag.ContinueOnError)
		run = v.define(fs)
		cmd.Flags().AddGoFlagSet(fs)
		if cmd.Flags().Lookup("output") != nil {
			_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{outputText, outputJSON}, cobra.ShellCompDirectiveNoFileComp))
		}
	}
	if run != nil {
		cmd.RunE = func(cmd *cobra.Command, args []string) error {
			if v.rawArgs && helpAsked(args) {
				return cmd.Help()
			}
			return run(cmd.Context(), &call{args: args, stdout: stdout, stderr: stderr, changed: cmd.Flags().Changed})
		}
	}
	for _, s := range v.sub {
		cmd.AddCommand(s.command(stdout, stderr))
	}
	return cmd
}

func helpAsked(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			return true
		}
		if a == "--" {
			break
		}
	}
	return false
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(binaryName(os.Args[0]), stdout, stderr)
	// `bench --cluster FLAGS` has always been cluster-bench.
	if len(args) > 1 && args[0] == "bench" && (args[1] == "--cluster" || args[1] == "-cluster") {
		args = append([]string{"cluster-bench"}, args[2:]...)
	}
	root.SetArgs(longFlags(root, args))
	cmd, err := root.ExecuteContextC(ctx)
	path := cmd.CommandPath()
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp), errors.Is(err, pflag.ErrHelp):
		return 0
	case errors.As(err, &ue), strings.HasPrefix(err.Error(), "unknown command "), strings.HasPrefix(err.Error(), "unknown flag"):
		fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", path, strings.TrimSuffix(err.Error(), "\n"), path)
		return 2
	case errors.Is(err, errFailed):
		return 1
	case errors.Is(err, errHostUnsupported):
		return 3
	default:
		fmt.Fprintf(stderr, "%s: %v\n", path, err)
		return 1
	}
}

// longFlags turns the single-dash long flags the stdlib flag package
// accepted (-kubeconfig FILE) into pflag's --kubeconfig, so command lines
// written for the old cnigate keep working.
func longFlags(root *cobra.Command, args []string) []string {
	long := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if len(f.Name) > 1 {
				long[f.Name] = true
			}
		})
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && long[name] {
			a = "-" + a
		}
		out = append(out, a)
	}
	return out
}

// noArgs is the check of a verb that takes no positional argument.
func noArgs(c *call) error {
	if len(c.args) > 0 {
		return usagef("unexpected argument %q", c.args[0])
	}
	return nil
}
