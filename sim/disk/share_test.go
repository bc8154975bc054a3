package disk

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// Durable contents and pending writes share memory with visible contents
// (see inode). Whatever the operations, faults and crashes, sharing must
// never let one change the bytes of another: after every step visible is
// durable plus the pending ops, and steps that make nothing durable leave
// every durable byte and every pending write's bytes as they were.
func TestSharingNeverLeaksWrites(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		d := New()
		if rapid.Bool().Draw(t, "slow syncs") {
			d.SetSyncLatency(func() time.Duration { return time.Millisecond })
		}
		names := []string{"a", "b", "c"}
		var files []*File
		for range rapid.IntRange(1, 120).Draw(t, "steps") {
			name := rapid.SampledFrom(names).Draw(t, "name")
			var f *File
			if len(files) > 0 {
				f = files[rapid.IntRange(0, len(files)-1).Draw(t, "handle")]
			}
			durableBefore, pendingBefore := durableBytes(d, files), pendingBytes(d)
			durabilityStep := false
			switch rapid.IntRange(0, 11).Draw(t, "op") {
			case 0, 1:
				h, err := d.Create(name)
				require.NoError(t, err)
				files = append(files, h)
			case 2, 3, 4:
				if f != nil {
					_, _ = f.Write(rapid.SliceOfN(rapid.Byte(), 1, 9).Draw(t, "data"))
				}
			case 5:
				if f != nil && len(f.ino.visible) > 0 {
					_ = f.Truncate(int64(rapid.IntRange(0, len(f.ino.visible)-1).Draw(t, "size")))
				}
			case 6:
				if f != nil {
					durabilityStep = true
					_ = f.Sync()
				}
			case 7:
				durabilityStep = true
				_ = d.SyncDir()
			case 8:
				durabilityStep = true
				var ids []uint64
				d.TakeSyncs(func(id uint64, _ time.Duration) { ids = append(ids, id) })
				if len(ids) > 0 && rapid.Bool().Draw(t, "through id") {
					d.CompleteSyncsThrough(rapid.SampledFrom(ids).Draw(t, "id"))
				} else {
					d.CompleteSyncsUpTo(d.SyncMark() - uint64(rapid.IntRange(0, 3).Draw(t, "mark lag")))
				}
			case 9:
				durabilityStep = true
				if ino, ok := d.durableDir[name]; ok && len(ino.durable) > 0 {
					off := rapid.IntRange(0, len(ino.durable)-1).Draw(t, "offset")
					require.NoError(t, d.CorruptDurable(name, int64(off), uint8(rapid.IntRange(0, 7).Draw(t, "bit"))))
				}
			case 10:
				durabilityStep = true
				if ino, ok := d.durableDir[name]; ok {
					require.NoError(t, d.TruncateDurable(name, int64(rapid.IntRange(0, len(ino.durable)).Draw(t, "durable size"))))
				}
			case 11:
				durabilityStep = true
				d.Crash(fixedRand(rapid.Uint64().Draw(t, "crash draw")), rapid.Bool().Draw(t, "keep prefix"))
				files = nil
			}
			checkInodes(t, d, files)
			if !durabilityStep {
				now := durableBytes(d, files)
				for ino, data := range durableBefore {
					if got, ok := now[ino]; ok {
						require.Equal(t, data, got, "durable bytes changed by a step that syncs nothing")
					}
				}
			}
			after := pendingBytes(d)
			for seq, data := range pendingBefore {
				if now, ok := after[seq]; ok {
					require.Equal(t, data, now, "pending write %d changed", seq)
				}
			}
		}
	})
}

type fixedRand uint64

func (r fixedRand) Uint64() uint64 { return uint64(r) }

// inodes lists every inode reachable by name (visible or durable) or handle.
func inodes(d *Disk, files []*File) []*inode {
	var out []*inode
	add := func(ino *inode) {
		if !slices.Contains(out, ino) {
			out = append(out, ino)
		}
	}
	for _, name := range slices.Sorted(mapsKeys(d.dir)) {
		add(d.dir[name])
	}
	for _, name := range slices.Sorted(mapsKeys(d.durableDir)) {
		add(d.durableDir[name])
	}
	for _, f := range files {
		add(f.ino)
	}
	return out
}

func mapsKeys(m map[string]*inode) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m { //detguard:unordered test helper; callers sort
			if !yield(k) {
				return
			}
		}
	}
}

func durableBytes(d *Disk, files []*File) map[*inode]string {
	out := map[*inode]string{}
	for _, ino := range inodes(d, files) {
		out[ino] = string(ino.durable)
	}
	return out
}

func pendingBytes(d *Disk) map[uint64]string {
	out := map[uint64]string{}
	for _, op := range d.pending {
		if op.kind == opWrite {
			out[op.seq] = string(op.data)
		}
	}
	return out
}

// checkInodes checks the inode invariant: visible is durable with the
// inode's pending data ops applied in order.
func checkInodes(t *rapid.T, d *Disk, files []*File) {
	for _, ino := range inodes(d, files) {
		want := slices.Clone(ino.durable)
		for _, op := range d.pending {
			if op.ino == ino && op.kind.isData() {
				want = applyData(want, op)
			}
		}
		require.True(t, bytes.Equal(want, ino.visible), "visible %q, durable+pending %q", ino.visible, want)
	}
}
