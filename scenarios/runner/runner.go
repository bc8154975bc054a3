// Package runner executes one simulated run from start to verdict: it
// builds the world and the cluster, installs the fault schedule, drives the
// client load, gives the cluster a bounded time to recover after the last
// fault heals, and runs every check. simrun, the scenario library and the
// property tests all run through here, so a run means the same thing
// everywhere.
package runner

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/linearizability/invariants"
	"github.com/seed4fee1fef/raftsim/linearizability/model"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/server"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/subject/native"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

// Options describe one run. Zero fields take defaults (see Defaults).
type Options struct {
	Seed    uint64
	Servers int
	// Voters are the initial configuration (default: every server); the
	// other servers start idle, outside it, until a membership change
	// adds them.
	Voters []int
	// Clients are unbound clients (default 3, unless ClientGroups has
	// some); ClientGroups' clients, bound to some servers, come after.
	Clients      int
	ClientGroups []cluster.ClientGroup
	Workload     client.Workload
	// Link is every link's base setting.
	Link sim.LinkConfig
	// FaultTime is how long faults may be active; the schedule heals
	// everything by then.
	FaultTime time.Duration
	// Settle is the liveness bound: after the heal, the cluster must elect
	// a leader and complete a new client operation within it.
	Settle time.Duration
	// Drain is how long clients may finish open operations after the load
	// stops, before the history is checked.
	Drain time.Duration
	// Schedule, if set, is the fault schedule; otherwise one is drawn from
	// the seed with FaultKinds enabled (all kinds if empty).
	Schedule   *faults.Schedule
	FaultKinds []faults.Kind
	// NoFaults runs without any fault schedule.
	NoFaults bool
	// Trace is how much of the trace the run keeps; the zero mode keeps
	// only the hash (see WithFullTrace for a run that turned out worth
	// reading).
	Trace sim.TraceMode
	// CheckBudget bounds the linearizability check in model steps (zero:
	// model.DefaultBudget), never in wall time, so the verdict depends on
	// the seed and the build alone; a check that runs out is "unknown",
	// never a pass.
	CheckBudget model.Budget
	// Planted bugs, for tests proving the harness catches them.
	Planted plant.Set
	// MinVoters makes the membership operator refuse a change that would
	// leave fewer voters (0: no floor; a drawn schedule defaults to 3).
	MinVoters int
	// SkipInvariants names invariants not to check (tests use it to show
	// another check catches a bug on its own); see invariants.Invariants.
	SkipInvariants []string
	// Server tuning shared by all servers (ID, Peers and hooks are set by the runner).
	Server server.Config
	// MaxEvents is the run's event budget (0: DefaultMaxEvents).
	MaxEvents uint64
	// KeepMessages keeps every server-to-server message in
	// Result.Messages (scenarios that count messages in a window need
	// them); otherwise only the totals by type are kept, since the list
	// grows with the run and was a sixth of the bytes a seed allocated.
	KeepMessages bool
	// Record keeps what only a reader of the run needs and what grows
	// with its length: the whole client history, every 50ms sample
	// (scenario expectations and a report's charts are drawn from them)
	// and who answered each operation (a failure's explanation names
	// them). Scenarios set it,
	// and a run that keeps its full trace (the one a report is written
	// from) keeps it whatever this says; other runs keep running figures
	// instead, so their memory does not grow with their length. The run,
	// its trace and its verdict are the same either way.
	Record bool

	_ struct{}
}

// Limits on one run: beyond them a run would effectively never finish,
// or fill memory first. Validate refuses options past them; MaxEvents
// stops a run that outgrows its budget anyway (many servers and clients,
// fast ticks) with a *LimitError.
const (
	MaxServers = 64
	MaxClients = 64
	// MaxRunLength bounds the virtual time of a run: FaultTime + Settle +
	// Drain (an hour of the default cluster is about 10M events).
	MaxRunLength = time.Hour
	// MinTick is the shortest server tick: Raft's timers count ticks.
	MinTick = time.Millisecond
	// DefaultMaxEvents is the event budget when Options.MaxEvents is 0:
	// about 1.6 GB of kept trace.
	DefaultMaxEvents = 20_000_000
)

// Defaults fills zero fields.
func (o *Options) Defaults() {
	if o.Server.Subject.Open == nil {
		o.Server.Subject = native.Subject()
	}
	if o.Servers == 0 {
		o.Servers = 5
	}
	if o.Clients == 0 && len(o.ClientGroups) == 0 {
		o.Clients = 3
	}
	if o.Workload == (client.Workload{}) {
		o.Workload = client.DefaultWorkload()
	}
	if o.Server.Reads == server.ReadDefault {
		o.Server.Reads = server.ReadIndex
	}
	if o.Link == (sim.LinkConfig{}) {
		o.Link = sim.LinkConfig{MinLatency: time.Millisecond, MaxLatency: 5 * time.Millisecond}
	}
	if o.FaultTime == 0 {
		o.FaultTime = 20 * time.Second
	}
	if o.Settle == 0 {
		o.Settle = 10 * time.Second
	}
	if o.Drain == 0 {
		o.Drain = 3 * time.Second
	}
	if o.CheckBudget == (model.Budget{}) {
		o.CheckBudget = model.DefaultBudget()
	}
	if o.MaxEvents == 0 {
		o.MaxEvents = DefaultMaxEvents
	}
}

// Validate names the first nonsensical option.
func (o *Options) Validate() error {
	if err := plant.Check(o.Planted); err != nil {
		return err
	}
	switch {
	case o.Servers < 1:
		return fmt.Errorf("servers = %d, want at least 1", o.Servers)
	case o.Servers > MaxServers:
		return fmt.Errorf("servers = %d, want at most %d", o.Servers, MaxServers)
	case o.Clients < 0:
		return fmt.Errorf("clients = %d, want 0 or more", o.Clients)
	case o.AllClients() > MaxClients:
		return fmt.Errorf("clients = %d, want at most %d", o.AllClients(), MaxClients)
	case o.FaultTime < 0 || o.Settle < 0 || o.Drain < 0:
		return fmt.Errorf("negative phase length (faults %v, settle %v, drain %v)", o.FaultTime, o.Settle, o.Drain)
	case o.Server.TickInterval != 0 && o.Server.TickInterval < MinTick:
		return fmt.Errorf("server tick %v, want at least %v", o.Server.TickInterval, MinTick)
	}
	if total := addSat(addSat(o.FaultTime, o.Settle), o.Drain); total > MaxRunLength {
		return fmt.Errorf("the run would last %v (faults %v + settle %v + drain %v), want at most %v of virtual time",
			total, o.FaultTime, o.Settle, o.Drain, MaxRunLength)
	}
	if err := o.Link.Validate(); err != nil {
		return err
	}
	if o.AllClients() > 0 {
		if err := o.Workload.Validate(); err != nil {
			return err
		}
	}
	for i, g := range o.ClientGroups {
		if err := g.Validate(o.Servers); err != nil {
			return fmt.Errorf("client group %d: %w", i+1, err)
		}
	}
	return nil
}

// AllClients is the number of clients, unbound and bound.
func (o *Options) AllClients() int {
	return cluster.Config{Clients: o.Clients, Groups: o.ClientGroups}.AllClients()
}

// addSat adds two non-negative durations, saturating instead of wrapping.
func addSat(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// LimitError is a run stopped because it outgrew its event budget
// (Options.MaxEvents): what it asked for is more than a run can do.
type LimitError struct {
	Max    uint64
	Events uint64
	At     sim.Time
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("run too large: more than %d events by virtual time %v (%d so far); shorten the run or use fewer servers or clients",
		e.Max, e.At, e.Events)
}

// Run executes one run. An error means the options were unusable; a run
// that found a problem returns a Result whose verdicts say so.
func Run(opts Options) (*Result, error) {
	swarm := opts.Schedule == nil && !opts.NoFaults
	var notes []string
	if swarm {
		SwarmServer(opts.Seed, &opts.Server)
		// Before the defaults: the swarm fills what opts leave unset.
		SwarmLoad(opts.Seed, &opts, opts.FaultKinds)
		if note := SwarmReads(opts.Seed, &opts); note != "" {
			notes = append(notes, note)
		}
	}
	opts.Defaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	w, err := sim.New(sim.Config{Seed: opts.Seed, Nodes: opts.Servers + opts.AllClients(), Link: opts.Link, Trace: opts.Trace})
	if err != nil {
		return nil, err
	}
	// The schedule is drawn before the servers start (from its own named
	// stream, so the order of draws changes nothing), so that a swarm
	// lease can be sized to the clock drift it holds.
	sched := opts.Schedule
	if swarm {
		opts.MinVoters = SwarmMinVoters(opts.Servers, opts.MinVoters)
		kinds := opts.FaultKinds
		if len(kinds) == 0 {
			var note string
			if kinds, note = SubjectKinds(opts.Server.Subject, DefaultKinds(opts.Servers)); note != "" {
				notes = append(notes, note)
			}
		}
		election := opts.Server.ElectionTimeout()
		s := faults.Generate(w.Rand("schedule"), SwarmGenOptions(opts.Seed, faults.GenOptions{
			Servers: opts.Servers, Duration: opts.FaultTime, Kinds: kinds, Voters: opts.Voters, Election: election}))
		s.Faults = MergeFaults(s.Faults, SwarmTransfers(opts.Seed, opts.Servers, opts.FaultTime, election))
		s.Faults = MergeFaults(s.Faults, SwarmFaults(opts.Seed, opts.Servers, opts.FaultTime, election, kinds))
		FitLease(&opts.Server, s)
		sched = &s
	}
	record := opts.Record || opts.Trace == sim.TraceFull
	res := &Result{Options: opts, World: w, SubjectNotes: notes}
	m := newMetrics(w, opts.Servers)
	m.peek = opts.Server.Subject.Peek
	// The invariant checker watches every event and stops the world at the
	// first violation, so the trace ends where things went wrong.
	ck := invariants.New(invariants.Options{StopWorld: true, Skip: opts.SkipInvariants, ApplyConfChange: opts.Server.Subject.ApplyConfChange})
	scfg := opts.Server
	scfg.Planted = opts.Planted
	scfg.OnApply = ck.OnApply
	scfg.OnSnapshot = func(id uint64, ev server.SnapshotEvent, snap *raftpb.Snapshot) {
		kind := invariants.SnapshotTaken
		switch ev {
		case server.SnapshotInstalled:
			kind = invariants.SnapshotInstalled
		case server.SnapshotRestored:
			kind = invariants.SnapshotRestored
		}
		ck.OnSnapshot(id, kind, snap.Metadata, snap.Data)
		if ev != server.SnapshotRestored {
			m.snapshot(id, ev == server.SnapshotInstalled)
		}
	}
	chron := newChronicle(w, opts.Servers, record)
	wt := newWatch(w, &opts, sched)
	res.watch = wt
	scfg.OnRole = func(id uint64, role subject.Role, lead, term uint64) {
		m.role(id, role, term)
		chron.role(id, role, lead, term)
		wt.role(id, role, term)
	}
	scfg.OnPropose = func(id, index uint64) {
		m.propose(id, index)
		wt.propose(id, index)
	}
	scfg.OnCommit, scfg.OnCounters, scfg.OnRead = m.commit, func(_ uint64, d subject.Counters) { m.count(d) }, wt.read
	w.OnDisk(m.disk)
	// Installed before the servers start, so their first start is seen;
	// it runs before the checker's hook.
	storage := newStorageWatch(opts.Servers)
	tr := &traffic{servers: sim.NodeID(opts.Servers), keep: opts.KeepMessages}
	w.Trace().OnEvent = func(e *sim.Event) {
		tr.onEvent(e)
		storage.onEvent(e)
		chron.event(e)
	}
	c, err := cluster.New(w, cluster.Config{Servers: opts.Servers, Voters: opts.Voters, Clients: opts.Clients, Groups: opts.ClientGroups,
		Workload: opts.Workload, Server: scfg, OnSend: func(from, to uint64, msg []byte) {
			m.sent(msg)
			chron.sent(from, to, msg)
		}})
	if err != nil {
		return nil, err
	}
	res.Cluster, res.Chronicle, chron.c, wt.c = c, chron, c, c
	ck.Install(c)
	// The history hands each operation on as it finishes: to the latency
	// metrics, and without Record to the online linearizability check,
	// after which it forgets the operation.
	var online *model.Online
	if !record {
		online = model.NewOnline(opts.CheckBudget)
		c.History.Forget()
	}
	c.History.Watch(func(i int, op *history.Operation, done bool) {
		if done {
			m.finished(op)
		}
		switch {
		case online == nil:
		case done:
			online.Finished(i, op)
		default:
			online.Called(i, op)
		}
	})
	smp := startSampler(w, c, opts.MaxEvents, record)
	if !record {
		// The term-stable check is judged on every sample; without them
		// kept, on each as it is taken (what it reads of the run so far
		// is what it would read at the end).
		res.calmWatch = &calmWatch{}
		smp.onSample = func(s Sample) {
			res.VirtualTime = w.Now()
			res.calmWatch.sample(res, s)
		}
	}

	c.SetMinVoters(res.Options.MinVoters)
	healAt := sim.Time(0)
	if sched != nil {
		if err := sched.Install(observed{damageTarget{c, storage}, chron}); err != nil {
			return nil, err
		}
		healAt = sim.Time(sched.HealAt)
		res.Schedule = sched
	}
	if healAt < sim.Time(opts.FaultTime) {
		healAt = sim.Time(opts.FaultTime)
	}

	c.StartLoad()
	w.RunUntil(healAt)
	res.HealedAt = healAt
	if stopped, _ := w.Stopped(); !stopped {
		res.Liveness = checkLiveness(w, c, healAt, opts.Settle, opts.AllClients() > 0)
		c.StopLoad()
		w.RunFor(opts.Drain)
	} else {
		res.Liveness = Liveness{Skipped: true}
	}

	if smp.overBudget {
		return nil, &LimitError{Max: opts.MaxEvents, Events: w.Trace().Len(), At: w.Now()}
	}
	res.Invariant = ck.Violation()
	res.InvariantChecks = ck.Stats().Checks
	if online == nil {
		res.Linearizability = model.Check(c.History.Operations(), opts.CheckBudget)
	} else if lin, ok := online.Result(); ok {
		res.Linearizability = lin
	} else {
		// The online check cannot tell (a value after one of its cuts
		// showed a write behind it: stale reads do that): the same run
		// again, keeping its history, is checked whole.
		return recheck(res, online.Why())
	}
	res.Metrics = m.finish(c)
	res.Metrics.ReadMode = opts.Server.Reads.String()
	res.Samples = smp.samples
	res.Metrics.LogEntriesMax, res.Metrics.LogBytesMax = smp.logEntriesMax, smp.logBytesMax
	res.SnapshotsInstalled = m.installed
	res.StorageDamaged, res.StorageHit, res.StorageRecovered, res.FalseDamage, res.BeyondModel = storage.finish(w)
	res.Messages = tr.messages
	res.Metrics.Traffic = tr.byType()
	res.Halted = haltedServers(w, c)
	if cfg, ok := c.Config(); ok {
		res.FinalConfig = cluster.DescribeConfig(cfg)
		for _, id := range cfg.Voters.IDs() {
			res.FinalVoters = append(res.FinalVoters, int(id))
		}
	}
	res.TraceHash, res.Events, res.VirtualTime = w.Trace().Hash(), w.Trace().Len(), w.Now()
	chron.End = w.Now()
	res.Metrics.LeaderlessTime = chron.Leaderless(chron.End)
	res.CheckFailures = alwaysOn(res)
	res.decide()
	res.Explanations = explain(res)
	return res, nil
}

// SwarmServer is the swarm's share of the server configuration of a run
// whose faults are drawn from seed: on about one seed in three whose
// snapshot policy is not set, a small random policy, so soaks take, send,
// install and restart from snapshots under every fault; and on three in four
// seeds whose timing is not set, the fast timing (SwarmFastTiming). It
// draws from named streams of its own, so a seed's fault schedule does
// not depend on it; a scenario with random-faults draws it the same way.
func SwarmServer(seed uint64, s *server.Config) {
	if fast := sim.NewRand(seed, "swarm-timing").Chance(0.75); fast && s.TickInterval == 0 && s.ElectionTicks == 0 && s.HeartbeatTicks == 0 {
		s.TickInterval, s.ElectionTicks, s.HeartbeatTicks = SwarmFastTiming()
	}
	r := sim.NewRand(seed, "swarm-config")
	if s.SnapshotEntries != 0 || s.SnapshotRatio != 0 || s.TrailingEntries != 0 || !r.Chance(1.0/3) {
		return
	}
	s.SnapshotEntries = int(r.Int64Range(5, 200))
	s.TrailingEntries = int(r.Int64Range(0, 50))
	if s.TrailingEntries == 0 {
		s.TrailingEntries = -1
	}
	s.SnapshotRatio = -1 // no size condition
	if r.Chance(0.5) {
		s.SnapshotRatio = float64(r.Int64Range(1, 10))
	}
}

// SwarmFastTiming is the timing the swarm runs three seeds in four at: a
// 20ms tick, a heartbeat every tick, an election timeout of five ticks
// (100ms). The defaults (a 50ms heartbeat, a 500ms election timeout)
// keep an idle cluster within the MIT lab's RPC bounds, and the other
// quarter of the seeds runs them; a fast LAN runs this one, and it elects
// five times as often in a simulated second, which is what finds the bugs
// elections expose (the swarm's shapes are timed by the election
// timeout). A 20ms tick rather than 10ms halves the tick events for the
// same heartbeat and election timeout. Correctness may depend on neither.
func SwarmFastTiming() (tick time.Duration, electionTicks, heartbeatTicks int) {
	return 20 * time.Millisecond, 5, 1
}

// observed is the cluster as the fault schedule's target, with the
// storage watch listening for damage and the chronicle to every fault's
// begin and end.
type observed struct {
	damageTarget
	ch *Chronicle
}

func (o observed) FaultBegan(i int, f faults.Fault, desc string) { o.ch.FaultBegan(i, f, desc) }
func (o observed) FaultEnded(i int, f faults.Fault)              { o.ch.FaultEnded(i, f) }

// SwarmMinVoters is the operator's floor for a run whose faults are
// drawn: membership changes never leave fewer voters than its storage
// faults and kills are sized for (three, on four servers or more), unless
// the options set one.
func SwarmMinVoters(servers, set int) int {
	if set == 0 && servers >= 4 {
		return 3
	}
	return set
}

// recheck runs res's run again with Options.Record, so its whole history
// is kept and checked: for a run whose online check could not tell its
// result (why). Determinism makes it the same run; recheck makes sure
// (same trace hash and events) and says so in Result.WholeHistory.
func recheck(res *Result, why string) (*Result, error) {
	opts := res.Options
	opts.Record = true
	again, err := Run(opts)
	if err != nil {
		return nil, fmt.Errorf("re-running seed %d to check its whole history: %w", opts.Seed, err)
	}
	if again.TraceHash != res.World.Trace().Hash() || again.Events != res.World.Trace().Len() {
		return nil, fmt.Errorf("seed %d is not deterministic: re-run to check its whole history gave trace hash %s after %d events, the run %s after %d",
			opts.Seed, again.TraceHash, again.Events, res.World.Trace().Hash(), res.World.Trace().Len())
	}
	again.Options.Record = res.Options.Record
	again.WholeHistory = why
	return again, nil
}

// WithFullTrace returns a result of the same run with its full trace kept:
// res itself if it kept it, else the run of res.Options again with
// TraceFull. Determinism makes the second run the same run; WithFullTrace
// checks that it is (same trace hash, events, verdict and failures) and
// returns an error naming the difference if not, so a report never shows
// a different run than the one that was judged. A scenario's judgement
// (Judge) carries over.
func WithFullTrace(res *Result) (*Result, error) {
	if res.World != nil && res.World.Trace().Kept() {
		return res, nil
	}
	opts := res.Options
	opts.Trace = sim.TraceFull
	full, err := Run(opts)
	if err != nil {
		return nil, fmt.Errorf("re-running seed %d with the full trace: %w", opts.Seed, err)
	}
	full.Judge(res.ExpectationFailures, res.Expected)
	switch {
	case full.TraceHash != res.TraceHash || full.Events != res.Events:
		return nil, fmt.Errorf("seed %d is not deterministic: re-run with the full trace gave trace hash %s after %d events, the run gave %s after %d",
			opts.Seed, full.TraceHash, full.Events, res.TraceHash, res.Events)
	case full.Verdict != res.Verdict || !slices.Equal(full.Failures, res.Failures):
		return nil, fmt.Errorf("seed %d: re-run with the full trace has the same trace hash %s but verdict %s %q, the run had %s %q",
			opts.Seed, res.TraceHash, full.Verdict, full.Failures, res.Verdict, res.Failures)
	}
	return full, nil
}

// DefaultKinds are the fault kinds a seed draws from when none are named:
// every kind Raft must tolerate on n servers, storage damage included (on
// a minority, one node at a time: a node whose WAL is shorter or damaged
// compared with its durable high-water mark rejoins recovering, with no
// votes and no quorum acks until caught up).
func DefaultKinds(n int) []faults.Kind { return faults.DefaultKinds(n) }

// checkLiveness runs the settle phase: the cluster must have a leader and
// complete an operation called after the heal, within settle.
func checkLiveness(w *sim.World, c *cluster.Cluster, healAt sim.Time, settle time.Duration, withClients bool) Liveness {
	deadline := healAt.Add(settle)
	for w.Now() < deadline {
		if stopped, _ := w.Stopped(); stopped {
			return Liveness{Skipped: true}
		}
		// Look every sampling period, and at the deadline itself: a
		// settle shorter than the period is judged at its bound.
		w.RunFor(min(SampleEvery, deadline.Sub(w.Now())))
		id, _ := c.Leader()
		if id == 0 {
			continue
		}
		if !withClients || completedSince(c, healAt) {
			return Liveness{OK: true, RecoveredAfter: w.Now().Sub(healAt)}
		}
	}
	return Liveness{OK: false, RecoveredAfter: settle}
}

func completedSince(c *cluster.Cluster, t sim.Time) bool { return c.History.CompletedSince(int64(t)) }

// haltedServers lists servers that stopped themselves (or refused to
// start) with an error: a node that cannot trust its disk says so rather
// than running on bad data, and the run reports it.
func haltedServers(w *sim.World, c *cluster.Cluster) []Halt {
	var out []Halt
	for id := 1; id <= c.Servers(); id++ {
		if !w.Up(sim.NodeID(id)) {
			if err := w.StartError(sim.NodeID(id)); err != nil {
				out = append(out, Halt{Node: id, Err: err.Error()})
			}
		}
	}
	return out
}
