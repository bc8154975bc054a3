package faults

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/seed4fee1fef/raftsim/sim"
)

// GenOptions says what Generate may draw. Zero fields take defaults.
type GenOptions struct {
	Servers int
	// Duration is the fault phase: faults start in [Warmup, Warmup+Duration)
	// and are all over by HealAt = Warmup+Duration (default 10s).
	Duration time.Duration
	// Warmup is how long the cluster runs before the first fault (default 0).
	Warmup time.Duration
	// Recovery is how long the run goes on after HealAt: End = HealAt +
	// Recovery (default 5s).
	Recovery time.Duration
	// Kinds are the kinds a seed may enable (default DefaultKinds(Servers)).
	// Kinds that make no sense for Servers (even-split on an odd count,
	// storage faults with no minority to spare) are dropped.
	Kinds []Kind
	// MeanGap is the mean time between fault starts (default: drawn per
	// seed in [100ms, 2s]).
	MeanGap time.Duration
	// Voters are the initial configuration (default: every server):
	// membership faults start from it, never leave fewer than three
	// voters, and the heal puts it back.
	Voters []int

	_ struct{}
}

func (o GenOptions) withDefaults() GenOptions {
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	o.Warmup = max(o.Warmup, 0)
	if o.Recovery <= 0 {
		o.Recovery = 5 * time.Second
	}
	if len(o.Kinds) == 0 {
		o.Kinds = DefaultKinds(o.Servers)
	}
	return o
}

// Swarm is every random knob one seed turned: which kinds it enabled and
// how hard each hits. Generate draws it first, in one place, and Summary
// prints it, so a reader sees at once what a seed explores.
type Swarm struct {
	Kinds   []Knobs // the enabled kinds, in canonical order
	MeanGap time.Duration
	// MaxDown bounds how many servers kill-shaped faults (kill, torn-kill,
	// truncate, bitflip) and fail-stop disk faults (full-disk, fail-fsync)
	// may hold down at once, in [1, minority+1]: a majority may be down
	// for a while, never past HealAt. A bitflip victim counts as down
	// from its start to HealAt, since it may refuse to restart.
	MaxDown int
	// StorageNodes are the only servers storage faults (truncate,
	// bitflip, truncate-mark, bitflip-mark) hit: a minority, drawn once
	// per seed (empty if no storage kind is enabled).
	StorageNodes []int

	_ struct{}
}

// Knobs is one enabled kind's intensity.
type Knobs struct {
	Kind   Kind
	Weight int // relative frequency among the enabled kinds
	// MeanLength is the mean time from a fault's start to its end; each
	// length is drawn uniform in [MeanLength/2, 3*MeanLength/2].
	MeanLength time.Duration
	// The largest parameter a fault of this kind draws (which one depends
	// on the kind): probability, |duration|, |ppm|, bytes.
	MaxProb  float64
	MaxDelay time.Duration
	MaxPPM   int64
	MaxBytes int64

	_ struct{}
}

func (k Knobs) String() string {
	s := fmt.Sprintf("weight %d, mean length %v", k.Weight, k.MeanLength)
	switch kindTable[k.Kind].param {
	case paramProb:
		s += ", prob up to " + strconv.FormatFloat(k.MaxProb, 'g', -1, 64)
	case paramDelay, paramSigned:
		s += fmt.Sprintf(", up to %v", k.MaxDelay)
	case paramPPM:
		s += fmt.Sprintf(", up to %dppm", k.MaxPPM)
	case paramBytes:
		s += fmt.Sprintf(", up to %dB", k.MaxBytes)
	}
	return s
}

// SwarmMaxDriftPPM bounds the drift one generated clock-drift fault
// draws. (Overlapping drift faults on a node add up.)
const SwarmMaxDriftPPM = 200_000

// minority is the largest number of servers a cluster of n can lose and
// still have a majority.
func minority(n int) int { return max(n-1, 0) / 2 }

// feasible says whether kind k makes sense on n servers.
func feasible(k Kind, n int) bool {
	info, ok := kindTable[k]
	switch {
	case !ok || n < 1:
		return false
	case info.storage:
		return minority(n) >= 1
	case k == EvenSplit:
		return n >= 2 && n%2 == 0
	case k == MajorityMinority || k == Bridge:
		return n >= 3
	case k == OneWay || k == Partition:
		return n >= 2
	case info.member:
		// Membership changes need servers to spare: with fewer than four
		// a removal leaves too few voters to survive the other faults.
		return n >= 4
	}
	return true
}

// DefaultKinds are the kinds whose effects Raft must tolerate on n
// servers: all of them, except shapes the count rules out (even-split
// needs an even count; storage faults need a minority to spare, and
// Generate only ever puts them on one), and operators' actions
// (transfer).
func DefaultKinds(n int) []Kind {
	var out []Kind
	for _, k := range allKinds {
		if feasible(k, n) && !kindTable[k].operator {
			out = append(out, k)
		}
	}
	return out
}

// Generate draws a schedule from r: swarm testing. It first draws the
// Swarm (a random non-empty subset of the allowed kinds, each with a
// weight and intensity; a mean gap; a down budget; the storage victims),
// then draws faults from it one after another, each starting a random gap
// after the previous. The same r state and options give the same
// Schedule. Every generated schedule is valid for opts.Servers servers.
func Generate(r *sim.Rand, opts GenOptions) Schedule {
	opts = opts.withDefaults()
	healAt := opts.Warmup + opts.Duration
	s := Schedule{HealAt: healAt, End: healAt + opts.Recovery}
	if r == nil || opts.Servers < 1 {
		return s
	}
	g := &generator{r: r, n: opts.Servers, healAt: healAt, initial: opts.Voters}
	if len(g.initial) == 0 {
		g.initial = seq(1, opts.Servers)
	}
	g.voters = slices.Clone(g.initial)
	g.drawSwarm(opts)
	sw := g.sw
	s.Swarm = &sw
	if len(g.sw.Kinds) == 0 {
		return s
	}
	total := 0
	for _, k := range g.sw.Kinds {
		total += k.Weight
	}
	meanMs := max(int64(g.sw.MeanGap/time.Millisecond), 1)
	for t := opts.Warmup; ; {
		t += time.Duration(r.Int64Range(1, 2*meanMs)) * time.Millisecond
		if t >= healAt {
			break
		}
		pick := r.IntN(total)
		var kn Knobs
		for _, k := range g.sw.Kinds {
			if pick < k.Weight {
				kn = k
				break
			}
			pick -= k.Weight
		}
		if f, ok := g.draw(kn, t); ok {
			s.Faults = append(s.Faults, f)
			s.Faults = append(s.Faults, g.extra...)
		}
		g.extra = g.extra[:0]
	}
	if g.members {
		// At the heal, the operator puts the initial configuration back,
		// so the run ends with every voter up.
		var others []int
		for id := 1; id <= g.n; id++ {
			if !slices.Contains(g.initial, id) {
				others = append(others, id)
			}
		}
		s.Faults = append(s.Faults, Fault{Kind: Change, At: healAt, Until: healAt, Groups: [][]int{slices.Clone(g.initial), others}})
	}
	return s
}

type generator struct {
	r      *sim.Rand
	n      int
	healAt time.Duration
	sw     Swarm
	downs  []window // faults that may hold servers down
	stores []window // storage faults, kill to restart
	// extra are faults a draw adds next to the one it returns (at the
	// same start), emitted after it.
	extra []Fault
	// voters is the configuration the membership faults drawn so far
	// would make (if every one succeeds), and initial the one the run
	// starts with: draws never leave fewer than minVoters voters.
	voters, initial []int
	members         bool // a membership kind is enabled
}

// minVoters is the fewest voters membership faults leave: three tolerate
// one failure (one storage victim, one server down).
const minVoters = 3

// window is when a fault may hold nodes down: explicit ones, and leaders
// servers resolved at start.
type window struct {
	from, to time.Duration
	nodes    []int
	leaders  int
}

func (g *generator) drawSwarm(opts GenOptions) {
	r := g.r
	var allowed []Kind
	for _, k := range allKinds { // canonical order, whatever order opts lists
		if slices.Contains(opts.Kinds, k) && feasible(k, g.n) {
			allowed = append(allowed, k)
		}
	}
	g.sw.MaxDown = 1 + r.IntN(minority(g.n)+1)
	g.sw.MeanGap = opts.MeanGap
	if g.sw.MeanGap <= 0 {
		g.sw.MeanGap = ms(r, 100, 2000)
	}
	if len(allowed) == 0 {
		return
	}
	var enabled []Kind
	for _, k := range allowed {
		if r.Chance(0.5) {
			enabled = append(enabled, k)
		}
	}
	if len(enabled) == 0 {
		enabled = []Kind{allowed[r.IntN(len(allowed))]}
	}
	storage := false
	for _, k := range enabled {
		kn := Knobs{Kind: k, Weight: 1 + r.IntN(4), MeanLength: ms(r, 100, 3000)}
		switch k {
		case Loss, Duplicate, Reorder:
			kn.MaxProb = float64(r.Int64Range(50, 600)) / 1000
		case Delay:
			kn.MaxDelay = ms(r, 5, 300)
		case SlowFsync:
			kn.MaxDelay = ms(r, 1, 200)
		case ClockSkew, ClockJump:
			kn.MaxDelay = ms(r, 10, 20000)
		case ClockDrift:
			kn.MaxPPM = r.Int64Range(100, SwarmMaxDriftPPM)
		case Truncate:
			kn.MaxBytes = r.Int64Range(1, 4096)
		case TruncateMark:
			kn.MaxBytes = r.Int64Range(1, 256)
		case TruncateSnapshot:
			kn.MaxBytes = r.Int64Range(1, 512)
		case FullDisk:
			kn.MaxBytes = r.Int64Range(0, 64<<10)
		}
		storage = storage || kindTable[k].storage
		g.members = g.members || kindTable[k].member
		g.sw.Kinds = append(g.sw.Kinds, kn)
	}
	if storage {
		// With membership changes the configuration may shrink to
		// minVoters, which tolerate one damaged server, not more.
		most := minority(g.n)
		if g.members {
			most = min(most, minority(minVoters))
		}
		g.sw.StorageNodes = drawNodes(r, g.n, 1+r.IntN(most))
	}
}

// enabled reports whether the swarm enabled kind k.
func (g *generator) enabled(k Kind) bool {
	return slices.ContainsFunc(g.sw.Kinds, func(kn Knobs) bool { return kn.Kind == k })
}

// ms draws a duration in [lo, hi] milliseconds.
func ms(r *sim.Rand, lo, hi int64) time.Duration {
	return time.Duration(r.Int64Range(lo, hi)) * time.Millisecond
}

// signedMs draws a duration of magnitude in [1ms, max] and either sign.
func signedMs(r *sim.Rand, maxD time.Duration) time.Duration {
	d := ms(r, 1, max(int64(maxD/time.Millisecond), 1))
	if r.Chance(0.5) {
		return -d
	}
	return d
}

// draw makes one fault of kn's kind starting at at, or reports false if
// the rules leave no room for one now.
func (g *generator) draw(kn Knobs, at time.Duration) (Fault, bool) {
	r := g.r
	meanMs := int64(kn.MeanLength / time.Millisecond)
	until := min(at+ms(r, max(meanMs/2, 1), max(meanMs*3/2, 1)), g.healAt)
	f := Fault{Kind: kn.Kind, At: at, Until: until}
	switch kn.Kind {
	case Kill, TornKill, FullDisk, FailFsync:
		free, avail := g.budget(at, until)
		if avail < 1 {
			return Fault{}, false
		}
		if (kn.Kind == Kill || kn.Kind == TornKill) && r.IntN(3) == 0 {
			f.Leader = true
			g.downs = append(g.downs, window{from: at, to: until, leaders: 1})
		} else {
			if len(free) == 0 {
				return Fault{}, false
			}
			f.Nodes = pickSome(r, free, 1+r.IntN(min(avail, len(free))))
			g.downs = append(g.downs, window{from: at, to: until, nodes: f.Nodes})
		}
		if kn.Kind == FullDisk {
			f.Bytes = r.Int64Range(0, kn.MaxBytes)
		}
	case Truncate, Bitflip, TruncateMark, BitflipMark, TruncateSnapshot, BitflipSnapshot, Wipe:
		for _, s := range g.stores {
			if s.from <= until && at <= s.to {
				return Fault{}, false // one storage fault at a time
			}
		}
		downTo := until
		if kn.Kind == Bitflip || kn.Kind == BitflipMark || kn.Kind == BitflipSnapshot {
			downTo = g.healAt // it may refuse to restart
		}
		free, avail := g.budget(at, downTo)
		var cands []int
		for _, id := range g.sw.StorageNodes {
			if slices.Contains(free, id) {
				cands = append(cands, id)
			}
		}
		if avail < 1 || len(cands) == 0 {
			return Fault{}, false
		}
		f.Nodes = []int{cands[r.IntN(len(cands))]}
		g.stores = append(g.stores, window{from: at, to: until, nodes: f.Nodes})
		g.downs = append(g.downs, window{from: at, to: downTo, nodes: f.Nodes})
		switch kn.Kind {
		case Truncate, TruncateMark, TruncateSnapshot:
			f.Bytes = r.Int64Range(1, max(kn.MaxBytes, 1))
		case Bitflip, BitflipMark, BitflipSnapshot:
			f.Offset = r.Int64Range(0, 1<<40)
			f.Bit = uint8(r.IntN(8))
		}
		if kn.Kind == BitflipMark && g.enabled(Truncate) && r.Chance(0.5) {
			// (Only where the swarm enabled truncate.) A mark that
			// fails its checksum, together with a WAL that lost its tail: the node knows it lost data but not
			// how much. (A truncated mark is never paired with WAL
			// damage here: both rolled back to a consistent earlier
			// state is invisible to any checksum, beyond the fault
			// model; the mark-rollback scenario shows how the harness
			// labels it.)
			w := f
			w.Kind, w.Offset, w.Bit = Truncate, 0, 0
			w.Bytes = r.Int64Range(1, 4096)
			g.extra = append(g.extra, w)
		}
	case Pause:
		if r.IntN(3) == 0 {
			f.Leader = true
		} else {
			f.Nodes = drawNodes(r, g.n, 1+r.IntN(max(minority(g.n), 1)))
		}
	case Isolate:
		f.Nodes = drawNodes(r, g.n, 1)
	case Partition:
		all := seq(1, g.n)
		shuffle(r, all)
		groups := 2
		if g.n >= 3 && r.Chance(0.5) {
			groups = 3
		}
		cuts := pickSome(r, seq(1, g.n-1), groups-1) // sorted cut points
		prev := 0
		for _, c := range append(cuts, g.n) {
			grp := slices.Clone(all[prev:c])
			slices.Sort(grp)
			f.Groups = append(f.Groups, grp)
			prev = c
		}
	case Loss, Duplicate, Reorder:
		f.Prob = float64(r.Int64Range(1, max(int64(math.Round(kn.MaxProb*1000)), 1))) / 1000
		f.Nodes = drawNodes(r, g.n, 1+r.IntN(g.n))
	case Delay, SlowFsync:
		f.Delay = ms(r, 1, max(int64(kn.MaxDelay/time.Millisecond), 1))
		f.Nodes = drawNodes(r, g.n, 1+r.IntN(g.n))
	case ClockSkew:
		f.Delay = signedMs(r, kn.MaxDelay)
		f.Nodes = drawNodes(r, g.n, 1+r.IntN(g.n))
	case ClockJump:
		f.Until = at
		f.Delay = signedMs(r, kn.MaxDelay)
		f.Nodes = drawNodes(r, g.n, 1+r.IntN(g.n))
	case Transfer:
		f.Until = at
		if r.Chance(0.5) {
			f.Leader = true // to the most up-to-date follower
		} else {
			f.Nodes = drawNodes(r, g.n, 1)
		}
	case ClockDrift:
		f.PPM = r.Int64Range(1, max(kn.MaxPPM, 1))
		if r.Chance(0.5) {
			f.PPM = -f.PPM
		}
		f.Nodes = drawNodes(r, g.n, 1+r.IntN(g.n))
	case AddLearner:
		f.Until = at
		f.Nodes = drawNodes(r, g.n, 1)
	case Promote, Add:
		f.Until = at
		f.Nodes = drawNodes(r, g.n, 1)
		g.voters = union(g.voters, f.Nodes)
	case Remove:
		f.Until = at
		if len(g.voters) <= minVoters {
			return Fault{}, false
		}
		if r.IntN(3) == 0 {
			f.Leader = true
			g.voters = g.voters[:len(g.voters)-1] // one of them, whichever leads
		} else {
			f.Nodes = []int{g.voters[r.IntN(len(g.voters))]}
			g.voters = slices.DeleteFunc(g.voters, func(id int) bool { return id == f.Nodes[0] })
		}
	case Change:
		f.Until = at
		all := seq(1, g.n)
		shuffle(r, all)
		k := 1 + r.IntN(max(1, min(2, g.n/2)))
		adds, removes := slices.Clone(all[:k]), slices.Clone(all[k:k+min(1+r.IntN(2), g.n-k)])
		slices.Sort(adds)
		slices.Sort(removes)
		next := slices.DeleteFunc(union(g.voters, adds), func(id int) bool { return slices.Contains(removes, id) })
		if len(next) < minVoters {
			return Fault{}, false
		}
		g.voters = next
		f.Groups = [][]int{adds, removes}
	}
	// IsolateLeader, MajorityMinority, EvenSplit, Bridge, OneWay and Quiet
	// resolve their targets at start.
	return f, true
}

// budget returns the servers no down window overlapping [from, to] holds,
// and how many more the down budget allows there. It counts every window
// that overlaps at any point as if all overlapped at once: conservative.
func (g *generator) budget(from, to time.Duration) (free []int, avail int) {
	held := make([]bool, g.n+1)
	count := 0
	for _, w := range g.downs {
		if w.from > to || from > w.to {
			continue
		}
		count += w.leaders
		for _, id := range w.nodes {
			if !held[id] {
				held[id] = true
				count++
			}
		}
	}
	for id := 1; id <= g.n; id++ {
		if !held[id] {
			free = append(free, id)
		}
	}
	return free, g.sw.MaxDown - count
}

// pickSome draws k distinct elements of s, returned sorted.
func pickSome(r *sim.Rand, s []int, k int) []int {
	c := slices.Clone(s)
	shuffle(r, c)
	c = c[:min(k, len(c))]
	slices.Sort(c)
	return c
}

// seq is lo..hi.
func seq(lo, hi int) []int {
	var out []int
	for i := lo; i <= hi; i++ {
		out = append(out, i)
	}
	return out
}

// union is a and b merged, sorted, without duplicates.
func union(a, b []int) []int {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}
