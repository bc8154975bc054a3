package disk

import (
	"maps"
	"slices"
)

// Rand is the randomness a crash draws from; the simulator passes a seeded
// sub-stream (math/rand/v2's *Rand satisfies it).
type Rand interface{ Uint64() uint64 }

// Crash models kill -9 or power loss: the page cache is dropped and every
// open handle is closed. With keepPrefix false only durable state survives.
// With keepPrefix true, a prefix of the pending operations, of a length
// drawn from r in [0, len], is made durable first, and if its last
// operation is a write, only a drawn prefix of that write's bytes is kept
// (a torn write). A nil r keeps nothing.
//
// Afterwards visible state equals durable state and the disk is ready for
// the node to restart from it.
func (d *Disk) Crash(r Rand, keepPrefix bool) {
	kept := 0
	if keepPrefix && r != nil && len(d.pending) > 0 {
		kept = draw(r, len(d.pending)+1)
		for i, op := range d.pending[:kept] {
			if i == kept-1 && op.kind == opWrite {
				if t := draw(r, len(op.data)+1); t < len(op.data) {
					op.data = op.data[:t]
					d.stats.TornWrites++
				}
			}
			d.makeDurable(op)
		}
	}
	d.stats.Crashes++
	d.stats.OpsKept += int64(kept)
	d.stats.OpsLost += int64(len(d.pending) - kept)

	d.pending = nil
	d.pendingNames = 0
	d.dir = maps.Clone(d.durableDir)
	for _, name := range slices.Sorted(maps.Keys(d.durableDir)) {
		ino := d.durableDir[name]
		ino.visible = slices.Clone(ino.durable)
		ino.pending = 0
	}
	d.gen++
	// The process that would have paid for earlier syncs is gone, and
	// syncs still in progress never completed.
	d.syncDelay = 0
	d.inflight = nil
	d.untaken = 0
	d.observe(Op{Kind: OpCrash, Size: int64(kept)})
}

// draw returns a number in [0, n). The modulo bias is irrelevant at the
// sizes a disk deals in.
func draw(r Rand, n int) int {
	return int(r.Uint64() % uint64(n))
}
