package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/seed4fee1fef/raftsim/reports"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/scenarios/shrink"
	"github.com/seed4fee1fef/raftsim/sim"
)

type soakOptions struct {
	run          runOptions
	seeds        string
	shard        string
	shards       int
	parallel     int
	junit        string
	recheck      uint64
	shrinkBudget time.Duration
	fresh        bool
	progress     time.Duration
	explicit     func(string) bool
}

// Files a soak writes into --out besides the soak page and the reports.
const (
	SoakSummaryFile = "summary.json"
	ShrunkDir       = "shrunk"
)

func newSoakCmd(stdout io.Writer) *cobra.Command {
	o := &soakOptions{}
	cmd := &cobra.Command{
		Use:   "soak",
		Short: "Run many seeds in parallel; failures grouped, shrunk, and kept across restarts",
		Long: `soak runs a range of seeds, each in its own world, on every core, exactly as
one-at-a-time runs of those seeds would (a scenario too, with --scenario).
Each failing seed's report is written the moment it is found, and every
finished seed is appended to a journal in --out (fsynced): a soak killed at
any moment and started again with the same arguments runs only the seeds it
had not finished.

At the end, failures are grouped by signature (which check failed and how),
the shortest reproduction of each group is shrunk to a short scenario
script (--shrink-budget each), and --out gets soak.html, soak.json,
summary.json (the same as --json prints) and, with --junit, a JUnit file
with one test case per group. The last line is "N passed, M failed".

--shard i/n runs every n-th seed starting at the i-th (from 0), so n
machines cover a range between them; --shards n takes i from
JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's). 'simrun merge' joins
the shards' outputs.

` + exitStatusHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.soak(stdout, cmd.ErrOrStderr()) },
	}
	o.run.register(cmd)
	f := cmd.Flags()
	f.StringVar(&o.seeds, "seeds", "1-100", "seed range FIRST-LAST (inclusive)")
	f.StringVar(&o.shard, "shard", "0/1", "this machine's share of the range, i/n")
	f.IntVar(&o.shards, "shards", 0, "the number of shards, this machine's index taken from JOB_COMPLETION_INDEX (instead of --shard)")
	f.IntVar(&o.parallel, "parallel", runtime.GOMAXPROCS(0), "runs at once")
	f.StringVar(&o.junit, "junit", "", "write a JUnit XML file here: one test case per failure group")
	f.Uint64Var(&o.recheck, "recheck", 100, "run 1 seed in this many twice and compare the traces (0: never)")
	f.DurationVar(&o.shrinkBudget, "shrink-budget", time.Minute, "wall time to shrink each failure group's shortest reproduction (0: no shrinking)")
	f.BoolVar(&o.fresh, "fresh", false, "start over: discard the journal of an earlier soak in --out")
	f.DurationVar(&o.progress, "progress-every", 10*time.Second, "when stderr is not a terminal, print a progress line this often (0: never)")
	o.explicit = func(name string) bool { return cmd.Flags().Changed(name) }
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

// JobIndexEnv is where a Kubernetes Indexed Job gives each pod its index.
const JobIndexEnv = "JOB_COMPLETION_INDEX"

// shardOf resolves this machine's shard: --shard, or --shards with the
// index from JOB_COMPLETION_INDEX.
func (o *soakOptions) shardOf() (i, n uint64, err error) {
	env, envSet := os.LookupEnv(JobIndexEnv)
	switch {
	case o.explicit("shard") && o.explicit("shards"):
		return 0, 0, badInput("--shard %s and --shards %d: one or the other", o.shard, o.shards)
	case o.explicit("shard"):
		return parseShard(o.shard)
	case o.explicit("shards"):
		if o.shards < 1 {
			return 0, 0, badInput("--shards %d: want at least 1", o.shards)
		}
		if !envSet {
			return 0, 0, badInput("--shards %d takes this machine's index from %s (a Kubernetes Indexed Job sets it), which is unset: use --shard i/%d", o.shards, JobIndexEnv, o.shards)
		}
		idx, err := strconv.ParseUint(env, 10, 64)
		if err != nil || idx >= uint64(o.shards) {
			return 0, 0, badInput("%s=%q: want an index from 0 to %d (--shards %d)", JobIndexEnv, env, o.shards-1, o.shards)
		}
		return idx, uint64(o.shards), nil
	case envSet:
		return 0, 0, badInput("%s=%s is set, but not the number of shards: pass --shards N (the Job's completions), or --shard i/n", JobIndexEnv, env)
	}
	return 0, 1, nil
}

// soakArgs are the arguments that decide the soak's results: its page's
// command and its journal's identity.
func (o *soakOptions) soakArgs(shard string) []string {
	args := append([]string{"soak", "--seeds", o.seeds, "--shard", shard}, o.run.reproArgs(0)...)
	// reproArgs names the seed of a single run: a soak has none.
	for i := 1; i+1 < len(args); i++ {
		if args[i] == "--seed" {
			args = append(args[:i:i], args[i+2:]...)
			break
		}
	}
	if o.recheck != 100 {
		args = append(args, "--recheck", fmt.Sprint(o.recheck))
	}
	return args
}

// maxListedPasses bounds the passing runs a soak page lists (and keeps in
// memory): past it they are counted, not kept. Failures are always kept.
const maxListedPasses = 100_000

// soaker is one soak in progress.
type soaker struct {
	o    *soakOptions
	spec *runSpec
	j    *journal
	prog *progress

	mu         sync.Mutex
	runs       []reports.SeedRun // listed: every failure, passes up to the bound
	listed     int               // passes listed
	morePassed uint64
	failed     uint64
	stopErr    error // a seed that could not run at all stops the soak
	reportErr  error
}

func (o *soakOptions) soak(stdout, stderr io.Writer) error {
	for _, name := range []string{"seed", "emit-scenario"} {
		if o.run.set(name) {
			return badInput("--%s goes with one run; a soak runs --seeds (its failures keep reports and shrunk scripts)", name)
		}
	}
	spec, err := o.run.spec()
	if err != nil {
		return err
	}
	lo, hi, err := parseRange(o.seeds)
	if err != nil {
		return err
	}
	if spec.sc != nil {
		// A scenario its subject cannot run is skipped whole, saying why.
		opts := spec.sc.Options(lo)
		opts.Planted |= spec.base.Planted
		if why := spec.sc.Missing(opts); why != "" {
			sum := &summary{}
			sum.add("seeds", o.seeds)
			sum.add("subject", subjectLine(opts.Server.Subject))
			sum.add("skipped", why)
			sum.add("result", string(runner.Skip))
			return sum.print(stdout, o.run.json)
		}
	}
	si, sn, err := o.shardOf()
	if err != nil {
		return err
	}
	if o.parallel < 1 {
		return badInput("--parallel %d: want at least 1", o.parallel)
	}
	if o.shrinkBudget < 0 || o.progress < 0 {
		return badInput("--shrink-budget %v, --progress-every %v: want 0 or more", o.shrinkBudget, o.progress)
	}
	if err := spec.validate(lo); err != nil {
		return err // before anything is written: bad input leaves no journal
	}
	shard := fmt.Sprintf("%d/%d", si, sn)
	out := o.run.out
	if err := os.MkdirAll(out, 0o755); err != nil {
		return badInput("--out %s: %v", out, err)
	}
	command := reports.Command(o.soakArgs(shard))
	j, prior, err := openJournal(out, journalHeader{Soak: command, Build: reports.Build()}, o.fresh)
	if err != nil {
		return err
	}
	defer j.close()
	for _, l := range reports.Leftovers(out) {
		os.RemoveAll(l) // a report a kill left half-written
	}

	sk := &soaker{o: o, spec: spec, j: j, runs: prior.runs, morePassed: prior.unlisted}
	for _, r := range prior.runs {
		if r.Verdict == string(runner.Pass) {
			sk.listed++
		} else {
			sk.failed++
		}
	}
	seeds := newSeedIter(lo, hi, si, sn)
	total := seeds.count()
	resumed := uint64(len(prior.done))
	sk.prog = newProgress(stderr, total, resumed, sk.failed, o.progress)
	if prior.replaced != nil {
		sk.prog.note("soak: %s held a finished soak of other arguments (%s): starting this one afresh", j.path, prior.replaced.Soak)
	}
	if resumed > 0 {
		sk.prog.note("soak: resuming from %s: %d of %d seeds already done", j.path, resumed, total)
	}
	started := time.Now()

	var wg sync.WaitGroup
	var iterMu sync.Mutex
	next := func() (uint64, bool) {
		iterMu.Lock()
		defer iterMu.Unlock()
		for {
			seed, ok := seeds.next()
			if !ok {
				return 0, false
			}
			if !prior.done[seed] {
				return seed, true
			}
		}
	}
	for w := 0; w < o.parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				sk.mu.Lock()
				stop := sk.stopErr != nil
				sk.mu.Unlock()
				if stop {
					return
				}
				seed, ok := next()
				if !ok {
					return
				}
				sk.one(seed)
			}
		}()
	}
	wg.Wait()
	sk.prog.finish()
	if sk.stopErr != nil && sk.failed == 0 {
		return sk.stopErr
	}

	slices.SortFunc(sk.runs, func(a, b reports.SeedRun) int { return cmp.Compare(a.Seed, b.Seed) })
	groups := reports.GroupFailures(sk.runs)
	if sk.stopErr == nil {
		groups = sk.shrinkGroups(groups, prior.shrunk, stderr)
	}
	soak := reports.Soak{Command: command, Seeds: o.seeds, Shards: []string{shard}, Build: reports.Build(), Subject: subjectLine(spec.base.Server.Subject),
		Runs: sk.runs, MorePassed: sk.morePassed, Groups: groups, WallNS: int64(time.Since(started)), Parallel: o.parallel}
	if soak.Groups == nil {
		soak.Groups = []reports.FailureGroup{}
	}
	err = finishSoak(stdout, stderr, soak, out, o.junit, o.run.json, sk.stopErr, sk.reportErr)
	if sk.stopErr == nil && !prior.complete {
		if jerr := j.append(journalLine{Complete: true}); jerr != nil && err == nil {
			err = jerr
		}
	}
	return err
}

// one runs one seed, writes its report if it failed, and journals it.
func (sk *soaker) one(seed uint64) {
	o := sk.o
	run, err := sk.runSeed(seed)
	if err != nil {
		sk.mu.Lock()
		if sk.stopErr == nil {
			sk.stopErr = fmt.Errorf("seed %d: %w", seed, err)
		}
		sk.mu.Unlock()
		return
	}
	failed := run.Verdict != string(runner.Pass)
	sk.mu.Lock()
	defer sk.mu.Unlock()
	line := journalLine{Run: &run}
	switch {
	case failed:
		sk.failed++
		sk.runs = append(sk.runs, run)
	case sk.listed < maxListedPasses:
		sk.listed++
		sk.runs = append(sk.runs, run)
	default:
		sk.morePassed++
		line = journalLine{Passed: &seed}
	}
	if err := sk.j.append(line); err != nil && sk.stopErr == nil {
		// The journal is what makes a restart safe: without it, stop.
		sk.stopErr = err
	}
	sk.prog.seedDone(failed)
	if failed && o.progress > 0 {
		sk.prog.note("soak: seed %d %s: %s", seed, run.Verdict, run.Signature)
	}
}

// runSeed runs one seed (twice, if it is one the determinism recheck
// samples) and writes its report if it failed or --report asks. An error
// means the seed could not run at all (bad input).
func (sk *soaker) runSeed(seed uint64) (reports.SeedRun, error) {
	spec, o := sk.spec, sk.o
	command := reports.Command(o.run.reproArgs(seed))
	sr, err := spec.run(seed)
	var pe *panicError
	if errors.As(err, &pe) {
		return sk.panicked(seed, pe, command), nil
	}
	if err != nil {
		return reports.SeedRun{}, err
	}
	// The determinism recheck: the seed again, the same trace hash.
	var rerun *seedRun
	if o.recheck > 0 && rechecked(seed, o.recheck) {
		again, err := spec.runWith(seed, 1, sim.TraceHashOnly)
		if errors.As(err, &pe) {
			return sk.panicked(seed, pe, command), nil
		}
		if err != nil {
			return reports.SeedRun{}, err
		}
		if again.res.TraceHash != sr.res.TraceHash {
			// Not deterministic: a failure of its own kind, whatever the
			// verdicts. Both runs again with their traces kept, to name
			// where they part.
			first, second := sr.res.TraceHash, again.res.TraceHash
			if fa, err := spec.runWith(seed, 0, sim.TraceFull); err == nil {
				sr = fa
			}
			if fb, err := spec.runWith(seed, 1, sim.TraceFull); err == nil {
				rerun = fb
			} else {
				rerun = again
			}
			why := nondeterminism(first, second, sr.res, rerun.res)
			sr.res.Failures = append([]string{why}, sr.res.Failures...)
			sr.res.Verdict, sr.res.Pass = runner.Fail, false
		}
	}
	if rerun == nil && (!sr.res.Pass || o.run.report) {
		// The report shows the run again with its full trace.
		full, err := reportedRun(sr.res)
		if err != nil {
			notRepeated(full, err)
		}
		sr.res = full
	}
	sum := spec.summaryOf(sr)
	if rerun != nil {
		sum.Signature = "nondeterministic: the same seed ran twice gave different traces"
	}
	rel := ""
	if !sr.res.Pass || o.run.report {
		dir, _, werr := spec.writeReport(sr)
		if werr == nil && rerun != nil {
			werr = reports.WriteTraceFile(filepath.Join(dir, "trace-rerun.jsonl"), rerun.res)
		}
		if werr != nil {
			sk.mu.Lock()
			if sk.reportErr == nil {
				sk.reportErr = fmt.Errorf("seed %d: %w", seed, werr)
			}
			sk.mu.Unlock()
			rel = "not written: " + werr.Error()
		} else if r, err := filepath.Rel(o.run.out, dir); err == nil {
			rel = r
		}
	}
	run := reports.SeedRunOf(sum, rel)
	run.Rechecked = o.recheck > 0 && rechecked(seed, o.recheck)
	if strings.HasPrefix(rel, "not written: ") {
		run.Report, run.Why = "", rel
	}
	return run, nil
}

// panicked is a seed whose run panicked: a failure, with its stack kept
// beside the reports.
func (sk *soaker) panicked(seed uint64, pe *panicError, command string) reports.SeedRun {
	msg := fmt.Sprint(pe.value)
	run := reports.SeedRun{Seed: seed, Verdict: string(runner.Fail), Failures: []string{"panic: " + msg},
		Signature: runner.FailureSignature("panic: " + firstLine(msg)), Command: command}
	if name := sk.o.run.scenarioName(); name != "" {
		run.Signature = name + ": " + run.Signature
	}
	file := filepath.Join(sk.o.run.out, fmt.Sprintf("panic-seed-%d.txt", seed))
	if err := reports.WriteFileAtomic(file, []byte(fmt.Sprintf("%s\n\n%s\n%s", command, pe.Error(), pe.stack))); err == nil {
		run.Why = "stack in " + file
	}
	return run
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// rechecked says whether the determinism recheck samples seed: 1 in
// every, spread by a hash so every shard gets its share.
func rechecked(seed, every uint64) bool {
	z := seed + 0x9e3779b97f4a7c15 // splitmix64
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return z%every == 0
}

// nondeterminism says how two runs of one seed differed: their hashes
// and the first event where two more runs with their traces kept part.
func nondeterminism(first, second string, a, b *runner.Result) string {
	why := fmt.Sprintf("nondeterministic: the same seed ran twice gave trace hashes %s and %s", first, second)
	if i, ea, eb, ok := sim.FirstDivergence(a.World.Trace(), b.World.Trace()); ok {
		why += fmt.Sprintf("; the traces part at event %d: %q, then %q (trace.jsonl and trace-rerun.jsonl)", i, ea, eb)
	} else {
		why += "; two more runs with their traces kept did not part"
	}
	return why
}

// shrinkGroups shrinks each group's shortest reproduction within the
// budget (journaled, so a restarted soak does not shrink again) and
// writes the scripts under --out/shrunk.
func (sk *soaker) shrinkGroups(groups []reports.FailureGroup, done map[string]reports.FailureGroup, stderr io.Writer) []reports.FailureGroup {
	o := sk.o
	for i := range groups {
		g := &groups[i]
		if prev, ok := done[g.Signature]; ok {
			g.Script, g.ScriptFile, g.Shrunk = prev.Script, prev.ScriptFile, prev.Shrunk
			continue
		}
		if o.shrinkBudget == 0 || strings.HasPrefix(g.Signature, "nondeterministic") || strings.HasPrefix(g.Signature, "unknown:") {
			continue
		}
		sr, err := sk.spec.run(g.Shortest)
		if err != nil || sr.res.Pass {
			continue // a panic or a run that no longer fails: nothing to shrink
		}
		res, err := shrink.Shrink(shrink.FromRun(sr.res, sk.spec.sc), g.Shortest, shrink.Options{Budget: o.shrinkBudget, Now: time.Now})
		if err != nil {
			fmt.Fprintf(stderr, "simrun: soak: shrinking seed %d: %v\n", g.Shortest, err)
			continue
		}
		rel := filepath.Join(ShrunkDir, fmt.Sprintf("%d-%s.scn", i+1, slug(g.Signature)))
		text := res.File(g.Command)
		path := filepath.Join(o.run.out, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
			if err := reports.WriteFileAtomic(path, []byte(text)); err == nil {
				g.ScriptFile = rel
			}
		}
		g.Script, g.Shrunk = text, &res.Stats
		rec := *g
		rec.Seeds = nil
		if err := sk.j.append(journalLine{Shrunk: &rec}); err != nil {
			fmt.Fprintf(stderr, "simrun: soak: %v\n", err)
		}
	}
	return groups
}

var slugChars = regexp.MustCompile(`[^a-z0-9]+`)

// slug is a signature as a file name.
func slug(sig string) string {
	s := strings.Trim(slugChars.ReplaceAllString(strings.ToLower(sig), "-"), "-")
	if len(s) > 60 {
		s = strings.TrimRight(s[:60], "-")
	}
	return s
}

// finishSoak writes a soak's (or merged shards') outputs and prints its
// summary: soak.html and soak.json, summary.json (what --json prints), the
// JUnit file, then "N passed, M failed" as the last line.
func finishSoak(stdout, stderr io.Writer, soak reports.Soak, out, junit string, asJSON bool, stopErr, reportErr error) error {
	var passed, failed, unknown, recheckedRuns uint64 = soak.MorePassed, 0, 0, 0
	var failures []any
	for _, r := range soak.Runs {
		if r.Rechecked {
			recheckedRuns++
		}
		switch r.Verdict {
		case string(runner.Pass):
			passed++
			continue
		case string(runner.Unknown):
			unknown++
		}
		failed++
		failures = append(failures, failureItem(r))
	}
	groups := make([]any, len(soak.Groups))
	for i, g := range soak.Groups {
		groups[i] = groupItem(g)
	}
	result := string(runner.Pass)
	switch {
	case failed > unknown:
		result = string(runner.Fail)
	case unknown > 0:
		result = string(runner.Unknown)
	}
	sum := &summary{}
	sum.add("seeds", soak.Seeds)
	sum.opt("subject", soak.Subject)
	sum.list("shards", listOf(soak.Shards)...)
	sum.add("runs", passed+failed)
	sum.add("passed", passed)
	sum.add("failed", failed)
	sum.add("unknown", unknown)
	sum.add("rechecked", recheckedRuns)
	soakHealth(sum, soak.Runs)
	sum.list("group", groups...)
	sum.list("failure", failures...)
	stopped := ""
	if stopErr != nil {
		// A run that could not run stopped the soak, but the failures
		// found before it are kept: they decide the exit status.
		stopped = stopErr.Error()
	}
	sum.opt("stopped", stopped)
	var writeErr error
	note := func(err error) string {
		if writeErr == nil {
			writeErr = err
		}
		return "not written: " + err.Error()
	}
	page := filepath.Join(out, reports.SoakPageFile)
	if err := reports.WriteSoak(out, soak); err != nil {
		page = note(err)
	}
	sum.add("soak-report", page)
	junitOut := ""
	if junit != "" {
		junitOut = junit
		if err := reports.WriteJUnit(junit, soak); err != nil {
			junitOut = note(err)
		}
	}
	sum.opt("junit", junitOut)
	sumPath := filepath.Join(out, SoakSummaryFile)
	sum.add("summary", sumPath)
	sum.add("wall-time", dur(time.Duration(soak.WallNS).Round(time.Millisecond)))
	sum.add("result", result)
	var js strings.Builder
	if err := sum.print(&js, true); err == nil {
		if err := reports.WriteFileAtomic(sumPath, []byte(js.String())); err != nil {
			note(err)
		}
	}
	if err := sum.print(stdout, asJSON); err != nil {
		return err
	}
	if !asJSON {
		fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
	}
	if reportErr != nil {
		fmt.Fprintf(stderr, "simrun: soak: a report could not be written (%v); the failures are above\n", reportErr)
	}
	if writeErr != nil {
		fmt.Fprintf(stderr, "simrun: soak: %v\n", writeErr)
	}
	if stopErr != nil {
		fmt.Fprintf(stderr, "simrun: soak stopped: %v; the failures found before are above\n", stopErr)
	}
	switch {
	case failed > unknown:
		return errFailed
	case stopErr != nil:
		return stopErr
	case unknown > 0:
		return errUnknown
	case writeErr != nil:
		return badInput("--out %s: %v (every seed passed)", out, writeErr)
	}
	return nil
}

// soakHealth adds the health metrics of a soak's listed runs: totals of
// what counts, medians over the runs of the per-run figures, and read
// latency and batching per read mode.
func soakHealth(out *summary, runs []reports.SeedRun) {
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
	var campaigns, transfers, aborted uint64
	modes := map[string]int{}
	for _, r := range runs {
		m := r.Metrics
		campaigns += m.ElectionsStarted
		transfers += m.Transfers
		aborted += m.TransfersAborted
		modes[m.ReadMode]++
	}
	ns := func(f func(m reports.Metrics) int64) dur {
		return dur(median(func(m reports.Metrics) float64 { return float64(f(m)) }, nil))
	}
	out.add("elections-started", campaigns)
	out.add("transfers", transfers)
	out.add("transfers-given-up", aborted)
	out.add("term-changes-per-hour-median", fixed{median(func(m reports.Metrics) float64 { return m.TermChangesPerHour }, nil), 0})
	out.add("leaderless-time-median", ns(func(m reports.Metrics) int64 { return m.LeaderlessNS }))
	out.add("commit-latency-p50-median", ns(func(m reports.Metrics) int64 { return m.CommitLatencyP50NS }))
	out.add("commit-latency-p99-median", ns(func(m reports.Metrics) int64 { return m.CommitLatencyP99NS }))
	var lat, batch []any
	for _, mode := range slices.Sorted(maps.Keys(modes)) {
		of := func(m reports.Metrics) bool { return m.ReadMode == mode }
		lat = append(lat, fmt.Sprintf("%s %v/%v (%d runs)", mode,
			time.Duration(median(func(m reports.Metrics) float64 { return float64(m.ReadLatencyP50NS) }, of)),
			time.Duration(median(func(m reports.Metrics) float64 { return float64(m.ReadLatencyP99NS) }, of)), modes[mode]))
		if mode == "index" || mode == "lease" {
			batch = append(batch, fmt.Sprintf("%s %.2f", mode, median(func(m reports.Metrics) float64 { return m.ReadsPerRound }, of)))
		}
	}
	out.list("read-latency-p50/p99-median", lat...)
	out.list("reads-per-round-median", batch...)
}

// failureItem is a failed seed: a line in text, an object in JSON.
type failureItem reports.SeedRun

func (f failureItem) String() string {
	report := f.Report
	if report == "" {
		report = "none"
		if f.Why != "" {
			report += " (" + f.Why + ")"
		}
	}
	return fmt.Sprintf("seed %d %s: %s (report %s; repro: %s)", f.Seed, f.Verdict, strings.Join(f.Failures, "; "), report, f.Command)
}

func (f failureItem) MarshalJSON() ([]byte, error) {
	return marshalValue(struct {
		Seed      uint64   `json:"seed"`
		Verdict   string   `json:"verdict"`
		Signature string   `json:"signature"`
		Failures  []string `json:"failures"`
		Report    string   `json:"report"`
		Command   string   `json:"command"`
	}{f.Seed, f.Verdict, f.Signature, nonNil(f.Failures), f.Report, f.Command})
}

// groupItem is a failure group: a line in text, an object in JSON.
type groupItem reports.FailureGroup

func (g groupItem) String() string {
	s := fmt.Sprintf("%s: %d seeds; shortest seed %d: %s", g.Signature, len(g.Seeds), g.Shortest, g.Command)
	if g.ScriptFile != "" {
		s += "; shrunk to " + g.ScriptFile
		if g.Shrunk != nil {
			s += fmt.Sprintf(" (%s, was %s)", plural(g.Shrunk.After.FaultLines, "fault line"), plural(g.Shrunk.Before.Faults, "fault"))
		}
	}
	return s
}

func (g groupItem) MarshalJSON() ([]byte, error) {
	return marshalValue(struct {
		Signature  string               `json:"signature"`
		Count      int                  `json:"count"`
		Seeds      []uint64             `json:"seeds"`
		Shortest   uint64               `json:"shortest"`
		Command    string               `json:"command"`
		Report     string               `json:"report"`
		ScriptFile string               `json:"script_file"`
		Shrunk     *reports.ShrinkStats `json:"shrunk"`
	}{g.Signature, len(g.Seeds), nonNil(g.Seeds), g.Shortest, g.Command, g.Report, g.ScriptFile, g.Shrunk})
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
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
