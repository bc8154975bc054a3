package disk_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/sim/disk"
)

// splitmix is a seeded disk.Rand for tests (SplitMix64).
type splitmix uint64

func (s *splitmix) Uint64() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func seeded(seed uint64) *splitmix { s := splitmix(seed); return &s }

// script is a disk.Rand that returns fixed draws, to pick an exact crash
// prefix and tear in table tests.
type script []uint64

func (s *script) Uint64() uint64 {
	if len(*s) == 0 {
		panic("script: out of draws")
	}
	v := (*s)[0]
	*s = (*s)[1:]
	return v
}

// contents is every visible file and its contents: the state a restarted
// node would read.
func contents(t require.TestingT, d *disk.Disk) map[string]string {
	names, err := d.List()
	require.NoError(t, err)
	state := make(map[string]string, len(names))
	for _, name := range names {
		data, err := d.ReadFile(name)
		require.NoError(t, err)
		state[name] = string(data)
	}
	return state
}

func mustCreate(t *testing.T, d *disk.Disk, name string) *disk.File {
	t.Helper()
	f, err := d.Create(name)
	require.NoError(t, err)
	return f
}

func mustWrite(t *testing.T, f *disk.File, data string) {
	t.Helper()
	n, err := f.Write([]byte(data))
	require.NoError(t, err)
	require.Equal(t, len(data), n)
}
