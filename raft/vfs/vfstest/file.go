package vfstest

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/vfs"
)

// fileChecks cover an open file: appending, reading back, truncating.
var fileChecks = []check{
	{"WritesAppend", func(t *testing.T, fsys vfs.FS) {
		f := create(t, fsys, "a")
		write(t, f, "ab")
		write(t, f, "cd")
		assert.Equal(t, int64(4), size(t, f))
		assert.Equal(t, []byte("abcd"), readFile(t, fsys, "a"))
	}},
	{"EmptyWriteChangesNothing", func(t *testing.T, fsys vfs.FS) {
		f := create(t, fsys, "a")
		write(t, f, "ab")
		n, err := f.Write(nil)
		require.NoError(t, err)
		assert.Zero(t, n)
		assert.Equal(t, []byte("ab"), readFile(t, fsys, "a"))
	}},
	{"WriteCopiesInput", func(t *testing.T, fsys vfs.FS) {
		f := create(t, fsys, "a")
		buf := []byte("abc")
		_, err := f.Write(buf)
		require.NoError(t, err)
		buf[0] = 'X'
		assert.Equal(t, []byte("abc"), readFile(t, fsys, "a"))
	}},
	{"OpenAppendsAtEnd", func(t *testing.T, fsys vfs.FS) {
		writeFile(t, fsys, "a", []byte("abc"))
		f := open(t, fsys, "a")
		assert.Equal(t, int64(3), size(t, f))
		write(t, f, "d")
		assert.Equal(t, []byte("abcd"), readFile(t, fsys, "a"))
	}},
	{"ReadAt", func(t *testing.T, fsys vfs.FS) {
		writeFile(t, fsys, "a", []byte("abcd"))
		f := open(t, fsys, "a")
		cases := []struct {
			name    string
			off     int64
			len     int
			want    string
			wantEOF bool
		}{
			{"whole", 0, 4, "abcd", false},
			{"middle", 1, 2, "bc", false},
			{"empty buffer", 2, 0, "", false},
			{"past the end", 2, 10, "cd", true},
			{"at the end", 4, 1, "", true},
			{"beyond the end", 10, 1, "", true},
		}
		for _, c := range cases {
			p := make([]byte, c.len)
			n, err := f.ReadAt(p, c.off)
			if c.wantEOF {
				assert.ErrorIs(t, err, io.EOF, c.name)
			} else {
				assert.NoError(t, err, c.name)
			}
			assert.Equal(t, c.want, string(p[:n]), c.name)
		}
		_, err := f.ReadAt(make([]byte, 1), -1)
		assert.Error(t, err, "negative offset")
	}},
	{"ReadAtCopiesOut", func(t *testing.T, fsys vfs.FS) {
		writeFile(t, fsys, "a", []byte("abc"))
		f := open(t, fsys, "a")
		p := make([]byte, 3)
		_, err := f.ReadAt(p, 0)
		require.NoError(t, err)
		p[0] = 'X'
		assert.Equal(t, []byte("abc"), readFile(t, fsys, "a"))
	}},
	{"HandlesShareContents", func(t *testing.T, fsys vfs.FS) {
		f1 := create(t, fsys, "a")
		f2 := open(t, fsys, "a")
		write(t, f1, "ab")
		assert.Equal(t, int64(2), size(t, f2), "second handle sees the first's write")
		write(t, f2, "cd")
		p := make([]byte, 4)
		_, err := f1.ReadAt(p, 0)
		require.NoError(t, err)
		assert.Equal(t, "abcd", string(p), "writes through either handle append")
	}},
	{"Truncate", func(t *testing.T, fsys vfs.FS) {
		cases := []struct {
			name string
			size int64
			want string
		}{
			{"to zero", 0, "+"},
			{"shorter", 2, "ab+"},
			{"same size", 4, "abcd+"},
		}
		for _, c := range cases {
			f := create(t, fsys, "a")
			write(t, f, "abcd")
			require.NoError(t, f.Truncate(c.size), c.name)
			assert.Equal(t, c.size, size(t, f), c.name)
			write(t, f, "+")
			assert.Equal(t, c.want, string(readFile(t, fsys, "a")), c.name+": append lands at the new end")
		}
	}},
	{"TruncateOutOfRangeFails", func(t *testing.T, fsys vfs.FS) {
		f := create(t, fsys, "a")
		write(t, f, "abcd")
		assert.Error(t, f.Truncate(5), "beyond the size")
		assert.Error(t, f.Truncate(-1), "negative")
		assert.Equal(t, []byte("abcd"), readFile(t, fsys, "a"))
	}},
	{"SyncKeepsContents", func(t *testing.T, fsys vfs.FS) {
		f := create(t, fsys, "a")
		require.NoError(t, f.Sync(), "empty file")
		write(t, f, "abc")
		require.NoError(t, f.Sync())
		assert.Equal(t, []byte("abc"), readFile(t, fsys, "a"))
	}},
	{"RemovedNameCanBeCreatedAgain", func(t *testing.T, fsys vfs.FS) {
		writeFile(t, fsys, "a", []byte("old"))
		require.NoError(t, fsys.Remove("a"))
		writeFile(t, fsys, "a", []byte("new"))
		assert.Equal(t, []byte("new"), readFile(t, fsys, "a"))
	}},
}

// closedChecks: every File method fails with vfs.ErrClosed after Close.
var closedChecks = []check{
	{"ClosedFileIsErrClosed", func(t *testing.T, fsys vfs.FS) {
		f, err := fsys.Create("a")
		require.NoError(t, err)
		write(t, f, "abc")
		require.NoError(t, f.Close())
		ops := []struct {
			name string
			do   func() error
		}{
			{"Write", func() error { _, err := f.Write([]byte("x")); return err }},
			{"ReadAt", func() error { _, err := f.ReadAt(make([]byte, 1), 0); return err }},
			{"Truncate", func() error { return f.Truncate(0) }},
			{"Sync", func() error { return f.Sync() }},
			{"Size", func() error { _, err := f.Size(); return err }},
			{"Close", func() error { return f.Close() }},
		}
		for _, op := range ops {
			assert.ErrorIs(t, op.do(), vfs.ErrClosed, op.name)
		}
		assert.Equal(t, []byte("abc"), readFile(t, fsys, "a"), "calls on a closed file changed it")
	}},
}
