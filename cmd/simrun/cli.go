package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit statuses.
const (
	exitPass     = 0
	exitFail     = 1
	exitBadInput = 2
)

// usageError marks an error caused by the caller's input (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func badInput(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// errFailed is a run that completed and found a violation (exit 1); its
// report has already been printed.
var errFailed = errors.New("the run found a violation")

// run is main without the process: it parses args, runs, prints, and
// returns the exit status. Tests call it directly.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	switch {
	case err == nil:
		return exitPass
	case errors.Is(err, errFailed):
		return exitFail
	default:
		// Everything else is the caller's input: flags, arguments, files
		// (cobra reports unknown commands and extra arguments unwrapped).
		fmt.Fprintf(stderr, "simrun: %v\n", err)
		fmt.Fprintln(stderr, "Run 'simrun --help' for usage.")
		return exitBadInput
	}
}

func newRootCmd(stdout io.Writer) *cobra.Command { return newRootCmdWith(stdout, &runOptions{}) }

// newRootCmdWith is newRootCmd parsing the run's flags into opts.
func newRootCmdWith(stdout io.Writer, opts *runOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "simrun",
		Short: "Run one deterministic raftsim simulation and report what happened",
		Long: `simrun runs one seeded simulation. The same seed and build reproduce the
same run, bit for bit: the trace hash it prints is the proof.

Output is key: value lines (--json for one JSON object).
Exit status: 0 pass, 1 a violation was found, 2 bad input.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.run(stdout, cmd.ErrOrStderr())
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	opts.register(root)
	root.AddCommand(newReplayCmd(stdout), newSoakCmd(stdout), newSoakMergeCmd(stdout), newBenchCmd(stdout), newScenariosCmd(stdout))
	return root
}
