package diskfs_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/vfs"
	"github.com/seed4fee1fef/raftsim/raft/vfs/vfstest"
	"github.com/seed4fee1fef/raftsim/scenarios/diskfs"
	"github.com/seed4fee1fef/raftsim/sim/disk"
)

// The simulated disk, as servers see it, is a conforming vfs.FS.
func TestDiskFSConformance(t *testing.T) {
	vfstest.Run(t, func(*testing.T) vfs.FS { return diskfs.New(disk.New()) })
}

type fixedRand uint64

func (r fixedRand) Uint64() uint64 { return uint64(r) }

// A crashed disk must still be a conforming FS: the node restarts on it.
func TestDiskFSConformanceAfterCrash(t *testing.T) {
	vfstest.Run(t, func(*testing.T) vfs.FS {
		d := disk.New()
		d.Crash(fixedRand(1), true)
		return diskfs.New(d)
	})
}

// The disk's faults reach a server as the interface's errors.
func TestDiskFSTranslatesFaults(t *testing.T) {
	d := disk.New()
	fs := diskfs.New(d)
	f, err := fs.Create("wal")
	require.NoError(t, err)
	d.SetCapacity(2)
	_, err = f.Write([]byte("abc"))
	assert.ErrorIs(t, err, vfs.ErrNoSpace)
	assert.ErrorIs(t, err, disk.ErrNoSpace)
	assert.Equal(t, `disk: write 3 bytes to "wal": no space left on device`, err.Error(), "the disk's words, unchanged")
	d.SetFailSync(true)
	assert.ErrorIs(t, f.Sync(), vfs.ErrIO)
	assert.ErrorIs(t, fs.SyncDir(), vfs.ErrIO)
	_, err = fs.Open("missing")
	assert.ErrorIs(t, err, vfs.ErrNotExist)
	require.NoError(t, f.Close())
	assert.True(t, errors.Is(f.Close(), vfs.ErrClosed))
}
