package sim

import (
	"fmt"
	"strconv"
	"time"

	"github.com/seed4fee1fef/raftsim/sim/disk"
)

// NodeID names a network endpoint and the process at it (a Raft node or a
// client). IDs are dense, from 1.
type NodeID int

func (id NodeID) String() string { return "n" + strconv.Itoa(int(id)) }

// Handler is a running process: the network calls Receive with bytes that
// are the process's own to keep.
type Handler interface {
	Receive(from NodeID, msg []byte)
}

// Factory builds a process from its environment. It runs at first start and
// at every restart, and sees nothing but env: what the process knows after a
// crash is exactly what its disk kept. An error leaves the process down
// (a node that finds its disk corrupt refuses to start).
type Factory func(env *Env) (Handler, error)

type proc struct {
	id        NodeID
	inc       uint32 // incarnation: bumped by each kill so the old one's events die
	up        bool
	started   bool
	paused    bool
	busyUntil Time          // a slow fsync holds the process until then
	elapsed   time.Duration // disk time charged during the current dispatch
	deferred  []uint32      // arena indexes of events that arrived while paused or busy
	factory   Factory
	handler   Handler
	env       *Env
	disk      *disk.Disk
	clock     Clock
	startErr  error
	rand      *Rand // crash-tearing draws for this node's disk
}

// Env is a process incarnation's window on the world. An Env outlives its
// incarnation only as a dead handle: after a kill every method is a no-op.
type Env struct {
	w   *World
	p   *proc
	inc uint32
	rnd *Rand
}

func (e *Env) alive() bool { return e.p.up && e.p.inc == e.inc }

// ID is the process's node id.
func (e *Env) ID() NodeID { return e.p.id }

// Incarnation counts the kills this node has survived (0 at first start).
func (e *Env) Incarnation() int { return int(e.inc) }

// Now is the process's local clock, which faults may skew or make drift.
func (e *Env) Now() Time { return e.p.clock.Local(e.w.now.Add(e.p.elapsed)) }

// Monotonic is the process's monotonic clock: it drifts with the local
// clock but never jumps (skews and jumps leave it alone), and it keeps
// running while the process is paused or stalled.
func (e *Env) Monotonic() Time { return e.p.clock.Monotonic(e.w.now.Add(e.p.elapsed)) }

// Rand is this incarnation's own random stream.
func (e *Env) Rand() *Rand { return e.rnd }

// Disk is the process's disk; it survives kills, its page cache does not.
func (e *Env) Disk() *disk.Disk { return e.p.disk }

// Note adds an annotation to the trace (for people reading it, and hashed).
func (e *Env) Note(s string) {
	if e.alive() {
		e.w.trace.add(Event{At: e.w.now, Kind: KindNote, Node: e.p.id, Note: s}, nil)
	}
}

// Send hands msg to the network; the network copies it, so the caller may
// reuse msg. A process that spent disk time (a slow fsync) in this dispatch
// sends only once that time has passed, and not at all if it dies first.
func (e *Env) Send(to NodeID, msg []byte) {
	if !e.alive() {
		return
	}
	e.w.chargeDisk(e.p)
	if e.p.elapsed == 0 {
		e.w.net.send(e.p.id, to, msg)
		return
	}
	m := e.w.net.newMessage(e.p.id, to, msg)
	m.syncMark = e.p.disk.SyncMark()
	_, ev := e.w.schedule(e.w.now.Add(e.p.elapsed), evDepart)
	ev.owner, ev.inc, ev.msg = e.p, e.inc, m
}

// Exit stops the process of its own accord (fail-stop), as a server does
// when its disk refuses a write: nothing it scheduled runs, nothing more is
// sent. Unlike Kill, the page cache survives (the OS still holds it). The
// error is kept as the node's StartError, and Restart may start it again.
func (e *Env) Exit(err error) {
	if !e.alive() {
		return
	}
	p := e.p
	e.w.trace.add(Event{At: e.w.now, Kind: KindNote, Node: p.id, Note: "exit: " + err.Error()}, nil)
	e.w.stopProc(p)
	p.startErr = err
}

// Timer is a cancellable process timer. The zero Timer is valid and
// already stopped.
type Timer struct {
	w   *World
	idx uint32
	gen uint64
}

// Stop cancels the timer; it reports whether the timer was still pending.
func (t Timer) Stop() bool {
	if t.w == nil {
		return false
	}
	ev := &t.w.events[t.idx]
	if ev.gen != t.gen || ev.canceled {
		return false
	}
	ev.canceled = true
	return true
}

// After calls fn after d of the process's local time, unless the process
// dies first or the timer is stopped.
func (e *Env) After(d time.Duration, fn func()) Timer {
	if !e.alive() {
		return Timer{}
	}
	if d < 0 {
		d = 0
	}
	idx, ev := e.w.schedule(e.w.now.Add(e.p.elapsed+e.p.clock.ToWorld(d)), evTimer)
	ev.owner, ev.inc, ev.fn = e.p, e.inc, fn
	return Timer{w: e.w, idx: idx, gen: ev.gen}
}

func (w *World) proc(id NodeID) (*proc, error) {
	if id < 1 || int(id) >= len(w.procs) {
		return nil, fmt.Errorf("sim: unknown node %d (nodes are 1..%d)", id, len(w.procs)-1)
	}
	return w.procs[id], nil
}

// Start runs a process at node id for the first time.
func (w *World) Start(id NodeID, f Factory) error {
	p, err := w.proc(id)
	if err != nil {
		return err
	}
	if f == nil {
		return fmt.Errorf("sim: start %s: nil factory", id)
	}
	if p.started {
		return fmt.Errorf("sim: start %s: already started", id)
	}
	p.started, p.factory = true, f
	w.boot(p, KindStart)
	return nil
}

// Kill is kill -9: the process's memory, timers, deferred events and page
// cache are gone at once. With keepPrefix the disk keeps a seeded prefix of
// its unsynced writes, possibly tearing the last one (as a real crash may).
func (w *World) Kill(id NodeID, keepPrefix bool) error {
	p, err := w.proc(id)
	if err != nil {
		return err
	}
	if !p.up {
		return fmt.Errorf("sim: kill %s: not running", id)
	}
	w.stopProc(p)
	note := "kill -9"
	if keepPrefix {
		note = "kill -9 keep-prefix"
	}
	w.trace.add(Event{At: w.now, Kind: KindCrash, Node: id, Note: note}, nil)
	p.disk.Crash(p.rand, keepPrefix)
	return nil
}

// Restart starts a killed process again from what its disk kept.
func (w *World) Restart(id NodeID) error {
	p, err := w.proc(id)
	if err != nil {
		return err
	}
	if !p.started || p.up {
		return fmt.Errorf("sim: restart %s: not a killed process", id)
	}
	w.boot(p, KindRestart)
	return nil
}

// stopProc ends p's current incarnation: its events die, what it held is
// dropped.
func (w *World) stopProc(p *proc) {
	p.inc++
	p.up, p.paused, p.handler, p.env = false, false, nil, nil
	for _, idx := range p.deferred {
		if ev := w.events[idx]; ev.kind == evDeliver {
			w.net.drop(w.net.link(ev.msg.from, ev.msg.to), ev.msg, "down")
		}
		w.recycle(idx)
	}
	p.deferred, p.busyUntil, p.elapsed = nil, 0, 0
}

func (w *World) boot(p *proc, kind Kind) {
	p.up, p.startErr = true, nil
	env := &Env{w: w, p: p, inc: p.inc, rnd: w.Rand("proc/" + strconv.Itoa(int(p.id)) + "/" + strconv.Itoa(int(p.inc)))}
	p.env = env
	w.trace.add(Event{At: w.now, Kind: kind, Node: p.id, Size: int64(p.inc)}, nil)
	w.dispatch(p, func() {
		h, err := p.factory(env)
		if err != nil {
			p.startErr = err
			w.trace.add(Event{At: w.now, Kind: KindNote, Node: p.id, Note: "start failed: " + err.Error()}, nil)
			p.up, p.handler, p.env = false, nil, nil
			p.inc++ // anything it scheduled before failing dies with it
			return
		}
		p.handler = h
	})
}

// Up reports whether node id is running.
func (w *World) Up(id NodeID) bool {
	p, err := w.proc(id)
	return err == nil && p.up
}

// StartError is the error with which node id's last start failed, if any.
func (w *World) StartError(id NodeID) error {
	p, err := w.proc(id)
	if err != nil {
		return err
	}
	return p.startErr
}

// Pause freezes a running process: its timers and incoming messages wait
// until Resume, as for a stopped VM or a long GC pause.
func (w *World) Pause(id NodeID) error {
	p, err := w.proc(id)
	if err != nil {
		return err
	}
	if !p.up || p.paused {
		return fmt.Errorf("sim: pause %s: not running or already paused", id)
	}
	p.paused = true
	w.trace.add(Event{At: w.now, Kind: KindPause, Node: id}, nil)
	return nil
}

// Resume thaws a paused process; what waited is handled now, in arrival order.
func (w *World) Resume(id NodeID) error {
	p, err := w.proc(id)
	if err != nil {
		return err
	}
	if !p.up || !p.paused {
		return fmt.Errorf("sim: resume %s: not paused", id)
	}
	p.paused = false
	w.trace.add(Event{At: w.now, Kind: KindResume, Node: id}, nil)
	w.wake(p)
	return nil
}

// Syncing reports whether node id has a slow fsync in progress: what it
// wrote before it is not durable yet (and nothing it sent after it has left).
func (w *World) Syncing(id NodeID) bool {
	p, err := w.proc(id)
	return err == nil && p.up && p.disk.Syncing()
}

// Paused reports whether node id is frozen.
func (w *World) Paused(id NodeID) bool {
	p, err := w.proc(id)
	return err == nil && p.paused
}

// JumpClock moves node id's local clock by d (negative: backwards).
func (w *World) JumpClock(id NodeID, d time.Duration) error {
	p, err := w.proc(id)
	if err != nil {
		return err
	}
	p.clock.jump(w.now, d)
	w.trace.add(Event{At: w.now, Kind: KindFault, Node: id, Size: int64(d), Note: "clock-jump"}, nil)
	return nil
}

// SetClockDrift makes node id's local clock run ppm parts per million fast
// (negative: slow) from now on.
func (w *World) SetClockDrift(id NodeID, ppm int64) error {
	p, err := w.proc(id)
	if err != nil {
		return err
	}
	if ppm <= -MaxDriftPPM || ppm >= MaxDriftPPM {
		return fmt.Errorf("sim: clock drift %d ppm for %s out of range (-%d, %d)", ppm, id, MaxDriftPPM, MaxDriftPPM)
	}
	p.clock.setDrift(w.now, ppm)
	w.trace.add(Event{At: w.now, Kind: KindFault, Node: id, Size: ppm, Note: "clock-drift"}, nil)
	return nil
}

// LocalTime is node id's local clock reading now.
func (w *World) LocalTime(id NodeID) Time {
	p, err := w.proc(id)
	if err != nil {
		return 0
	}
	return p.clock.Local(w.now)
}

// Disk returns node id's disk, for fault injection and inspection.
func (w *World) Disk(id NodeID) *disk.Disk {
	p, err := w.proc(id)
	if err != nil {
		return nil
	}
	return p.disk
}
