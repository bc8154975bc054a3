package faults

import (
	"fmt"
	"math"
	"slices"
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
	// seed in [100ms, 2s], stretched for long election timeouts).
	MeanGap time.Duration
	// Election is the servers' shortest election timeout (default
	// ReferenceElection). Beyond ReferenceElection, drawn lengths, gaps,
	// link delays and slow fsyncs stretch with it (see scaled).
	Election time.Duration
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
	if o.Election <= 0 {
		o.Election = ReferenceElection
	}
	return o
}

// ReferenceElection is the longest election timeout the generator's
// ranges serve as they are: the servers' default (500ms). Fault lengths
// drawn from [50ms, 4.5s] (mean lengths in [100ms, 3s]) and gaps from
// [100ms, 2s] were first tuned for a 100ms election timeout, and
// measured again at 500ms they catch the planted bugs at about the same
// rates per seed (docs/PERFORMANCE.md): most faults still outlast an
// election timeout, and the short ones still lose messages, restart
// servers and stall disks. Stretching them fivefold with the timeout
// made faults five times rarer and caught far less. Beyond 500ms (etcd's
// 1s, a script's long lease) the draws stretch by Election /
// ReferenceElection, so partitions keep outlasting elections and gaps
// keep leaving time for one.
const ReferenceElection = 500 * time.Millisecond

// scaled is d, drawn for ReferenceElection, stretched for a longer
// election timeout. The draws themselves do not change, so a seed makes
// the same choices at any timing.
func scaled(d, election time.Duration) time.Duration {
	if election <= ReferenceElection {
		return d
	}
	return time.Duration(float64(d) * float64(election) / float64(ReferenceElection)).Round(time.Microsecond)
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
	if sp := spec(k.Kind); sp != nil {
		s += params[sp.param].knob(k)
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
	s := spec(k)
	switch {
	case s == nil || n < 1:
		return false
	case s.storage:
		return minority(n) >= 1
	case s.member:
		// Membership changes need servers to spare: with fewer than four
		// a removal leaves too few voters to survive the other faults.
		return n >= 4
	}
	return s.needsServers(n) == ""
}

// DefaultKinds are the kinds whose effects Raft must tolerate on n
// servers: all of them, except shapes the count rules out (even-split
// needs an even count; storage faults need a minority to spare, and
// Generate only ever puts them on one), and operators' actions
// (transfer).
func DefaultKinds(n int) []Kind {
	var out []Kind
	for i := range kinds {
		if k := kinds[i].kind; feasible(k, n) && !kinds[i].operator {
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
	var allowed []*kindSpec
	for i := range kinds { // canonical order, whatever order opts lists
		if k := kinds[i].kind; slices.Contains(opts.Kinds, k) && feasible(k, g.n) {
			allowed = append(allowed, &kinds[i])
		}
	}
	g.sw.MaxDown = 1 + r.IntN(minority(g.n)+1)
	g.sw.MeanGap = opts.MeanGap
	if g.sw.MeanGap <= 0 {
		g.sw.MeanGap = scaled(ms(r, 100, 2000), opts.Election)
	}
	if len(allowed) == 0 {
		return
	}
	var enabled []*kindSpec
	for _, k := range allowed {
		if r.Chance(0.5) {
			enabled = append(enabled, k)
		}
	}
	if len(enabled) == 0 {
		enabled = []*kindSpec{allowed[r.IntN(len(allowed))]}
	}
	storage := false
	for _, k := range enabled {
		kn := Knobs{Kind: k.kind, Weight: 1 + r.IntN(4), MeanLength: scaled(ms(r, 100, 3000), opts.Election)}
		if k.knobs != nil {
			k.knobs(r, &kn)
		}
		if k.timed {
			kn.MaxDelay = scaled(kn.MaxDelay, opts.Election)
		}
		storage = storage || k.storage
		g.members = g.members || k.member
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
	s := spec(kn.Kind)
	if s.instant() {
		f.Until = at
	}
	if s.draw != nil && !s.draw(g, kn, &f) {
		return Fault{}, false
	}
	return f, true
}

// How each kind draws its targets and parameter (the kinds table names
// one per kind; a kind with none resolves its targets at start).

// Swarm intensities.

func maxProb(r *sim.Rand, kn *Knobs) { kn.MaxProb = float64(r.Int64Range(50, 600)) / 1000 }

func maxPPM(r *sim.Rand, kn *Knobs) { kn.MaxPPM = r.Int64Range(100, SwarmMaxDriftPPM) }

// maxDelay draws the largest duration in [lo, hi] milliseconds.
func maxDelay(lo, hi int64) func(r *sim.Rand, kn *Knobs) {
	return func(r *sim.Rand, kn *Knobs) { kn.MaxDelay = ms(r, lo, hi) }
}

// maxBytes draws the largest byte count in [lo, hi].
func maxBytes(lo, hi int64) func(r *sim.Rand, kn *Knobs) {
	return func(r *sim.Rand, kn *Knobs) { kn.MaxBytes = r.Int64Range(lo, hi) }
}

// Parameters, up to the swarm's intensity.

func drawProb(g *generator, kn Knobs, f *Fault) {
	f.Prob = float64(g.r.Int64Range(1, max(int64(math.Round(kn.MaxProb*1000)), 1))) / 1000
}

func drawDelay(g *generator, kn Knobs, f *Fault) {
	f.Delay = ms(g.r, 1, max(int64(kn.MaxDelay/time.Millisecond), 1))
}

func drawSigned(g *generator, kn Knobs, f *Fault) { f.Delay = signedMs(g.r, kn.MaxDelay) }

func drawPPM(g *generator, kn Knobs, f *Fault) {
	f.PPM = g.r.Int64Range(1, max(kn.MaxPPM, 1))
	if g.r.Chance(0.5) {
		f.PPM = -f.PPM
	}
}

// drawCut is the bytes a truncation cuts.
func drawCut(g *generator, kn Knobs, f *Fault) { f.Bytes = g.r.Int64Range(1, max(kn.MaxBytes, 1)) }

// drawHeadroom is the bytes a full disk leaves free.
func drawHeadroom(g *generator, kn Knobs, f *Fault) { f.Bytes = g.r.Int64Range(0, kn.MaxBytes) }

func drawFlip(g *generator, kn Knobs, f *Fault) {
	f.Offset = g.r.Int64Range(0, 1<<40)
	f.Bit = uint8(g.r.IntN(8))
}

// drawMarkFlip flips a bit of the mark and, on half the draws where the
// swarm enabled truncate, cuts the WAL's tail at the same start: a mark
// that fails its checksum, together with a WAL that lost its tail, so the
// node knows it lost data but not how much. (A truncated mark is never
// paired with WAL damage here: both rolled back to a consistent earlier
// state is invisible to any checksum, beyond the fault model; the
// mark-rollback scenario shows how the harness labels it.)
func drawMarkFlip(g *generator, kn Knobs, f *Fault) {
	drawFlip(g, kn, f)
	if g.enabled(Truncate) && g.r.Chance(0.5) {
		w := *f
		w.Kind, w.Offset, w.Bit = Truncate, 0, 0
		w.Bytes = g.r.Int64Range(1, 4096)
		g.extra = append(g.extra, w)
	}
}

// Targets.

// spread draws the parameter, then a random non-empty set of servers.
func spread(param func(g *generator, kn Knobs, f *Fault)) func(g *generator, kn Knobs, f *Fault) bool {
	return func(g *generator, kn Knobs, f *Fault) bool {
		param(g, kn, f)
		f.Nodes = drawNodes(g.r, g.n, 1+g.r.IntN(g.n))
		return true
	}
}

// drawOne targets one random server.
func drawOne(g *generator, kn Knobs, f *Fault) bool {
	f.Nodes = drawNodes(g.r, g.n, 1)
	return true
}

// drawDown targets servers the down budget leaves free (or, on a third
// of the draws if leader, the leader), then draws the parameter, if any.
func drawDown(leader bool, param func(g *generator, kn Knobs, f *Fault)) func(g *generator, kn Knobs, f *Fault) bool {
	return func(g *generator, kn Knobs, f *Fault) bool {
		r := g.r
		free, avail := g.budget(f.At, f.Until)
		if avail < 1 {
			return false
		}
		if leader && r.IntN(3) == 0 {
			f.Leader = true
			g.downs = append(g.downs, window{from: f.At, to: f.Until, leaders: 1})
		} else {
			if len(free) == 0 {
				return false
			}
			f.Nodes = pickSome(r, free, 1+r.IntN(min(avail, len(free))))
			g.downs = append(g.downs, window{from: f.At, to: f.Until, nodes: f.Nodes})
		}
		if param != nil {
			param(g, kn, f)
		}
		return true
	}
}

// drawDamage targets one of the swarm's storage victims, one storage
// fault at a time and within the down budget, then draws the parameter,
// if any. A node whose damage may make it refuse to restart (stays) counts
// as down until the heal.
func drawDamage(stays bool, param func(g *generator, kn Knobs, f *Fault)) func(g *generator, kn Knobs, f *Fault) bool {
	return func(g *generator, kn Knobs, f *Fault) bool {
		for _, s := range g.stores {
			if s.from <= f.Until && f.At <= s.to {
				return false // one storage fault at a time
			}
		}
		downTo := f.Until
		if stays {
			downTo = g.healAt
		}
		free, avail := g.budget(f.At, downTo)
		var cands []int
		for _, id := range g.sw.StorageNodes {
			if slices.Contains(free, id) {
				cands = append(cands, id)
			}
		}
		if avail < 1 || len(cands) == 0 {
			return false
		}
		f.Nodes = []int{cands[g.r.IntN(len(cands))]}
		g.stores = append(g.stores, window{from: f.At, to: f.Until, nodes: f.Nodes})
		g.downs = append(g.downs, window{from: f.At, to: downTo, nodes: f.Nodes})
		if param != nil {
			param(g, kn, f)
		}
		return true
	}
}

func drawPause(g *generator, kn Knobs, f *Fault) bool {
	if g.r.IntN(3) == 0 {
		f.Leader = true
	} else {
		f.Nodes = drawNodes(g.r, g.n, 1+g.r.IntN(max(minority(g.n), 1)))
	}
	return true
}

// drawPartition cuts the servers, shuffled, into 2 or 3 groups.
func drawPartition(g *generator, kn Knobs, f *Fault) bool {
	r := g.r
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
	return true
}

// drawTransfer hands leadership to the leader's best follower, or to a
// random server.
func drawTransfer(g *generator, kn Knobs, f *Fault) bool {
	if g.r.Chance(0.5) {
		f.Leader = true // to the most up-to-date follower
	} else {
		f.Nodes = drawNodes(g.r, g.n, 1)
	}
	return true
}

// Membership changes keep track of the voters they would make, never
// leaving fewer than minVoters.

// drawJoin makes a random server a voter (promote, add).
func drawJoin(g *generator, kn Knobs, f *Fault) bool {
	f.Nodes = drawNodes(g.r, g.n, 1)
	g.voters = union(g.voters, f.Nodes)
	return true
}

func drawRemove(g *generator, kn Knobs, f *Fault) bool {
	r := g.r
	if len(g.voters) <= minVoters {
		return false
	}
	if r.IntN(3) == 0 {
		f.Leader = true
		g.voters = g.voters[:len(g.voters)-1] // one of them, whichever leads
	} else {
		f.Nodes = []int{g.voters[r.IntN(len(g.voters))]}
		g.voters = slices.DeleteFunc(g.voters, func(id int) bool { return id == f.Nodes[0] })
	}
	return true
}

func drawChange(g *generator, kn Knobs, f *Fault) bool {
	r := g.r
	all := seq(1, g.n)
	shuffle(r, all)
	k := 1 + r.IntN(max(1, min(2, g.n/2)))
	adds, removes := slices.Clone(all[:k]), slices.Clone(all[k:k+min(1+r.IntN(2), g.n-k)])
	slices.Sort(adds)
	slices.Sort(removes)
	next := slices.DeleteFunc(union(g.voters, adds), func(id int) bool { return slices.Contains(removes, id) })
	if len(next) < minVoters {
		return false
	}
	g.voters = next
	f.Groups = [][]int{adds, removes}
	return true
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
