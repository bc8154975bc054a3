package wal

import (
	"testing"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/vfs"
	"github.com/seed4fee1fef/raftsim/raft/vfs/osfs"
	"github.com/seed4fee1fef/raftsim/scenarios/diskfs"
	"github.com/seed4fee1fef/raftsim/sim/disk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func hs(term, vote, commit uint64) raftpb.HardState {
	return raftpb.HardState{Term: term, Vote: vote, Commit: commit}
}

func save(h raftpb.HardState, e ...raftpb.Entry) op { return op{kind: "save", hs: h, ents: e} }

func snapOp(index, term uint64) op {
	return op{kind: "snap", meta: raftpb.SnapshotMetadata{Index: index, Term: term,
		ConfState: raftpb.ConfState{Voters: []uint64{1, 2, 3}}}}
}

// roundTripCases are write sequences with the state replay must return.
var roundTripCases = []struct {
	name string
	ops  []op
}{
	{"empty", nil},
	{"hard state only", []op{save(hs(1, 1, 0)), save(hs(2, 0, 0)), save(hs(2, 3, 0))}},
	{"entries and hard state", []op{
		save(hs(1, 1, 0), ents(1, 3, 1)...),
		save(hs(1, 1, 2), ents(4, 5, 1)...),
		save(hs(1, 1, 5)),
	}},
	{"unchanged and zero hard states are skipped", []op{
		save(hs(1, 1, 0), ents(1, 2, 1)...),
		save(hs(1, 1, 0), ents(3, 3, 1)...),
		save(raftpb.HardState{}, ents(4, 4, 1)...),
	}},
	{"overwrite of a suffix", []op{
		save(hs(1, 1, 1), ents(1, 5, 1)...),
		save(hs(2, 2, 1), ents(3, 4, 2)...), // a new leader replaces 3..5
		save(hs(3, 3, 1), ents(2, 2, 3)...), // and another replaces 2..4
		save(hs(3, 3, 2), ents(3, 3, 3)...),
	}},
	{"overwrite of everything", []op{
		save(hs(1, 1, 0), ents(1, 4, 1)...),
		save(hs(2, 2, 0), ents(1, 2, 2)...),
	}},
	{"empty entry data and conf change", []op{
		save(hs(1, 1, 0), raftpb.Entry{Index: 1, Term: 1, Type: raftpb.EntryConfChange,
			Data: raftpb.EncodeConfChange(raftpb.ConfChange{NodeID: 7})}, raftpb.Entry{Index: 2, Term: 1}),
	}},
	{"snapshot keeps the matching suffix", []op{
		save(hs(1, 1, 3), ents(1, 6, 1)...),
		snapOp(4, 1),
		save(hs(2, 1, 4), ents(7, 8, 2)...),
	}},
	{"divergent snapshot drops the log", []op{
		save(hs(1, 1, 3), ents(1, 6, 1)...),
		snapOp(5, 2),
		save(hs(2, 0, 5), ents(6, 7, 2)...),
	}},
	{"snapshot beyond the log", []op{
		save(hs(1, 1, 1), ents(1, 2, 1)...),
		snapOp(10, 3),
		save(hs(3, 0, 10), ents(11, 11, 3)...),
	}},
}

func runOps(t *testing.T, w *WAL, ops []op) model {
	t.Helper()
	var m model
	for _, o := range ops {
		require.NoError(t, o.do(w), "%v", o)
		m = o.apply(m)
	}
	return m
}

func testRoundTrip(t *testing.T, newFS func(t *testing.T) vfs.FS) {
	for _, segBytes := range []int64{0, 80} {
		for _, tc := range roundTripCases {
			t.Run(tc.name, func(t *testing.T) {
				fsys := newFS(t)
				opts := Options{SegmentBytes: segBytes}
				w, st := mustOpen(t, fsys, opts)
				requireState(t, State{}, st)
				m := runOps(t, w, tc.ops)
				require.NoError(t, w.Close())

				w, st = mustOpen(t, fsys, opts)
				requireState(t, m.state(), st)
				assert.Zero(t, st.TornBytes)
				// Reopening is idempotent, and the WAL goes on from there.
				more := save(hs(9, 0, 0), ent(m.last()+1, 9, "more"))
				require.NoError(t, more.do(w))
				m = more.apply(m)
				require.NoError(t, w.Close())
				w, st = mustOpen(t, fsys, opts)
				requireState(t, m.state(), st)
				require.NoError(t, w.Close())
			})
		}
	}
}

func TestRoundTripSimDisk(t *testing.T) {
	testRoundTrip(t, func(*testing.T) vfs.FS { return diskfs.New(disk.New()) })
}

func TestRoundTripOSFS(t *testing.T) {
	testRoundTrip(t, func(t *testing.T) vfs.FS {
		fsys, err := osfs.New(t.TempDir())
		require.NoError(t, err)
		return fsys
	})
}

// TestRestartIsNotBlank is failure #1: a node that restarts must come back
// with its term, vote, commit and log, not as a blank follower.
func TestRestartIsNotBlank(t *testing.T) {
	d := disk.New()
	w, _ := mustOpen(t, diskfs.New(d), Options{})
	require.NoError(t, w.Save(hs(3, 2, 4), ents(1, 5, 3)))
	d.Crash(nil, false) // kill -9: no Close, page cache gone
	_, st := mustOpen(t, diskfs.New(d), Options{})
	assert.Equal(t, hs(3, 2, 4), st.HardState)
	assert.Equal(t, ents(1, 5, 3), st.Entries)
}

func TestOneSyncPerSave(t *testing.T) {
	d := disk.New()
	w, _ := mustOpen(t, diskfs.New(d), Options{SegmentBytes: 200})
	var rotations int64
	for i := uint64(1); i <= 40; i++ {
		before := d.Stats()
		beforeRot := w.Stats().Rotations
		require.NoError(t, w.Save(hs(1, 1, i-1), []raftpb.Entry{ent(i, 1, "0123456789abcdef0123456789")}))
		after := d.Stats()
		rotated := w.Stats().Rotations - beforeRot
		rotations += rotated
		assert.Equal(t, int64(1), after.Syncs-before.Syncs, "save %d: File.Sync calls", i)
		assert.Equal(t, rotated, after.SyncDirs-before.SyncDirs, "save %d: SyncDir only when rotating", i)
		assert.Equal(t, int64(1), after.Writes-before.Writes, "save %d: one write, the new header included", i)
	}
	assert.Greater(t, rotations, int64(3))

	before := d.Stats()
	require.NoError(t, w.Save(hs(1, 1, 39), nil), "unchanged hard state, no entries")
	assert.Equal(t, before, d.Stats(), "a Save with nothing to write touches nothing")

	require.NoError(t, w.SaveSnapshot(raftpb.SnapshotMetadata{Index: 10, Term: 1}))
	assert.Equal(t, before.Syncs+1, d.Stats().Syncs)
	assert.Equal(t, int64(41), w.Stats().Saves)
	assert.Equal(t, w.Stats().Syncs, d.Stats().Syncs, "the WAL counts what the disk saw")
}

func TestSaveRefusesWhatReplayWouldReject(t *testing.T) {
	d := disk.New()
	w, _ := mustOpen(t, diskfs.New(d), Options{})
	require.NoError(t, w.Save(hs(2, 1, 0), ents(1, 3, 2)))
	require.NoError(t, w.SaveSnapshot(raftpb.SnapshotMetadata{Index: 2, Term: 2}))
	for _, tc := range []struct {
		name string
		op   op
	}{
		{"gap", save(raftpb.HardState{}, ent(5, 2, ""))},
		{"at the snapshot", save(raftpb.HardState{}, ent(2, 2, ""))},
		{"not consecutive", save(raftpb.HardState{}, ent(4, 2, ""), ent(6, 2, ""))},
		{"term below the preceding entry", save(raftpb.HardState{}, ent(4, 1, ""))},
		{"term decreasing within a batch", save(raftpb.HardState{}, ent(4, 3, ""), ent(5, 2, ""))},
		{"term 0", save(raftpb.HardState{}, ent(4, 0, ""))},
		{"unknown entry type", save(raftpb.HardState{}, raftpb.Entry{Index: 4, Term: 2, Type: 9})},
		{"hard state term decreasing", save(hs(1, 1, 0))},
		{"vote changed within a term", save(hs(2, 3, 0))},
		{"snapshot index decreasing", op{kind: "snap", meta: raftpb.SnapshotMetadata{Index: 1, Term: 2}}},
		{"snapshot term changed", op{kind: "snap", meta: raftpb.SnapshotMetadata{Index: 2, Term: 3}}},
		{"zero snapshot", op{kind: "snap"}},
		{"release beyond the snapshot", op{kind: "release", release: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := d.Stats()
			assert.ErrorIs(t, tc.op.do(w), ErrInvalid)
			assert.Equal(t, before, d.Stats(), "nothing written")
		})
	}
	// Still usable, and replay agrees.
	require.NoError(t, w.Save(hs(3, 0, 2), ents(4, 4, 3)))
	require.NoError(t, w.Close())
	_, st := mustOpen(t, diskfs.New(d), Options{})
	requireState(t, State{HardState: hs(3, 0, 2), Snapshot: raftpb.SnapshotMetadata{Index: 2, Term: 2},
		Entries: []raftpb.Entry{ents(3, 3, 2)[0], ents(4, 4, 3)[0]}}, st)
}

func TestClosedAndFailedWAL(t *testing.T) {
	d := disk.New()
	w, _ := mustOpen(t, diskfs.New(d), Options{})
	d.SetFailSync(true)
	err := w.Save(hs(1, 1, 0), ents(1, 1, 1))
	require.ErrorIs(t, err, vfs.ErrIO)
	d.SetFailSync(false)
	// After a failed sync the WAL will not pretend anything is durable.
	require.ErrorIs(t, w.Save(hs(1, 1, 0), ents(1, 1, 1)), vfs.ErrIO)
	require.NoError(t, w.Close())
	require.ErrorIs(t, w.Close(), ErrClosed)
	require.ErrorIs(t, w.Save(hs(1, 1, 0), nil), ErrClosed)

	// Reopening recovers; the record whose sync failed is still in the
	// page cache, so Open syncs it before returning it.
	_, st := mustOpen(t, diskfs.New(d), Options{})
	requireState(t, model{}.save(hs(1, 1, 0), ents(1, 1, 1)).state(), st)
	d.Crash(nil, false) // no Close: the process dies
	_, st = mustOpen(t, diskfs.New(d), Options{})
	requireState(t, model{}.save(hs(1, 1, 0), ents(1, 1, 1)).state(), st, "Open made what it returned durable")
}

func TestRotation(t *testing.T) {
	d := disk.New()
	opts := Options{SegmentBytes: 256}
	w, _ := mustOpen(t, diskfs.New(d), opts)
	var m model
	for i := uint64(1); i <= 100; i++ {
		o := save(hs(1+i/30, 0, i-1), ents(i, i, 1+i/30)...)
		if i%17 == 0 { // a new leader overwrites the last three entries
			o = save(hs(1+i/30, 0, i-4), ents(i-3, i, 1+i/30)...)
		}
		require.NoError(t, o.do(w))
		m = o.apply(m)
	}
	st := w.Stats()
	assert.Greater(t, st.Segments, 10)
	assert.Equal(t, int64(st.Segments-1), st.Rotations)
	names, _ := d.List()
	assert.Len(t, names, st.Segments)
	for i, name := range names {
		seq, ok := parseSegmentName(name)
		require.True(t, ok, name)
		assert.Equal(t, uint64(i+1), seq)
		data, _ := d.ReadFile(name)
		if i < len(names)-1 {
			// Sealed segments stay near the limit: only a record that
			// would not fit moves on.
			assert.LessOrEqual(t, len(data), 256)
		}
	}
	require.NoError(t, w.Close())
	d.Crash(nil, false)
	_, got := mustOpen(t, diskfs.New(d), opts)
	requireState(t, m.state(), got)
}

func TestLargeRecordGetsItsOwnSegment(t *testing.T) {
	d := disk.New()
	opts := Options{SegmentBytes: 64}
	w, _ := mustOpen(t, diskfs.New(d), opts)
	big := string(make([]byte, 1000))
	require.NoError(t, w.Save(hs(1, 1, 0), []raftpb.Entry{ent(1, 1, big)}))
	require.NoError(t, w.Save(hs(1, 1, 1), []raftpb.Entry{ent(2, 1, big)}))
	require.NoError(t, w.Save(hs(1, 1, 2), []raftpb.Entry{ent(3, 1, "small")}))
	assert.Equal(t, 3, w.Stats().Segments)
	require.NoError(t, w.Close())
	_, st := mustOpen(t, diskfs.New(d), opts)
	assert.Len(t, st.Entries, 3)
}

// TestCrashRightAfterRotation kills the process between creating a new
// segment (its name durable) and writing to it, and after a write that a
// crash tore right after the new segment's header.
func TestCrashRightAfterRotation(t *testing.T) {
	const segBytes = 200
	fill := func(t *testing.T, d *disk.Disk) (model, uint64) {
		w, _ := mustOpen(t, diskfs.New(d), Options{SegmentBytes: segBytes})
		var m model
		i := uint64(0)
		for w.Stats().Segments < 2 || w.recs < 2 {
			require.Less(t, i, uint64(100), "no rotation")
			i++
			o := save(hs(1, 1, i-1), ent(i, 1, "payload-payload-payload"))
			require.NoError(t, o.do(w))
			m = o.apply(m)
		}
		require.NoError(t, w.Close())
		return m, i
	}
	// The rotating Save's operations are Create, SyncDir, Write, Sync;
	// budget is how many of them happen before the process dies. keep
	// returns the Rand that decides what the crash keeps of the pending
	// operations (nil keeps nothing); w.hbuf holds what the Save wrote:
	// the new segment's header, then the record (w.buf).
	for _, tc := range []struct {
		name   string
		budget int
		keep   func(w *WAL) disk.Rand
		saved  bool
	}{
		{"killed before syncdir, name kept", 1, func(*WAL) disk.Rand { return &scripted{vals: []uint64{1}} }, false},
		{"killed before syncdir, name lost", 1, func(*WAL) disk.Rand { return nil }, false},
		{"killed before the write", 2, func(*WAL) disk.Rand { return nil }, false},
		{"killed before the sync, nothing kept", 3, func(*WAL) disk.Rand { return nil }, false},
		{"killed before the sync, header torn", 3, func(*WAL) disk.Rand { return &scripted{vals: []uint64{1, 5}} }, false},
		{"killed before the sync, header kept", 3, func(w *WAL) disk.Rand {
			return &scripted{vals: []uint64{1, uint64(len(w.hbuf) - len(w.buf))}}
		}, false},
		{"killed before the sync, record torn", 3, func(w *WAL) disk.Rand {
			return &scripted{vals: []uint64{1, uint64(len(w.hbuf) - 1)}}
		}, false},
		{"killed before the sync, write kept", 3, func(w *WAL) disk.Rand {
			return &scripted{vals: []uint64{1, uint64(len(w.hbuf))}}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := disk.New()
			m, i := fill(t, d)
			k := &killFS{FS: diskfs.New(d), budget: 1000}
			w, _ := mustOpen(t, k, Options{SegmentBytes: segBytes})
			o := save(hs(1, 1, i), ent(i+1, 1, string(make([]byte, segBytes))))
			k.budget = tc.budget
			require.ErrorIs(t, o.do(w), errKilled)
			d.Crash(tc.keep(w), true)
			want := m
			if tc.saved {
				want = o.apply(m)
			}
			w2, st := mustOpen(t, diskfs.New(d), Options{SegmentBytes: segBytes})
			requireState(t, want.state(), st)
			// The WAL goes on from there, and replays again.
			next := save(hs(2, 0, 0), ent(want.last()+1, 2, "next"))
			require.NoError(t, next.do(w2))
			want = next.apply(want)
			require.NoError(t, w2.Close())
			d.Crash(nil, false)
			_, st = mustOpen(t, diskfs.New(d), Options{SegmentBytes: segBytes})
			requireState(t, want.state(), st)
		})
	}
}

func TestReleaseTo(t *testing.T) {
	d := disk.New()
	opts := Options{SegmentBytes: 150}
	w, _ := mustOpen(t, diskfs.New(d), opts)
	var m model
	do := func(o op) {
		t.Helper()
		require.NoError(t, o.do(w), "%v", o)
		m = o.apply(m)
	}
	for i := uint64(1); i <= 40; i++ {
		do(save(hs(1, 1, i-1), ent(i, 1, "0123456789012345678901234567890123456789")))
	}
	segs, rotations := w.Stats().Segments, w.Stats().Rotations
	require.Greater(t, segs, 8)
	require.NoError(t, w.ReleaseTo(0), "nothing is covered by no snapshot")
	assert.Equal(t, segs, w.Stats().Segments)

	do(snapOp(25, 1))
	do(save(hs(2, 2, 25), ents(39, 42, 2)...)) // overwrite after the snapshot
	require.NoError(t, w.ReleaseTo(25))
	st := w.Stats()
	assert.Less(t, st.Segments, segs)
	assert.Equal(t, int64(segs-st.Segments)+st.Rotations-rotations, st.Released)
	names, _ := d.List()
	first, _ := parseSegmentName(names[0])
	assert.Greater(t, first, uint64(1))
	d.Crash(nil, false) // removals were synced

	w, got := mustOpen(t, diskfs.New(d), opts)
	requireState(t, m.state(), got)
	// Writes, snapshots and releases go on after a reopen that starts at
	// a released position.
	do(save(hs(2, 2, 30), ents(43, 50, 2)...))
	do(snapOp(45, 2))
	require.NoError(t, w.ReleaseTo(45))
	require.NoError(t, w.Close())
	_, got = mustOpen(t, diskfs.New(d), opts)
	requireState(t, m.state(), got)
}

// TestLeftoversOfAnInterruptedRelease: a file system may persist unlinks
// out of order, leaving old segments before a gap. They are not needed (the
// snapshot covers them) and Open removes them.
func TestLeftoversOfAnInterruptedRelease(t *testing.T) {
	d := disk.New()
	opts := Options{SegmentBytes: 150}
	w, _ := mustOpen(t, diskfs.New(d), opts)
	var m model
	for i := uint64(1); i <= 30; i++ {
		o := save(hs(1, 1, i-1), ent(i, 1, "0123456789012345678901234567890123456789"))
		require.NoError(t, o.do(w))
		m = o.apply(m)
	}
	o := snapOp(20, 1)
	require.NoError(t, o.do(w))
	m = o.apply(m)
	// Find a segment wholly below the snapshot and remove it by hand, as
	// if only that unlink of a release had reached the disk.
	require.Greater(t, len(w.segs), 4)
	require.LessOrEqual(t, w.segs[2].maxIndex, uint64(20))
	require.NoError(t, d.Remove(w.segs[2].name))
	require.NoError(t, d.SyncDir())
	require.NoError(t, w.Close())

	w, st := mustOpen(t, diskfs.New(d), opts)
	requireState(t, m.state(), st)
	assert.Equal(t, int64(2), w.Stats().Released)
	names, _ := d.List()
	assert.Len(t, names, w.Stats().Segments)
	require.NoError(t, w.Close())
}

func TestMissingSegmentNotCoveredIsCorrupt(t *testing.T) {
	d := disk.New()
	opts := Options{SegmentBytes: 150}
	w, _ := mustOpen(t, diskfs.New(d), opts)
	for i := uint64(1); i <= 30; i++ {
		require.NoError(t, w.Save(hs(1, 1, i-1), []raftpb.Entry{ent(i, 1, "0123456789012345678901234567890123456789")}))
	}
	victim := w.segs[2].name
	require.NoError(t, w.Close())
	require.NoError(t, d.Remove(victim))
	_, _, err := Open(diskfs.New(d), opts)
	require.ErrorIs(t, err, ErrCorrupt)
	var ce *CorruptError
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, ce.Reason, "released")
}

// TestStaleSegmentCannotBeSplicedIn: a segment with the right name from
// another WAL (or another life of this one) breaks the checksum chain.
func TestStaleSegmentCannotBeSplicedIn(t *testing.T) {
	write := func(d *disk.Disk, tag string) {
		w, _ := mustOpen(t, diskfs.New(d), Options{SegmentBytes: 150})
		for i := uint64(1); i <= 20; i++ {
			require.NoError(t, w.Save(hs(1, 1, i-1), []raftpb.Entry{ent(i, 1, tag+"-0123456789012345678901234567890123456789")}))
		}
		require.NoError(t, w.Close())
	}
	a, b := disk.New(), disk.New()
	write(a, "a")
	write(b, "b")
	name := segmentName(3)
	data, err := b.ReadFile(name)
	require.NoError(t, err)
	f, err := a.Create(name)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	_, _, err = Open(diskfs.New(a), Options{})
	var ce *CorruptError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, name, ce.File)
	assert.Equal(t, int64(0), ce.Offset)
}

func TestForeignFilesAreIgnored(t *testing.T) {
	d := disk.New()
	for _, name := range []string{"snap-0001.snap", "wal-1.log", "wal-000000000000000G.log", "WAL-0000000000000001.log"} {
		f, err := d.Create(name)
		require.NoError(t, err)
		_, err = f.Write([]byte("not a wal"))
		require.NoError(t, err)
	}
	w, st := mustOpen(t, diskfs.New(d), Options{})
	requireState(t, State{}, st)
	require.NoError(t, w.Save(hs(1, 1, 0), ents(1, 1, 1)))
	require.NoError(t, w.Close())
	_, st = mustOpen(t, diskfs.New(d), Options{})
	assert.Len(t, st.Entries, 1)
}

func TestSegmentNames(t *testing.T) {
	for _, seq := range []uint64{0, 1, 0xabc, 1<<64 - 1} {
		got, ok := parseSegmentName(segmentName(seq))
		assert.True(t, ok)
		assert.Equal(t, seq, got)
	}
	assert.Equal(t, "wal-00000000000000ff.log", segmentName(255))
}
