package wal

import (
	"testing"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/vfs"
	"github.com/seed4fee1fef/raftsim/raft/vfs/osfs"
	"github.com/seed4fee1fef/raftsim/scenarios/diskfs"
	"github.com/seed4fee1fef/raftsim/sim/disk"
	"github.com/stretchr/testify/require"
)

// benchSave measures the steady state of a follower: each Save carries one
// 100-byte entry and a hard state whose commit moved. Every 8192 saves a
// snapshot marker and ReleaseTo keep the disk from growing without bound;
// that upkeep is not timed and not counted.
func benchSave(b *testing.B, fsys vfs.FS, syncs func(w *WAL) int64) {
	w, _, err := Open(fsys, Options{})
	require.NoError(b, err)
	data := make([]byte, 100)
	counted, upkeep := syncs(w), w.Stats().BytesWritten // Open's own
	b.ReportAllocs()
	b.ResetTimer()
	for i := uint64(1); i <= uint64(b.N); i++ {
		e := []raftpb.Entry{{Term: 1, Index: i, Data: data}}
		if err := w.Save(raftpb.HardState{Term: 1, Vote: 1, Commit: i - 1}, e); err != nil {
			b.Fatal(err)
		}
		if i%8192 == 0 {
			b.StopTimer()
			before, bytes := syncs(w), w.Stats().BytesWritten
			require.NoError(b, w.SaveSnapshot(raftpb.SnapshotMetadata{Index: i - 1, Term: 1}))
			require.NoError(b, w.ReleaseTo(i-1))
			counted += syncs(w) - before
			upkeep += w.Stats().BytesWritten - bytes
			b.StartTimer()
		}
	}
	b.StopTimer()
	st := w.Stats()
	b.ReportMetric(float64(st.BytesWritten-upkeep)/float64(b.N), "bytes/op")
	b.ReportMetric(float64(syncs(w)-counted)/float64(b.N), "syncs/op")
	require.NoError(b, w.Close())
}

func BenchmarkSaveSimDisk(b *testing.B) {
	d := disk.New()
	benchSave(b, diskfs.New(d), func(*WAL) int64 { return d.Stats().Syncs })
}

func BenchmarkSaveOSFS(b *testing.B) {
	fsys, err := osfs.New(b.TempDir())
	require.NoError(b, err)
	benchSave(b, fsys, func(w *WAL) int64 { return w.Stats().Syncs })
}
