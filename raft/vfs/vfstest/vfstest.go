// Package vfstest is the conformance suite for vfs.FS implementations: one
// Run call checks that an implementation keeps every promise the vfs
// interface documents, so the WAL can rely on them whichever FS it runs on.
// It checks behaviour visible without a crash; crash semantics belong to
// each implementation's own tests.
package vfstest

import (
	"testing"

	"github.com/seed4fee1fef/raftsim/raft/vfs"
)

// check is one conformance case; it gets a fresh, empty FS.
type check struct {
	name string
	run  func(t *testing.T, fsys vfs.FS)
}

// Run runs every conformance case as a subtest, each on a fresh FS from
// newFS, which must return an empty file system.
func Run(t *testing.T, newFS func(t *testing.T) vfs.FS) {
	t.Helper()
	groups := [][]check{dirChecks, fileChecks, closedChecks, nameChecks}
	for _, group := range groups {
		for _, c := range group {
			t.Run(c.name, func(t *testing.T) {
				c.run(t, newFS(t))
			})
		}
	}
}
