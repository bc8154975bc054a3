package main

import (
	"cmp"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/seed4fee1fef/raftsim/reports"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

type soakOptions struct {
	run      runOptions
	seeds    string
	shard    string
	parallel int
}

func newSoakCmd(stdout io.Writer) *cobra.Command {
	o := &soakOptions{}
	cmd := &cobra.Command{
		Use:   "soak",
		Short: "Run many seeds in parallel; every failure leaves a report that replays",
		Long: `soak runs a range of seeds, each in its own world, on every core. Each
failing seed's report is written the moment it is found. --shard i/n runs
every n-th seed starting at the i-th (from 0), so n machines cover a range
between them.`,
		Args: cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error { return o.soak(stdout) },
	}
	o.run.register(cmd)
	f := cmd.Flags()
	f.StringVar(&o.seeds, "seeds", "1-100", "seed range FIRST-LAST (inclusive)")
	f.StringVar(&o.shard, "shard", "0/1", "this machine's share of the range, i/n")
	f.IntVar(&o.parallel, "parallel", runtime.GOMAXPROCS(0), "runs at once")
	return cmd
}

func parseRange(s string) (lo, hi uint64, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, badInput("--seeds %q: want FIRST-LAST, e.g. 1-1000", s)
	}
	if lo, err = strconv.ParseUint(a, 10, 64); err == nil {
		hi, err = strconv.ParseUint(b, 10, 64)
	}
	if err != nil || lo > hi {
		return 0, 0, badInput("--seeds %q: want FIRST-LAST with FIRST <= LAST", s)
	}
	return lo, hi, nil
}

func parseShard(s string) (i, n uint64, err error) {
	a, b, ok := strings.Cut(s, "/")
	if ok {
		if i, err = strconv.ParseUint(a, 10, 64); err == nil {
			n, err = strconv.ParseUint(b, 10, 64)
		}
	}
	if !ok || err != nil || n == 0 || i >= n {
		return 0, 0, badInput("--shard %q: want i/n with 0 <= i < n, e.g. 2/8", s)
	}
	return i, n, nil
}

type soakFailure struct {
	seed    uint64
	verdict runner.Verdict
	why     string
	report  string
}

func (o *soakOptions) soak(stdout io.Writer) error {
	lo, hi, err := parseRange(o.seeds)
	if err != nil {
		return err
	}
	si, sn, err := parseShard(o.shard)
	if err != nil {
		return err
	}
	if o.parallel < 1 {
		return badInput("--parallel %d: want at least 1", o.parallel)
	}
	base, err := o.run.options()
	if err != nil {
		return err
	}
	var seeds []uint64
	for s := lo; s <= hi; s++ {
		if (s-lo)%sn == si {
			seeds = append(seeds, s)
		}
		if s == hi { // hi may be MaxUint64
			break
		}
	}

	var (
		mu       sync.Mutex
		failures []soakFailure
		firstErr error
		next     int
		wg       sync.WaitGroup
	)
	work := func() {
		defer wg.Done()
		for {
			mu.Lock()
			if next >= len(seeds) || firstErr != nil {
				mu.Unlock()
				return
			}
			seed := seeds[next]
			next++
			mu.Unlock()

			opts := base
			opts.Seed = seed
			opts.Trace = sim.TraceFull
			res, err := runner.Run(opts)
			if err == nil && !res.Pass {
				ro := o.run
				ro.seed = seed
				dir := ro.reportDir()
				err = reports.Write(dir, res, reports.Summarize(res, "", ro.reproArgs()))
				mu.Lock()
				failures = append(failures, soakFailure{seed, res.Verdict, strings.Join(res.Failures, "; "), dir})
				mu.Unlock()
			}
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("seed %d: %w", seed, err)
				}
				mu.Unlock()
			}
		}
	}
	for i := 0; i < o.parallel; i++ {
		wg.Add(1)
		go work()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	// Report in seed order, whatever order the workers finished in.
	sortFailures(failures)
	out := &summary{}
	out.add("seeds", fmt.Sprintf("%d-%d", lo, hi))
	out.add("shard", o.shard)
	out.add("runs", len(seeds))
	out.add("failed", len(failures))
	for _, f := range failures {
		ro := o.run
		ro.seed = f.seed
		out.add("failure", fmt.Sprintf("seed %d %s: %s (report %s; repro: %s)", f.seed, f.verdict, f.why, f.report, reports.Command(ro.reproArgs())))
	}
	if len(failures) == 0 {
		out.add("result", "PASS")
	} else {
		out.add("result", "FAIL")
	}
	if err := out.print(stdout, o.run.json); err != nil {
		return err
	}
	if len(failures) > 0 {
		return errFailed
	}
	return nil
}

func sortFailures(fs []soakFailure) {
	slices.SortFunc(fs, func(a, b soakFailure) int { return cmp.Compare(a.seed, b.seed) })
}
