package vfstest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/vfs"
)

// dirChecks cover the directory: names appearing, moving and going away.
var dirChecks = []check{
	{"EmptyListsNothing", func(t *testing.T, fsys vfs.FS) {
		assert.Empty(t, list(t, fsys))
	}},
	{"CreateMakesEmptyFile", func(t *testing.T, fsys vfs.FS) {
		f := create(t, fsys, "a")
		assert.Zero(t, size(t, f))
		assert.Empty(t, readFile(t, fsys, "a"))
		assert.Equal(t, []string{"a"}, list(t, fsys))
	}},
	{"CreateTruncatesExisting", func(t *testing.T, fsys vfs.FS) {
		writeFile(t, fsys, "a", []byte("old contents"))
		f := create(t, fsys, "a")
		assert.Zero(t, size(t, f))
		write(t, f, "new")
		assert.Equal(t, []byte("new"), readFile(t, fsys, "a"))
	}},
	{"ListIsSorted", func(t *testing.T, fsys vfs.FS) {
		for _, name := range []string{"c", "a10", "b", "a2", "a"} {
			writeFile(t, fsys, name, nil)
		}
		assert.Equal(t, []string{"a", "a10", "a2", "b", "c"}, list(t, fsys))
	}},
	{"MissingFileIsErrNotExist", func(t *testing.T, fsys vfs.FS) {
		writeFile(t, fsys, "present", nil)
		ops := []struct {
			name string
			do   func() error
		}{
			{"Open", func() error { _, err := fsys.Open("missing"); return err }},
			{"ReadFile", func() error { _, err := fsys.ReadFile("missing"); return err }},
			{"Remove", func() error { return fsys.Remove("missing") }},
			{"Rename", func() error { return fsys.Rename("missing", "present") }},
		}
		for _, op := range ops {
			err := op.do()
			assert.ErrorIs(t, err, vfs.ErrNotExist, op.name)
		}
		assert.Equal(t, []string{"present"}, list(t, fsys), "failed calls changed the directory")
	}},
	{"RemoveDeletesOnlyThatName", func(t *testing.T, fsys vfs.FS) {
		writeFile(t, fsys, "a", []byte("A"))
		writeFile(t, fsys, "b", []byte("B"))
		require.NoError(t, fsys.Remove("a"))
		assert.Equal(t, []string{"b"}, list(t, fsys))
		_, err := fsys.Open("a")
		assert.ErrorIs(t, err, vfs.ErrNotExist)
		assert.Equal(t, []byte("B"), readFile(t, fsys, "b"))
	}},
	{"RenameToNewName", func(t *testing.T, fsys vfs.FS) {
		writeFile(t, fsys, "tmp", []byte("snapshot"))
		require.NoError(t, fsys.Rename("tmp", "snap"))
		assert.Equal(t, []string{"snap"}, list(t, fsys))
		assert.Equal(t, []byte("snapshot"), readFile(t, fsys, "snap"))
	}},
	{"RenameReplacesExisting", func(t *testing.T, fsys vfs.FS) {
		writeFile(t, fsys, "tmp", []byte("new"))
		writeFile(t, fsys, "snap", []byte("old and longer"))
		require.NoError(t, fsys.Rename("tmp", "snap"))
		assert.Equal(t, []string{"snap"}, list(t, fsys))
		assert.Equal(t, []byte("new"), readFile(t, fsys, "snap"))
	}},
	{"RenameOntoItselfKeepsFile", func(t *testing.T, fsys vfs.FS) {
		writeFile(t, fsys, "a", []byte("A"))
		require.NoError(t, fsys.Rename("a", "a"))
		assert.Equal(t, []string{"a"}, list(t, fsys))
		assert.Equal(t, []byte("A"), readFile(t, fsys, "a"))
	}},
	{"SyncDirAfterChanges", func(t *testing.T, fsys vfs.FS) {
		require.NoError(t, fsys.SyncDir(), "empty directory")
		writeFile(t, fsys, "a", []byte("A"))
		writeFile(t, fsys, "b", []byte("B"))
		require.NoError(t, fsys.Rename("a", "c"))
		require.NoError(t, fsys.Remove("b"))
		require.NoError(t, fsys.SyncDir())
		assert.Equal(t, []string{"c"}, list(t, fsys))
		assert.Equal(t, []byte("A"), readFile(t, fsys, "c"))
	}},
	{"ReadFileReturnsCopy", func(t *testing.T, fsys vfs.FS) {
		writeFile(t, fsys, "a", []byte("abc"))
		got := readFile(t, fsys, "a")
		got[0] = 'X'
		assert.Equal(t, []byte("abc"), readFile(t, fsys, "a"))
	}},
}
