package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/seed4fee1fef/raftsim/reports"
	"github.com/seed4fee1fef/raftsim/scenarios/shrink"
)

func newShrinkCmd(stdout io.Writer) *cobra.Command {
	var out string
	var budget time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "shrink DIR",
		Short: "Shrink a failing run's report to a short scenario script that fails the same way",
		Long: `shrink reruns the failing run a report directory records and cuts it down:
it removes faults, shortens fault windows, cuts the run short, and reduces
clients, keys and servers, keeping each candidate only if it still fails
with the same signature (which check failed and how). It writes the
result as a scenario script (--out, default DIR/shrunk.scn) that
reproduces the failure with 'simrun --scenario FILE --seed N', and says
how much it shrank: faults, operations and virtual time, before and
after. --budget bounds the wall time; what it found by then is kept.

` + exitStatusHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return shrinkReport(stdout, args[0], out, budget, asJSON)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "where to write the shrunk script (default DIR/shrunk.scn)")
	cmd.Flags().DurationVar(&budget, "budget", 5*time.Minute, "wall time the shrink may take (0: until no step helps)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object instead of key: value lines")
	return cmd
}

func shrinkReport(stdout io.Writer, dir, out string, budget time.Duration, asJSON bool) error {
	if budget < 0 {
		return badInput("--budget %v: want 0 or more", budget)
	}
	if out == "" {
		out = filepath.Join(dir, "shrunk.scn")
	}
	sumPath := filepath.Join(dir, reports.SummaryFile)
	want, data, err := readSummary(sumPath)
	if err != nil {
		return err
	}
	if err := checkArgs(sumPath, data, want); err != nil {
		return err
	}
	opts := &runOptions{}
	root := newRootCmdWith(io.Discard, opts)
	if err := root.ParseFlags(want.Args); err != nil {
		return badInput("%s:%d: args %q: %v", sumPath, keyLine(data, "args"), want.Args, err)
	}
	if want.Script != "" {
		// The scenario as the report recorded it, whatever became of
		// the file it came from.
		tmp, err := os.MkdirTemp("", "raftsim-shrink-")
		if err != nil {
			return internal("shrink: %v", err)
		}
		defer os.RemoveAll(tmp)
		name := want.Scenario
		if name == "" || strings.ContainsAny(name, `/\`) {
			name = "scenario"
		}
		opts.scenario = filepath.Join(tmp, name+".scn")
		if err := os.WriteFile(opts.scenario, []byte(want.Script), 0o644); err != nil {
			return internal("shrink: %v", err)
		}
	}
	spec, err := opts.spec()
	if err != nil {
		return badInput("%s: its args do not run: %v", sumPath, err)
	}
	sr, err := spec.run(want.Seed)
	if err != nil {
		return badInput("%s: its run cannot be shrunk: %v", sumPath, err)
	}
	if sr.res.Pass {
		return badInput("%s: the run passes: nothing to shrink", sumPath)
	}
	res, err := shrink.Shrink(shrink.FromRun(sr.res, spec.sc), want.Seed, shrink.Options{Budget: budget, Now: time.Now})
	if errors.Is(err, shrink.ErrPasses) {
		return badInput("%s: its run, as a script, passes: nothing to shrink", sumPath)
	}
	if err != nil {
		return internal("shrink: %v", err)
	}
	text := res.File(want.Command)
	if err := reports.WriteFileAtomic(out, []byte(text)); err != nil {
		return badInput("--out %s: %v", out, err)
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		abs = out
	}
	// The script, run the way a person would, fails the same way.
	check := &runOptions{}
	if err := newRootCmdWith(io.Discard, check).ParseFlags([]string{"--scenario", abs, "--seed", fmt.Sprint(res.Seed)}); err != nil {
		return internal("shrink: %v", err)
	}
	cspec, err := check.spec()
	if err != nil {
		return internal("shrink: the script written does not load: %v", err)
	}
	csr, err := cspec.run(res.Seed)
	if err != nil || csr.res.Signature() != res.Signature {
		return internal("shrink: the script written does not reproduce %q (%v)", res.Signature, err)
	}
	o := &summary{}
	o.add("shrunk", out)
	o.add("seed", res.Seed)
	o.add("signature", res.Signature)
	if want.Signature != "" && want.Signature != res.Signature {
		o.add("recorded-signature", want.Signature)
	} else {
		o.opt("recorded-signature", "")
	}
	o.add("before", res.Stats.Before.String())
	o.add("after", res.Stats.After.String())
	o.add("fault-lines", res.Stats.After.FaultLines)
	o.add("candidates-run", res.Stats.Runs)
	o.add("complete", res.Stats.Done)
	o.add("wall-time", dur(time.Duration(res.Stats.WallNS).Round(time.Millisecond)))
	o.add("repro", reports.Command([]string{"--scenario", abs, "--seed", fmt.Sprint(res.Seed)}))
	return o.print(stdout, asJSON)
}
