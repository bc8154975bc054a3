package main

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Exit statuses (README's table). Each is one kind of outcome a script
// can act on: a violation is a bug in the system under test, UNKNOWN a run
// the checker could not decide (never a pass), bad input the caller's to
// fix, an internal error simrun's own.
const (
	exitPass     = 0
	exitFail     = 1
	exitBadInput = 2
	exitUnknown  = 3
	exitInternal = 4
)

// usageError marks an error caused by the caller's input (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func badInput(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// internalError marks simrun's own failure (exit 4): an output it could
// not write for a reason that is not the caller's path, a panic outside a
// simulated run.
type internalError struct{ err error }

func (e internalError) Error() string { return e.err.Error() }
func (e internalError) Unwrap() error { return e.err }

func internal(format string, args ...any) error {
	return internalError{fmt.Errorf(format, args...)}
}

// errFailed is a run that completed and found a violation (exit 1); its
// report has already been printed.
var errFailed = errors.New("the run found a violation")

// errUnknown is a run (or soak) that found no violation but could not
// decide everything it checks (exit 3); what it could not decide has been
// printed.
var errUnknown = errors.New("the check could not decide")

// run is main without the process: it parses args, runs, prints, and
// returns the exit status. Tests call it directly.
func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		// A panic here is simrun's own bug (a simulated run's panic is
		// caught where it runs and reported as that run's failure).
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "simrun: internal error: %v\n%s", p, debug.Stack())
			code = exitInternal
		}
	}()
	root := newRootCmd(stdout)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	var ie internalError
	switch {
	case err == nil:
		return exitPass
	case errors.Is(err, errFailed):
		return exitFail
	case errors.Is(err, errUnknown):
		return exitUnknown
	case errors.As(err, &ie):
		fmt.Fprintf(stderr, "simrun: internal error: %v\n", err)
		return exitInternal
	default:
		// Everything else is the caller's input: flags, arguments, files
		// (cobra reports unknown commands and extra arguments unwrapped).
		fmt.Fprintf(stderr, "simrun: %v\n", err)
		fmt.Fprintln(stderr, "Run 'simrun --help' for usage.")
		return exitBadInput
	}
}

const exitStatusHelp = `Exit status: 0 pass, 1 a violation was found, 2 bad input, 3 UNKNOWN (no
violation, but a check could not decide: never a pass), 4 internal error.`

func newRootCmd(stdout io.Writer) *cobra.Command { return newRootCmdWith(stdout, &runOptions{}) }

// newRootCmdWith is newRootCmd parsing the run's flags into opts.
func newRootCmdWith(stdout io.Writer, opts *runOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "simrun",
		Short: "Run one deterministic raftsim simulation and report what happened",
		Long: `simrun runs one seeded simulation. The same seed and build reproduce the
same run, bit for bit: the trace hash it prints is the proof.

Output is key: value lines (--json for one JSON object).
` + exitStatusHelp,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.run(stdout, cmd.ErrOrStderr())
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	opts.register(root)
	root.AddCommand(newReplayCmd(stdout), newSoakCmd(stdout), newMergeCmd(stdout), newShrinkCmd(stdout), newBenchCmd(stdout), newScenariosCmd(stdout))
	return root
}
