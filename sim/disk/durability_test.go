package disk_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/sim/disk"
)

// durableFile creates name holding data, fully durable.
func durableFile(t *testing.T, d *disk.Disk, name, data string) *disk.File {
	t.Helper()
	f := mustCreate(t, d, name)
	mustWrite(t, f, data)
	require.NoError(t, f.Sync())
	require.NoError(t, d.SyncDir())
	return f
}

// TestCrashKeepsOnlyDurable pins what survives a crash without a kept
// prefix, one POSIX rule per case.
func TestCrashKeepsOnlyDurable(t *testing.T) {
	cases := []struct {
		name string
		do   func(t *testing.T, d *disk.Disk)
		want map[string]string
	}{
		{"unsynced write is lost", func(t *testing.T, d *disk.Disk) {
			f := durableFile(t, d, "a", "")
			mustWrite(t, f, "x")
		}, map[string]string{"a": ""}},
		{"synced write survives", func(t *testing.T, d *disk.Disk) {
			f := durableFile(t, d, "a", "")
			mustWrite(t, f, "x")
			require.NoError(t, f.Sync())
		}, map[string]string{"a": "x"}},
		{"synced file whose creation was never SyncDir'd disappears", func(t *testing.T, d *disk.Disk) {
			f := mustCreate(t, d, "a")
			mustWrite(t, f, "x")
			require.NoError(t, f.Sync())
		}, map[string]string{}},
		{"SyncDir does not sync data", func(t *testing.T, d *disk.Disk) {
			f := mustCreate(t, d, "a")
			mustWrite(t, f, "x")
			require.NoError(t, d.SyncDir())
		}, map[string]string{"a": ""}},
		{"Sync of one file leaves another's data", func(t *testing.T, d *disk.Disk) {
			a := durableFile(t, d, "a", "")
			b := durableFile(t, d, "b", "")
			mustWrite(t, a, "A")
			mustWrite(t, b, "B")
			require.NoError(t, a.Sync())
		}, map[string]string{"a": "A", "b": ""}},
		{"rename is not durable without SyncDir", func(t *testing.T, d *disk.Disk) {
			durableFile(t, d, "snap", "old")
			tmp := mustCreate(t, d, "tmp")
			mustWrite(t, tmp, "new")
			require.NoError(t, tmp.Sync())
			require.NoError(t, d.Rename("tmp", "snap"))
		}, map[string]string{"snap": "old"}},
		{"rename is durable after SyncDir", func(t *testing.T, d *disk.Disk) {
			durableFile(t, d, "snap", "old")
			tmp := mustCreate(t, d, "tmp")
			mustWrite(t, tmp, "new")
			require.NoError(t, tmp.Sync())
			require.NoError(t, d.Rename("tmp", "snap"))
			require.NoError(t, d.SyncDir())
		}, map[string]string{"snap": "new"}},
		{"rename without syncing the data first leaves an empty file", func(t *testing.T, d *disk.Disk) {
			durableFile(t, d, "snap", "old")
			tmp := mustCreate(t, d, "tmp")
			mustWrite(t, tmp, "new")
			require.NoError(t, d.Rename("tmp", "snap"))
			require.NoError(t, d.SyncDir())
		}, map[string]string{"snap": ""}},
		{"write through a handle after rename lands in the renamed file", func(t *testing.T, d *disk.Disk) {
			f := durableFile(t, d, "a", "x")
			require.NoError(t, d.Rename("a", "b"))
			require.NoError(t, d.SyncDir())
			mustWrite(t, f, "y")
			require.NoError(t, f.Sync())
		}, map[string]string{"b": "xy"}},
		{"remove is not durable without SyncDir", func(t *testing.T, d *disk.Disk) {
			durableFile(t, d, "a", "x")
			require.NoError(t, d.Remove("a"))
		}, map[string]string{"a": "x"}},
		{"remove is durable after SyncDir", func(t *testing.T, d *disk.Disk) {
			durableFile(t, d, "a", "x")
			require.NoError(t, d.Remove("a"))
			require.NoError(t, d.SyncDir())
		}, map[string]string{}},
		{"unsynced truncate is lost", func(t *testing.T, d *disk.Disk) {
			f := durableFile(t, d, "a", "abcd")
			require.NoError(t, f.Truncate(2))
		}, map[string]string{"a": "abcd"}},
		{"synced truncate survives", func(t *testing.T, d *disk.Disk) {
			f := durableFile(t, d, "a", "abcd")
			require.NoError(t, f.Truncate(2))
			require.NoError(t, f.Sync())
		}, map[string]string{"a": "ab"}},
		{"truncate then append, synced", func(t *testing.T, d *disk.Disk) {
			f := durableFile(t, d, "a", "abcd")
			require.NoError(t, f.Truncate(2))
			mustWrite(t, f, "X")
			require.NoError(t, f.Sync())
		}, map[string]string{"a": "abX"}},
		{"Create of an existing file truncates only once synced", func(t *testing.T, d *disk.Disk) {
			durableFile(t, d, "a", "old")
			mustCreate(t, d, "a")
		}, map[string]string{"a": "old"}},
		{"Create of an existing file, synced", func(t *testing.T, d *disk.Disk) {
			durableFile(t, d, "a", "old")
			f := mustCreate(t, d, "a")
			mustWrite(t, f, "new")
			require.NoError(t, f.Sync())
		}, map[string]string{"a": "new"}},
		{"removed then recreated name, SyncDir'd", func(t *testing.T, d *disk.Disk) {
			durableFile(t, d, "a", "old")
			require.NoError(t, d.Remove("a"))
			f := mustCreate(t, d, "a")
			mustWrite(t, f, "new")
			require.NoError(t, f.Sync())
			require.NoError(t, d.SyncDir())
		}, map[string]string{"a": "new"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := disk.New()
			c.do(t, d)
			d.Crash(seeded(1), false)
			assert.Equal(t, c.want, contents(t, d))
			d.Crash(seeded(2), true) // nothing pending: a second crash changes nothing
			assert.Equal(t, c.want, contents(t, d))
		})
	}
}

// TestCrashKeepsPrefix drives the prefix and tear draws by hand. The pending
// list is: link a, write "abcd", write "ef", rename a->b.
func TestCrashKeepsPrefix(t *testing.T) {
	cases := []struct {
		name  string
		draws script
		want  map[string]string
		torn  int64
	}{
		{"nothing kept", script{0}, map[string]string{}, 0},
		{"creation kept", script{1}, map[string]string{"a": ""}, 0},
		{"first write torn empty", script{2, 0}, map[string]string{"a": ""}, 1},
		{"first write torn", script{2, 2}, map[string]string{"a": "ab"}, 1},
		{"first write whole", script{2, 4}, map[string]string{"a": "abcd"}, 0},
		{"second write torn", script{3, 1}, map[string]string{"a": "abcde"}, 1},
		{"rename kept whole", script{4}, map[string]string{"b": "abcdef"}, 0},
		{"draws wrap modulo", script{5 + 3, 3 + 1}, map[string]string{"a": "abcde"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := disk.New()
			f := mustCreate(t, d, "a")
			mustWrite(t, f, "abcd")
			mustWrite(t, f, "ef")
			require.NoError(t, d.Rename("a", "b"))
			draws := c.draws
			d.Crash(&draws, true)
			assert.Equal(t, c.want, contents(t, d))
			assert.Empty(t, draws, "draws left over")
			assert.Equal(t, c.torn, d.Stats().TornWrites)
			assert.Equal(t, int64(4), d.Stats().OpsKept+d.Stats().OpsLost)
		})
	}
}

func TestCrashClosesHandles(t *testing.T) {
	d := disk.New()
	f := durableFile(t, d, "a", "abc")
	d.Crash(nil, false)
	_, err := f.Write([]byte("x"))
	assert.ErrorIs(t, err, disk.ErrClosed, "Write")
	_, err = f.ReadAt(make([]byte, 1), 0)
	assert.ErrorIs(t, err, disk.ErrClosed, "ReadAt")
	assert.ErrorIs(t, f.Sync(), disk.ErrClosed, "Sync")
	assert.ErrorIs(t, f.Truncate(0), disk.ErrClosed, "Truncate")
	_, err = f.Size()
	assert.ErrorIs(t, err, disk.ErrClosed, "Size")
	assert.ErrorIs(t, f.Close(), disk.ErrClosed, "Close")

	g, err := d.Open("a")
	require.NoError(t, err, "the disk is usable after a crash")
	mustWrite(t, g, "d")
	assert.Equal(t, map[string]string{"a": "abcd"}, contents(t, d))
}

// A kept write must be the bytes as written, not as the caller's buffer
// reads after the write returned.
func TestCrashKeepsCopyOfWrittenBytes(t *testing.T) {
	d := disk.New()
	f := mustCreate(t, d, "a")
	buf := []byte("abc")
	_, err := f.Write(buf)
	require.NoError(t, err)
	copy(buf, "XYZ")
	draws := script{2, 3} // keep both ops, the write whole
	d.Crash(&draws, true)
	assert.Equal(t, map[string]string{"a": "abc"}, contents(t, d))
}

func TestUnlinkedFileStaysReadable(t *testing.T) {
	d := disk.New()
	f := durableFile(t, d, "a", "abc")
	require.NoError(t, d.Remove("a"))
	mustWrite(t, f, "d")
	p := make([]byte, 4)
	_, err := f.ReadAt(p, 0)
	require.NoError(t, err)
	assert.Equal(t, "abcd", string(p))
	require.NoError(t, f.Sync())
	require.NoError(t, d.SyncDir())
	d.Crash(nil, false)
	assert.Empty(t, contents(t, d))
}
