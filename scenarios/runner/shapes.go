package runner

import (
	"slices"
	"time"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/raft/server"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

// The swarm's load and shapes: what a seed draws beyond faults.Generate's
// independent faults, so that random runs reach the bugs that only a
// composed situation shows. Each seed turns on some of them, from named
// streams of its own ("swarm-load", "swarm-shapes"), so no other draw
// moves:
//
//   - the load: the number of clients, the mix (read-heavy on one key,
//     a few keys, write-heavy, or the default) and the think time;
//   - stale-read traps: the leader and the server after it cut off from
//     the rest, with clients bound to the leader's side while the
//     partition lasts (a deposed leader must not answer them), its clock
//     sometimes slowed and the others' sped up (a lease must allow for
//     both);
//   - election churn: whoever leads is isolated within tens of
//     milliseconds of winning, again and again, sometimes with slow
//     fsyncs holding each new leader's first entry (Figure 8's moves);
//   - flapping partitions: the same two sides split and rejoin again and
//     again, one side's fsyncs slowed, its new leaders sometimes
//     isolated as they win (Figure 8's moves, in no fixed order);
//   - a leader storm at the start (Figure 8 of the Raft paper, timings
//     drawn): two servers lead alone while the other three elect
//     leaders that are isolated as they win, their first entries held
//     by slow fsyncs; the two rejoin and lead again; then they are cut
//     off once more;
//   - a learner trap at the start: two servers removed and added back
//     as learners, then cut off together with each voter in turn from
//     the other two (one of the cuts takes the leader): the learners'
//     acknowledgements must not count;
//   - power cuts: every server killed a few milliseconds after a
//     partition heals, while the deposed side overwrites its uncommitted
//     entries, with slow fsyncs widening the window between a Save's two
//     fsyncs;
//   - slow replication: one entry per append and one or two appends in
//     flight, so partial replication lasts long enough to matter;
//   - lease traps, in calm: the leader's clock slowed and the others'
//     sped up by a drift near the bound lease reads are sized for, then
//     the leader cut off alone with a client reading from it: its lease
//     must end before the others can elect a leader;
//   - a lagging promotion, in calm: a server removed, added back as a
//     learner behind slow links, and promoted before it can have caught
//     up: the leader must wait for it.
//
// The last two draw from streams of their own ("swarm-lease-traps",
// "swarm-promote"), so the draws above are the same whatever they do;
// they take the time after a leader storm or a learner trap (from the
// start, if neither), and what the others would start then moves after
// them, as do the generic faults.
//
// SwarmLoad, SwarmFaults and SwarmGenOptions are called by Run for a run
// whose faults are drawn from its seed, and by a scenario with
// random-faults, so both run the same; SwarmLoad before SwarmReads (the
// load it draws includes read-heavy ones; SwarmReads then draws the read
// mode, where SwarmLoad left it open).

// shapeElection is the election timeout the shapes' timings are written
// for (see drawShapes).
const shapeElection = 100 * time.Millisecond

// Shape probabilities, per seed.
const (
	pTrap      = 0.5
	pChurn     = 0.3
	pFlap      = 0.35
	pPowerCuts = 0.35
	pStorm     = 0.25
	pLearners  = 0.2
	pSlowRepl  = 0.3
	// Drawn from streams of their own.
	// Lease traps come to seeds that draw lease reads (SwarmReads) more
	// often than to others, for which they are one more stale-read trap.
	pLeaseTraps      = 0.05
	pLeaseTrapsLease = 0.5
	pPromote         = 0.12
)

// SwarmLoad draws the client load of a run whose faults are drawn from
// seed, where o leaves it unset: the workload if o.Workload is zero, the
// clients (unbound ones, and the stale-read traps' bound ones) if
// o.Clients is zero and there are no groups, and slow replication if the
// server tuning leaves it at its defaults.
// kinds are the fault kinds the seed draws from (empty: DefaultKinds).
func SwarmLoad(seed uint64, o *Options, kinds []faults.Kind) {
	eff := *o
	eff.Defaults()
	if len(kinds) == 0 {
		kinds = DefaultKinds(eff.Servers)
	}
	// Every draw is made whatever o sets, so none moves another.
	r := sim.NewRand(seed, "swarm-load")
	w := drawWorkload(r)
	clients := 3
	if r.Chance(0.5) {
		clients = int(r.Int64Range(4, 10))
	}
	if w.Keys == 1 {
		// Every operation on one key: the linearizability check's search
		// grows with the operations in flight at once.
		clients = min(clients, 6)
	}
	slowRepl, inflight := r.Chance(pSlowRepl), int(r.Int64Range(1, 2))
	plan := drawShapes(seed, eff.Servers, eff.FaultTime, eff.Server.ElectionTimeout(), kinds)
	if o.Workload == (client.Workload{}) {
		o.Workload = w
		if plan.slowRepl {
			o.Workload = client.DefaultWorkload() // writes, for the storm to lose
		}
	}
	if plan.slowRepl && o.Server.Reads == server.ReadDefault {
		// Gets through the log are entries too: more for the storm.
		o.Server.Reads = server.ReadLog
	}
	slow := (slowRepl || plan.slowRepl) && o.Server.MaxInflightMsgs == 0 && o.Server.MaxSizePerMsg == 0
	if o.Clients == 0 && len(o.ClientGroups) == 0 {
		o.Clients = clients
		if slow {
			// One entry per round trip cannot keep up with many
			// clients: a follower that fell behind would never catch
			// up, and the run would stall for no fault of Raft's.
			o.Clients = 3
		}
	}
	if len(o.ClientGroups) == 0 && o.Clients <= 6 && !plan.slowRepl {
		// The traps' clients, bound to the leader's side while it is cut
		// off (beside the unbound ones, however many were asked for); a
		// leader storm's seed keeps its load light instead.
		o.ClientGroups = plan.groups
	}
	// One entry per round trip keeps up with a light load only: a few
	// clients, whose gets are not log entries too (a storm's seed, which
	// needs it, takes its chance with reads through the log).
	light := o.AllClients() <= 4 && (plan.slowRepl || o.Server.Reads != server.ReadLog)
	if slow && light {
		o.Server.MaxSizePerMsg = 1
		o.Server.MaxInflightMsgs = inflight
		if plan.slowRepl {
			o.Server.MaxInflightMsgs = 1
		}
	}
}

// drawWorkload draws the shape of the load.
func drawWorkload(r *sim.Rand) client.Workload {
	w := client.DefaultWorkload()
	switch x := r.Float64(); {
	case x < 0.35: // the default mix
	case x < 0.7: // read-heavy, one key: a stale read has nowhere to hide
		w.Keys, w.Put, w.Get, w.Append, w.CAS = 1, int(r.Int64Range(2, 3)), int(r.Int64Range(6, 8)), int(r.Int64Range(0, 1)), 0
	case x < 0.85: // read-heavy, a few keys
		w.Keys, w.Put, w.Get, w.Append, w.CAS = int(r.Int64Range(2, 3)), 2, 6, 1, 1
	default: // write-heavy
		w.Keys, w.Put, w.Get, w.Append, w.CAS = int(r.Int64Range(1, 8)), 5, 2, 2, 1
	}
	w.Think = time.Duration(r.Int64Range(15, 40)) * time.Millisecond
	return w
}

// SwarmFaults draws the shaped faults of a run of servers whose faults
// are drawn from seed over faultTime, at the servers' election timeout,
// using only kinds: what Run and a random-faults scenario add to
// faults.Generate's schedule.
func SwarmFaults(seed uint64, servers int, faultTime, election time.Duration, kinds []faults.Kind) []faults.Fault {
	if len(kinds) == 0 {
		kinds = DefaultKinds(servers)
	}
	return drawShapes(seed, servers, faultTime, election, kinds).faults
}

// SwarmGenOptions are the options faults.Generate draws a seed's generic
// faults with (gen, with Servers, Duration and Kinds set): after a leader
// storm, if the seed has one, so they do not break up its moves.
func SwarmGenOptions(seed uint64, gen faults.GenOptions) faults.GenOptions {
	calm := drawShapes(seed, gen.Servers, gen.Duration, gen.Election, gen.Kinds).calmUntil
	if calm > 0 && calm < gen.Duration {
		gen.Warmup, gen.Duration = calm, gen.Duration-calm
	}
	return gen
}

// shapes is what one seed's shapes add: faults, the clients the
// stale-read traps bind, and whether they want slow replication.
type shapes struct {
	faults   []faults.Fault
	groups   []cluster.ClientGroup
	slowRepl bool
	// calmUntil is when the leader storm is over: the generic faults
	// start then, so they do not break up its moves.
	calmUntil time.Duration
}

// drawShapes draws a seed's shapes. It depends on nothing but its
// arguments, so SwarmLoad and SwarmFaults draw the same plan.
//
// The shapes' timings are written for a 100ms election timeout (the fast
// timing SwarmServer draws on three seeds in four); at a longer one (the
// default 500ms) every span a leader must be deposed or elected in
// stretches with it (e), and what is timed to the messages and fsyncs
// around an election does not. The draws are the same at any timing, so
// a seed at the fast timing makes exactly the shapes it made when that
// was the only one; at the default timing the longer shapes fit the
// fault phase less often.
func drawShapes(seed uint64, n int, faultTime, election time.Duration, kinds []faults.Kind) shapes {
	var out shapes
	if n < 3 || faultTime < 4*time.Second {
		return out
	}
	e := func(d time.Duration) time.Duration {
		if election <= shapeElection {
			return d
		}
		return time.Duration(float64(d) * float64(election) / float64(shapeElection)).Round(time.Millisecond)
	}
	r := sim.NewRand(seed, "swarm-shapes")
	allowed := func(ks ...faults.Kind) bool {
		for _, k := range ks {
			if !slices.Contains(kinds, k) {
				return false
			}
		}
		return true
	}
	ms := func(lo, hi int64) time.Duration { return time.Duration(r.Int64Range(lo, hi)) * time.Millisecond }
	last := faultTime - time.Second // every shape is over by then
	// Every draw is made whatever is allowed, so one kind's absence
	// does not move the others' draws.
	trap, churn, flap, power, storm := r.Chance(pTrap), r.Chance(pChurn), r.Chance(pFlap), r.Chance(pPowerCuts), r.Chance(pStorm)

	// The leader storm, from the start; the other shapes start after it.
	perm := seq(1, n)
	for i := len(perm) - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		perm[i], perm[j] = perm[j], perm[i]
	}
	lone, rest := slices.Sorted(slices.Values(perm[:(n-1)/2])), slices.Sorted(slices.Values(perm[(n-1)/2:]))
	split1 := e(ms(900, 1400))
	split1Len := e(ms(700, 1200))
	hold1, hold2 := ms(10, 30), ms(30, 70)
	isoEvery := ms(5, 15)
	rejoin := e(ms(400, 700))
	split2Len := e(ms(1500, 3000))
	stormEnd := time.Duration(0)
	if storm && allowed(faults.Pause, faults.Partition, faults.SlowFsync, faults.IsolateLeader) && split1+split1Len+rejoin+split2Len <= last {
		// The rest sleep through the first election, one after another.
		for i, id := range rest {
			out.faults = append(out.faults, faults.Fault{Kind: faults.Pause, At: 0, Until: e(350*time.Millisecond) + time.Duration(i)*33*time.Millisecond, Nodes: []int{id}})
		}
		heal := split1 + split1Len
		out.faults = append(out.faults,
			faults.Fault{Kind: faults.Partition, At: split1, Until: heal, Groups: [][]int{lone, rest}},
			faults.Fault{Kind: faults.SlowFsync, At: split1, Until: heal, Delay: hold1, Nodes: slices.Clone(rest)},
			faults.Fault{Kind: faults.SlowFsync, At: heal, Until: heal + rejoin, Delay: hold2, Nodes: slices.Clone(rest)},
			faults.Fault{Kind: faults.Partition, At: heal + rejoin, Until: heal + rejoin + split2Len, Groups: [][]int{slices.Clone(lone), slices.Clone(rest)}})
		for t := split1 + 50*time.Millisecond; t < heal-10*time.Millisecond; t += isoEvery {
			out.faults = append(out.faults, faults.Fault{Kind: faults.IsolateLeader, At: t, Until: heal + rejoin})
		}
		out.slowRepl = true
		stormEnd = heal + rejoin + split2Len
		out.calmUntil = stormEnd
	}

	// Stale-read traps.
	traps := 1 + r.IntN(2)
	at := stormEnd + e(ms(1500, 4000))
	for i := 0; i < traps; i++ {
		length := e(ms(800, 2500))
		bind := []int{faults.RefLeader}
		if r.Chance(0.5) {
			bind = append(bind, faults.LeaderPlus(1))
		}
		count := 2
		slow := r.Chance(0.5)
		ppm := -r.Int64Range(100_000, 200_000)
		if trap && allowed(faults.Partition) && at+length <= last {
			minority := (n - 1) / 2
			var a, b []int
			for k := 0; k < n; k++ {
				ref := faults.RefLeader
				if k > 0 {
					ref = faults.LeaderPlus(k)
				}
				if k < minority {
					a = append(a, ref)
				} else {
					b = append(b, ref)
				}
			}
			if slow && allowed(faults.ClockDrift) {
				// The leader's clock slow, the others' fast: a lease
				// must allow for both.
				out.faults = append(out.faults,
					faults.Fault{Kind: faults.ClockDrift, At: at - 300*time.Millisecond, Until: at + length, PPM: ppm, Leader: true},
					faults.Fault{Kind: faults.ClockDrift, At: at - 300*time.Millisecond, Until: at + length, PPM: -ppm, Nodes: []int{faults.RefNotLeader}})
			}
			out.faults = append(out.faults, faults.Fault{Kind: faults.Partition, At: at, Until: at + length, Groups: [][]int{a, b}})
			out.groups = append(out.groups, cluster.ClientGroup{Count: count, Servers: bind, From: at, Until: at + length})
		}
		at += length + e(ms(1000, 4000))
	}

	// Election churn.
	from := stormEnd + ms(1000, max(int64((last-2*time.Second)/time.Millisecond), 1001))
	window := e(ms(300, 1500))
	every := ms(10, 60)
	hold := e(ms(40, 400))
	slowFsync, fsyncDelay := r.Chance(0.5), ms(5, 30)
	if churn && allowed(faults.IsolateLeader) && from+window+hold <= last {
		if slowFsync && allowed(faults.SlowFsync) {
			out.faults = append(out.faults, faults.Fault{Kind: faults.SlowFsync, At: from, Until: from + window + hold, Delay: fsyncDelay, Nodes: seq(1, n)})
		}
		for t := from; t <= from+window; t += every {
			out.faults = append(out.faults, faults.Fault{Kind: faults.IsolateLeader, At: t, Until: t + hold})
		}
	}

	// Flapping partitions between two fixed sides.
	all := seq(1, n)
	for i := len(all) - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		all[i], all[j] = all[j], all[i]
	}
	sideA, sideB := slices.Sorted(slices.Values(all[:(n-1)/2])), slices.Sorted(slices.Values(all[(n-1)/2:]))
	flaps := 3 + r.IntN(6)
	flapAt := stormEnd + e(ms(500, 3000))
	flapSlow, flapSlowB, flapDelay := r.Chance(0.6), r.Chance(0.5), ms(10, 60)
	flapChurn, flapEvery, flapHold := r.Chance(0.4), ms(10, 40), e(ms(100, 600))
	var flapFaults []faults.Fault
	ft := flapAt
	for i := 0; i < flaps; i++ {
		split, gap := e(ms(300, 1200)), e(ms(100, 700))
		if ft+split > last {
			break
		}
		flapFaults = append(flapFaults, faults.Fault{Kind: faults.Partition, At: ft, Until: ft + split, Groups: [][]int{sideA, sideB}})
		if flapChurn && allowed(faults.IsolateLeader) && i%2 == 1 {
			for t := ft + 50*time.Millisecond; t < ft+split && t+flapHold <= last; t += flapEvery {
				flapFaults = append(flapFaults, faults.Fault{Kind: faults.IsolateLeader, At: t, Until: t + flapHold})
			}
		}
		ft += split + gap
	}
	if flap && allowed(faults.Partition) && len(flapFaults) > 0 {
		if flapSlow && allowed(faults.SlowFsync) {
			slowed := sideA
			if flapSlowB {
				slowed = sideB
			}
			out.faults = append(out.faults, faults.Fault{Kind: faults.SlowFsync, At: flapAt, Until: min(ft, last), Delay: flapDelay, Nodes: slices.Clone(slowed)})
		}
		out.faults = append(out.faults, flapFaults...)
	}

	// Power cuts after partitions heal.
	cuts := 3 + r.IntN(6)
	start := stormEnd + e(ms(1000, 3000))
	fsync := ms(3, 10)
	cutKind := faults.Kill
	if r.Chance(0.5) {
		// A torn cut keeps a prefix of what was written and not yet
		// synced: a write that lands before the next one's fsync.
		cutKind = faults.TornKill
	}
	var cutFaults []faults.Fault
	t := start
	for i := 0; i < cuts; i++ {
		split := e(ms(300, 900))
		after := ms(15, 70)
		down := ms(200, 400)
		if t+split+after+down > last {
			break
		}
		cutFaults = append(cutFaults,
			faults.Fault{Kind: faults.MajorityMinority, At: t, Until: t + split},
			faults.Fault{Kind: cutKind, At: t + split + after, Until: t + split + after + down, Nodes: seq(1, n)})
		t += split + after + down + e(ms(300, 800))
	}
	if power && allowed(faults.MajorityMinority, cutKind) && len(cutFaults) > 0 {
		if allowed(faults.SlowFsync) {
			out.faults = append(out.faults, faults.Fault{Kind: faults.SlowFsync, At: start, Until: min(t, last), Delay: fsync, Nodes: seq(1, n)})
		}
		out.faults = append(out.faults, cutFaults...)
	}
	// The learner trap, from the start (drawn last, so the shapes above
	// draw the same whatever it does): the shapes above that would start
	// during it are left out, and the generic faults start after it.
	learners := r.Chance(pLearners)
	lt := e(ms(800, 1500))
	firstWith := 1 + r.IntN(3)
	ltLen, ltGap := e(ms(1000, 2500)), e(ms(300, 600))
	ltEnd := lt + 3*time.Second + 3*(ltLen+ltGap)
	if learners && stormEnd == 0 && n == 5 && allowed(faults.Remove, faults.AddLearner, faults.Add, faults.Partition) && ltEnd+time.Second <= last {
		out.faults = slices.DeleteFunc(out.faults, func(f faults.Fault) bool { return f.At < ltEnd+time.Second })
		out.groups = slices.DeleteFunc(out.groups, func(g cluster.ClientGroup) bool { return g.From < ltEnd+time.Second })
		at := func(d time.Duration, k faults.Kind, id int) faults.Fault {
			return faults.Fault{Kind: k, At: d, Until: d, Nodes: []int{id}}
		}
		out.faults = append(out.faults,
			at(lt, faults.Remove, 4), at(lt+300*time.Millisecond, faults.Remove, 5),
			at(lt+1200*time.Millisecond, faults.AddLearner, 4), at(lt+1500*time.Millisecond, faults.AddLearner, 5))
		t := lt + 3*time.Second
		for i := 0; i < 3; i++ {
			with := (firstWith+i-1)%3 + 1
			others := slices.DeleteFunc(seq(1, 3), func(id int) bool { return id == with })
			out.faults = append(out.faults, faults.Fault{Kind: faults.Partition, At: t, Until: t + ltLen, Groups: [][]int{{with, 4, 5}, others}})
			t += ltLen + ltGap
		}
		// Back to five voters before the generic faults start.
		out.faults = append(out.faults, at(ltEnd, faults.Add, 4), at(ltEnd+200*time.Millisecond, faults.Add, 5))
		out.calmUntil = ltEnd + time.Second
	}

	// The shapes below draw from streams of their own, so the ones above
	// draw the same whatever they do. They need calm: they take the time
	// after the leader storm or the learner trap (from the start, if
	// neither), the shapes above that would start then move after them,
	// and the generic faults start once they are done.
	free := max(stormEnd, out.calmUntil)
	lf, lg, calm := leaseTraps(seed, free, last/2, e, allowed)
	pf, calm := laggingPromotion(seed, n, calm, last/2, faultTime, e, allowed)
	if calm > free {
		d := calm - free
		out.faults = slices.DeleteFunc(out.faults, func(f faults.Fault) bool { return f.At >= free && f.Until+d > last })
		for i := range out.faults {
			if f := &out.faults[i]; f.At >= free {
				f.At, f.Until = f.At+d, f.Until+d
			}
		}
		out.groups = slices.DeleteFunc(out.groups, func(g cluster.ClientGroup) bool { return g.From >= free && g.Until+d > last })
		for i := range out.groups {
			if g := &out.groups[i]; g.From >= free {
				g.From, g.Until = g.From+d, g.Until+d
			}
		}
		out.faults = append(append(out.faults, lf...), pf...)
		out.groups = append(out.groups, lg...)
		out.calmUntil = calm
	}
	slices.SortStableFunc(out.faults, func(a, b faults.Fault) int { return cmpDur(a.At, b.At) })
	return out
}

// leaseTraps draws, on most seeds that draw lease reads and one in ten of
// the others (stream "swarm-lease-traps"), three or four lease traps:
// the leader's clock slowed and every other server's sped up by one
// drift drawn per seed (15% to 25%: FitLease sizes lease reads for it),
// then the leader cut off alone, with a client bound to it that only
// reads while it is. Its lease must end before the others can elect a
// leader: a lease a few ticks too long serves reads a newer leader may
// already have overwritten (read-safety). A read index or a read through
// the log are held to the same. It returns the traps' faults, their
// clients, and when the last one is over (from, if there are none).
func leaseTraps(seed uint64, from, by time.Duration, e func(time.Duration) time.Duration, allowed func(...faults.Kind) bool) ([]faults.Fault, []cluster.ClientGroup, time.Duration) {
	r := sim.NewRand(seed, "swarm-lease-traps")
	ms := func(lo, hi int64) time.Duration { return time.Duration(r.Int64Range(lo, hi)) * time.Millisecond }
	p := pLeaseTraps
	if drawnReadMode(seed) == server.ReadLease {
		p = pLeaseTrapsLease
	}
	on, ppm, traps := r.Chance(p), r.Int64Range(150_000, 250_000), 2+r.IntN(2)
	if !on || !allowed(faults.Partition, faults.ClockDrift) {
		return nil, nil, from
	}
	var fs []faults.Fault
	var gs []cluster.ClientGroup
	at, end := from+e(ms(800, 1500)), from
	for i := 0; i < traps; i++ {
		length, gap := e(ms(400, 800)), e(ms(500, 1000))
		if at+length+gap > by {
			break
		}
		fs = append(fs,
			faults.Fault{Kind: faults.ClockDrift, At: at - 300*time.Millisecond, Until: at + length, PPM: -ppm, Leader: true},
			faults.Fault{Kind: faults.ClockDrift, At: at - 300*time.Millisecond, Until: at + length, PPM: ppm, Nodes: []int{faults.RefNotLeader}},
			faults.Fault{Kind: faults.Partition, At: at, Until: at + length, Groups: [][]int{{faults.RefLeader}, {faults.RefNotLeader}}})
		gs = append(gs, cluster.ClientGroup{Count: 1, Servers: []int{faults.RefLeader}, From: at - 100*time.Millisecond, Until: at + length,
			Mix: cluster.Mix{Get: 1}})
		end = at + length + gap
		at = end
	}
	return fs, gs, end
}

// laggingPromotion draws, on about one seed in five (stream
// "swarm-promote") of five or more servers, a promotion of a learner that
// lags, from from on: a server is removed, added back a second or so
// later as a learner behind slow links, and its promotion asked for
// within a few hundred milliseconds, while it is still catching up on
// what was committed without it. The leader must refuse it until the
// learner holds what is committed (promotion-guard); the operator
// retries, and makes it a voter again later whatever happened. It
// returns the faults and when the part that needs calm is over (from,
// and nothing, if that would be after by): the operator's commands are
// not ordered, so a removal slowed by other faults could commit after
// the promotion.
func laggingPromotion(seed uint64, n int, from, by, healAt time.Duration, e func(time.Duration) time.Duration, allowed func(...faults.Kind) bool) ([]faults.Fault, time.Duration) {
	r := sim.NewRand(seed, "swarm-promote")
	ms := func(lo, hi int64) time.Duration { return time.Duration(r.Int64Range(lo, hi)) * time.Millisecond }
	on, id := r.Chance(pPromote), 1+r.IntN(max(n, 1))
	at := from + e(ms(300, 800))
	back := at + e(ms(600, 1200))
	promote := back + ms(50, 300)
	delay, slowFor := ms(30, 100), e(ms(1500, 3000))
	calm := promote + e(500*time.Millisecond)
	if !on || n < 5 || !allowed(faults.Remove, faults.AddLearner, faults.Promote, faults.Add, faults.Change, faults.Delay) || calm > by {
		return nil, from
	}
	one := func(t time.Duration, k faults.Kind) faults.Fault {
		return faults.Fault{Kind: k, At: t, Until: t, Nodes: []int{id}}
	}
	slowUntil := min(back+slowFor, healAt)
	fs := []faults.Fault{one(at, faults.Remove), one(back, faults.AddLearner),
		{Kind: faults.Delay, At: back - 100*time.Millisecond, Until: slowUntil, Delay: delay, Nodes: []int{id}},
		one(promote, faults.Promote)}
	if add := slowUntil + time.Second; add < healAt {
		fs = append(fs, one(add, faults.Add))
	}
	// At the heal every server is a voter again, as faults.Generate
	// leaves a run with membership changes: a removal slowed by other
	// faults can commit after the commands above are done.
	return append(fs, faults.Fault{Kind: faults.Change, At: healAt, Until: healAt, Groups: [][]int{seq(1, n), nil}}), calm
}

func cmpDur(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func seq(lo, hi int) []int {
	out := make([]int, 0, hi-lo+1)
	for i := lo; i <= hi; i++ {
		out = append(out, i)
	}
	return out
}
