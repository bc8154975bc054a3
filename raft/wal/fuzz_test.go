package wal

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/scenarios/diskfs"
	"github.com/seed4fee1fef/raftsim/sim/disk"
)

// walSegments writes a real WAL (small segments, so it rotates) and
// returns its first two segments' bytes: the seed corpus.
func walSegments(f *testing.F) (seg1, seg2 []byte) {
	d := disk.New()
	w, _, err := Open(diskfs.New(d), Options{SegmentBytes: 256})
	require.NoError(f, err)
	require.NoError(f, w.Save(hs(1, 1, 0), ents(1, 4, 1)))
	require.NoError(f, w.Save(hs(2, 2, 3), ents(5, 9, 2)))
	require.NoError(f, w.Save(hs(2, 2, 9), nil))
	require.NoError(f, w.Close())
	seg1, err = d.ReadFile(segmentName(1))
	require.NoError(f, err)
	seg2, _ = d.ReadFile(segmentName(2))
	return seg1, seg2
}

// FuzzReplay: whatever bytes a WAL's segments hold, Open never panics. It
// fails with ErrCorrupt, or (KeepValidPrefix) cuts the damage off, or
// replays a well-formed state: entries consecutive after the snapshot,
// terms never going backwards. What it returns it made durable: opening
// the same files again replays the same state.
//
// The default test run replays the seed corpus; fuzz for real with
// go test ./raft/wal/ -run '^$' -fuzz FuzzReplay -fuzztime 3m
// (or bash .ci/run --long, which fuzzes every parser in turn).
func FuzzReplay(f *testing.F) {
	seg1, seg2 := walSegments(f)
	f.Add(seg1, seg2, false)
	f.Add(seg1, seg2, true)
	f.Add(seg1[:len(seg1)-3], []byte(nil), false)
	flipped := append([]byte(nil), seg1...)
	flipped[len(flipped)/2] ^= 0x10
	f.Add(flipped, seg2, true)
	f.Add([]byte(nil), seg2, true)
	f.Add(make([]byte, 64), []byte(nil), false)
	f.Fuzz(func(t *testing.T, seg1, seg2 []byte, keep bool) {
		d := disk.New()
		for i, data := range [][]byte{seg1, seg2} {
			if i > 0 && len(data) == 0 {
				break
			}
			require.NoError(t, writeDurable(d, segmentName(uint64(i+1)), data))
		}
		opts := Options{SegmentBytes: 256, KeepValidPrefix: keep}
		w, st, err := Open(diskfs.New(d), opts)
		if err != nil {
			require.True(t, errors.Is(err, ErrCorrupt), "%v", err)
			require.False(t, keep, "KeepValidPrefix cuts damage off instead of failing: %v", err)
			return
		}
		wellFormed(t, st)
		require.NoError(t, w.Close())
		w, again, err := Open(diskfs.New(d), opts)
		require.NoError(t, err, "the second open of what the first made durable")
		require.NoError(t, w.Close())
		assert.Equal(t, st.HardState, again.HardState)
		assert.Equal(t, st.Snapshot, again.Snapshot)
		assert.Equal(t, st.Entries, again.Entries)
		assert.Zero(t, again.TornBytes)
		assert.Nil(t, again.Corrupt)
	})
}

func wellFormed(t *testing.T, st State) {
	t.Helper()
	prev := st.Snapshot.Term
	for i, e := range st.Entries {
		require.Equal(t, st.Snapshot.Index+uint64(i)+1, e.Index, "entries not consecutive after the snapshot")
		require.GreaterOrEqual(t, e.Term, prev, "term goes backwards at index %d", e.Index)
		prev = e.Term
	}
}

// writeDurable puts data in a file and makes it and its name durable.
func writeDurable(d *disk.Disk, name string, data []byte) error {
	f, err := d.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return d.SyncDir()
}
