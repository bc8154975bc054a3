package sim

import (
	"fmt"
	"strconv"
	"time"

	"github.com/seed4fee1fef/raftsim/sim/disk"
)

// Config sets up a World. The zero values of Link mean an instant, perfect
// network; Nodes must be at least 1.
type Config struct {
	Seed  uint64
	Nodes int        // network endpoints (servers and clients), numbered 1..Nodes
	Link  LinkConfig // initial setting of every link
	Trace TraceMode
}

// Validate names the first nonsensical value.
func (c Config) Validate() error {
	if c.Nodes < 1 {
		return fmt.Errorf("sim: nodes = %d, want at least 1", c.Nodes)
	}
	if c.Nodes > maxNodes {
		return fmt.Errorf("sim: nodes = %d, want at most %d", c.Nodes, maxNodes)
	}
	if err := c.Link.Validate(); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if c.Trace > TraceFull {
		return fmt.Errorf("sim: unknown trace mode %d", c.Trace)
	}
	return nil
}

// maxNodes keeps the link matrix small; a Raft test never needs more.
const maxNodes = 1024

// World is one simulated run: clock, event queue, random streams, network,
// disks, processes and trace. It is single-threaded by construction.
type World struct {
	seed    uint64
	now     Time
	seq     uint64
	gen     uint64
	q       queue
	events  []event  // arena; queue slots index into it
	free    []uint32 // recycled arena indexes
	procs   []*proc  // index 0 unused
	net     *Network
	trace   *Trace
	streams map[string]*Rand
	stopped bool
	stopMsg string
	// onDisk, if set, sees every disk operation of every node.
	onDisk func(NodeID, disk.Op)
}

// OnDisk has f see every disk operation of every node after it took
// effect (a harness measuring fsync latency, say). f must not keep op's
// strings past the call, nor touch the disk.
func (w *World) OnDisk(f func(id NodeID, op disk.Op)) { w.onDisk = f }

// New builds a World from cfg.
func New(cfg Config) (*World, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &World{seed: cfg.Seed, trace: newTrace(cfg.Trace), streams: map[string]*Rand{}}
	w.procs = []*proc{nil}
	w.net = newNetwork(w, 0, cfg.Link)
	for i := 0; i < cfg.Nodes; i++ {
		w.addProc(cfg.Link)
	}
	return w, nil
}

func (w *World) addProc(def LinkConfig) NodeID {
	id := NodeID(len(w.procs))
	p := &proc{id: id, clock: newClock(), rand: w.Rand("disk/" + strconv.Itoa(int(id)))}
	p.disk = disk.New()
	var notes diskNotes
	p.disk.SetObserver(func(op disk.Op) {
		w.trace.add(Event{At: w.now, Kind: KindDisk, Node: id, Size: op.Size, Note: notes.note(op)}, nil)
		if w.onDisk != nil {
			w.onDisk(id, op)
		}
	})
	w.procs = append(w.procs, p)
	w.net.grow(int(id), def)
	return id
}

// AddNode adds a network endpoint (for a node joining the cluster); its
// links to everyone take the configuration def.
func (w *World) AddNode(def LinkConfig) (NodeID, error) {
	if err := def.Validate(); err != nil {
		return 0, err
	}
	if len(w.procs) > maxNodes {
		return 0, fmt.Errorf("sim: at most %d nodes", maxNodes)
	}
	return w.addProc(def), nil
}

// Nodes is the number of endpoints.
func (w *World) Nodes() int { return len(w.procs) - 1 }

// Seed is the world's seed.
func (w *World) Seed() uint64 { return w.seed }

// Now is world time.
func (w *World) Now() Time { return w.now }

// Net is the world's network.
func (w *World) Net() *Network { return w.net }

// Trace is the world's trace.
func (w *World) Trace() *Trace { return w.trace }

// Rand returns the named stream; the same name always gives the same
// stream object, so draws continue where they left off.
func (w *World) Rand(name string) *Rand {
	r, ok := w.streams[name]
	if !ok {
		r = NewRand(w.seed, name)
		w.streams[name] = r
	}
	return r
}

// schedule queues a new event of the given kind at time at and returns
// its arena index for the caller to fill in. The pointer to the event is
// valid only until the next schedule (the arena may grow).
func (w *World) schedule(at Time, kind eventKind) (uint32, *event) {
	var idx uint32
	if n := len(w.free); n > 0 {
		idx = w.free[n-1]
		w.free = w.free[:n-1]
	} else {
		w.events = append(w.events, event{})
		idx = uint32(len(w.events) - 1)
	}
	w.seq++
	w.gen++
	ev := &w.events[idx]
	*ev = event{gen: w.gen, kind: kind}
	w.q.push(at, w.seq, idx)
	return idx, ev
}

// requeue puts an existing (parked) event back in the queue at time at.
func (w *World) requeue(at Time, idx uint32) {
	w.seq++
	w.q.push(at, w.seq, idx)
}

func (w *World) recycle(idx uint32) {
	w.events[idx] = event{}
	w.free = append(w.free, idx)
}

// At schedules a world callback at time t (clamped to now: the past is gone).
func (w *World) At(t Time, fn func()) {
	if t < w.now {
		t = w.now
	}
	_, ev := w.schedule(t, evCall)
	ev.fn = fn
}

// After schedules a world callback d from now.
func (w *World) After(d time.Duration, fn func()) { w.At(w.now.Add(d), fn) }

// Note adds a harness annotation to the trace.
func (w *World) Note(id NodeID, s string) {
	w.trace.add(Event{At: w.now, Kind: KindNote, Node: id, Note: s}, nil)
}

// Fault records an injected fault in the trace.
func (w *World) Fault(id NodeID, s string) {
	w.trace.add(Event{At: w.now, Kind: KindFault, Node: id, Note: s}, nil)
}

// Stop ends the run after the current event (for example: a checker found
// a violation). Stopped reports why.
func (w *World) Stop(why string) {
	if !w.stopped {
		w.stopped, w.stopMsg = true, why
	}
}

// Stopped reports whether Stop was called, and why.
func (w *World) Stopped() (bool, string) { return w.stopped, w.stopMsg }

// Step runs the next event; it reports false when there is none or the
// world was stopped.
func (w *World) Step() bool {
	for !w.stopped && w.q.len() > 0 {
		s := w.q.pop()
		idx := s.idx()
		ev := &w.events[idx]
		if ev.canceled || (ev.owner != nil && ev.owner.inc != ev.inc) {
			w.recycle(idx)
			continue
		}
		w.now = s.at
		w.run(idx)
		return true
	}
	return false
}

// RunUntil runs every event due at or before t, then sets the clock to t.
func (w *World) RunUntil(t Time) {
	for !w.stopped && w.q.len() > 0 && w.q.peek().at <= t {
		w.Step()
	}
	if !w.stopped && w.now < t {
		w.now = t
	}
}

// RunFor runs for d of virtual time.
func (w *World) RunFor(d time.Duration) { w.RunUntil(w.now.Add(d)) }

// Pending is the number of queued events (including canceled ones not yet
// reached).
func (w *World) Pending() int { return w.q.len() }

// run executes the event at arena index idx. Its callback may schedule
// more events (growing the arena), so fields are read before it runs.
func (w *World) run(idx uint32) {
	ev := w.events[idx]
	switch ev.kind {
	case evCall:
		w.recycle(idx)
		w.trace.add(Event{At: w.now, Kind: KindCall}, nil)
		ev.fn()
	case evTimer:
		p := ev.owner
		if w.hold(p, idx) {
			return
		}
		w.recycle(idx)
		w.trace.add(Event{At: w.now, Kind: KindTimer, Node: p.id}, nil)
		w.dispatch(p, ev.fn)
	case evDepart:
		w.recycle(idx)
		// The fsyncs this message waited for are done before it leaves.
		ev.owner.disk.CompleteSyncsUpTo(ev.msg.syncMark)
		w.net.depart(ev.msg)
	case evDeliver:
		if !w.net.arrive(idx, &ev.msg) {
			w.recycle(idx)
		}
	}
}

// hold parks ev if its process is paused or busy; it reports whether it did.
func (w *World) hold(p *proc, idx uint32) bool {
	if !p.paused && w.now >= p.busyUntil {
		return false
	}
	p.deferred = append(p.deferred, idx)
	return true
}

// wake re-queues what a process deferred, in arrival order, at the current time.
func (w *World) wake(p *proc) {
	if p.paused || w.now < p.busyUntil {
		return
	}
	deferred := p.deferred
	p.deferred = nil
	for _, idx := range deferred {
		w.requeue(w.now, idx)
	}
}

// dispatch runs fn as process p and charges p for any disk time it spent:
// the process is busy until that time has passed.
func (w *World) dispatch(p *proc, fn func()) {
	p.elapsed = 0
	fn()
	if !p.up {
		return
	}
	w.chargeDisk(p)
	if p.elapsed > 0 {
		p.busyUntil = w.now.Add(p.elapsed)
		p.elapsed = 0
		inc := p.inc
		w.At(p.busyUntil, func() {
			if p.inc == inc {
				// The slow fsyncs it waited for complete now; a kill
				// before this point would have found them unfinished.
				p.disk.CompleteSyncs()
				w.wake(p)
			}
		})
	}
}

// chargeDisk adds the disk time p spent since the last charge to its
// elapsed time, and has each slow fsync become durable at its own time:
// the device serves them one after another, so a kill between two fsyncs
// of one dispatch keeps the first and loses the second.
func (w *World) chargeDisk(p *proc) {
	base, inc := w.now.Add(p.elapsed), p.inc
	p.elapsed += p.disk.TakeSyncs(func(id uint64, after time.Duration) {
		w.At(base.Add(after), func() {
			if p.inc == inc {
				p.disk.CompleteSyncsThrough(id)
			}
		})
	})
}

// diskNotes remembers the rendered notes of one disk's operations that
// succeeded: a node touches a handful of files, so after its first few
// operations a disk event costs no string building (it was one allocation
// per disk operation). A short list scanned in order beats a map here:
// names compare by pointer first, and there are few of them. Failures are
// rendered each time.
type diskNotes []diskNoteEntry

type diskNoteEntry struct {
	kind           disk.OpKind
	name, to, note string
}

// maxDiskNotes bounds the memory a disk that creates many names can pin.
const maxDiskNotes = 32

func (n *diskNotes) note(op disk.Op) string {
	if op.Err != nil {
		return diskNote(op)
	}
	for i := range *n {
		if e := &(*n)[i]; e.kind == op.Kind && e.name == op.Name && e.to == op.To {
			return e.note
		}
	}
	s := diskNote(op)
	if len(*n) < maxDiskNotes {
		*n = append(*n, diskNoteEntry{op.Kind, op.Name, op.To, s})
	}
	return s
}

// diskNote renders a disk operation for the trace: "write wal", "rename a b",
// "sync wal: input/output error".
func diskNote(op disk.Op) string {
	s := op.Kind.String()
	if op.Name != "" {
		s += " " + op.Name
	}
	if op.To != "" {
		s += " " + op.To
	}
	if op.Err != nil {
		s += ": " + op.Err.Error()
	}
	return s
}
