package faults

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/sim"
	"github.com/seed4fee1fef/raftsim/sim/disk"
)

// nemesis is one installed schedule's running state. Every effect it has
// on the world is held by the faults that asked for it, and undone when
// the last holder ends (the rules are in the package doc).
type nemesis struct {
	t    Target
	w    *sim.World
	n    int       // servers are 1..n
	rand *sim.Rand // the world's "faults" stream: targets drawn at start
	node []nodeHold
	// cuts and links are keyed by linkKey(from, to).
	cuts   map[int]*cutHold
	links  map[int]*linkHold
	quiet  int    // active quiet faults
	active []*run // in start order
	runs   []*run // by fault index, once begun
	healed bool
}

// nodeHold is what the active faults hold on one server.
type nodeHold struct {
	down     int  // active kill-shaped faults: the node stays down while > 0
	pause    int  // active pauses
	pausedUs bool // the nemesis paused it (so the nemesis may resume it)
	drift    int64
	slow     []*run // active slow-fsync faults
	full     []*run // active full-disk faults
	failSync int
}

// cutHold is one directed link some active faults want cut. owned says
// the link was connected when the first of them cut it; a link someone
// else had cut is left cut when they are done.
type cutHold struct {
	count int
	owned bool
}

// linkHold is one directed link whose configuration active link faults
// modify: base is what it was before the first of them, runs the
// modifiers in start order.
type linkHold struct {
	base sim.LinkConfig
	runs []*run
}

// run is one started fault with its targets resolved.
type run struct {
	idx      int
	f        Fault
	spec     *kindSpec
	leader   int // the leader a Leader or isolate-leader fault resolved to
	nodes    []sim.NodeID
	groups   [][]sim.NodeID
	cuts     []int // link keys this run holds cut
	mods     []int // link keys this run modifies
	capacity int64 // full-disk: the capacity it asked for
	done     bool
}

func newNemesis(t Target, faults int) *nemesis {
	w := t.World()
	n := t.Servers()
	return &nemesis{t: t, w: w, n: n, rand: w.Rand("faults"), node: make([]nodeHold, n+1),
		cuts: map[int]*cutHold{}, links: map[int]*linkHold{}, runs: make([]*run, faults)}
}

// linkKey packs a directed link; node ids are below 1<<16 (sim caps them at 1024).
func linkKey(from, to sim.NodeID) int { return int(from)<<16 | int(to) }

func unpackLink(k int) (from, to sim.NodeID) { return sim.NodeID(k >> 16), sim.NodeID(k & 0xffff) }

// begin starts fault i at its At.
func (nm *nemesis) begin(i int, f Fault) {
	if nm.healed {
		nm.w.Note(0, fmt.Sprintf("fault %d skipped: the schedule already healed", i))
		return
	}
	r := &run{idx: i, f: f, spec: spec(f.Kind)}
	if !nm.resolve(r) {
		return
	}
	nm.active = append(nm.active, r)
	nm.runs[i] = r
	nm.w.Fault(r.first(), fmt.Sprintf("fault %d begin: %s", i, r.describe()))
	if o, ok := nm.t.(Observer); ok {
		o.FaultBegan(i, r.resolved(), r.describe())
	}
	r.spec.apply(nm, r)
	if f.Until == f.At {
		nm.w.At(sim.Time(f.Until), func() { nm.finish(r) })
	}
}

// end ends fault i at its Until, if it began (and was not healed already).
func (nm *nemesis) end(i int) {
	if r := nm.runs[i]; r != nil {
		nm.finish(r)
	}
}

// finish undoes r, once: at its Until, or earlier at the final heal.
func (nm *nemesis) finish(r *run) {
	if r.done {
		return
	}
	r.done = true
	if i := slices.Index(nm.active, r); i >= 0 {
		nm.active = slices.Delete(nm.active, i, i+1)
	}
	if r.spec.instant() {
		return // nothing to undo
	}
	nm.w.Fault(r.first(), fmt.Sprintf("fault %d end: %s", r.idx, r.describe()))
	if o, ok := nm.t.(Observer); ok {
		o.FaultEnded(r.idx, r.resolved())
	}
	r.spec.undo(nm, r)
}

// first is the node a trace line about r is filed under (0: the world).
func (r *run) first() sim.NodeID {
	if len(r.nodes) > 0 {
		return r.nodes[0]
	}
	if len(r.groups) > 0 && len(r.groups[0]) > 0 {
		return r.groups[0][0]
	}
	return 0
}

// resolved is r's fault with its targets as resolved at its start: the
// nodes it hit (the leader it found, for a leader-targeted fault) and the
// groups it drew.
func (r *run) resolved() Fault {
	f := r.f.clone()
	f.Leader = false
	f.Nodes = ids(r.nodes)
	f.Groups = nil
	for _, g := range r.groups {
		f.Groups = append(f.Groups, ids(g))
	}
	return f
}

// describe renders r with its targets as resolved.
func (r *run) describe() string {
	f := r.f
	f.Leader = false
	f.Nodes = ids(r.nodes)
	f.Groups = nil
	for _, g := range r.groups {
		f.Groups = append(f.Groups, ids(g))
	}
	if r.spec.target == targetNone {
		f.Nodes = nil // isolate-leader: its node is the leader it found
	}
	if r.spec.leaderPicks && len(r.nodes) == 0 {
		f.Leader = true
	}
	s := f.String()
	if r.leader != 0 {
		s += fmt.Sprintf(" (leader n%d)", r.leader)
	}
	return s
}

func ids(nodes []sim.NodeID) []int {
	out := make([]int, len(nodes))
	for i, id := range nodes {
		out[i] = int(id)
	}
	return out
}

func nodeIDs(ids []int) []sim.NodeID {
	out := make([]sim.NodeID, len(ids))
	for i, id := range ids {
		out[i] = sim.NodeID(id)
	}
	return out
}

// resolve fills in r's targets; it reports false (and says why in the
// trace) if the fault cannot apply now.
func (nm *nemesis) resolve(r *run) bool {
	f, s := r.f, r.spec
	switch {
	case s.onLeader || f.Leader:
		id, _ := nm.t.Leader()
		if id < 1 || id > nm.n {
			nm.w.Note(0, fmt.Sprintf("fault %d skipped: %s: no leader", r.idx, f))
			return false
		}
		r.leader = id
		if !s.leaderPicks { // else the leader is the source: the target is left to it
			r.nodes = []sim.NodeID{sim.NodeID(id)}
		}
	case hasRefs(f.Nodes) || slices.ContainsFunc(f.Groups, hasRefs):
		// Leader-relative targets: resolved now, against the leader now.
		id, _ := nm.t.Leader()
		if id < 1 || id > nm.n {
			nm.w.Note(0, fmt.Sprintf("fault %d skipped: %s: no leader", r.idx, f))
			return false
		}
		r.leader = id
		if len(f.Nodes) > 0 {
			r.nodes = nodeIDs(ResolveRefs(f.Nodes, id, nm.n, nm.rand))
		}
		for _, g := range f.Groups {
			r.groups = append(r.groups, nodeIDs(ResolveRefs(g, id, nm.n, nm.rand)))
		}
	case s.target == targetNodes && len(f.Nodes) > 0:
		r.nodes = nodeIDs(f.Nodes)
	case s.target == targetNodes:
		k := 1
		if !s.one {
			k = 1 + nm.rand.IntN(max(1, (nm.n-1)/2))
		}
		r.nodes = nodeIDs(drawNodes(nm.rand, nm.n, k))
	case len(f.Groups) > 0:
		for _, g := range f.Groups {
			r.groups = append(r.groups, nodeIDs(g))
		}
	case s.drawGroups != nil:
		r.groups = nm.drawGroups(s)
	}
	return true
}

// drawNodes draws k distinct servers of 1..n, returned sorted.
func drawNodes(r *sim.Rand, n, k int) []int {
	all := make([]int, n)
	for i := range all {
		all[i] = i + 1
	}
	shuffle(r, all)
	out := all[:min(k, n)]
	slices.Sort(out)
	return out
}

// shuffle is Fisher-Yates with the given stream.
func shuffle(r *sim.Rand, s []int) {
	for i := len(s) - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		s[i], s[j] = s[j], s[i]
	}
}

// drawGroups resolves a group kind's shape at start: all servers
// shuffled, then cut as the kind says, each group sorted.
func (nm *nemesis) drawGroups(s *kindSpec) [][]sim.NodeID {
	all := make([]int, nm.n)
	for i := range all {
		all[i] = i + 1
	}
	shuffle(nm.rand, all)
	gs := s.drawGroups(nm, all)
	out := make([][]sim.NodeID, len(gs))
	for i, g := range gs {
		g = slices.Clone(g)
		slices.Sort(g)
		out[i] = nodeIDs(g)
	}
	return out
}

// drawMajorityMinority: the current leader (if any) and random others
// form the largest minority, (n-1)/2 servers, so the old leader is cut off.
func drawMajorityMinority(nm *nemesis, all []int) [][]int {
	m := (nm.n - 1) / 2
	if lead, _ := nm.t.Leader(); lead >= 1 && lead <= nm.n {
		i := slices.Index(all, lead)
		all[0], all[i] = all[i], all[0]
	}
	return [][]int{all[m:], all[:m]}
}

// drawEvenSplit: random halves.
func drawEvenSplit(nm *nemesis, all []int) [][]int {
	return [][]int{all[:nm.n/2], all[nm.n/2:]}
}

// drawBridge: a random bridge node, the rest split in two random sides.
func drawBridge(nm *nemesis, all []int) [][]int {
	side := (nm.n - 1) / 2
	return [][]int{all[1 : 1+side], all[:1], all[1+side:]}
}

// drawOneWay: a random server and everyone else, the direction drawn
// (the server goes mute or deaf).
func drawOneWay(nm *nemesis, all []int) [][]int {
	gs := [][]int{all[:1], all[1:]}
	if nm.rand.Chance(0.5) {
		gs[0], gs[1] = gs[1], gs[0]
	}
	return gs
}

// What each kind does (apply) and undoes (undo), as the kinds table
// pairs them. An undo releases what its apply holds; effects end when
// their last holder does.

// applyKill and applyTornKill take r's nodes down; undoDown brings them
// back once no other fault holds them down.
func (nm *nemesis) applyKill(r *run) {
	for _, id := range r.nodes {
		nm.down(r, id, false)
	}
}

func (nm *nemesis) applyTornKill(r *run) {
	for _, id := range r.nodes {
		nm.down(r, id, true)
	}
}

func (nm *nemesis) undoDown(r *run) {
	for _, id := range r.nodes {
		nm.node[id].down--
		nm.revive(r, id)
	}
}

func (nm *nemesis) applyPause(r *run) {
	for _, id := range r.nodes {
		nm.node[id].pause++
		nm.pauseIfHeld(id)
	}
}

func (nm *nemesis) undoPause(r *run) {
	for _, id := range r.nodes {
		h := &nm.node[id]
		h.pause--
		if h.pause == 0 && h.pausedUs {
			h.pausedUs = false
			if nm.w.Paused(id) {
				nm.must(r, nm.w.Resume(id))
			}
		}
	}
}

// applyIsolate cuts each node from every other node (clients too), both ways.
func (nm *nemesis) applyIsolate(r *run) {
	total := sim.NodeID(nm.w.Nodes())
	for _, id := range r.nodes {
		for o := sim.NodeID(1); o <= total; o++ {
			if o != id {
				nm.cut(r, id, o)
				nm.cut(r, o, id)
			}
		}
	}
}

// applySplit cuts every pair of servers in different groups, both ways.
func (nm *nemesis) applySplit(r *run) {
	for i, a := range r.groups {
		for j, b := range r.groups {
			if i != j {
				nm.cutAll(r, a, b)
			}
		}
	}
}

// applyBridge cuts the two sides apart; the bridge talks to both.
func (nm *nemesis) applyBridge(r *run) {
	nm.cutAll(r, r.groups[0], r.groups[2])
	nm.cutAll(r, r.groups[2], r.groups[0])
}

func (nm *nemesis) applyOneWay(r *run) { nm.cutAll(r, r.groups[0], r.groups[1]) }

func (nm *nemesis) undoCuts(r *run) {
	for _, k := range r.cuts {
		nm.uncut(r, k)
	}
}

// applyLink makes r a modifier of every link into and out of its nodes
// (its kind's link function says how); undoLink removes it.
func (nm *nemesis) applyLink(r *run) { nm.modifyLinks(r) }

func (nm *nemesis) undoLink(r *run) {
	for _, k := range r.mods {
		h := nm.links[k]
		h.runs = slices.DeleteFunc(h.runs, func(o *run) bool { return o == r })
		nm.setLink(r, k, h)
		if len(h.runs) == 0 {
			delete(nm.links, k)
		}
	}
}

// applyJump jumps the nodes' clocks by Delay (clock-skew and clock-jump);
// undoSkew jumps them back.
func (nm *nemesis) applyJump(r *run) {
	for _, id := range r.nodes {
		nm.must(r, nm.w.JumpClock(id, r.f.Delay))
	}
}

func (nm *nemesis) undoSkew(r *run) {
	for _, id := range r.nodes {
		nm.must(r, nm.w.JumpClock(id, -r.f.Delay))
	}
}

func (nm *nemesis) applyDrift(r *run) {
	for _, id := range r.nodes {
		nm.node[id].drift += r.f.PPM
		nm.setDrift(r, id)
	}
}

func (nm *nemesis) undoDrift(r *run) {
	for _, id := range r.nodes {
		nm.node[id].drift -= r.f.PPM
		nm.setDrift(r, id)
	}
}

func (nm *nemesis) applySlow(r *run) {
	for _, id := range r.nodes {
		nm.node[id].slow = append(nm.node[id].slow, r)
		nm.setSlow(id)
	}
}

func (nm *nemesis) undoSlow(r *run) {
	for _, id := range r.nodes {
		h := &nm.node[id]
		h.slow = slices.DeleteFunc(h.slow, func(o *run) bool { return o == r })
		nm.setSlow(id)
	}
}

func (nm *nemesis) applyFull(r *run) {
	for _, id := range r.nodes {
		d := nm.w.Disk(id)
		r.capacity = max(d.VisibleBytes()+r.f.Bytes, 1) // 0 would mean unlimited
		nm.node[id].full = append(nm.node[id].full, r)
		nm.setFull(id)
	}
}

func (nm *nemesis) undoFull(r *run) {
	for _, id := range r.nodes {
		h := &nm.node[id]
		h.full = slices.DeleteFunc(h.full, func(o *run) bool { return o == r })
		nm.setFull(id)
		nm.revive(r, id)
	}
}

func (nm *nemesis) applyFailSync(r *run) {
	for _, id := range r.nodes {
		nm.node[id].failSync++
		nm.w.Disk(id).SetFailSync(true)
	}
}

func (nm *nemesis) undoFailSync(r *run) {
	for _, id := range r.nodes {
		h := &nm.node[id]
		h.failSync--
		if h.failSync == 0 {
			nm.w.Disk(id).SetFailSync(false)
		}
		nm.revive(r, id)
	}
}

func (nm *nemesis) applyQuiet(*run) {
	nm.quiet++
	if nm.quiet == 1 {
		nm.t.StopLoad()
	}
}

func (nm *nemesis) undoQuiet(*run) {
	nm.quiet--
	if nm.quiet == 0 {
		nm.t.StartLoad()
	}
}

// changing asks a MembershipTarget for a membership change of the
// servers servers(r) names.
func changing(servers func(r *run) (add, remove []int)) func(nm *nemesis, r *run) {
	return func(nm *nemesis, r *run) {
		mt, ok := nm.t.(MembershipTarget)
		if !ok {
			nm.w.Note(0, fmt.Sprintf("fault %d: %s: this target takes no membership changes", r.idx, r.f.Kind))
			return
		}
		add, remove := servers(r)
		mt.ChangeMembership(r.f.Kind, add, remove)
	}
}

func adding(r *run) (add, remove []int)   { return ids(r.nodes), nil }
func removing(r *run) (add, remove []int) { return nil, ids(r.nodes) }
func addingAndRemoving(r *run) (add, remove []int) {
	return slices.Clone(r.f.Groups[0]), slices.Clone(r.f.Groups[1])
}

// must records a failed world call in the trace; a fault never panics.
func (nm *nemesis) must(r *run, err error) {
	if err != nil {
		nm.w.Note(r.first(), fmt.Sprintf("fault %d: %v", r.idx, err))
	}
}

// down takes a hold on id being down, killing it if it is up.
func (nm *nemesis) down(r *run, id sim.NodeID, keepPrefix bool) {
	h := &nm.node[id]
	h.down++
	if !nm.w.Up(id) {
		nm.w.Note(id, fmt.Sprintf("fault %d: %s already down", r.idx, id))
		return
	}
	h.pausedUs = false // a kill ends a pause
	nm.must(r, nm.w.Kill(id, keepPrefix))
}

// revive restarts id if it is down and no active fault holds it down,
// then pauses it again if a pause still holds it.
func (nm *nemesis) revive(r *run, id sim.NodeID) {
	if nm.node[id].down > 0 || nm.w.Up(id) {
		return
	}
	nm.must(r, nm.w.Restart(id))
	if err := nm.w.StartError(id); err != nil {
		nm.w.Note(id, fmt.Sprintf("fault %d: %s did not restart: %v", r.idx, id, err))
	}
	nm.pauseIfHeld(id)
}

func (nm *nemesis) pauseIfHeld(id sim.NodeID) {
	h := &nm.node[id]
	if h.pause > 0 && nm.w.Up(id) && !nm.w.Paused(id) {
		if nm.w.Pause(id) == nil {
			h.pausedUs = true
		}
	}
}

// damaging takes each of r's nodes down (so what its disk shows is what
// is durable) and damages its durable data with hit.
func damaging(hit func(nm *nemesis, r *run, id sim.NodeID)) func(nm *nemesis, r *run) {
	return func(nm *nemesis, r *run) {
		for _, id := range r.nodes {
			nm.down(r, id, false)
			hit(nm, r, id)
		}
	}
}

// damaged records a hit on id's durable data in the trace and tells a
// Target that is a DamageObserver.
func (nm *nemesis) damaged(r *run, id sim.NodeID, what string) {
	nm.w.Fault(id, fmt.Sprintf("fault %d: %s", r.idx, what))
	if o, ok := nm.t.(DamageObserver); ok {
		o.StorageDamaged(int(id), r.f.Kind)
	}
}

// files lists durable files a storage fault hits, with their sizes, in
// the order their bytes count.
type files func(d *disk.Disk) (names []string, sizes []int64)

// walSegments lists the WAL's segment files on d with their sizes, in
// name (= replay) order. The names are the WAL's (raft/wal: wal-%016x.log).
func walSegments(d *disk.Disk) (names []string, sizes []int64) {
	all, _ := d.List()
	for _, name := range all {
		if !strings.HasPrefix(name, "wal-") || !strings.HasSuffix(name, ".log") {
			continue
		}
		b, err := d.ReadFile(name)
		if err != nil {
			continue
		}
		names = append(names, name)
		sizes = append(sizes, int64(len(b)))
	}
	return names, sizes
}

// markFile is the Raft server's durable high-water mark (raft/server's
// hwm.log): the file truncate-mark and bitflip-mark damage.
const markFile = "hwm.log"

// markFiles is the high-water mark file, if there is one.
func markFiles(d *disk.Disk) (names []string, sizes []int64) {
	if b, err := d.ReadFile(markFile); err == nil {
		return []string{markFile}, []int64{int64(len(b))}
	}
	return nil, nil
}

// newestSnapshot is the durable snapshot file (raft/server's
// snap-INDEX-TERM.snap, hex, so name order is index order) with the
// highest index, if any: what truncate-snapshot and bitflip-snapshot hit.
func newestSnapshot(d *disk.Disk) (names []string, sizes []int64) {
	all, _ := d.List()
	for i := len(all) - 1; i >= 0; i-- {
		name := all[i]
		if !strings.HasPrefix(name, "snap-") || !strings.HasSuffix(name, ".snap") {
			continue
		}
		if b, err := d.ReadFile(name); err == nil {
			return []string{name}, []int64{int64(len(b))}
		}
	}
	return nil, nil
}

// truncating cuts Bytes off the end of the newest non-empty file of
// which: the most recently synced data.
func truncating(which files) func(nm *nemesis, r *run, id sim.NodeID) {
	return func(nm *nemesis, r *run, id sim.NodeID) {
		d := nm.w.Disk(id)
		names, sizes := which(d)
		for i := len(names) - 1; i >= 0; i-- {
			if sizes[i] == 0 {
				continue
			}
			to := max(sizes[i]-r.f.Bytes, 0)
			nm.must(r, d.TruncateDurable(names[i], to))
			nm.damaged(r, id, fmt.Sprintf("truncate %s from %d to %d bytes", names[i], sizes[i], to))
			return
		}
		nm.w.Note(id, fmt.Sprintf("fault %d: %s has no data to truncate", r.idx, id))
	}
}

// flipping flips bit Bit of the byte at Offset (modulo their size) of
// which's files taken together, counted back from the end if fromEnd
// (so a small offset hits the newest record).
func flipping(which files, fromEnd bool) func(nm *nemesis, r *run, id sim.NodeID) {
	return func(nm *nemesis, r *run, id sim.NodeID) {
		d := nm.w.Disk(id)
		names, sizes := which(d)
		var total int64
		for _, s := range sizes {
			total += s
		}
		if total == 0 {
			nm.w.Note(id, fmt.Sprintf("fault %d: %s has no data to corrupt", r.idx, id))
			return
		}
		off := r.f.Offset % total
		if fromEnd {
			off = total - 1 - off
		}
		for i, s := range sizes {
			if off < s {
				nm.must(r, d.CorruptDurable(names[i], off, r.f.Bit))
				nm.damaged(r, id, fmt.Sprintf("flip bit %d of byte %d of %s", r.f.Bit, off, names[i]))
				return
			}
			off -= s
		}
	}
}

// wiping replaces id's disk with an empty one.
func wiping(nm *nemesis, r *run, id sim.NodeID) {
	nm.w.Disk(id).Wipe()
	nm.damaged(r, id, "disk replaced, empty")
}

// cut takes a hold on from→to being cut.
func (nm *nemesis) cut(r *run, from, to sim.NodeID) {
	k := linkKey(from, to)
	if slices.Contains(r.cuts, k) {
		return
	}
	r.cuts = append(r.cuts, k)
	h := nm.cuts[k]
	if h == nil {
		h = &cutHold{owned: nm.w.Net().Connected(from, to)}
		nm.cuts[k] = h
		if h.owned {
			nm.must(r, nm.w.Net().Cut(from, to))
		}
	}
	h.count++
}

func (nm *nemesis) cutAll(r *run, from, to []sim.NodeID) {
	for _, a := range from {
		for _, b := range to {
			nm.cut(r, a, b)
		}
	}
}

// uncut releases a hold; the last holder reconnects the link if the
// nemesis was the one that cut it.
func (nm *nemesis) uncut(r *run, k int) {
	h := nm.cuts[k]
	if h == nil {
		return
	}
	h.count--
	if h.count > 0 {
		return
	}
	delete(nm.cuts, k)
	if h.owned {
		from, to := unpackLink(k)
		nm.must(r, nm.w.Net().Connect(from, to))
	}
}

// modifyLinks adds r as a modifier of every link into and out of its nodes.
func (nm *nemesis) modifyLinks(r *run) {
	total := sim.NodeID(nm.w.Nodes())
	for _, id := range r.nodes {
		for o := sim.NodeID(1); o <= total; o++ {
			if o == id {
				continue
			}
			for _, k := range []int{linkKey(id, o), linkKey(o, id)} {
				if slices.Contains(r.mods, k) {
					continue
				}
				r.mods = append(r.mods, k)
				h := nm.links[k]
				if h == nil {
					from, to := unpackLink(k)
					h = &linkHold{base: nm.w.Net().Link(from, to)}
					nm.links[k] = h
				}
				h.runs = append(h.runs, r)
				nm.setLink(r, k, h)
			}
		}
	}
}

// setLink configures link k as its base modified by every active holder
// in start order: probabilities compose as independent events, delays add.
func (nm *nemesis) setLink(r *run, k int, h *linkHold) {
	cfg := h.base
	for _, m := range h.runs {
		m.spec.link(&cfg, m.f)
	}
	from, to := unpackLink(k)
	nm.must(r, nm.w.Net().SetLink(from, to, cfg))
}

// orProb is the probability that either of two independent events happens.
// The explicit conversion stops the compiler fusing the multiply into the
// subtraction, which would round differently per architecture.
func orProb(a, b float64) float64 {
	return min(max(a+b-float64(a*b), 0), 1) // = 1-(1-a)(1-b), exact when either is 0

}

func (nm *nemesis) setDrift(r *run, id sim.NodeID) {
	ppm := min(max(nm.node[id].drift, -sim.MaxDriftPPM+1), sim.MaxDriftPPM-1)
	nm.must(r, nm.w.SetClockDrift(id, ppm))
}

// setSlow sets id's fsync latency to the largest an active fault asks for.
func (nm *nemesis) setSlow(id sim.NodeID) {
	h := &nm.node[id]
	if len(h.slow) == 0 {
		nm.w.Disk(id).SetSyncLatency(nil)
		return
	}
	var d time.Duration
	for _, r := range h.slow {
		d = max(d, r.f.Delay)
	}
	nm.w.Disk(id).SetSyncLatency(func() time.Duration { return d })
}

// setFull sets id's capacity to the smallest an active fault asks for.
func (nm *nemesis) setFull(id sim.NodeID) {
	h := &nm.node[id]
	var c int64
	for i, r := range h.full {
		if i == 0 || r.capacity < c {
			c = r.capacity
		}
	}
	nm.w.Disk(id).SetCapacity(c) // 0: unlimited
}

// healAll ends every active fault, then puts the whole world back to
// health whatever caused the damage: servers up and running, every link
// connected and configured as before the faults, clocks at zero drift,
// disk hooks off, load on. Faults scheduled after it are skipped.
func (nm *nemesis) healAll() {
	nm.w.Fault(0, "heal-all")

	for _, r := range slices.Backward(slices.Clone(nm.active)) {
		nm.finish(r)
	}
	nm.healed = true
	for _, k := range slices.Sorted(maps.Keys(nm.links)) {
		from, to := unpackLink(k)
		_ = nm.w.Net().SetLink(from, to, nm.links[k].base)
	}
	clear(nm.links)
	clear(nm.cuts)
	nm.w.Net().Heal()
	for i := 1; i <= nm.n; i++ {
		id := sim.NodeID(i)
		d := nm.w.Disk(id)
		d.SetSyncLatency(nil)
		d.SetCapacity(0)
		d.SetFailSync(false)
		_ = nm.w.SetClockDrift(id, 0)
		if nm.w.Paused(id) {
			_ = nm.w.Resume(id)
		}
		if !nm.w.Up(id) {
			if err := nm.w.Restart(id); err != nil {
				nm.w.Note(id, "heal-all: "+err.Error())
			} else if err := nm.w.StartError(id); err != nil {
				nm.w.Note(id, fmt.Sprintf("heal-all: %s did not restart: %v", id, err))
			}
		}
		nm.node[i] = nodeHold{}
	}
	nm.quiet = 0
	nm.t.StartLoad()
}

// Transferrer is implemented by a Target whose leader can be asked to
// hand over leadership (the transfer kind).
type Transferrer interface {
	// TransferLeadership asks the leader to hand leadership to server to
	// (0: its most up-to-date follower); an error says why it would not.
	TransferLeadership(to int) error
}

// applyTransfer asks the leader to hand leadership to r's target; what
// came of the request is noted in the trace.
func (nm *nemesis) applyTransfer(r *run) {
	tr, ok := nm.t.(Transferrer)
	if !ok {
		nm.w.Note(0, fmt.Sprintf("fault %d skipped: the target cannot transfer leadership", r.idx))
		return
	}
	to := 0
	if len(r.nodes) > 0 {
		to = int(r.nodes[0])
	}
	if err := tr.TransferLeadership(to); err != nil {
		nm.w.Note(0, fmt.Sprintf("fault %d: transfer not started: %v", r.idx, err))
	}
}
