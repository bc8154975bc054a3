package osfs_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/vfs"
	"github.com/seed4fee1fef/raftsim/raft/vfs/osfs"
	"github.com/seed4fee1fef/raftsim/raft/vfs/vfstest"
)

func TestConformance(t *testing.T) {
	vfstest.Run(t, func(t *testing.T) vfs.FS {
		fsys, err := osfs.New(t.TempDir())
		require.NoError(t, err)
		return fsys
	})
}

func TestNewCreatesMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node1", "data")
	fsys, err := osfs.New(dir)
	require.NoError(t, err)
	assert.Equal(t, dir, fsys.Dir())
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.True(t, info.IsDir())
}

func TestNewRejectsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, nil, 0o644))
	_, err := osfs.New(path)
	assert.ErrorContains(t, err, "not a directory")
}

func TestErrorsKeepOSText(t *testing.T) {
	fsys, err := osfs.New(t.TempDir())
	require.NoError(t, err)
	_, err = fsys.Open("missing")
	require.ErrorIs(t, err, vfs.ErrNotExist)
	assert.ErrorIs(t, err, os.ErrNotExist, "the os error stays in the chain")
	assert.ErrorContains(t, err, "no such file or directory")
}

func TestBadNameSaysWhy(t *testing.T) {
	fsys, err := osfs.New(t.TempDir())
	require.NoError(t, err)
	_, err = fsys.Create("../escape")
	assert.ErrorContains(t, err, `"../escape" is not a plain file name`)
}

func TestListSkipsSubdirectories(t *testing.T) {
	dir := t.TempDir()
	fsys, err := osfs.New(dir)
	require.NoError(t, err)
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	f, err := fsys.Create("wal")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	names, err := fsys.List()
	require.NoError(t, err)
	assert.Equal(t, []string{"wal"}, names)
}
