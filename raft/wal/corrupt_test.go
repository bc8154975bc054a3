package wal

import (
	"fmt"
	"strings"
	"testing"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/scenarios/diskfs"
	"github.com/seed4fee1fef/raftsim/sim/disk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// recordStarts returns the offset of every record in a well-formed segment.
func recordStarts(t require.TestingT, name string, data []byte) []int {
	var starts []int
	for off := 0; off < len(data); {
		_, _, _, n, err := frame(name, data, off, false)
		require.NoError(t, err)
		starts = append(starts, off)
		off += n
	}
	return starts
}

// containing returns the start of the record that holds byte off.
func containing(starts []int, off int) int {
	at := starts[0]
	for _, s := range starts {
		if s <= off {
			at = s
		}
	}
	return at
}

// writeSome fills a disk with a few segments of random writes and closes
// the WAL; everything is durable.
func writeSome(t *rapid.T, d *disk.Disk, opts Options) model {
	w, _ := mustOpen(t, diskfs.New(d), opts)
	var m model
	for range rapid.IntRange(0, 30).Draw(t, "ops") {
		o := genOp(t, m, 50)
		require.NoError(t, o.do(w))
		m = o.apply(m)
	}
	require.NoError(t, w.Close())
	return m
}

// TestBitFlipAnywhereIsCorrupt: silent media corruption of any bit of any
// synced segment is reported, naming the segment and the offset of the
// record that holds the bit. It is never mistaken for a torn tail, not
// even in the last record, and not even when the flipped bit is in a
// length field.
func TestBitFlipAnywhereIsCorrupt(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := disk.New()
		opts := Options{SegmentBytes: rapid.SampledFrom([]int64{64, 256, 1 << 20}).Draw(t, "segBytes")}
		writeSome(t, d, opts)
		names, err := d.List()
		require.NoError(t, err)
		name := rapid.SampledFrom(names).Draw(t, "segment")
		data, err := d.ReadFile(name)
		require.NoError(t, err)
		off := rapid.IntRange(0, len(data)-1).Draw(t, "offset")
		bit := uint8(rapid.IntRange(0, 7).Draw(t, "bit"))
		require.NoError(t, d.CorruptDurable(name, int64(off), bit))

		_, _, err = Open(diskfs.New(d), opts)
		require.ErrorIs(t, err, ErrCorrupt)
		var ce *CorruptError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, name, ce.File, "%v", err)
		assert.Equal(t, int64(containing(recordStarts(t, name, data), off)), ce.Offset, "flipped byte %d: %v", off, err)
	})
}

func fixture(t *testing.T) (*disk.Disk, model, string, []int) {
	d := disk.New()
	w, _ := mustOpen(t, diskfs.New(d), Options{})
	var m model
	for i := uint64(1); i <= 5; i++ {
		o := save(hs(1, 1, i-1), ent(i, 1, fmt.Sprintf("entry number %d with some payload", i)))
		require.NoError(t, o.do(w))
		m = o.apply(m)
	}
	require.NoError(t, w.Close())
	name := segmentName(1)
	data, err := d.ReadFile(name)
	require.NoError(t, err)
	return d, m, name, append(recordStarts(t, name, data), len(data))
}

func TestCorruptionCases(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(d *disk.Disk, name string, starts []int) (offset int)
	}{
		{"payload bit in the middle", func(d *disk.Disk, name string, s []int) int {
			d.CorruptDurable(name, int64(s[2]+frameSize+3), 0)
			return s[2]
		}},
		{"checksum bit", func(d *disk.Disk, name string, s []int) int {
			d.CorruptDurable(name, int64(s[3]+4), 5)
			return s[3]
		}},
		{"type bit", func(d *disk.Disk, name string, s []int) int {
			d.CorruptDurable(name, int64(s[3]+8), 6)
			return s[3]
		}},
		{"header bit", func(d *disk.Disk, name string, s []int) int {
			d.CorruptDurable(name, int64(frameSize+1), 0)
			return 0
		}},
		{"final record's payload: complete, so not a torn write", func(d *disk.Disk, name string, s []int) int {
			last := s[len(s)-2]
			d.CorruptDurable(name, int64(s[len(s)-1]-1), 3)
			return last
		}},
		{"middle length now runs past the end of the file", func(d *disk.Disk, name string, s []int) int {
			d.CorruptDurable(name, int64(s[2]+2), 6) // +4 MiB
			return s[2]
		}},
		{"final length now runs past the end of the file", func(d *disk.Disk, name string, s []int) int {
			last := s[len(s)-2]
			d.CorruptDurable(name, int64(last+1), 4)
			return last
		}},
		{"length over MaxRecordBytes", func(d *disk.Disk, name string, s []int) int {
			d.CorruptDurable(name, int64(s[1]+3), 7)
			return s[1]
		}},
		{"final length shorter", func(d *disk.Disk, name string, s []int) int {
			last := s[len(s)-2]
			d.CorruptDurable(name, int64(last), 1)
			return last
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _, name, starts := fixture(t)
			want := tc.damage(d, name, starts)
			_, _, err := Open(diskfs.New(d), Options{})
			require.ErrorIs(t, err, ErrCorrupt)
			var ce *CorruptError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, name, ce.File)
			assert.Equal(t, int64(want), ce.Offset, "%v", err)
			assert.Contains(t, err.Error(), name)
			assert.Contains(t, err.Error(), fmt.Sprintf("offset %d", want))
		})
	}
}

// TestTruncatedTailIsTorn: durable data cut inside the final record looks
// exactly like a torn write and is treated as one: cut off, reported in
// TornBytes, and replay succeeds without the final Save. (A cut exactly at
// a record boundary is invisible to the WAL: only a durable high-water
// mark kept elsewhere could tell.)
func TestTruncatedTailIsTorn(t *testing.T) {
	for _, back := range []int{1, 5, frameSize, frameSize + 1, 20} {
		t.Run(fmt.Sprint(back), func(t *testing.T) {
			d, m, name, starts := fixture(t)
			end := starts[len(starts)-1]
			last := starts[len(starts)-2]
			require.Less(t, end-back, end)
			require.Greater(t, end-back, last)
			require.NoError(t, d.TruncateDurable(name, int64(end-back)))

			w, st, err := Open(diskfs.New(d), Options{})
			require.NoError(t, err)
			assert.Equal(t, int64(end-back-last), st.TornBytes)
			assert.Equal(t, st.TornBytes, w.Stats().TornBytes)
			prev := m.clone()
			prev.ents = prev.ents[:len(prev.ents)-1]
			prev.hs.Commit--
			requireState(t, prev.state(), st)

			// The cut is durable, and appending goes on after it.
			require.NoError(t, w.Save(hs(2, 0, 4), ents(5, 5, 2)))
			d.Crash(nil, false)
			_, st, err = Open(diskfs.New(d), Options{})
			require.NoError(t, err)
			assert.Zero(t, st.TornBytes)
			requireState(t, prev.save(hs(2, 0, 4), ents(5, 5, 2)).state(), st)
		})
	}
}

// TestZeroFilledTailIsTorn: after a power loss a real file system may
// show a file's new size with zeros where the data never arrived.
func TestZeroFilledTailIsTorn(t *testing.T) {
	d, m, name, _ := fixture(t)
	appendDurable(t, d, name, make([]byte, 37))
	_, st, err := Open(diskfs.New(d), Options{})
	require.NoError(t, err)
	assert.Equal(t, int64(37), st.TornBytes)
	requireState(t, m.state(), st)
}

func appendDurable(t *testing.T, d *disk.Disk, name string, b []byte) {
	f, err := d.Open(name)
	require.NoError(t, err)
	_, err = f.Write(b)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
}

func record(typ byte, payload []byte) []byte {
	b, start := beginRecord(nil, typ)
	b = append(b, payload...)
	if _, err := finishRecord(b, start); err != nil {
		panic(err)
	}
	return b
}

// TestWellChecksummedButInvalidRecords: a record with a good checksum that
// this WAL could not have written is corruption too.
func TestWellChecksummedButInvalidRecords(t *testing.T) {
	entries := func(hs *raftpb.HardState, e ...raftpb.Entry) []byte {
		return record(recEntries, appendEntries(nil, hs, e))
	}
	snap := record(recSnapshot, appendSnapshotMarker(nil, &raftpb.SnapshotMetadata{Index: 3, Term: 1}, true))
	for _, tc := range []struct {
		name string
		rec  []byte
		why  string
	}{
		{"unknown type", record(9, []byte{1, 2, 3}), "unknown record type"},
		{"type zero", record(0, []byte{1}), "unknown record type"},
		{"undecodable hard state", record(recHardState, []byte{0xff}), "undecodable"},
		{"hard state with trailing bytes", record(recHardState, []byte{1, 1, 1, 0}), "undecodable"},
		{"undecodable entries", record(recEntries, []byte{0, 3, 1}), "undecodable"},
		{"empty batch", entries(nil), "undecodable"},
		{"gap", entries(nil, ent(7, 1, "")), "gap"},
		{"entry term 0", entries(nil, ent(6, 0, "")), "term 0"},
		{"entry term going back", entries(nil, ent(6, 2, ""), ent(7, 1, "")), "below the preceding term"},
		{"entry at the snapshot", entries(nil, ent(3, 1, "")), "at or below the snapshot index 3"},
		{"hard state term decreasing", record(recHardState, raftpb.AppendHardState(nil, hs(0, 0, 9))), "below the recorded term"},
		{"vote changed", record(recHardState, raftpb.AppendHardState(nil, hs(1, 2, 9))), "vote changed"},
		{"second header", record(recHeader, appendHeader(nil, &segHeader{seq: 1})), "header record in the middle"},
		{"snapshot marker with a wrong keep flag", record(recSnapshot,
			appendSnapshotMarker(nil, &raftpb.SnapshotMetadata{Index: 3, Term: 1}, false)), "keep"},
		{"snapshot marker with data", record(recSnapshot, append([]byte{0},
			raftpb.AppendSnapshot(nil, &raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{Index: 9, Term: 1}, Data: []byte("x")})...)), "data bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _, name, starts := fixture(t)
			at := starts[len(starts)-1]
			if strings.HasPrefix(tc.name, "entry at the snapshot") {
				appendDurable(t, d, name, snap) // valid
				at += len(snap)
			}
			appendDurable(t, d, name, tc.rec)
			_, _, err := Open(diskfs.New(d), Options{})
			var ce *CorruptError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, int64(at), ce.Offset)
			assert.Contains(t, ce.Reason, tc.why)
		})
	}
}

// TestSealedSegmentMustBeComplete: only the last segment may end in a torn
// record; an earlier one was synced before its successor was created.
func TestSealedSegmentMustBeComplete(t *testing.T) {
	d := disk.New()
	w, _ := mustOpen(t, diskfs.New(d), Options{SegmentBytes: 100})
	for i := uint64(1); i <= 10; i++ {
		require.NoError(t, w.Save(hs(1, 1, i-1), []raftpb.Entry{ent(i, 1, "0123456789012345678901234567890123456789")}))
	}
	require.NoError(t, w.Close())
	name := segmentName(2)
	data, err := d.ReadFile(name)
	require.NoError(t, err)
	require.NoError(t, d.TruncateDurable(name, int64(len(data)-3)))
	_, _, err = Open(diskfs.New(d), Options{SegmentBytes: 100})
	var ce *CorruptError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, name, ce.File)
	assert.Contains(t, ce.Reason, "sealed")

	require.NoError(t, d.TruncateDurable(name, 0))
	_, _, err = Open(diskfs.New(d), Options{SegmentBytes: 100})
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, ce.Reason, "no header")
}

// tornLast saves data as entry 6 after the fixture and crashes keeping
// only keep bytes of that write.
func tornLast(t *testing.T, data []byte, keep int) (*disk.Disk, model) {
	d, m, _, _ := fixture(t)
	w, _ := mustOpen(t, diskfs.New(d), Options{SegmentBytes: 64 << 20})
	k := &killFS{FS: diskfs.New(d), budget: 1}
	w.fs = k
	w.f = &killFile{File: w.f, k: k}
	require.ErrorIs(t, w.Save(raftpb.HardState{}, []raftpb.Entry{{Index: 6, Term: 1, Data: data}}), errKilled)
	d.Crash(&scripted{vals: []uint64{1, uint64(keep)}}, true)
	return d, m
}

// TestTornTailScanIsBounded: the check that a "torn" record is not really
// a damaged length scans the torn bytes for a valid record; bytes built to
// look like frames everywhere must not make Open quadratic.
func TestTornTailScanIsBounded(t *testing.T) {
	data := make([]byte, 4<<20)
	for i := 0; i < len(data); i += 4 {
		// Every fourth offset reads as a snapshot-marker frame of 65284
		// bytes: unbounded, checking them all would hash ~50 GB.
		data[i], data[i+1] = recSnapshot, 0xff
	}
	d, m := tornLast(t, data, 3<<20)
	_, st, err := Open(diskfs.New(d), Options{})
	require.NoError(t, err)
	assert.Equal(t, int64(3<<20), st.TornBytes)
	requireState(t, m.state(), st)
}

// TestTornRecordEmbeddingARecord documents the one way the damaged-length
// check can misfire: a torn write whose own payload happens to contain a
// complete, valid WAL record (say, an entry whose data is WAL bytes) is
// reported as corruption rather than cut. It fails safe: Open refuses to
// run rather than dropping anything.
func TestTornRecordEmbeddingARecord(t *testing.T) {
	inner := record(recHardState, raftpb.AppendHardState(nil, hs(5, 5, 5)))
	data := append(make([]byte, 50), inner...)
	data = append(data, make([]byte, 50)...)
	d, _ := tornLast(t, data, 90+len(inner))
	_, _, err := Open(diskfs.New(d), Options{})
	require.ErrorIs(t, err, ErrCorrupt)

	// Without the embedded record the same tear is an ordinary torn tail.
	d, m := tornLast(t, make([]byte, 100+len(inner)), 90+len(inner))
	_, st, err := Open(diskfs.New(d), Options{})
	require.NoError(t, err)
	requireState(t, m.state(), st)
}
