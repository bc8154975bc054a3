package disk_test

import (
	"testing"

	"github.com/seed4fee1fef/raftsim/raft/vfs"
	"github.com/seed4fee1fef/raftsim/raft/vfs/vfstest"
	"github.com/seed4fee1fef/raftsim/sim/disk"
)

func TestConformance(t *testing.T) {
	vfstest.Run(t, func(*testing.T) vfs.FS { return disk.New() })
}

// A crashed disk must still be a conforming FS: the node restarts on it.
func TestConformanceAfterCrash(t *testing.T) {
	vfstest.Run(t, func(*testing.T) vfs.FS {
		d := disk.New()
		d.Crash(seeded(1), true)
		return d
	})
}
