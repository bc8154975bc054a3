package disk

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Disk is one node's disk. The zero value is not usable; call New.
type Disk struct {
	// dir is the visible directory, durableDir what a crash keeps. There are
	// no hard links: a name op always moves an inode's only name.
	dir        map[string]*inode
	durableDir map[string]*inode

	// pending is every mutation not yet durable, in the order it happened;
	// a crash may keep a prefix of it. pendingNames counts its name ops.
	pending      []pendingOp
	pendingNames int

	// gen is bumped by Crash; a handle opened in an older generation is
	// closed, because the process that held it is gone.
	gen uint64

	capacity    int64
	failSync    bool
	syncLatency func() time.Duration
	syncDelay   time.Duration
	// inflight are slow syncs that have reached the device but not yet
	// completed: their ops turn durable at CompleteSyncs, and a crash
	// before that leaves them pending (so a torn write can hit them).
	inflight []inflightSync
	opSeq    uint64
	// syncSeq numbers slow syncs; untaken counts the newest inflight syncs
	// whose completion times the simulator has not collected yet.
	syncSeq uint64
	untaken int

	observer func(Op)
	stats    Stats
}

// New returns an empty disk with no faults armed.
func New() *Disk {
	return &Disk{
		dir:        make(map[string]*inode),
		durableDir: make(map[string]*inode),
	}
}

// push records a mutation that is already visible but not yet durable.
func (d *Disk) push(op pendingOp) {
	d.opSeq++
	op.seq = d.opSeq
	d.pending = append(d.pending, op)
	if op.kind.isData() {
		op.ino.pending++
	} else {
		d.pendingNames++
	}
}

// done reports op to the observer and returns err, so every exit path of a
// traced operation is one line.
func (d *Disk) done(op Op, err error) error {
	op.Err = err
	d.observe(op)
	return err
}

// Create makes name an empty file, truncating it if it exists (the inode,
// and so any open handle, is kept, as with O_TRUNC).
func (d *Disk) Create(name string) (*File, error) {
	op := Op{Kind: OpCreate, Name: name}
	if err := checkName("create", name); err != nil {
		return nil, d.done(op, err)
	}
	d.stats.Creates++
	ino, ok := d.dir[name]
	if ok {
		if len(ino.visible) > 0 {
			ino.visible = nil // a new array: the old one may back durable data (see inode)
			d.push(pendingOp{kind: opTruncate, ino: ino, size: 0})
		}
	} else {
		ino = &inode{}
		d.dir[name] = ino
		d.push(pendingOp{kind: opLink, ino: ino, name: name})
	}
	d.done(op, nil)
	return d.handle(name, ino), nil
}

// Open opens an existing file for reading and appending.
func (d *Disk) Open(name string) (*File, error) {
	op := Op{Kind: OpOpen, Name: name}
	ino, err := d.lookup("open", name)
	if err != nil {
		return nil, d.done(op, err)
	}
	d.stats.Opens++
	op.Size = int64(len(ino.visible))
	d.done(op, nil)
	return d.handle(name, ino), nil
}

func (d *Disk) handle(name string, ino *inode) *File {
	return &File{disk: d, ino: ino, name: name, gen: d.gen}
}

func (d *Disk) lookup(what, name string) (*inode, error) {
	if err := checkName(what, name); err != nil {
		return nil, err
	}
	ino, ok := d.dir[name]
	if !ok {
		return nil, fmt.Errorf("disk: %s %q: %w", what, name, ErrNotExist)
	}
	return ino, nil
}

// ReadFile returns a copy of the file's visible contents.
func (d *Disk) ReadFile(name string) ([]byte, error) {
	ino, err := d.lookup("read", name)
	if err != nil {
		return nil, err
	}
	return slices.Clone(ino.visible), nil
}

// Remove unlinks name. Open handles keep working on the unlinked inode.
func (d *Disk) Remove(name string) error {
	op := Op{Kind: OpRemove, Name: name}
	ino, err := d.lookup("remove", name)
	if err != nil {
		return d.done(op, err)
	}
	d.stats.Removes++
	delete(d.dir, name)
	d.push(pendingOp{kind: opUnlink, ino: ino, name: name})
	return d.done(op, nil)
}

// Rename moves oldname's inode to newname, replacing whatever newname held.
func (d *Disk) Rename(oldname, newname string) error {
	op := Op{Kind: OpRename, Name: oldname, To: newname}
	ino, err := d.lookup("rename", oldname)
	if err == nil {
		err = checkName("rename", newname)
	}
	if err != nil {
		return d.done(op, err)
	}
	d.stats.Renames++
	if oldname == newname {
		return d.done(op, nil) // POSIX: renaming a file onto itself does nothing
	}
	delete(d.dir, oldname)
	d.dir[newname] = ino
	d.push(pendingOp{kind: opRename, ino: ino, name: oldname, to: newname})
	return d.done(op, nil)
}

// List returns the visible names, sorted.
func (d *Disk) List() ([]string, error) {
	return slices.Sorted(maps.Keys(d.dir)), nil
}

// SyncDir makes every pending creation, rename and removal durable.
func (d *Disk) SyncDir() error {
	op := Op{Kind: OpSyncDir}
	d.stats.SyncDirs++
	if err := d.chargeSync(OpSyncDir, "", &op); err != nil {
		return d.done(op, err)
	}
	if d.pendingNames > 0 {
		op.Size = int64(d.pendingNames)
		d.syncOrDefer(nil)
	}
	return d.done(op, nil)
}

// inflightSync is a slow sync in progress: it will make durable the ops it
// selects among those pushed up to seq. id numbers it among slow syncs;
// after is the latency, counted from the last TakeSyncs, at which it
// completes: its own plus that of every sync issued before it, as on a
// device that serves one sync at a time.
type inflightSync struct {
	ino   *inode // the file a File.Sync covers; nil: a SyncDir (name ops)
	seq   uint64
	id    uint64
	after time.Duration
}

// covers reports whether the sync makes op durable.
func (s inflightSync) covers(op pendingOp) bool {
	if op.seq > s.seq {
		return false
	}
	if s.ino == nil {
		return !op.kind.isData()
	}
	return op.ino == s.ino && op.kind.isData()
}

// syncOrDefer makes durable the data ops of ino (nil: every name op)
// pending now, at once or, if this sync was charged latency, when the
// simulator completes it (CompleteSyncs).
func (d *Disk) syncOrDefer(ino *inode) {
	s := inflightSync{ino: ino, seq: d.opSeq}
	if d.syncDelay > 0 {
		d.syncSeq++
		s.id, s.after = d.syncSeq, d.syncDelay
		d.inflight = append(d.inflight, s)
		d.untaken++
		return
	}
	d.flush(s)
}

// CompleteSyncs finishes the slow syncs in progress: the simulator calls it
// once the sync latency it charged the process has passed. Ops written
// after a sync was issued are not covered by it.
func (d *Disk) CompleteSyncs() { d.CompleteSyncsUpTo(^uint64(0)) }

// SyncMark identifies the syncs issued so far, for CompleteSyncsUpTo.
func (d *Disk) SyncMark() uint64 { return d.opSeq }

// CompleteSyncsUpTo finishes the slow syncs issued before mark (a
// SyncMark): a message that waited for them leaves only once they are done.
func (d *Disk) CompleteSyncsUpTo(mark uint64) {
	d.completeWhile(func(s *inflightSync) bool { return s.seq <= mark })
}

// CompleteSyncsThrough finishes the slow sync numbered id (as TakeSyncs
// reports it) and every one issued before it: the device has served them.
func (d *Disk) CompleteSyncsThrough(id uint64) {
	d.completeWhile(func(s *inflightSync) bool { return s.id <= id })
}

func (d *Disk) completeWhile(done func(*inflightSync) bool) {
	n := 0
	for i := range d.inflight {
		s := &d.inflight[i]
		if !done(s) {
			break
		}
		d.flush(*s)
		n++
	}
	d.inflight = d.inflight[n:]
	d.untaken = min(d.untaken, len(d.inflight))
	if len(d.inflight) == 0 {
		d.inflight = nil
	}
}

// Pending is how many operations are not yet durable (what a crash
// that keeps a prefix draws from).
func (d *Disk) Pending() int { return len(d.pending) }

// Syncing reports whether a slow sync is still in progress.
func (d *Disk) Syncing() bool { return len(d.inflight) > 0 }

// flush makes durable, in order, every pending op s covers and removes it
// from the pending list.
func (d *Disk) flush(s inflightSync) {
	kept := d.pending[:0]
	for _, op := range d.pending {
		if !s.covers(op) {
			kept = append(kept, op)
			continue
		}
		d.makeDurable(op)
	}
	clear(d.pending[len(kept):]) // drop references to flushed data
	d.pending = kept
	if s.ino != nil {
		s.ino.settle()
	}
}

// makeDurable applies one pending op to durable state and uncounts it.
func (d *Disk) makeDurable(op pendingOp) {
	if op.kind.isData() {
		op.ino.applyDurable(op)
		op.ino.pending--
		return
	}
	applyName(d.durableDir, op)
	d.pendingNames--
}

// DurableBytes is the total size of the files a crash would keep now.
func (d *Disk) DurableBytes() int64 {
	return total(d.durableDir, func(ino *inode) []byte { return ino.durable })
}

// VisibleBytes is the total size of the files in the visible directory; it
// is what SetCapacity limits. An unlinked file still open is not counted.
func (d *Disk) VisibleBytes() int64 {
	return total(d.dir, func(ino *inode) []byte { return ino.visible })
}

func total(dir map[string]*inode, contents func(*inode) []byte) int64 {
	var n int64
	for _, ino := range dir { //detguard:unordered a sum does not depend on the order (and a full disk checks it on every write)
		n += int64(len(contents(ino)))
	}
	return n
}
