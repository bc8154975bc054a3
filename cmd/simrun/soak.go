package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/seed4fee1fef/raftsim/reports"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
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
		RunE: func(cmd *cobra.Command, _ []string) error { return o.soak(stdout, cmd.ErrOrStderr()) },
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

// soakArgs are the soak's own arguments, for its page.
func (o *soakOptions) soakArgs() []string {
	args := append([]string{"soak", "--seeds", o.seeds, "--shard", o.shard}, o.run.reproArgs()...)
	// reproArgs starts with the seed of a single run: a soak has none.
	for i := 2; i+1 < len(args); i++ {
		if args[i] == "--seed" {
			return append(args[:i:i], args[i+2:]...)
		}
	}
	return args
}

// maxListedPasses bounds the passing runs a soak page lists (and keeps in
// memory): past it they are counted, not kept. Failures are always kept.
const maxListedPasses = 100_000

func (o *soakOptions) soak(stdout, stderr io.Writer) error {
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
	seeds := newSeedIter(lo, hi, si, sn)
	runs := seeds.count()

	var (
		mu        sync.Mutex
		failures  []soakFailure
		firstErr  error
		reportErr error
		wg        sync.WaitGroup
		// seedRuns are every run for the soak page (passes up to
		// maxListedPasses; morePassed counts the rest).
		seedRuns   []reports.SeedRun
		passes     int
		morePassed uint64
	)
	started := time.Now()
	work := func() {
		defer wg.Done()
		for {
			mu.Lock()
			seed, ok := seeds.next()
			if !ok || firstErr != nil {
				mu.Unlock()
				return
			}
			mu.Unlock()

			opts := base
			opts.Seed = seed
			res, err := runner.Run(opts)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("seed %d: %w", seed, err)
				}
				mu.Unlock()
				continue
			}
			ro := o.run
			ro.seed = seed
			sum := reports.Summarize(res, "", ro.reproArgs())
			if res.Pass {
				mu.Lock()
				if passes < maxListedPasses {
					passes++
					seedRuns = append(seedRuns, reports.SeedRunOf(sum, ""))
				} else {
					morePassed++
				}
				mu.Unlock()
				continue
			}
			// A report that cannot be written loses nothing: the failure
			// is kept and printed with why it has no report.
			// The run kept only its trace hash: the report is written from
			// the same run again with its full trace.
			dir := ro.reportDir()
			report, rel := dir, ""
			why := strings.Join(res.Failures, "; ")
			rep, rerr := reportedRun(res)
			if rerr != nil {
				why += "; " + rerr.Error()
			}
			werr := reports.Write(dir, rep, reports.Summarize(rep, "", ro.reproArgs()))
			if werr != nil {
				report = "not written: " + werr.Error()
			} else if r, err := filepath.Rel(o.run.out, dir); err == nil {
				rel = r
			}
			mu.Lock()
			failures = append(failures, soakFailure{seed, res.Verdict, why, report})
			seedRuns = append(seedRuns, reports.SeedRunOf(sum, rel))
			if werr != nil && reportErr == nil {
				reportErr = fmt.Errorf("seed %d: %w", seed, werr)
			}
			mu.Unlock()
		}
	}
	for i := 0; i < o.parallel; i++ {
		wg.Add(1)
		go work()
	}
	wg.Wait()
	if firstErr != nil && len(failures) == 0 {
		return firstErr
	}
	// Report in seed order, whatever order the workers finished in.
	sortFailures(failures)
	out := &summary{}
	out.add("seeds", fmt.Sprintf("%d-%d", lo, hi))
	out.add("shard", o.shard)
	out.add("runs", runs)
	out.add("failed", len(failures))
	for _, f := range failures {
		ro := o.run
		ro.seed = f.seed
		out.add("failure", fmt.Sprintf("seed %d %s: %s (report %s; repro: %s)", f.seed, f.verdict, f.why, f.report, reports.Command(ro.reproArgs())))
	}
	if firstErr != nil {
		// A run that could not run stopped the soak, but the failures
		// found before it are kept: they decide the exit status.
		out.add("stopped", firstErr.Error())
	}
	soakHealth(out, seedRuns)
	slices.SortFunc(seedRuns, func(a, b reports.SeedRun) int { return cmp.Compare(a.Seed, b.Seed) })
	soak := reports.Soak{Command: reports.Command(o.soakArgs()), Seeds: o.seeds, Shards: []string{o.shard},
		Build: reports.Build(), Runs: seedRuns, MorePassed: morePassed, WallNS: int64(time.Since(started)), Parallel: o.parallel}
	if err := reports.WriteSoak(o.run.out, soak); err != nil {
		out.add("soak-report", "not written: "+err.Error())
		if reportErr == nil {
			reportErr = err
		}
	} else {
		out.add("soak-report", filepath.Join(o.run.out, reports.SoakPageFile))
	}
	if len(failures) == 0 {
		out.add("result", "PASS")
	} else {
		out.add("result", "FAIL")
	}
	if err := out.print(stdout, o.run.json); err != nil {
		return err
	}
	if reportErr != nil {
		fmt.Fprintf(stderr, "simrun: soak: a report could not be written (%v); the failures are above\n", reportErr)
	}
	if firstErr != nil {
		fmt.Fprintf(stderr, "simrun: soak stopped: %v; the failures found before are above\n", firstErr)
	}
	if len(failures) > 0 {
		return errFailed
	}
	return nil
}

// seedIter walks the seeds of [lo, hi] in shard i of n (every n-th seed
// from lo+i) without building a list: a range may hold 2^64 seeds.
type seedIter struct {
	cur, hi, step uint64
	done          bool
}

func newSeedIter(lo, hi, i, n uint64) *seedIter {
	first := lo + i
	return &seedIter{cur: first, hi: hi, step: n, done: first < lo || first > hi}
}

// count is how many seeds the walk yields, without walking.
func (it *seedIter) count() uint64 {
	if it.done {
		return 0
	}
	return (it.hi-it.cur)/it.step + 1
}

func (it *seedIter) next() (uint64, bool) {
	if it.done {
		return 0, false
	}
	s := it.cur
	if it.cur > it.hi-it.step || it.hi-it.step > it.hi { // the next one would pass hi (or wrap)
		it.done = true
	} else {
		it.cur += it.step
	}
	return s, true
}

func sortFailures(fs []soakFailure) {
	slices.SortFunc(fs, func(a, b soakFailure) int { return cmp.Compare(a.seed, b.seed) })
}

// soakHealth adds the health metrics of a soak's runs: totals of what
// counts, medians over the runs of the per-run figures, and read latency
// and batching per read mode.
func soakHealth(out *summary, runs []reports.SeedRun) {
	if len(runs) == 0 {
		return
	}
	median := func(f func(m reports.Metrics) float64, keep func(m reports.Metrics) bool) float64 {
		var xs []float64
		for _, r := range runs {
			if keep == nil || keep(r.Metrics) {
				xs = append(xs, f(r.Metrics))
			}
		}
		if len(xs) == 0 {
			return 0
		}
		slices.Sort(xs)
		return xs[len(xs)/2]
	}
	dur := func(ns float64) string { return time.Duration(ns).String() }
	var campaigns, transfers, aborted uint64
	var fsync int64
	modes := map[string]int{}
	for _, r := range runs {
		m := r.Metrics
		campaigns += m.ElectionsStarted
		transfers += m.Transfers
		aborted += m.TransfersAborted
		fsync = max(fsync, m.FsyncLatencyP99NS)
		modes[m.ReadMode]++
	}
	out.add("elections-started", fmt.Sprintf("%d in all", campaigns))
	out.add("term-changes-per-hour", fmt.Sprintf("%.0f (median of runs)", median(func(m reports.Metrics) float64 { return m.TermChangesPerHour }, nil)))
	out.add("leaderless-time", dur(median(func(m reports.Metrics) float64 { return float64(m.LeaderlessNS) }, nil))+" (median of runs)")
	out.add("commit-latency-p50", dur(median(func(m reports.Metrics) float64 { return float64(m.CommitLatencyP50NS) }, nil))+" (median of runs)")
	out.add("commit-latency-p99", dur(median(func(m reports.Metrics) float64 { return float64(m.CommitLatencyP99NS) }, nil))+" (median of runs)")
	var lat, batch []string
	for _, mode := range slices.Sorted(maps.Keys(modes)) {
		of := func(m reports.Metrics) bool { return m.ReadMode == mode }
		lat = append(lat, fmt.Sprintf("%s %s/%s (%d runs)", mode,
			dur(median(func(m reports.Metrics) float64 { return float64(m.ReadLatencyP50NS) }, of)),
			dur(median(func(m reports.Metrics) float64 { return float64(m.ReadLatencyP99NS) }, of)), modes[mode]))
		if mode == "index" || mode == "lease" {
			batch = append(batch, fmt.Sprintf("%s %.2f", mode, median(func(m reports.Metrics) float64 { return m.ReadsPerRound }, of)))
		}
	}
	out.add("read-latency-p50/p99", strings.Join(lat, ", ")+" (medians of runs)")
	if len(batch) > 0 {
		out.add("reads-per-round", strings.Join(batch, ", ")+" (medians of runs)")
	}
	out.add("transfers", fmt.Sprintf("%d (%d given up)", transfers, aborted))
	out.add("fsync-latency-p99", time.Duration(fsync).String()+" (worst run)")
}
