package scenarios

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/server"
	"github.com/seed4fee1fef/raftsim/raft/subject/subjects"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// Scenario is one parsed script: the cluster, the workload, the faults
// and what the run is expected to show. Zero fields take the runner's
// defaults (runner.Options.Defaults), so Script writes back only what the
// script set.
type Scenario struct {
	// Name is the file's base name without ".scn".
	Name string
	// Description is the one-line describe text.
	Description string
	// Catches names the planted bugs the scenario exists to catch: with
	// any one of them planted, the scenario must fail.
	Catches []plant.Bug

	Servers, Clients int
	// Voters is the initial configuration (voters n1,n2,n3); empty means
	// every server. The other servers start idle, outside it. MinVoters
	// is the operator's floor (min-voters 3): it refuses membership
	// commands that would leave fewer voters.
	Voters    []int
	MinVoters int
	// ClientGroups are clients bound to some servers ("clients N on
	// NODES [from T] [until T]"), after the Clients unbound ones.
	ClientGroups []cluster.ClientGroup
	// Workload is zero (the default) or complete: a script that sets any
	// of keys, mix, think and value-size starts from client.DefaultWorkload.
	Workload client.Workload
	// Reads is how gets are answered (reads index|lease|log|local); zero:
	// the runner's default (index), or the swarm's draw with random-faults.
	Reads server.ReadMode
	// Link is zero (the default) or complete: a link line starts from the
	// default link (1ms..5ms, no loss, duplication or reordering).
	Link   sim.LinkConfig
	Server ServerTuning
	// FaultTime is faults-until: the schedule heals everything then, and
	// the liveness bound (Settle) starts.
	FaultTime, Settle, Drain time.Duration
	// NoHeal: no global heal at FaultTime; each fault ends at its own
	// until, which may be past it (a majority that stays dead).
	NoHeal bool
	// Planted bugs (for tests of the harness itself).
	Planted plant.Set
	// Subject names the Raft implementation under test (subject NAME);
	// empty: raftsim's own (subjects.Default).
	Subject string
	// Requires names the optional mechanisms (subject.Mechanisms) the
	// scenario tests (requires recovery,...): a subject without one of
	// them skips it, saying why. Planting a bug of the Raft layer requires
	// "plants" without saying so.
	Requires []string

	// Faults are the explicit fault lines, in script order (At never
	// decreases).
	Faults []faults.Fault
	// Random, if set, adds a schedule drawn from the seed.
	Random *RandomFaults

	// Expect lists the expectations in script order. Linearizability, the
	// Raft invariants and liveness are judged whatever the list says (see
	// Run); an empty list means exactly those.
	Expect []Expectation

	_ struct{}
}

// ServerTuning is the Raft server configuration a script may set (zero:
// the server's default).
type ServerTuning struct {
	TickInterval    time.Duration // server tick 10ms
	ElectionTicks   int           // server election-ticks 10
	HeartbeatTicks  int           // server heartbeat-ticks 2
	MaxSizePerMsg   uint64        // server max-size-per-msg 65536
	MaxInflightMsgs int           // server max-inflight 64
	// The snapshot policy; -1 is what the script writes as 0 (never
	// snapshot, no size condition, no trailing entries).
	SnapshotEntries int     // server snapshot-entries 1000
	SnapshotRatio   float64 // server snapshot-ratio 10
	TrailingEntries int     // server trailing-entries 1000
	// MaxDriftPPM bounds clock drift for lease reads; -1 is what the
	// script writes as 0 (the zero value leaves a random-faults swarm to
	// size it to its drift faults).
	MaxDriftPPM int64 // server max-drift 0
}

// RandomFaults is a random-faults line: a swarm schedule drawn from the
// seed (faults.Generate over the fault phase), merged with the explicit
// fault lines.
type RandomFaults struct {
	// Kinds the seed may enable; empty means runner.DefaultKinds.
	Kinds []faults.Kind
	// MeanGap between fault starts; zero means drawn per seed.
	MeanGap time.Duration
}

// effective returns the runner options with every default filled in, for
// the checks that need the real cluster size and phase lengths.
func (s *Scenario) effective() runner.Options {
	o := s.baseOptions(0)
	o.Defaults()
	return o
}

func (s *Scenario) baseOptions(seed uint64) runner.Options {
	o := runner.Options{Seed: seed, Servers: s.Servers, Voters: slices.Clone(s.Voters), MinVoters: s.MinVoters, Clients: s.Clients, ClientGroups: cloneGroups(s.ClientGroups), Workload: s.Workload,
		Link: s.Link, FaultTime: s.FaultTime, Settle: s.Settle, Drain: s.Drain, Planted: s.Planted}
	o.Server.TickInterval = s.Server.TickInterval
	o.Server.ElectionTicks = s.Server.ElectionTicks
	o.Server.HeartbeatTicks = s.Server.HeartbeatTicks
	o.Server.MaxSizePerMsg = s.Server.MaxSizePerMsg
	o.Server.MaxInflightMsgs = s.Server.MaxInflightMsgs
	o.Server.SnapshotEntries = s.Server.SnapshotEntries
	o.Server.SnapshotRatio = s.Server.SnapshotRatio
	o.Server.TrailingEntries = s.Server.TrailingEntries
	o.KeepMessages = s.countsMessages()
	o.Record = true // expectations are judged on the samples
	o.Server.Reads = s.Reads
	o.Server.MaxDriftPPM = s.Server.MaxDriftPPM
	if sub, err := subjects.ByName(s.Subject); err == nil { // Parse accepts only known names
		o.Server.Subject = sub
	}
	return o
}

// Options are the runner options for one run of s with seed. The fault
// schedule is always explicit (possibly empty): a random-faults line is
// drawn here, from the same named stream ("schedule") and with the same
// options the runner itself would use, so a scenario with only
// random-faults runs exactly as runner.Run would with FaultKinds.
func (s *Scenario) Options(seed uint64) runner.Options {
	o := s.baseOptions(seed)
	if s.Random != nil {
		runner.SwarmServer(seed, &o.Server)
		o.MinVoters = runner.SwarmMinVoters(o.Servers, o.MinVoters)
		runner.SwarmLoad(seed, &o, s.Random.Kinds)
		runner.SwarmReads(seed, &o)
	}
	sched := s.Schedule(seed)
	if s.Random != nil {
		runner.FitLease(&o.Server, sched)
	}
	o.Schedule = &sched
	return o
}

// SubjectNotes say what a run of s with seed leaves out of its random
// faults and reads because the subject lacks what they need.
func (s *Scenario) SubjectNotes(seed uint64) []string {
	if s.Random == nil {
		return nil
	}
	var notes []string
	o := s.baseOptions(seed)
	if note := runner.SwarmReads(seed, &o); note != "" {
		notes = append(notes, note)
	}
	if len(s.Random.Kinds) == 0 {
		eff := s.effective()
		if _, note := runner.SubjectKinds(eff.Server.Subject, runner.DefaultKinds(eff.Servers)); note != "" {
			notes = append(notes, note)
		}
	}
	return notes
}

// Schedule is the fault schedule of one run with seed.
func (s *Scenario) Schedule(seed uint64) faults.Schedule {
	eff := s.effective()
	sched := faults.Schedule{HealAt: eff.FaultTime, End: eff.FaultTime + eff.Settle + eff.Drain}
	if s.NoHeal {
		sched.HealAt, sched.End = 0, 0
	}
	var fs []faults.Fault
	if r := s.Random; r != nil {
		kinds := r.Kinds
		if len(kinds) == 0 {
			kinds, _ = runner.SubjectKinds(eff.Server.Subject, runner.DefaultKinds(eff.Servers))
		}
		runner.SwarmServer(seed, &eff.Server) // the timing the run draws (Options)
		election := eff.Server.ElectionTimeout()
		g := faults.Generate(sim.NewRand(seed, "schedule"), runner.SwarmGenOptions(seed, faults.GenOptions{
			Servers: eff.Servers, Duration: eff.FaultTime, Kinds: kinds, MeanGap: r.MeanGap, Voters: s.Voters, Election: election}))
		fs = runner.MergeFaults(g.Faults, runner.SwarmTransfers(seed, eff.Servers, eff.FaultTime, election))
		fs = runner.MergeFaults(fs, runner.SwarmFaults(seed, eff.Servers, eff.FaultTime, election, kinds))
		sched.Swarm = g.Swarm
	}
	for _, f := range s.Faults {
		fs = append(fs, cloneFault(f))
	}
	// Generated faults come first at equal start times; both lists are
	// already in start order.
	slices.SortStableFunc(fs, func(a, b faults.Fault) int { return compareDur(a.At, b.At) })
	sched.Faults = fs
	return sched
}

func compareDur(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cloneFault(f faults.Fault) faults.Fault {
	f.Nodes = slices.Clone(f.Nodes)
	if f.Groups != nil {
		gs := make([][]int, len(f.Groups))
		for i, g := range f.Groups {
			gs[i] = slices.Clone(g)
		}
		f.Groups = gs
	}
	return f
}

// FromSchedule is the scenario that replays a run: opts (as the runner
// used them, defaults filled in or not) and the schedule it ran
// (runner.Result.Schedule). Every option a script can say is written out
// explicitly, so the replay does not depend on defaults that may change;
// running the result with opts.Seed reproduces the run's trace hash.
//
// What a script cannot say is dropped: the WAL options in opts.Server,
// Trace and CheckBudget (not part of the run's behaviour). A schedule
// that heals (HealAt, or End when HealAt is zero) before opts.FaultTime
// is written with faults-until at opts.FaultTime; the runner's generated
// schedules always heal exactly then.
func FromSchedule(opts runner.Options, sched faults.Schedule) *Scenario {
	o := opts
	o.Defaults()
	s := &Scenario{
		Name:        fmt.Sprintf("seed-%d", o.Seed),
		Description: fmt.Sprintf("replay of seed %d (%d faults)", o.Seed, len(sched.Faults)),
		Servers:     o.Servers, Voters: slices.Clone(o.Voters), MinVoters: o.MinVoters, Clients: o.Clients, ClientGroups: cloneGroups(o.ClientGroups), Workload: o.Workload, Link: o.Link,
		Reads:     o.Server.Reads,
		FaultTime: o.FaultTime, Settle: o.Settle, Drain: o.Drain, Planted: o.Planted,
		// The timing and the snapshot interval are written even where
		// they are the defaults: a replay (a shrunk regression script)
		// must not change when a default does.
		Subject: subjectName(o.Server.Subject.Name),
		Server: ServerTuning{TickInterval: cmpOr(o.Server.TickInterval, server.DefaultTickInterval),
			ElectionTicks:  cmpOr(o.Server.ElectionTicks, server.DefaultElectionTicks),
			HeartbeatTicks: cmpOr(o.Server.HeartbeatTicks, server.DefaultHeartbeatTicks), MaxSizePerMsg: o.Server.MaxSizePerMsg,
			MaxInflightMsgs: o.Server.MaxInflightMsgs, SnapshotEntries: cmpOr(o.Server.SnapshotEntries, server.DefaultSnapshotEntries),
			SnapshotRatio: o.Server.SnapshotRatio, TrailingEntries: o.Server.TrailingEntries,
			MaxDriftPPM: o.Server.MaxDriftPPM},
	}
	if sw := sched.Swarm; sw != nil && len(sw.Kinds) > 0 {
		names := make([]string, len(sw.Kinds))
		for i, k := range sw.Kinds {
			names[i] = string(k.Kind)
		}
		s.Description = fmt.Sprintf("replay of seed %d (%d faults; swarm: %s)", o.Seed, len(sched.Faults), strings.Join(names, ", "))
	}
	heal := sched.HealAt
	if heal == 0 {
		heal = sched.End
	}
	switch {
	case heal == 0:
		s.NoHeal = true
	case heal > s.FaultTime:
		s.FaultTime = heal
	}
	for _, f := range sched.Faults {
		s.Faults = append(s.Faults, cloneFault(f))
	}
	slices.SortStableFunc(s.Faults, func(a, b faults.Fault) int { return compareDur(a.At, b.At) })
	return s
}

// subjectName is how a script names a subject: nothing for the default.
func subjectName(name string) string {
	if name == subjects.Default {
		return ""
	}
	return name
}

// Script renders s in the scenario language; Parse reads it back to an
// equal Scenario (Name aside, which comes from the file name).
func (s *Scenario) Script() string {
	var b strings.Builder
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	if s.Description != "" {
		line("describe %s", s.Description)
	}
	if s.Subject != "" {
		line("subject %s", s.Subject)
	}
	if len(s.Requires) > 0 {
		line("requires %s", strings.Join(s.Requires, ","))
	}
	if len(s.Catches) > 0 {
		names := make([]string, len(s.Catches))
		for i, c := range s.Catches {
			names[i] = c.String()
		}
		line("catches %s", strings.Join(names, ","))
	}
	if s.Servers != 0 {
		line("servers %d", s.Servers)
	}
	if s.MinVoters > 0 {
		line("min-voters %d", s.MinVoters)
	}
	if len(s.Voters) > 0 {
		names := make([]string, len(s.Voters))
		for i, id := range s.Voters {
			names[i] = "n" + strconv.Itoa(id)
		}
		line("voters %s", strings.Join(names, ","))
	}
	if s.Clients != 0 {
		line("clients %d", s.Clients)
	}
	for _, g := range s.ClientGroups {
		l := fmt.Sprintf("clients %d on %s", g.Count, targetList(g.Servers))
		if g.From != 0 {
			l += " from " + g.From.String()
		}
		if g.Until != 0 {
			l += " until " + g.Until.String()
		}
		if m := g.Mix; !m.IsZero() {
			var ws []string
			for _, w := range []struct {
				name string
				n    int
			}{{"put", m.Put}, {"get", m.Get}, {"append", m.Append}, {"cas", m.CAS}} {
				if w.n != 0 {
					ws = append(ws, fmt.Sprintf("%s=%d", w.name, w.n))
				}
			}
			l += " mix " + strings.Join(ws, " ")
		}
		line("%s", l)
	}
	if w := s.Workload; w != (client.Workload{}) {
		line("keys %d", w.Keys)
		line("mix put=%d get=%d append=%d cas=%d", w.Put, w.Get, w.Append, w.CAS)
		line("think %v", w.Think)
		switch {
		case w.ValueMax == 0:
		case w.ValueMin == w.ValueMax:
			line("value-size %d", w.ValueMax)
		default:
			line("value-size %d..%d", w.ValueMin, w.ValueMax)
		}
	}
	if s.Reads != server.ReadDefault {
		line("reads %s", s.Reads)
	}
	if l := s.Link; l != (sim.LinkConfig{}) {
		lat := l.MinLatency.String()
		if l.MaxLatency != l.MinLatency {
			lat += ".." + l.MaxLatency.String()
		}
		line("link latency %s loss %s duplicate %s reorder %s", lat, fmtFloat(l.Loss), fmtFloat(l.Duplicate), fmtFloat(l.Reorder))
	}
	if st := s.Server; st != (ServerTuning{}) {
		var parts []string
		if st.TickInterval != 0 {
			parts = append(parts, "tick "+st.TickInterval.String())
		}
		if st.ElectionTicks != 0 {
			parts = append(parts, "election-ticks "+strconv.Itoa(st.ElectionTicks))
		}
		if st.HeartbeatTicks != 0 {
			parts = append(parts, "heartbeat-ticks "+strconv.Itoa(st.HeartbeatTicks))
		}
		if st.MaxSizePerMsg != 0 {
			parts = append(parts, "max-size-per-msg "+strconv.FormatUint(st.MaxSizePerMsg, 10))
		}
		if st.MaxInflightMsgs != 0 {
			parts = append(parts, "max-inflight "+strconv.Itoa(st.MaxInflightMsgs))
		}
		if st.SnapshotEntries != 0 {
			parts = append(parts, "snapshot-entries "+strconv.Itoa(max(st.SnapshotEntries, 0)))
		}
		if st.SnapshotRatio != 0 {
			parts = append(parts, "snapshot-ratio "+fmtFloat(max(st.SnapshotRatio, 0)))
		}
		if st.TrailingEntries != 0 {
			parts = append(parts, "trailing-entries "+strconv.Itoa(max(st.TrailingEntries, 0)))
		}
		if st.MaxDriftPPM != 0 {
			parts = append(parts, "max-drift "+strconv.FormatInt(max(st.MaxDriftPPM, 0), 10))
		}
		line("server %s", strings.Join(parts, " "))
	}
	if s.FaultTime != 0 {
		line("faults-until %v", s.FaultTime)
	}
	if s.Settle != 0 {
		line("settle %v", s.Settle)
	}
	if s.Drain != 0 {
		line("drain %v", s.Drain)
	}
	if s.NoHeal {
		line("no-heal")
	}
	if s.Planted != 0 {
		line("plant %s", s.Planted)
	}
	if r := s.Random; r != nil {
		l := "random-faults"
		if len(r.Kinds) > 0 {
			ks := make([]string, len(r.Kinds))
			for i, k := range r.Kinds {
				ks[i] = string(k)
			}
			l += " kinds=" + strings.Join(ks, ",")
		}
		if r.MeanGap != 0 {
			l += " mean-gap=" + r.MeanGap.String()
		}
		line("%s", l)
	}
	for _, f := range s.Faults {
		line("%s", f)
	}
	for _, e := range s.Expect {
		line("%s", e)
	}
	return b.String()
}

// targetList renders servers or leader-relative references: "n1,n2",
// "leader,leader+1".
func targetList(ids []int) string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = faults.RefName(id)
	}
	return strings.Join(names, ",")
}

func cloneGroups(gs []cluster.ClientGroup) []cluster.ClientGroup {
	if gs == nil {
		return nil
	}
	out := make([]cluster.ClientGroup, len(gs))
	for i, g := range gs {
		g.Servers = slices.Clone(g.Servers)
		out[i] = g
	}
	return out
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// countsMessages says whether an expectation counts messages in a window
// (the run must then keep each one).
func (s *Scenario) countsMessages() bool {
	for _, e := range s.Expect {
		switch e.Kind {
		case ExpectMessages, ExpectRPCs, ExpectBytes:
			return true
		}
	}
	return false
}
