package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/linearizability/model"
	"github.com/seed4fee1fef/raftsim/raft"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/server"
	"github.com/seed4fee1fef/raftsim/reports"
	"github.com/seed4fee1fef/raftsim/scenarios"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
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
	// explicit records flags the user set, so a scenario's own settings
	// are overridden only by what was asked for.
	explicit func(name string) bool
}

func (o *runOptions) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.Uint64Var(&o.seed, "seed", 1, "seed of the run: the same seed reproduces the same run")
	f.IntVar(&o.servers, "servers", 5, "number of Raft servers")
	f.IntVar(&o.clients, "clients", 0, "number of clients (0: 3, or 8 on a seed whose swarm draws the read-heavy workload)")
	f.DurationVar(&o.duration, "duration", 20*time.Second, "virtual time during which faults may be active")
	f.DurationVar(&o.settle, "settle", 10*time.Second, "liveness bound: time after the last fault heals to elect a leader and complete an operation")
	f.StringVar(&o.faults, "faults", "", "comma-separated fault kinds the seed may draw from (default: all)")
	f.BoolVar(&o.noFaults, "no-faults", false, "run without any fault")
	f.StringVar(&o.plant, "plant", "", "comma-separated bugs to plant on purpose (see raft/plant), to see the harness catch them")
	f.StringVar(&o.reads, "reads", "", "how gets are answered: index, lease, log or local (default: a random run's swarm draws index, lease or log; a scenario says)")
	f.BoolVar(&o.json, "json", false, "print one JSON object instead of key: value lines")
	f.StringVar(&o.out, "out", "raftsim-reports", "directory under which a failing run writes its report")
	f.BoolVar(&o.report, "report", false, "write the report even if the run passes")
	f.StringVar(&o.scenario, "scenario", "", "run a built-in scenario (see 'simrun scenarios') or a scenario file")
	f.StringVar(&o.emit, "emit-scenario", "", "write this run's generated fault schedule as a scenario file that replays it")
	o.explicit = func(name string) bool { return cmd.Flags().Changed(name) }
}

// reproArgs are the flags that determine the run, as simrun arguments:
// what a report's repro command and `simrun replay` use.
func (o *runOptions) reproArgs() []string {
	if o.scenario != "" {
		args := []string{"--scenario", o.scenario, "--seed", fmt.Sprint(o.seed)}
		if o.plant != "" {
			args = append(args, "--plant", o.plant)
		}
		if o.reads != "" {
			args = append(args, "--reads", o.reads)
		}
		return args
	}
	args := []string{"--seed", fmt.Sprint(o.seed), "--servers", fmt.Sprint(o.servers)}
	if o.clients != 0 {
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

// reportDir is where this run's report goes.
func (o *runOptions) reportDir() string {
	if o.scenario != "" {
		name := strings.TrimSuffix(filepath.Base(o.scenario), ".scn")
		return filepath.Join(o.out, fmt.Sprintf("%s-seed-%d", name, o.seed))
	}
	return filepath.Join(o.out, fmt.Sprintf("seed-%d", o.seed))
}

func (o *runOptions) options() (runner.Options, error) {
	opts := runner.Options{Seed: o.seed, Servers: o.servers, Clients: o.clients,
		FaultTime: o.duration, Settle: o.settle, NoFaults: o.noFaults}
	switch {
	case o.servers < 1:
		return opts, badInput("--servers %d: want at least 1", o.servers)
	case o.clients < 0:
		return opts, badInput("--clients %d: want 0 or more", o.clients)
	case o.duration <= 0:
		return opts, badInput("--duration %v: want a positive virtual time such as 20s", o.duration)
	case o.settle <= 0:
		return opts, badInput("--settle %v: want a positive virtual time such as 10s", o.settle)
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

func (o *runOptions) run(stdout, stderr io.Writer) error {
	opts, err := o.options()
	if err != nil {
		return err
	}
	var res *runner.Result
	var checks []scenarios.Check
	scenarioName, script := "", ""
	if o.scenario != "" {
		sc, src, err := loadScenario(o.scenario)
		if err != nil {
			return err
		}
		script = string(src)
		if isFile(o.scenario) {
			// The repro command works from any directory; the report
			// embeds the script itself for replay.
			if abs, err := filepath.Abs(o.scenario); err == nil {
				o.scenario = abs
			}
		}
		if o.explicit != nil && (o.explicit("servers") || o.explicit("clients") || o.explicit("duration") || o.explicit("faults") || o.explicit("no-faults")) {
			return badInput("--scenario sets the cluster and its faults; --servers, --clients, --duration, --faults and --no-faults go with a random run")
		}
		oc, err := scenarios.Run(sc, o.seed, func(ro *runner.Options) {
			ro.Planted |= opts.Planted
			if opts.Server.Reads != server.ReadDefault {
				ro.Server.Reads = opts.Server.Reads
			}
		})
		if err != nil {
			return badInput("scenario %s: %v", o.scenario, err)
		}
		res, checks, scenarioName = oc.Result, oc.Checks, sc.Name
	} else {
		res, err = runner.Run(opts)
		if err != nil {
			return badInput("%v", err)
		}
		if o.emit != "" && res.Schedule != nil {
			script := scenarios.FromSchedule(res.Options, *res.Schedule).Script()
			if err := reports.WriteFileAtomic(o.emit, []byte(script)); err != nil {
				return badInput("--emit-scenario: %v", err)
			}
		}
	}
	// Runs keep only their trace hash. One worth a report is run again
	// with its full trace (reportedRun checks it is the same run), and
	// what is printed comes from that run, so explanations can name the
	// events they are about.
	report := !res.Pass || o.report
	var rerunErr error
	if report {
		res, rerunErr = reportedRun(res)
	}
	out := summarize(res)
	if scenarioName != "" {
		out.keys = append([]string{"scenario"}, out.keys...)
		out.vals = append([]any{scenarioName}, out.vals...)
	}
	for _, c := range checks {
		out.add("check", c.String())
	}
	if o.emit != "" && o.scenario == "" {
		out.add("emitted-scenario", o.emit)
	}
	args := o.reproArgs()
	var reportErr error
	if rerunErr != nil {
		out.add("failure", rerunErr.Error())
	}
	if report {
		// Written before the verdict is printed, so a printed report
		// exists; a report that cannot be written loses nothing else.
		dir := o.reportDir()
		sum := reports.Summarize(res, scenarioName, args)
		sum.Script = script
		if reportErr = reports.Write(dir, res, sum); reportErr != nil {
			out.add("report", "not written: "+reportErr.Error())
		} else {
			out.add("report", dir)
		}
	}
	out.add("repro", reports.Command(args))
	if err := out.print(stdout, o.json); err != nil {
		return err
	}
	// The verdict decides the exit status: a failure is exit 1 whatever
	// became of its report; a pass whose report could not be written is
	// the --out given being unusable (exit 2). A run that did not repeat
	// when run again for its report is a failure too.
	switch {
	case !res.Pass || rerunErr != nil:
		if reportErr != nil {
			fmt.Fprintf(stderr, "simrun: %v (the run's verdict, %s, is above)\n", reportErr, res.Verdict)
		}
		return errFailed
	case reportErr != nil:
		return badInput("--out %s: %v (the run passed)", o.out, reportErr)
	}
	return nil
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

// summarize renders a result as the ordered facts simrun prints.
func summarize(res *runner.Result) *summary {
	m := res.Metrics
	out := &summary{}
	out.add("seed", res.Options.Seed)
	out.add("servers", res.Options.Servers)
	out.add("clients", res.Options.AllClients())
	if res.Options.Planted != 0 {
		out.add("planted", res.Options.Planted.String())
	}
	out.add("faults", faultLine(res.Schedule))
	out.add("events", res.Events)
	out.add("virtual-time", res.VirtualTime.Duration().String())
	out.add("ops", m.OpsCompleted)
	out.add("ops-unknown", m.OpsUnknown)
	out.add("elections", m.Elections)
	out.add("elections-started", m.ElectionsStarted)
	out.add("leader-changes", m.LeaderChanges)
	out.add("max-term", m.MaxTerm)
	out.add("term-changes-per-hour", fmt.Sprintf("%.0f", m.TermChangesPerHour))
	out.add("leaderless-time", m.LeaderlessTime.String())
	out.add("client-latency-p50", m.ClientLatencyP50.String())
	out.add("client-latency-p99", m.ClientLatencyP99.String())
	out.add("commit-latency-p50", m.CommitLatencyP50.String())
	out.add("commit-latency-p99", m.CommitLatencyP99.String())
	out.add("read-mode", readModeLine(res.Options.Server))
	out.add("read-latency-p50", m.ReadLatencyP50.String())
	out.add("read-latency-p99", m.ReadLatencyP99.String())
	out.add("reads-per-round", fmt.Sprintf("%.2f", m.ReadsPerRound))
	out.add("lease-reads", m.LeaseReads)
	out.add("transfers", fmt.Sprintf("%d (%d given up)", m.Transfers, m.TransfersAborted))
	out.add("fsync-latency-p99", m.FsyncLatencyP99.String())
	out.add("committed-entries", m.CommittedEntries)
	out.add("messages-per-entry", fmt.Sprintf("%.2f", m.MessagesPerWrite))
	out.add("bytes-per-entry", fmt.Sprintf("%.0f", m.BytesPerWrite))
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
	if len(res.StorageDamaged) > 0 {
		out.add("storage-damaged", fmt.Sprint(res.StorageDamaged))
	}
	for _, h := range res.Halted {
		out.add("halted", fmt.Sprintf("n%d: %s", h.Node, h.Err))
	}
	out.add("trace-hash", res.TraceHash)
	out.add("result", string(res.Verdict))
	for _, f := range res.Failures {
		out.add("failure", f)
	}
	for _, e := range res.Explanations {
		for _, line := range e.Text {
			out.add("explain", line)
		}
	}
	return out
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
		n = 10000
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

// summary is an ordered list of key/value pairs: the same facts for people
// (key: value lines) and for scripts (--json).
type summary struct {
	keys []string
	vals []any
}

func (s *summary) add(k string, v any) {
	s.keys = append(s.keys, k)
	s.vals = append(s.vals, v)
}

func (s *summary) print(w io.Writer, asJSON bool) error {
	if asJSON {
		return writeOrderedJSON(w, s.keys, s.vals)
	}
	for i, k := range s.keys {
		if _, err := fmt.Fprintf(w, "%s: %v\n", k, s.vals[i]); err != nil {
			return err
		}
	}
	return nil
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
