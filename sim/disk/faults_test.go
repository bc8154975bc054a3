package disk_test

import (
	"io/fs"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/sim/disk"
)

func TestCapacity(t *testing.T) {
	d := disk.New()
	d.SetCapacity(10)
	a := mustCreate(t, d, "a")
	b := mustCreate(t, d, "b")
	mustWrite(t, a, "123456")

	n, err := b.Write([]byte("12345"))
	assert.ErrorIs(t, err, disk.ErrNoSpace, "the limit spans files")
	assert.Zero(t, n, "a refused write keeps nothing")
	assert.Equal(t, int64(6), d.VisibleBytes())
	assert.Equal(t, int64(1), d.Stats().NoSpace)

	mustWrite(t, b, "1234")
	require.NoError(t, a.Truncate(0))
	mustWrite(t, b, "12345") // truncation freed the space

	d.SetCapacity(0)
	mustWrite(t, b, "a lot more than ten bytes")
}

func TestCapacityIgnoresRemovedFiles(t *testing.T) {
	d := disk.New()
	d.SetCapacity(4)
	mustWrite(t, mustCreate(t, d, "old"), "1234")
	require.NoError(t, d.Remove("old"))
	mustWrite(t, mustCreate(t, d, "new"), "1234")
}

func TestCorruptDurable(t *testing.T) {
	d := disk.New()
	f := durableFile(t, d, "a", "abc")
	mustWrite(t, f, "d") // pending: must stay on top of the flipped byte
	require.NoError(t, d.CorruptDurable("a", 1, 0))
	assert.Equal(t, map[string]string{"a": "accd"}, contents(t, d))
	d.Crash(nil, false)
	assert.Equal(t, map[string]string{"a": "acc"}, contents(t, d))
}

// A byte the page cache no longer shows (truncated, then rewritten) must not
// change in the visible contents.
func TestCorruptDurableUnderPendingTruncate(t *testing.T) {
	d := disk.New()
	f := durableFile(t, d, "a", "abc")
	require.NoError(t, f.Truncate(1))
	mustWrite(t, f, "XY")
	require.NoError(t, d.CorruptDurable("a", 2, 1))
	require.NoError(t, d.CorruptDurable("a", 0, 7))
	assert.Equal(t, map[string]string{"a": "\xe1XY"}, contents(t, d))
	d.Crash(nil, false)
	assert.Equal(t, map[string]string{"a": "\xe1ba"}, contents(t, d))
}

func TestTruncateDurable(t *testing.T) {
	d := disk.New()
	f := durableFile(t, d, "a", "abcdef")
	mustWrite(t, f, "XY")
	require.NoError(t, d.TruncateDurable("a", 3))
	assert.Equal(t, map[string]string{"a": "abcXY"}, contents(t, d),
		"pending appends land after what is left")
	assert.Equal(t, int64(3), d.DurableBytes())
	d.Crash(nil, false)
	assert.Equal(t, map[string]string{"a": "abc"}, contents(t, d))
}

func TestFaultHooksRejectBadInput(t *testing.T) {
	d := disk.New()
	durableFile(t, d, "a", "abc")
	mustCreate(t, d, "not-durable")
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"corrupt missing", d.CorruptDurable("missing", 0, 0), disk.ErrNotExist},
		{"corrupt name not yet durable", d.CorruptDurable("not-durable", 0, 0), disk.ErrNotExist},
		{"corrupt bad name", d.CorruptDurable("../a", 0, 0), fs.ErrInvalid},
		{"corrupt negative offset", d.CorruptDurable("a", -1, 0), fs.ErrInvalid},
		{"corrupt past the end", d.CorruptDurable("a", 3, 0), fs.ErrInvalid},
		{"corrupt bit 8", d.CorruptDurable("a", 0, 8), fs.ErrInvalid},
		{"truncate missing", d.TruncateDurable("missing", 0), disk.ErrNotExist},
		{"truncate negative", d.TruncateDurable("a", -1), fs.ErrInvalid},
		{"truncate growing", d.TruncateDurable("a", 4), fs.ErrInvalid},
	}
	for _, c := range cases {
		assert.ErrorIs(t, c.err, c.want, c.name)
	}
	assert.Equal(t, map[string]string{"a": "abc", "not-durable": ""}, contents(t, d), "rejected faults changed data")
}

func TestSyncLatency(t *testing.T) {
	d := disk.New()
	f := mustCreate(t, d, "a")
	require.NoError(t, f.Sync())
	assert.Zero(t, d.TakeSyncDelay(), "no latency by default")

	next := time.Millisecond
	d.SetSyncLatency(func() time.Duration { next *= 2; return next })
	require.NoError(t, f.Sync())
	require.NoError(t, d.SyncDir())
	assert.Equal(t, 6*time.Millisecond, d.TakeSyncDelay())
	assert.Zero(t, d.TakeSyncDelay(), "taking resets")

	require.NoError(t, f.Sync())
	d.Crash(nil, false)
	assert.Zero(t, d.TakeSyncDelay(), "a crash forgets what the dead process owed")
}

func TestFailSync(t *testing.T) {
	d := disk.New()
	f := durableFile(t, d, "a", "")
	mustWrite(t, f, "x")
	g := mustCreate(t, d, "b")

	d.SetFailSync(true)
	assert.ErrorIs(t, f.Sync(), disk.ErrIO)
	assert.ErrorIs(t, d.SyncDir(), disk.ErrIO)
	assert.Equal(t, int64(2), d.Stats().FailedSyncs)
	assert.Zero(t, d.DurableBytes(), "a failed sync made nothing durable")

	d.SetFailSync(false)
	require.NoError(t, f.Sync())
	require.NoError(t, g.Sync())
	require.NoError(t, d.SyncDir())
	d.Crash(nil, false)
	assert.Equal(t, map[string]string{"a": "x", "b": ""}, contents(t, d))
}

func TestObserverSeesEveryMutation(t *testing.T) {
	d := disk.New()
	var ops []disk.Op
	d.SetObserver(func(op disk.Op) { ops = append(ops, op) })

	f := mustCreate(t, d, "a")
	mustWrite(t, f, "abc")
	require.NoError(t, f.Truncate(1))
	require.NoError(t, f.Sync())
	require.NoError(t, d.Rename("a", "b"))
	g, err := d.Open("b")
	require.NoError(t, err)
	require.NoError(t, d.Remove("b"))
	require.NoError(t, d.SyncDir())
	_, err = d.Open("b")
	require.Error(t, err)
	mustWrite(t, g, "z")
	d.Crash(seeded(3), false)

	want := []disk.Op{
		{Kind: disk.OpCreate, Name: "a"},
		{Kind: disk.OpWrite, Name: "a", Size: 3},
		{Kind: disk.OpTruncate, Name: "a", Size: 1},
		{Kind: disk.OpSync, Name: "a", Size: 1},
		{Kind: disk.OpRename, Name: "a", To: "b"},
		{Kind: disk.OpOpen, Name: "b", Size: 1},
		{Kind: disk.OpRemove, Name: "b"},
		{Kind: disk.OpSyncDir, Size: 3},
		{Kind: disk.OpOpen, Name: "b", Err: ops[8].Err},
		{Kind: disk.OpWrite, Name: "b", Size: 1},
		{Kind: disk.OpCrash},
	}
	require.Len(t, ops, len(want))
	assert.Equal(t, want, ops)
	assert.ErrorIs(t, ops[8].Err, disk.ErrNotExist)
	assert.Equal(t, "syncdir", disk.OpSyncDir.String())
	assert.Equal(t, "unknown", disk.OpKind(0).String())
}

func TestStatsAndByteTotals(t *testing.T) {
	d := disk.New()
	f := durableFile(t, d, "a", "abc")
	mustWrite(t, f, "de")
	g := mustCreate(t, d, "b")
	mustWrite(t, g, "xyz")
	require.NoError(t, g.Sync())

	assert.Equal(t, int64(3), d.DurableBytes(), "b's name is not durable")
	assert.Equal(t, int64(8), d.VisibleBytes())
	d.Crash(nil, false)
	assert.Equal(t, d.DurableBytes(), d.VisibleBytes())

	want := disk.Stats{
		Creates: 2, Writes: 3, BytesWritten: 8,
		Syncs: 2, SyncDirs: 1, Crashes: 1,
		OpsLost: 2, // a's second write, b's link
	}
	assert.Equal(t, want, d.Stats())
}

// Nothing under the simulator panics on input it can reject.
func TestBadInputIsAnError(t *testing.T) {
	d := disk.New()
	f := mustCreate(t, d, "a")
	_, err := f.ReadAt(make([]byte, 1), -5)
	assert.ErrorIs(t, err, fs.ErrInvalid)
	assert.ErrorIs(t, f.Truncate(-1), fs.ErrInvalid)
	_, err = d.Create("a/b")
	assert.ErrorIs(t, err, fs.ErrInvalid)
	assert.ErrorContains(t, err, "not a plain file name")
	assert.NotPanics(t, func() { d.Crash(nil, true) }, "nil Rand keeps nothing")
	d.SetCapacity(-1)
	mustWrite(t, mustCreate(t, d, "b"), "negative capacity is unlimited")
}

// Two slow syncs issued back to back complete one after the other: the
// simulator learns each one's completion time from TakeSyncs, and a crash
// after the first completed keeps it and loses the second.
func TestSlowSyncsCompleteInTurn(t *testing.T) {
	d := disk.New()
	wal := durableFile(t, d, "wal", "")
	mark := durableFile(t, d, "mark", "")
	d.SetSyncLatency(func() time.Duration { return 5 * time.Millisecond })
	mustWrite(t, wal, "w")
	require.NoError(t, wal.Sync())
	mustWrite(t, mark, "m")
	require.NoError(t, mark.Sync())

	type done struct {
		id    uint64
		after time.Duration
	}
	var got []done
	total := d.TakeSyncs(func(id uint64, after time.Duration) { got = append(got, done{id, after}) })
	assert.Equal(t, 10*time.Millisecond, total)
	require.Len(t, got, 2)
	assert.Equal(t, 5*time.Millisecond, got[0].after, "the first completes after its own latency")
	assert.Equal(t, 10*time.Millisecond, got[1].after, "the second waits for the first")
	assert.Zero(t, d.TakeSyncs(func(uint64, time.Duration) { t.Fatal("reported twice") }))

	d.CompleteSyncsThrough(got[0].id)
	assert.True(t, d.Syncing(), "the second is still in flight")
	d.Crash(nil, false)
	assert.Equal(t, map[string]string{"wal": "w", "mark": ""}, contents(t, d))
}
