// Package diskfs adapts the simulator's disk (sim/disk) to the file-system
// interface Raft's host writes through (raft/vfs): the one place the
// kernel and Raft meet, so neither imports the other. It must never add
// behaviour of its own: every call is the disk's, with its errors
// translated.
package diskfs

import (
	"errors"

	"github.com/seed4fee1fef/raftsim/raft/vfs"
	"github.com/seed4fee1fef/raftsim/sim/disk"
)

// New is a simulated disk seen through raft/vfs, the interface a server's
// WAL, mark and snapshots are written through. Both report
// the standard library's not-exist, exist and closed errors; the disk's
// own out-of-space and I/O errors are translated (errors.Is sees either,
// and the message stays the disk's).
func New(d *disk.Disk) vfs.FS { return diskFS{d} }

type diskFS struct{ d *disk.Disk }

type diskFile struct{ f *disk.File }

// fsErr makes the disk's errors the interface's.
func fsErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, disk.ErrNoSpace):
		return translated{err, vfs.ErrNoSpace}
	case errors.Is(err, disk.ErrIO):
		return translated{err, vfs.ErrIO}
	}
	return err
}

// translated is the disk's error, also matching the interface's: its
// message is the disk's alone (it reaches the trace, so an adapter must
// not change what a run prints).
type translated struct{ err, as error }

func (t translated) Error() string   { return t.err.Error() }
func (t translated) Unwrap() []error { return []error{t.err, t.as} }

func (fs diskFS) Create(name string) (vfs.File, error) {
	f, err := fs.d.Create(name)
	if err != nil {
		return nil, fsErr(err)
	}
	return diskFile{f}, nil
}

func (fs diskFS) Open(name string) (vfs.File, error) {
	f, err := fs.d.Open(name)
	if err != nil {
		return nil, fsErr(err)
	}
	return diskFile{f}, nil
}

func (fs diskFS) ReadFile(name string) ([]byte, error) {
	b, err := fs.d.ReadFile(name)
	return b, fsErr(err)
}

func (fs diskFS) Remove(name string) error             { return fsErr(fs.d.Remove(name)) }
func (fs diskFS) Rename(oldname, newname string) error { return fsErr(fs.d.Rename(oldname, newname)) }
func (fs diskFS) List() ([]string, error)              { return fs.d.List() }
func (fs diskFS) SyncDir() error                       { return fsErr(fs.d.SyncDir()) }

func (f diskFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.f.ReadAt(p, off)
	return n, fsErr(err)
}

func (f diskFile) Write(p []byte) (int, error) {
	n, err := f.f.Write(p)
	return n, fsErr(err)
}

func (f diskFile) Truncate(size int64) error { return fsErr(f.f.Truncate(size)) }
func (f diskFile) Sync() error               { return fsErr(f.f.Sync()) }
func (f diskFile) Size() (int64, error)      { return f.f.Size() }
func (f diskFile) Close() error              { return fsErr(f.f.Close()) }
