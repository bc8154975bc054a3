package wal

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/scenarios/diskfs"
	"github.com/seed4fee1fef/raftsim/sim/disk"
)

// With KeepValidPrefix, a bit flip anywhere in any synced segment does not
// stop Open: it cuts the WAL at the bad record, reports the damage in
// State.Corrupt, and returns a state the WAL really had at some point of
// its history (never a made-up one). The cut is durable: a second Open
// finds nothing corrupt and the same state, and the WAL takes writes.
func TestKeepValidPrefixAfterBitFlip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := disk.New()
		opts := Options{SegmentBytes: rapid.SampledFrom([]int64{64, 256, 1 << 20}).Draw(t, "segBytes")}
		w, _ := mustOpen(t, diskfs.New(d), opts)
		history := []State{{}}
		var m model
		for range rapid.IntRange(1, 30).Draw(t, "ops") {
			o := genOp(t, m, 50)
			require.NoError(t, o.do(w))
			m = o.apply(m)
			history = append(history, m.state())
		}
		require.NoError(t, w.Close())
		names, err := d.List()
		require.NoError(t, err)
		name := rapid.SampledFrom(names).Draw(t, "segment")
		data, err := d.ReadFile(name)
		require.NoError(t, err)
		if len(data) == 0 {
			t.Skip("empty segment")
		}
		off := rapid.IntRange(0, len(data)-1).Draw(t, "offset")
		require.NoError(t, d.CorruptDurable(name, int64(off), uint8(rapid.IntRange(0, 7).Draw(t, "bit"))))

		opts.KeepValidPrefix = true
		w, st, err := Open(diskfs.New(d), opts)
		require.NoError(t, err)
		require.NotNil(t, st.Corrupt, "the damage is reported")
		assert.ErrorIs(t, st.Corrupt, ErrCorrupt)
		found := false
		for _, h := range history {
			if stateEqual(h, st) {
				found = true
			}
		}
		assert.True(t, found, "the state after the cut is one the WAL had: %+v", st)
		require.NoError(t, w.Close())

		opts.KeepValidPrefix = false
		w, st2, err := Open(diskfs.New(d), opts)
		require.NoError(t, err, "the cut is durable")
		assert.True(t, stateEqual(st, st2))
		require.NoError(t, w.Save(st2.HardState, nil))
		require.NoError(t, w.Close())
	})
}
