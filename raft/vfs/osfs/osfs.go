// Package osfs implements vfs.FS on one real directory with the os package,
// so a node's WAL can run outside the simulator. It is the only code in
// raftsim that touches the real file system.
package osfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/seed4fee1fef/raftsim/raft/vfs"
)

// FS is a flat directory on the real file system.
type FS struct {
	dir string
}

var _ vfs.FS = (*FS)(nil)

// New returns an FS on dir, creating the directory if it is missing. When
// it creates it, it syncs the parent so the directory itself is durable.
func New(dir string) (*FS, error) {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, wrap("new", err)
		}
		if err := syncDir(filepath.Dir(filepath.Clean(dir))); err != nil {
			return nil, wrap("new: sync parent", err)
		}
	case err != nil:
		return nil, wrap("new", err)
	case !info.IsDir():
		return nil, fmt.Errorf("osfs: new: %s is not a directory: %w", dir, fs.ErrInvalid)
	}
	return &FS{dir: dir}, nil
}

// Dir returns the directory the FS lives in.
func (o *FS) Dir() string { return o.dir }

// path checks name and joins it to the directory.
func (o *FS) path(op, name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", fmt.Errorf("osfs: %s: %w", op, err)
	}
	return filepath.Join(o.dir, name), nil
}

// Create makes an empty file (truncating an existing one) opened for
// appending.
func (o *FS) Create(name string) (vfs.File, error) {
	return o.open("create", name, os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND)
}

// Open opens an existing file for reading and appending.
func (o *FS) Open(name string) (vfs.File, error) {
	return o.open("open", name, os.O_RDWR|os.O_APPEND)
}

func (o *FS) open(op, name string, flag int) (vfs.File, error) {
	p, err := o.path(op, name)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, flag, 0o644)
	if err != nil {
		return nil, wrap(op, err)
	}
	return &File{f: f}, nil
}

func (o *FS) ReadFile(name string) ([]byte, error) {
	p, err := o.path("readfile", name)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, wrap("readfile", err)
	}
	return data, nil
}

func (o *FS) Remove(name string) error {
	p, err := o.path("remove", name)
	if err != nil {
		return err
	}
	return wrap("remove", os.Remove(p))
}

// Rename atomically replaces newname with oldname (rename(2)).
func (o *FS) Rename(oldname, newname string) error {
	from, err := o.path("rename", oldname)
	if err != nil {
		return err
	}
	to, err := o.path("rename", newname)
	if err != nil {
		return err
	}
	return wrap("rename", os.Rename(from, to))
}

// List returns the names of the regular files in the directory, sorted.
// Anything else there (a subdirectory, a socket) was not made through this
// FS and is not one of its files.
func (o *FS) List() ([]string, error) {
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, wrap("list", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names) // ReadDir sorts too, but the contract is ours to keep
	return names, nil
}

// SyncDir fsyncs the directory, making creations, removals and renames so
// far durable.
func (o *FS) SyncDir() error {
	return wrap("syncdir", syncDir(o.dir))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return err
	}
	return d.Close()
}
