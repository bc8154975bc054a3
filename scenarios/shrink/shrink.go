// Package shrink cuts a failing run down to a short scenario script that
// still fails the same way: it removes faults, shortens their windows,
// merges two faults of a kind into one, cuts the run short and reduces
// clients, keys and servers, rerunning every candidate and keeping it
// only if it fails with the same signature (runner.Result.Signature).
// Once nothing helps on the run's own seed, a fault dropped or a pair
// merged may be kept if it fails so on one of the next seeds, which the
// script then goes with. What it returns is a script a person can read
// and a test can keep: `simrun --scenario FILE --seed N` reproduces the
// failure (N is Result.Seed).
//
// It runs simulations one after another and reads the wall clock only
// for its time budget; it lives above the simulator and never changes
// what a run does.
package shrink

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/reports"
	"github.com/seed4fee1fef/raftsim/scenarios"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// Options bound a shrink.
type Options struct {
	// Budget is the wall time it may take (0: until no step helps),
	// measured on Now, which the caller supplies: this package runs
	// simulations and never reads the wall clock itself (the command
	// line passes time.Now; a budget without a clock is refused).
	Budget time.Duration
	Now    func() time.Time
	// MaxRuns bounds the candidates run (0: no bound): a budget that does
	// not depend on the machine.
	MaxRuns int

	_ struct{}
}

// Result is a shrunk failure.
type Result struct {
	// Scenario is the shrunk script (Script renders it; Compact too,
	// with repeated faults folded into every lines).
	Scenario  *scenarios.Scenario
	Seed      uint64
	Signature string
	Stats     reports.ShrinkStats
}

// ErrPasses is a run given to Shrink that does not fail.
var ErrPasses = errors.New("the run does not fail: nothing to shrink")

// FromRun is the scenario that replays a finished run as explicit lines
// (scenarios.FromSchedule), with the expectations, name and description
// of the scenario it ran (nil for a random run): the starting point of a
// shrink.
func FromRun(res *runner.Result, sc *scenarios.Scenario) *scenarios.Scenario {
	var sched faults.Schedule
	if res.Schedule != nil {
		sched = *res.Schedule
	}
	out := scenarios.FromSchedule(res.Options, sched)
	if sc != nil {
		out.Name = sc.Name
		out.Description = sc.Description
		out.Expect = slices.Clone(sc.Expect)
		out.NoHeal = sc.NoHeal
		if sc.NoHeal {
			out.FaultTime = res.Options.FaultTime
		}
	}
	return out
}

type shrinker struct {
	seed     uint64
	sig      string
	opts     Options
	deadline time.Time
	runs     int
	// best is the smallest failing candidate so far, and its run.
	best    *scenarios.Scenario
	bestRun *runner.Result
}

// Shrink shrinks sc (explicit faults: see FromRun), run with seed, to a
// script that fails with the same signature. It returns ErrPasses if sc
// does not fail, and the best script found so far when the budget runs
// out (Stats.Done false).
func Shrink(sc *scenarios.Scenario, seed uint64, opts Options) (*Result, error) {
	if opts.Budget > 0 && opts.Now == nil {
		return nil, errors.New("shrink: a wall-time budget needs a clock (Options.Now)")
	}
	var start time.Time
	if opts.Now != nil {
		start = opts.Now()
	}
	s := &shrinker{seed: seed, opts: opts}
	if opts.Budget > 0 {
		s.deadline = start.Add(opts.Budget)
	}
	sc = clone(sc)
	sc.Random = nil // materialized by FromRun
	res, err := s.run(sc)
	if err != nil {
		return nil, err
	}
	if res.Pass {
		return nil, ErrPasses
	}
	s.sig = res.Signature()
	s.best, s.bestRun = sc, res
	before := size(sc, res)

	done := s.loop()
	best := clone(s.best)
	best.Description = fmt.Sprintf("seed %d shrunk to what still fails with: %s", seed, s.sig)
	out := &Result{Scenario: best, Seed: s.seed, Signature: s.sig}
	out.Stats = reports.ShrinkStats{Before: before, After: size(s.best, s.bestRun), Runs: s.runs, Done: done}
	if opts.Now != nil {
		out.Stats.WallNS = int64(opts.Now().Sub(start))
	}
	return out, nil
}

// loop applies every step until none helps (true) or the budget is spent.
func (s *shrinker) loop() bool {
	steps := []func() bool{s.dropAfterStop, s.dropFaults, s.shortenFaults, s.mergeFaults, s.cutRun, s.fewerClients, s.fewerKeys, s.fewerServers, s.shorterDrain, s.plainer}
	for {
		progress := false
		for _, step := range steps {
			if s.spent() {
				return false
			}
			if step() {
				progress = true
			}
		}
		if !progress && !s.reseed() {
			return !s.spent()
		}
	}
}

// reseedTries is how many seeds after the current one reseed runs a
// candidate with.
const reseedTries = 64

// reseed is the last resort, once no step helps on the run's own seed:
// each fault dropped, and each pair written in one line (mergings), is run with
// the next few seeds, and the first candidate that fails the same way on
// one of them is kept, with that seed. A failure that needs a fault only
// for this seed's message timings is as well shown by a shorter script
// on another: the script is the reproduction, and its seed (Result.Seed)
// goes with it.
func (s *shrinker) reseed() bool {
	fs := s.best.Faults
	if len(fs) > maxMerge {
		return false
	}
	var cands []*scenarios.Scenario
	for i := len(fs) - 1; i >= 0; i-- {
		c := clone(s.best)
		c.Faults = slices.Delete(c.Faults, i, i+1)
		cands = append(cands, c)
	}
	for i := range fs {
		for j := i + 1; j < len(fs); j++ {
			cands = append(cands, s.mergings(i, j)...)
		}
	}
	seed := s.seed
	for _, c := range cands {
		for k := uint64(1); k <= reseedTries && !s.spent(); k++ {
			s.seed = seed + k
			if s.try(c) {
				return true
			}
		}
	}
	s.seed = seed
	return false
}

func (s *shrinker) spent() bool {
	return (!s.deadline.IsZero() && !s.opts.Now().Before(s.deadline)) || (s.opts.MaxRuns > 0 && s.runs >= s.opts.MaxRuns)
}

// run runs a candidate as the script it renders to (so what is kept is
// always a script that parses).
func (s *shrinker) run(sc *scenarios.Scenario) (*runner.Result, error) {
	parsed, err := scenarios.Parse(sc.Name+".scn", []byte(sc.Script()))
	if err != nil {
		return nil, err
	}
	s.runs++
	oc, err := scenarios.Run(parsed, s.seed, func(o *runner.Options) { o.Trace = sim.TraceHashOnly })
	if err != nil {
		return nil, err
	}
	return oc.Result, nil
}

// try runs a candidate and keeps it if it fails the same way.
func (s *shrinker) try(sc *scenarios.Scenario) bool {
	if s.spent() {
		return false
	}
	res, err := s.run(sc)
	if err != nil || res.Pass || res.Signature() != s.sig {
		return false
	}
	s.best, s.bestRun = sc, res
	return true
}

// dropAfterStop removes the faults that start after a safety violation
// stopped the run: they never happened.
func (s *shrinker) dropAfterStop() bool {
	if s.bestRun.Invariant == nil {
		return false
	}
	end := s.bestRun.VirtualTime.Duration()
	c := clone(s.best)
	c.Faults = slices.DeleteFunc(c.Faults, func(f faults.Fault) bool { return f.At > end })
	if len(c.Faults) == len(s.best.Faults) {
		return false
	}
	return s.try(c)
}

// dropFaults is delta debugging over the fault list: remove chunks, from
// halves down to single faults, keeping each removal that still fails.
func (s *shrinker) dropFaults() bool {
	progress := false
	n := 2
	for len(s.best.Faults) > 0 && !s.spent() {
		fs := s.best.Faults
		n = min(n, len(fs))
		chunk := (len(fs) + n - 1) / n
		removed := false
		for lo := 0; lo < len(fs); lo += chunk {
			c := clone(s.best)
			c.Faults = append(slices.Clone(fs[:lo]), fs[min(lo+chunk, len(fs)):]...)
			if s.try(c) {
				removed, progress = true, true
				n = max(n-1, 2)
				break
			}
		}
		if removed {
			continue
		}
		if n >= len(fs) {
			break
		}
		n = min(2*n, len(fs))
	}
	return progress
}

// shortenFaults halves each fault's window while the run still fails.
func (s *shrinker) shortenFaults() bool {
	progress := false
	for i := 0; i < len(s.best.Faults) && !s.spent(); i++ {
		for {
			f := s.best.Faults[i]
			length := f.Until - f.At
			if length <= 20*time.Millisecond {
				break
			}
			c := clone(s.best)
			c.Faults[i].Until = f.At + (length / 2).Round(time.Millisecond)
			if FaultLines(c) > FaultLines(s.best) || !s.try(c) {
				break // (a window that no longer folds with its neighbours costs a line)
			}
			progress = true
		}
	}
	return progress
}

// maxMerge is the most faults mergeFaults tries pairs of: it runs once
// the list is short, and a merge saves a line only a reader counts.
const maxMerge = 16

// mergeFaults makes two faults of one kind one fault, one line: two that
// start together on different servers become one on all of them, lasting
// as long as the longer; two on the same servers (or sides, or the
// leader), with the same parameters but perhaps their delay, become one
// spanning both, with the delay of either. Each merge is kept only if the
// run still fails the same way; a merge the language cannot say is
// refused by the parse and not kept.
func (s *shrinker) mergeFaults() bool {
	progress := false
	for i := 0; i < len(s.best.Faults) && len(s.best.Faults) <= maxMerge; i++ {
		for j := i + 1; j < len(s.best.Faults) && !s.spent(); j++ {
			for _, c := range s.mergings(i, j) {
				if s.try(c) {
					progress = true
					j = i // the list changed: look again from i
					break
				}
			}
		}
	}
	return progress
}

// mergings are the candidates that write faults i and j of the best
// script as one (merged).
func (s *shrinker) mergings(i, j int) []*scenarios.Scenario {
	a, b := s.best.Faults[i], s.best.Faults[j]
	var out []*scenarios.Scenario
	for _, m := range merged(a, b) {
		c := clone(s.best)
		c.Faults[i] = m
		c.Faults = slices.Delete(c.Faults, j, j+1)
		out = append(out, c)
	}
	return out
}

// merged are the single faults that could stand for a and b (a first in
// the list), most alike a first; none if they differ in kind or in more
// than their targets or windows (and delay).
func merged(a, b faults.Fault) []faults.Fault {
	type params struct {
		kind               faults.Kind
		prob               float64
		ppm, bytes, offset int64
		bit                uint8
	}
	of := func(f faults.Fault) params { return params{f.Kind, f.Prob, f.PPM, f.Bytes, f.Offset, f.Bit} }
	if of(a) != of(b) {
		return nil
	}
	sameTargets := a.Leader == b.Leader && slices.Equal(a.Nodes, b.Nodes) && slices.EqualFunc(a.Groups, b.Groups, slices.Equal)
	var out []faults.Fault
	if a.At == b.At && a.Delay == b.Delay && !a.Leader && !b.Leader && len(a.Groups) == 0 && len(b.Groups) == 0 &&
		len(a.Nodes) > 0 && len(b.Nodes) > 0 && !sameTargets {
		m := a
		m.Nodes = slices.Sorted(slices.Values(union(a.Nodes, b.Nodes)))
		m.Until = max(a.Until, b.Until)
		out = append(out, m)
	}
	if sameTargets {
		m := a
		m.At, m.Until = min(a.At, b.At), max(a.Until, b.Until)
		out = append(out, m)
		if b.Delay != a.Delay {
			m.Delay = b.Delay
			out = append(out, m)
		}
	}
	return out
}

// union is a's elements and those of b not in a.
func union(a, b []int) []int {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// cutRun moves the heal (faults-until) earlier: to just after the last
// fault ends, or halfway there.
func (s *shrinker) cutRun() bool {
	if s.best.NoHeal {
		return false
	}
	floor := 100 * time.Millisecond
	for _, f := range s.best.Faults {
		floor = max(floor, f.Until, f.At)
	}
	floor = floor.Round(100*time.Millisecond) + 100*time.Millisecond
	progress := false
	for s.best.FaultTime > floor && !s.spent() {
		cur := s.best.FaultTime
		c := clone(s.best)
		c.FaultTime = floor
		if s.try(c) {
			return true
		}
		mid := (floor + (cur-floor)/2).Round(100 * time.Millisecond)
		if mid >= cur || mid <= floor {
			break
		}
		c = clone(s.best)
		c.FaultTime = mid
		if !s.try(c) {
			break
		}
		progress = true
	}
	return progress
}

// fewerClients drops client groups and unbound clients.
func (s *shrinker) fewerClients() bool {
	progress := false
	for i := len(s.best.ClientGroups) - 1; i >= 0 && !s.spent(); i-- {
		c := clone(s.best)
		c.ClientGroups = slices.Delete(c.ClientGroups, i, i+1)
		if len(c.ClientGroups) == 0 && c.Clients == 0 {
			c.Clients = 1
		}
		if s.try(c) {
			progress = true
		}
	}
	for !s.spent() {
		min := 1
		if len(s.best.ClientGroups) > 0 {
			min = 0
		}
		if s.best.Clients <= min {
			break
		}
		c := clone(s.best)
		c.Clients = max(s.best.Clients/2, min)
		if !s.try(c) {
			c = clone(s.best)
			c.Clients = s.best.Clients - 1
			if !s.try(c) {
				break
			}
		}
		progress = true
	}
	return progress
}

// fewerKeys narrows the workload to fewer keys.
func (s *shrinker) fewerKeys() bool {
	w := s.best.Workload
	if w == (client.Workload{}) {
		w = client.DefaultWorkload()
	}
	progress := false
	for w.Keys > 1 && !s.spent() {
		c := clone(s.best)
		c.Workload = w
		c.Workload.Keys = 1
		if !s.try(c) {
			c = clone(s.best)
			c.Workload = w
			c.Workload.Keys = w.Keys / 2
			if !s.try(c) {
				break
			}
		}
		progress = true
		w = s.best.Workload
	}
	return progress
}

// fewerServers tries a smaller cluster (the faults and bindings must name
// only servers it still has: the parse says so).
func (s *shrinker) fewerServers() bool {
	n := s.best.Servers
	if n == 0 {
		n = 5
	}
	for _, m := range []int{3, n - 2, n - 1} {
		if m < 1 || m >= n || s.spent() {
			continue
		}
		c := clone(s.best)
		c.Servers = m
		if s.try(c) {
			return true
		}
	}
	return false
}

// shorterDrain shortens the time open operations get at the end.
func (s *shrinker) shorterDrain() bool {
	d := s.best.Drain
	if d == 0 {
		d = 3 * time.Second
	}
	if d <= 500*time.Millisecond {
		return false
	}
	c := clone(s.best)
	c.Drain = 500 * time.Millisecond
	return s.try(c)
}

// plainer drops settings the failure does not need: the link, the
// workload and the server tuning back to their defaults (fewer lines to
// read), the server tuning a part at a time.
func (s *shrinker) plainer() bool {
	progress := false
	try := func(change func(c *scenarios.Scenario) bool) {
		c := clone(s.best)
		if change(c) && !s.spent() && s.try(c) {
			progress = true
		}
	}
	try(func(c *scenarios.Scenario) bool {
		changed := c.Link != (sim.LinkConfig{})
		c.Link = sim.LinkConfig{}
		return changed
	})
	try(func(c *scenarios.Scenario) bool {
		w := client.DefaultWorkload()
		w.Keys = c.Workload.Keys
		changed := c.Workload != w && c.Workload != (client.Workload{})
		c.Workload = w
		return changed
	})
	try(func(c *scenarios.Scenario) bool {
		changed := c.Server != (scenarios.ServerTuning{})
		c.Server = scenarios.ServerTuning{}
		return changed
	})
	try(func(c *scenarios.Scenario) bool {
		changed := c.Server.SnapshotEntries != 0 || c.Server.SnapshotRatio != 0 || c.Server.TrailingEntries != 0
		c.Server.SnapshotEntries, c.Server.SnapshotRatio, c.Server.TrailingEntries = 0, 0, 0
		return changed
	})
	try(func(c *scenarios.Scenario) bool {
		changed := c.Server.MaxSizePerMsg != 0 || c.Server.MaxInflightMsgs != 0
		c.Server.MaxSizePerMsg, c.Server.MaxInflightMsgs = 0, 0
		return changed
	})
	return progress
}

// size measures a failing run.
func size(sc *scenarios.Scenario, res *runner.Result) reports.RunSize {
	o := res.Options
	keys := o.Workload.Keys
	return reports.RunSize{Faults: len(sc.Faults), FaultLines: FaultLines(sc), Operations: uint64(res.Cluster.History.Len()),
		VirtualTimeNS: int64(res.VirtualTime), Servers: o.Servers, Clients: o.AllClients(), Keys: keys}
}

// clone copies a scenario deeply enough that a candidate never changes
// the scenario it came from.
func clone(sc *scenarios.Scenario) *scenarios.Scenario {
	c := *sc
	c.Faults = make([]faults.Fault, len(sc.Faults))
	for i, f := range sc.Faults {
		f.Nodes = slices.Clone(f.Nodes)
		if f.Groups != nil {
			gs := make([][]int, len(f.Groups))
			for j, g := range f.Groups {
				gs[j] = slices.Clone(g)
			}
			f.Groups = gs
		}
		c.Faults[i] = f
	}
	if sc.ClientGroups != nil {
		c.ClientGroups = make([]cluster.ClientGroup, len(sc.ClientGroups))
		for i, g := range sc.ClientGroups {
			g.Servers = slices.Clone(g.Servers)
			c.ClientGroups[i] = g
		}
	}
	c.Expect = slices.Clone(sc.Expect)
	c.Catches = slices.Clone(sc.Catches)
	return &c
}

// Describe is the shrink in one line: before and after.
func (r *Result) Describe() string {
	return fmt.Sprintf("%s -> %s", r.Stats.Before, r.Stats.After)
}

// File is the shrunk script as a file: comments saying where it came
// from, how much it shrank, its seed, expected verdict and signature (the
// regression tests read these: see ReadHeader), then the script.
func (r *Result) File(origin string) string {
	var b strings.Builder
	if origin != "" {
		fmt.Fprintf(&b, "# shrunk from: %s\n", origin)
	}
	fmt.Fprintf(&b, "# before: %s\n# after:  %s\n", r.Stats.Before, r.Stats.After)
	fmt.Fprintf(&b, "# reproduce: simrun --scenario THIS_FILE --seed %d\n", r.Seed)
	fmt.Fprintf(&b, "# seed: %d\n# expect: fail\n# signature: %s\n", r.Seed, r.Signature)
	b.WriteString(Script(r.Scenario))
	return b.String()
}

// Header is what a shrunk script's comments say about it.
type Header struct {
	Seed uint64
	// Expect is "fail" or "pass".
	Expect    string
	Signature string
}

// ReadHeader reads the "# seed:", "# expect:" and "# signature:" comments
// of a script (a signature is required only with expect fail).
func ReadHeader(name string, src []byte) (Header, error) {
	var h Header
	seenSeed := false
	for i, line := range strings.Split(string(src), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "#"), ":")
		if !ok || !strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "seed":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return h, fmt.Errorf("%s:%d: seed %q; expected a number", name, i+1, v)
			}
			h.Seed, seenSeed = n, true
		case "expect":
			if v != "fail" && v != "pass" {
				return h, fmt.Errorf("%s:%d: expect %q; expected fail or pass", name, i+1, v)
			}
			h.Expect = v
		case "signature":
			h.Signature = v
		}
	}
	switch {
	case !seenSeed:
		return h, fmt.Errorf("%s: no \"# seed: N\" comment", name)
	case h.Expect == "":
		return h, fmt.Errorf("%s: no \"# expect: fail|pass\" comment", name)
	case h.Expect == "fail" && h.Signature == "":
		return h, fmt.Errorf("%s: expect fail without a \"# signature: ...\" comment", name)
	}
	return h, nil
}
