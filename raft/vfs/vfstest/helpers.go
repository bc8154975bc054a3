package vfstest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/vfs"
)

// writeFile creates name holding data and closes it.
func writeFile(t *testing.T, fsys vfs.FS, name string, data []byte) {
	t.Helper()
	f, err := fsys.Create(name)
	require.NoError(t, err, "create %q", name)
	n, err := f.Write(data)
	require.NoError(t, err, "write %q", name)
	require.Equal(t, len(data), n, "write %q: short count", name)
	require.NoError(t, f.Close(), "close %q", name)
}

// readFile is ReadFile that must succeed.
func readFile(t *testing.T, fsys vfs.FS, name string) []byte {
	t.Helper()
	data, err := fsys.ReadFile(name)
	require.NoError(t, err, "readfile %q", name)
	return data
}

// list is List that must succeed.
func list(t *testing.T, fsys vfs.FS) []string {
	t.Helper()
	names, err := fsys.List()
	require.NoError(t, err, "list")
	return names
}

// create is Create that must succeed; the file is closed at cleanup.
func create(t *testing.T, fsys vfs.FS, name string) vfs.File {
	t.Helper()
	f, err := fsys.Create(name)
	require.NoError(t, err, "create %q", name)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// open is Open that must succeed; the file is closed at cleanup.
func open(t *testing.T, fsys vfs.FS, name string) vfs.File {
	t.Helper()
	f, err := fsys.Open(name)
	require.NoError(t, err, "open %q", name)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func write(t *testing.T, f vfs.File, data string) {
	t.Helper()
	n, err := f.Write([]byte(data))
	require.NoError(t, err, "write %q", data)
	require.Equal(t, len(data), n, "write %q: short count", data)
}

func size(t *testing.T, f vfs.File) int64 {
	t.Helper()
	n, err := f.Size()
	require.NoError(t, err, "size")
	return n
}
