package vfstest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/vfs"
)

// badNames are not plain file names in a flat directory.
var badNames = []string{"", ".", "..", "a/b", "/a", "../a", "a/"}

// nameChecks: every call taking a name rejects a bad one and changes
// nothing.
var nameChecks = []check{
	{"BadNamesRejected", func(t *testing.T, fsys vfs.FS) {
		writeFile(t, fsys, "ok", []byte("A"))
		for _, name := range badNames {
			ops := []struct {
				op string
				do func() error
			}{
				{"Create", func() error { _, err := fsys.Create(name); return err }},
				{"Open", func() error { _, err := fsys.Open(name); return err }},
				{"ReadFile", func() error { _, err := fsys.ReadFile(name); return err }},
				{"Remove", func() error { return fsys.Remove(name) }},
				{"Rename from", func() error { return fsys.Rename(name, "ok") }},
				{"Rename to", func() error { return fsys.Rename("ok", name) }},
			}
			for _, op := range ops {
				assert.Error(t, op.do(), "%s %q", op.op, name)
			}
		}
		require.Equal(t, []string{"ok"}, list(t, fsys), "rejected calls changed the directory")
		assert.Equal(t, []byte("A"), readFile(t, fsys, "ok"))
	}},
}
