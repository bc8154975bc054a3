package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/linearizability/model"
	"github.com/seed4fee1fef/raftsim/raft"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/server"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/subject/subjects"
	"github.com/seed4fee1fef/raftsim/reports"
	"github.com/seed4fee1fef/raftsim/scenarios"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

type runOptions struct {
	seed     uint64
	servers  int
	clients  int
	duration time.Duration
	settle   time.Duration
	faults   string
	noFaults bool
	plant    string
	reads    string
	json     bool
	out      string
	report   bool
	scenario string
	emit     string
	subject  string
	// explicit records flags the user set, so a scenario's own settings
	// are overridden only by what was asked for.
	explicit func(name string) bool
}

func (o *runOptions) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.Uint64Var(&o.seed, "seed", 1, "seed of the run: the same seed reproduces the same run")
	f.IntVar(&o.servers, "servers", 5, "number of Raft servers")
	f.IntVar(&o.clients, "clients", 0, "number of clients (unset: the seed draws the clients and their load)")
	f.DurationVar(&o.duration, "duration", 20*time.Second, "virtual time during which faults may be active")
	f.DurationVar(&o.settle, "settle", 10*time.Second, "liveness bound: time after the last fault heals to elect a leader and complete an operation")
	f.StringVar(&o.faults, "faults", "", "comma-separated fault kinds the seed may draw from (default: all)")
	f.BoolVar(&o.noFaults, "no-faults", false, "run without any fault")
	f.StringVar(&o.subject, "subject", subjects.Default, "the Raft implementation under test: "+strings.Join(subjects.Names(), ", ")+" (overrides a scenario's own subject command when given)")
	f.StringVar(&o.plant, "plant", "", "comma-separated bugs to plant on purpose (see raft/plant), to see the harness catch them")
	f.StringVar(&o.reads, "reads", "", "how gets are answered: index, lease, log or local (default: a random run's swarm draws index, lease or log; a scenario says)")
	f.BoolVar(&o.json, "json", false, "print one JSON object instead of key: value lines")
	f.StringVar(&o.out, "out", "raftsim-reports", "directory under which a failing run writes its report")
	f.BoolVar(&o.report, "report", false, "write the report even if the run passes")
	f.StringVar(&o.scenario, "scenario", "", "run a built-in scenario (see 'simrun scenarios') or a scenario file")
	f.StringVar(&o.emit, "emit-scenario", "", "write this run's generated fault schedule as a scenario file that replays it")
	o.explicit = func(name string) bool { return cmd.Flags().Changed(name) }
}

// set says whether the caller set flag name.
func (o *runOptions) set(name string) bool { return o.explicit != nil && o.explicit(name) }

// reproArgs are the flags that determine the run of seed, as simrun
// arguments: what a report's repro command and `simrun replay` use.
func (o *runOptions) reproArgs(seed uint64) []string {
	if o.scenario != "" {
		args := []string{"--scenario", o.scenario, "--seed", fmt.Sprint(seed)}
		if o.set("subject") {
			args = append(args, "--subject", o.subject)
		}
		if o.plant != "" {
			args = append(args, "--plant", o.plant)
		}
		if o.reads != "" {
			args = append(args, "--reads", o.reads)
		}
		return args
	}
	args := []string{"--seed", fmt.Sprint(seed), "--servers", fmt.Sprint(o.servers)}
	if o.subject != "" && o.subject != subjects.Default {
		args = append(args, "--subject", o.subject)
	}
	if o.set("clients") {
		// Unset, the seed draws the clients (runner.SwarmWorkload).
		args = append(args, "--clients", fmt.Sprint(o.clients))
	}
	args = append(args, "--duration", o.duration.String(), "--settle", o.settle.String())
	if o.reads != "" {
		args = append(args, "--reads", o.reads)
	}
	if o.faults != "" {
		args = append(args, "--faults", o.faults)
	}
	if o.noFaults {
		args = append(args, "--no-faults")
	}
	if o.plant != "" {
		args = append(args, "--plant", o.plant)
	}
	return args
}

// scenarioName is the name reports give a scenario run ("" for a random run).
func (o *runOptions) scenarioName() string {
	if o.scenario == "" {
		return ""
	}
	return strings.TrimSuffix(filepath.Base(o.scenario), ".scn")
}

// reportDir is where the report of seed goes.
func (o *runOptions) reportDir(seed uint64) string {
	if name := o.scenarioName(); name != "" {
		return filepath.Join(o.out, fmt.Sprintf("%s-seed-%d", name, seed))
	}
	return filepath.Join(o.out, fmt.Sprintf("seed-%d", seed))
}

// options are the runner options of a random run (Seed left for the caller).
func (o *runOptions) options() (runner.Options, error) {
	opts := runner.Options{Seed: o.seed, Servers: o.servers, FaultTime: o.duration, Settle: o.settle, NoFaults: o.noFaults}
	if o.set("clients") {
		opts.Clients = o.clients
	}
	switch {
	case o.servers < 1:
		return opts, badInput("--servers %d: want at least 1", o.servers)
	case o.set("clients") && o.clients < 1:
		// The checks judge a load; a run without one is a scenario with
		// a quiet fault.
		return opts, badInput("--clients %d: want at least 1 (a run without load: a scenario with a quiet fault)", o.clients)
	case o.duration <= 0:
		return opts, badInput("--duration %v: want a positive virtual time such as 20s", o.duration)
	case o.settle <= 0:
		return opts, badInput("--settle %v: want a positive virtual time such as 10s", o.settle)
	case o.noFaults && o.faults != "":
		return opts, badInput("--faults %s and --no-faults: one or the other", o.faults)
	}
	if o.faults != "" {
		for _, name := range strings.Split(o.faults, ",") {
			k, ok := faults.ParseKind(strings.TrimSpace(name))
			if !ok {
				return opts, badInput("--faults: unknown fault kind %q (known: %s)", name, kindNames())
			}
			opts.FaultKinds = append(opts.FaultKinds, k)
		}
	}
	sub, err := subjects.ByName(o.subject)
	if err != nil {
		return opts, badInput("--subject: %v", err)
	}
	opts.Server.Subject = sub
	if o.reads != "" {
		m, ok := server.ParseReadMode(o.reads)
		if !ok {
			return opts, badInput("--reads %q: want index, lease, log or local", o.reads)
		}
		opts.Server.Reads = m
	}
	if o.plant != "" {
		for _, name := range strings.Split(o.plant, ",") {
			b, err := plant.Parse(strings.TrimSpace(name))
			if err != nil {
				return opts, badInput("--plant: %v", err)
			}
			opts.Planted |= plant.Of(b)
		}
	}
	return opts, nil
}

// runSpec is what every seed of a run or a soak runs: the flags checked
// and resolved once, so that a soak runs exactly what one-at-a-time runs
// of its seeds would (one code path for both).
type runSpec struct {
	o    *runOptions
	base runner.Options
	// sc is the scenario, nil for a random run; script its text, which
	// reports embed.
	sc     *scenarios.Scenario
	script string
}

// spec checks the run's flags and loads its scenario.
func (o *runOptions) spec() (*runSpec, error) {
	base, err := o.options()
	if err != nil {
		return nil, err
	}
	s := &runSpec{o: o, base: base}
	if o.scenario == "" {
		return s, nil
	}
	var refused []string
	for _, name := range []string{"servers", "clients", "duration", "settle", "faults", "no-faults", "emit-scenario"} {
		if o.set(name) {
			refused = append(refused, "--"+name)
		}
	}
	if len(refused) > 0 {
		return nil, badInput("--scenario sets the cluster, its phases and its faults: %s go with a random run", strings.Join(refused, ", "))
	}
	sc, src, err := loadScenario(o.scenario)
	if err != nil {
		return nil, err
	}
	s.sc, s.script = sc, string(src)
	if o.set("subject") {
		// Before the scenario draws anything: its random faults and
		// reads depend on what the subject can take.
		sc.Subject = base.Server.Subject.Name
		if sc.Subject == subjects.Default {
			sc.Subject = ""
		}
	}
	if isFile(o.scenario) {
		// The repro command works from any directory; the report embeds
		// the script itself for replay.
		if abs, err := filepath.Abs(o.scenario); err == nil {
			o.scenario = abs
		}
	}
	return s, nil
}

// seedRun is one seed's outcome: the runner's result and, for a
// scenario, every expectation's verdict.
type seedRun struct {
	seed   uint64
	res    *runner.Result
	checks []scenarios.Check
	// skipped says why the scenario did not run (its subject lacks a
	// mechanism it requires); res is then nil.
	skipped string
}

// panicError is a simulated run that panicked: a failure of the run (the
// system under test, or the harness under it), not of simrun.
type panicError struct {
	seed  uint64
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// optionsHook, if set, changes the runner options of every run (attempt
// 0) and of a determinism recheck's second run (attempt 1): tests use it
// to make a run undecidable or not repeat. Nil outside tests.
var optionsHook func(attempt int, o *runner.Options)

// run runs seed, keeping only its trace hash (a run worth a report is run
// again with its full trace: reportedRun). An error is bad input (options
// the runner refuses), or a *panicError.
func (s *runSpec) run(seed uint64) (*seedRun, error) { return s.runWith(seed, 0, sim.TraceHashOnly) }

// validate checks the options the run of seed would have, without running
// it (a soak refuses bad input before it writes anything).
func (s *runSpec) validate(seed uint64) error {
	opts := s.base
	if s.sc != nil {
		opts = s.sc.Options(seed)
		opts.Planted |= s.base.Planted
	}
	opts.Seed = seed
	opts.Defaults()
	if err := opts.Validate(); err != nil {
		return badInput("%v", err)
	}
	return nil
}

func (s *runSpec) runWith(seed uint64, attempt int, trace sim.TraceMode) (sr *seedRun, err error) {
	defer func() {
		if p := recover(); p != nil {
			sr, err = nil, &panicError{seed: seed, value: p, stack: debug.Stack()}
		}
	}()
	if s.sc == nil {
		opts := s.base
		opts.Seed = seed
		opts.Trace = trace
		if optionsHook != nil {
			optionsHook(attempt, &opts)
		}
		res, err := runner.Run(opts)
		if err != nil {
			return nil, badInput("%v", err)
		}
		return &seedRun{seed: seed, res: res}, nil
	}
	oc, err := scenarios.Run(s.sc, seed, func(ro *runner.Options) {
		ro.Trace = trace
		ro.Planted |= s.base.Planted
		if s.base.Server.Reads != server.ReadDefault {
			ro.Server.Reads = s.base.Server.Reads
		}
		if optionsHook != nil {
			optionsHook(attempt, ro)
		}
	})
	if err != nil {
		return nil, badInput("scenario %s: %v", s.o.scenario, err)
	}
	return &seedRun{seed: seed, res: oc.Result, checks: oc.Checks, skipped: oc.Skipped}, nil
}

// notRepeated makes a run that did not repeat a failure of its own kind.
func notRepeated(res *runner.Result, err error) {
	res.Failures = append([]string{"nondeterministic: " + err.Error()}, res.Failures...)
	res.Verdict, res.Pass = runner.Fail, false
}

// reportedRun is the run a report shows: runs keep only their trace hash,
// so res is run again with the full trace (runner.WithFullTrace checks it
// is the same run). If it is not, the report is still written, from res
// and without a trace, and the error says why: a run that does not repeat
// breaks what every repro command relies on.
func reportedRun(res *runner.Result) (*runner.Result, error) {
	full, err := runner.WithFullTrace(res)
	if err != nil {
		return res, err
	}
	return full, nil
}

// summaryOf is the report summary of a seed's run.
func (s *runSpec) summaryOf(sr *seedRun) reports.Summary {
	name := ""
	if s.sc != nil {
		name = s.sc.Name
	}
	sum := reports.Summarize(sr.res, name, s.o.reproArgs(sr.seed))
	sum.Script = s.script
	return sum
}

// writeReport writes the report of a seed's run into its directory.
func (s *runSpec) writeReport(sr *seedRun) (string, reports.Summary, error) {
	dir := s.o.reportDir(sr.seed)
	sum := s.summaryOf(sr)
	return dir, sum, writeReport(dir, sr.res, sum)
}

// writeReport writes a report (a variable so a test can make it fail).
var writeReport = reports.Write

func (o *runOptions) run(stdout, stderr io.Writer) error {
	spec, err := o.spec()
	if err != nil {
		return err
	}
	sr, err := spec.run(o.seed)
	var pe *panicError
	if errors.As(err, &pe) {
		out := &summary{}
		out.add("seed", o.seed)
		out.add("result", string(runner.Fail))
		out.list("failure", pe.Error())
		out.add("repro", reports.Command(o.reproArgs(o.seed)))
		if err := out.print(stdout, o.json); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "simrun: the run panicked: %v\n%s", pe.value, pe.stack)
		return errFailed
	}
	if err != nil {
		return err
	}
	if sr.skipped != "" {
		// Nothing ran: say what and why, and that nothing failed.
		out := &summary{}
		out.add("scenario", spec.sc.Name)
		out.add("seed", o.seed)
		out.add("subject", subjectLine(spec.sc.Options(o.seed).Server.Subject))
		out.add("skipped", sr.skipped)
		out.add("result", string(runner.Skip))
		return out.print(stdout, o.json)
	}
	// What is printed and reported comes from the run again with its
	// full trace, if it is worth a report, so explanations can name the
	// events they are about.
	var rerunErr error
	if !sr.res.Pass || o.report {
		sr.res, rerunErr = reportedRun(sr.res)
		if rerunErr != nil {
			notRepeated(sr.res, rerunErr)
		}
	}
	res := sr.res
	emitted := ""
	if o.emit != "" && res.Schedule != nil {
		script := scenarios.FromSchedule(res.Options, *res.Schedule).Script()
		if err := reports.WriteFileAtomic(o.emit, []byte(script)); err != nil {
			return badInput("--emit-scenario: %v", err)
		}
		emitted = o.emit
	}
	out := &summary{}
	if spec.sc != nil {
		out.add("scenario", spec.sc.Name)
	} else {
		out.opt("scenario", "")
	}
	summarize(out, res)
	checks := make([]string, len(sr.checks))
	for i, c := range sr.checks {
		checks[i] = c.String()
	}
	out.list("check", listOf(checks)...)
	out.opt("emitted-scenario", emitted)
	args := o.reproArgs(o.seed)
	var reportErr error
	report := ""
	if !res.Pass || o.report {
		// Written before the verdict is printed, so a printed report
		// exists; a report that cannot be written loses nothing else.
		var dir string
		if dir, _, reportErr = spec.writeReport(sr); reportErr != nil {
			report = "not written: " + reportErr.Error()
		} else {
			report = dir
		}
	}
	out.opt("report", report)
	out.add("repro", reports.Command(args))
	if err := out.print(stdout, o.json); err != nil {
		return err
	}
	// The verdict decides the exit status: a failure is exit 1 whatever
	// became of its report; a pass whose report could not be written is
	// the --out given being unusable (exit 2).
	switch {
	case res.Verdict == runner.Fail:
		if reportErr != nil {
			fmt.Fprintf(stderr, "simrun: %v (the run's verdict, %s, is above)\n", reportErr, res.Verdict)
		}
		return errFailed
	case reportErr != nil:
		return badInput("--out %s: %v (the run's verdict, %s, is above)", o.out, reportErr, res.Verdict)
	case res.Verdict == runner.Unknown:
		return errUnknown
	}
	return nil
}

// summarize adds a result's facts, in the order simrun prints them.
func summarize(out *summary, res *runner.Result) {
	m := res.Metrics
	out.add("seed", res.Options.Seed)
	out.add("subject", subjectLine(res.Options.Server.Subject))
	out.list("subject-note", listOf(res.SubjectNotes)...)
	out.add("servers", res.Options.Servers)
	out.add("clients", res.Options.AllClients())
	planted := ""
	if res.Options.Planted != 0 {
		planted = res.Options.Planted.String()
	}
	out.opt("planted", planted)
	out.add("faults", faultLine(res.Schedule))
	out.add("events", res.Events)
	out.add("virtual-time", dur(res.VirtualTime.Duration()))
	out.add("ops", m.OpsCompleted)
	out.add("ops-unknown", m.OpsUnknown)
	out.add("elections", m.Elections)
	out.add("elections-started", m.ElectionsStarted)
	out.add("leader-changes", m.LeaderChanges)
	out.add("max-term", m.MaxTerm)
	out.add("term-changes-per-hour", fixed{m.TermChangesPerHour, 0})
	out.add("leaderless-time", dur(m.LeaderlessTime))
	out.add("client-latency-p50", dur(m.ClientLatencyP50))
	out.add("client-latency-p99", dur(m.ClientLatencyP99))
	out.add("commit-latency-p50", dur(m.CommitLatencyP50))
	out.add("commit-latency-p99", dur(m.CommitLatencyP99))
	out.add("read-mode", readModeLine(res.Options.Server))
	out.add("read-latency-p50", dur(m.ReadLatencyP50))
	out.add("read-latency-p99", dur(m.ReadLatencyP99))
	out.add("reads-per-round", fixed{m.ReadsPerRound, 2})
	out.add("lease-reads", m.LeaseReads)
	out.add("transfers", m.Transfers)
	out.add("transfers-given-up", m.TransfersAborted)
	out.add("fsync-latency-p99", dur(m.FsyncLatencyP99))
	out.add("committed-entries", m.CommittedEntries)
	out.add("messages-per-entry", fixed{m.MessagesPerWrite, 2})
	out.add("bytes-per-entry", fixed{m.BytesPerWrite, 0})
	out.add("config", res.FinalConfig)
	out.add("snapshot-policy", snapshotPolicy(res.Options.Server))
	out.add("snapshots-taken", m.SnapshotsTaken)
	out.add("snapshots-installed", m.SnapshotsInstalled)
	out.add("snapshot-bytes-sent", m.SnapshotBytesSent)
	out.add("entry-bytes-sent", m.EntryBytesSent)
	out.add("log-entries-max", m.LogEntriesMax)
	out.add("log-bytes-max", m.LogBytesMax)
	out.add("messages-by-type", m.Traffic)
	out.add("linearizable", linearizableWord(res.Linearizability.Verdict))
	if v := res.Invariant; v != nil {
		out.add("invariants", fmt.Sprintf("%s broken at %v (event %d): %s", v.Invariant, v.At, v.EventSeq, v.Message))
	} else {
		out.add("invariants", "ok")
	}
	out.add("liveness", res.Liveness.String())
	damaged := make([]string, len(res.StorageDamaged))
	for i, id := range res.StorageDamaged {
		damaged[i] = fmt.Sprintf("n%d", id)
	}
	out.list("storage-damaged", listOf(damaged)...)
	halted := make([]string, len(res.Halted))
	for i, h := range res.Halted {
		halted[i] = fmt.Sprintf("n%d: %s", h.Node, h.Err)
	}
	out.list("halted", listOf(halted)...)
	out.add("trace-hash", res.TraceHash)
	out.add("result", string(res.Verdict))
	out.list("failure", listOf(res.Failures)...)
	var explain []string
	for _, e := range res.Explanations {
		explain = append(explain, e.Text...)
	}
	out.list("explain", listOf(explain)...)
}

// readModeLine says how the run read: the mode, and for a lease its
// drift bound and length.
func readModeLine(c server.Config) string {
	mode := c.Reads
	if mode == server.ReadDefault {
		mode = server.ReadIndex
	}
	if mode != server.ReadLease {
		return mode.String()
	}
	elect := c.ElectionTicks
	if elect == 0 {
		elect = server.DefaultElectionTicks
	}
	d := max(c.MaxDriftPPM, 0)
	return fmt.Sprintf("lease (max drift %dppm: %d of %d election ticks)", d, raft.LeaseTicks(elect, d), elect)
}

// snapshotPolicy describes a server configuration's snapshot policy.
func snapshotPolicy(c server.Config) string {
	n, k, t := c.SnapshotEntries, c.SnapshotRatio, c.TrailingEntries
	switch {
	case n < 0:
		return "never"
	case n == 0:
		n = server.DefaultSnapshotEntries
	}
	if k == 0 {
		k = 10
	}
	if t == 0 {
		t = 1000
	}
	s := fmt.Sprintf("every %d entries", n)
	if k > 0 {
		s += fmt.Sprintf(" and %gx the last snapshot", k)
	}
	return s + fmt.Sprintf(", keeping %d", max(t, 0))
}

// linearizableWord is porcupine's verdict as simrun prints it.
func linearizableWord(v model.Verdict) string {
	switch v {
	case model.Linearizable:
		return "true"
	case model.NotLinearizable:
		return "false"
	}
	return "unknown"
}

func kindNames() string {
	var names []string
	for _, k := range faults.Kinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// faultLine is a one-line schedule summary: how many faults of each kind,
// in the order kinds first occur.
func faultLine(s *faults.Schedule) string {
	if s == nil || len(s.Faults) == 0 {
		return "none"
	}
	var order []faults.Kind
	count := map[faults.Kind]int{}
	for _, f := range s.Faults {
		if count[f.Kind] == 0 {
			order = append(order, f.Kind)
		}
		count[f.Kind]++
	}
	parts := make([]string, len(order))
	for i, k := range order {
		parts[i] = fmt.Sprintf("%s×%d", k, count[k])
	}
	return fmt.Sprintf("%d (%s), healed at %v", len(s.Faults), strings.Join(parts, " "), s.HealAt)
}

// isFile says whether a --scenario argument names a file (a path or a
// .scn name) rather than a built-in.
func isFile(arg string) bool {
	return strings.ContainsRune(arg, filepath.Separator) || strings.HasSuffix(arg, ".scn")
}

// loadScenario reads a scenario, and its text: a file if the argument
// names one, else a built-in. Errors name file:line:column.
func loadScenario(arg string) (*scenarios.Scenario, []byte, error) {
	if isFile(arg) {
		src, err := os.ReadFile(arg)
		if err != nil {
			return nil, nil, badInput("--scenario: %v", err)
		}
		sc, err := scenarios.Parse(arg, src)
		if err != nil {
			return nil, nil, badInput("%v", err)
		}
		return sc, src, nil
	}
	src, err := scenarios.Source(arg)
	if err != nil {
		return nil, nil, badInput("--scenario: %v (see 'simrun scenarios'; a file needs a path or a .scn name)", err)
	}
	sc, err := scenarios.Load(arg)
	if err != nil {
		return nil, nil, badInput("--scenario: %v", err)
	}
	return sc, src, nil
}

// subjectLine names the Raft under test and its version.
func subjectLine(s subject.Subject) string {
	if s.Name == "" {
		return subjects.Default
	}
	return s.Name + " (" + s.Version + ")"
}
