package disk

import (
	"fmt"
	"io/fs"
	"time"
)

// SetCapacity makes writes fail with ErrNoSpace once VisibleBytes would
// exceed bytes. Zero or less means unlimited.
func (d *Disk) SetCapacity(bytes int64) { d.capacity = max(bytes, 0) }

// SetFailSync makes every Sync and SyncDir fail with ErrIO, leaving the
// pending operations pending, until it is called with false.
func (d *Disk) SetFailSync(fail bool) { d.failSync = fail }

// SetSyncLatency sets how long each Sync and SyncDir takes; nil means no
// time. The disk cannot stall the caller itself (it has no clock), so the
// latency accumulates until the simulator collects it with TakeSyncDelay.
func (d *Disk) SetSyncLatency(latency func() time.Duration) { d.syncLatency = latency }

// TakeSyncDelay returns the sync latency accumulated since the last call
// (or the last crash) and resets it to zero.
func (d *Disk) TakeSyncDelay() time.Duration { return d.TakeSyncs(nil) }

// TakeSyncs is TakeSyncDelay that also reports, through done (if not nil),
// each slow sync issued since the last call: its id (for
// CompleteSyncsThrough) and the latency after which it completes, counted
// from that call. A process that issues two slow syncs of d each has the
// first durable after d and the second after 2d, so a kill in between
// keeps the first and not the second.
func (d *Disk) TakeSyncs(done func(id uint64, after time.Duration)) time.Duration {
	if done != nil {
		for _, s := range d.inflight[len(d.inflight)-d.untaken:] {
			done(s.id, s.after)
		}
	}
	d.untaken = 0
	delay := d.syncDelay
	d.syncDelay = 0
	return delay
}

// chargeSync accounts for one sync reaching the device (how long it takes
// goes into op.Latency) and fails it if SetFailSync is armed.
func (d *Disk) chargeSync(kind OpKind, name string, op *Op) error {
	if d.syncLatency != nil {
		op.Latency = max(d.syncLatency(), 0)
		d.syncDelay += op.Latency
	}
	if d.failSync {
		d.stats.FailedSyncs++
		what := kind.String() // the label is built only here, off the hot path
		if name != "" {
			what += " " + name
		}
		return fmt.Errorf("disk: %s: %w", what, ErrIO)
	}
	return nil
}

// CorruptDurable flips bit (0..7) of the byte at offset in the durable
// contents of the file durably named name, as silent media corruption would.
// The visible contents change with it wherever they still show that byte.
func (d *Disk) CorruptDurable(name string, offset int64, bit uint8) error {
	ino, err := d.durableFile("corrupt", name)
	if err != nil {
		return err
	}
	if offset < 0 || offset >= int64(len(ino.durable)) || bit > 7 {
		return fmt.Errorf("disk: corrupt %q at %d bit %d: outside %d durable bytes: %w",
			name, offset, bit, len(ino.durable), fs.ErrInvalid)
	}
	ino.unshare() // written in place: visible and pending writes must not see it through a shared array
	ino.durable[offset] ^= 1 << bit
	ino.replay(d.pending)
	return nil
}

// TruncateDurable cuts the durable contents of the file durably named name
// to size bytes, as lost sectors would. The visible contents are recomputed
// from the cut durable contents and the file's pending operations.
func (d *Disk) TruncateDurable(name string, size int64) error {
	ino, err := d.durableFile("truncate durable", name)
	if err != nil {
		return err
	}
	if size < 0 || size > int64(len(ino.durable)) {
		return fmt.Errorf("disk: truncate durable %q to %d: size must be in [0, %d]: %w",
			name, size, len(ino.durable), fs.ErrInvalid)
	}
	ino.unshare()
	ino.durable = ino.durable[:size]
	ino.replay(d.pending)
	return nil
}

// Wipe loses every file, durable or not, as a replaced disk would: the
// node comes back to an empty directory.
func (d *Disk) Wipe() {
	clear(d.dir)
	clear(d.durableDir)
	d.pending = nil
	d.pendingNames = 0
	d.inflight = nil
	d.untaken = 0
	d.syncDelay = 0
	d.gen++
}

// durableFile looks name up in the durable directory: faults hit what is on
// the platter, not what the page cache shows.
func (d *Disk) durableFile(what, name string) (*inode, error) {
	if err := checkName(what, name); err != nil {
		return nil, err
	}
	ino, ok := d.durableDir[name]
	if !ok {
		return nil, fmt.Errorf("disk: %s %q: no durable file by that name: %w", what, name, ErrNotExist)
	}
	return ino, nil
}
