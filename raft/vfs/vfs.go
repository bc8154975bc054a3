// Package vfs is the small file-system interface a node's durable state is
// written through. The simulator's disk (sim/disk, through the harness's
// adapter in scenarios/cluster) implements it with a page cache and crash
// semantics; OS (in vfs/osfs) implements it on a real directory. Keeping
// the interface this narrow is what lets one WAL run on both.
//
// The durability contract mirrors POSIX, deliberately: bytes written to a
// File are durable only after File.Sync; the existence of a created, removed
// or renamed name is durable only after FS.SyncDir. Code that skips either
// step is wrong on a real disk too, and the simulator will show it.
package vfs

import (
	"errors"
	"io"
	"io/fs"
)

// Errors an FS reports. Implementations wrap them, so test with errors.Is.
// The first three are the standard library's (io/fs), shared with any
// implementation without an import between them.
var (
	ErrNotExist = fs.ErrNotExist
	ErrExist    = fs.ErrExist
	ErrClosed   = fs.ErrClosed
	ErrNoSpace  = errors.New("no space left on device")
	ErrIO       = errors.New("input/output error")
)

// FS is a single flat directory of files.
type FS interface {
	// Create makes a new empty file, or truncates an existing one, and
	// opens it for appending.
	Create(name string) (File, error)
	// Open opens an existing file for reading and appending.
	Open(name string) (File, error)
	// ReadFile returns the whole current contents of a file.
	ReadFile(name string) ([]byte, error)
	Remove(name string) error
	// Rename atomically replaces newname with oldname.
	Rename(oldname, newname string) error
	// List returns the names in the directory, sorted.
	List() ([]string, error)
	// SyncDir makes creations, removals and renames so far durable.
	SyncDir() error
}

// File is an open file. Writes always append: a WAL never rewrites in place,
// and an append-only model keeps the crash semantics easy to state.
type File interface {
	io.ReaderAt
	// Write appends p at the end of the file.
	Write(p []byte) (int, error)
	// Truncate cuts the file to size bytes (size must not exceed the
	// current size).
	Truncate(size int64) error
	// Sync makes the file's contents durable.
	Sync() error
	Size() (int64, error)
	Close() error
}
