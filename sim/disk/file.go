package disk

import (
	"fmt"
	"io"
	"io/fs"
)

// File is an open handle on an inode. It stays bound to the inode across
// renames and removals, like a POSIX file descriptor.
type File struct {
	disk *Disk
	ino  *inode
	// name is the name the file was opened under, for errors and traces.
	name   string
	gen    uint64
	closed bool
}

// check fails once the handle was closed or its process crashed.
func (f *File) check(what string) error {
	if f.closed || f.gen != f.disk.gen {
		return fmt.Errorf("disk: %s %q: %w", what, f.name, ErrClosed)
	}
	return nil
}

// ReadAt copies visible contents from off into p, with io.ReaderAt's
// contract: n < len(p) comes with io.EOF.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if err := f.check("read"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, fmt.Errorf("disk: read %q at %d: negative offset: %w", f.name, off, fs.ErrInvalid)
	}
	v := f.ino.visible
	if off >= int64(len(v)) {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := copy(p, v[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Write appends a copy of p. It is all or nothing: a full disk refuses the
// whole write rather than keeping part of it.
func (f *File) Write(p []byte) (int, error) {
	d := f.disk
	op := Op{Kind: OpWrite, Name: f.name}
	if err := f.check("write"); err != nil {
		return 0, d.done(op, err)
	}
	if d.capacity > 0 && d.VisibleBytes()+int64(len(p)) > d.capacity {
		d.stats.NoSpace++
		return 0, d.done(op, fmt.Errorf("disk: write %d bytes to %q: %w", len(p), f.name, ErrNoSpace))
	}
	d.stats.Writes++
	if len(p) > 0 {
		d.stats.BytesWritten += int64(len(p))
		v := append(f.ino.visible, p...)
		f.ino.visible = v
		d.push(pendingOp{kind: opWrite, ino: f.ino, data: v[len(v)-len(p) : len(v) : len(v)]})
	}
	op.Size = int64(len(p))
	return len(p), d.done(op, nil)
}

// Truncate cuts the file to size bytes; growing it is refused, since vfs
// files only grow by appending.
func (f *File) Truncate(size int64) error {
	d := f.disk
	op := Op{Kind: OpTruncate, Name: f.name, Size: size}
	if err := f.check("truncate"); err != nil {
		return d.done(op, err)
	}
	if size < 0 || size > int64(len(f.ino.visible)) {
		return d.done(op, fmt.Errorf("disk: truncate %q to %d: size must be in [0, %d]: %w",
			f.name, size, len(f.ino.visible), fs.ErrInvalid))
	}
	d.stats.Truncates++
	if size < int64(len(f.ino.visible)) {
		// A new array: the old one may still back durable contents or
		// pending writes, and the next appends must not write over them.
		// It keeps the old capacity, since a file cut back usually grows
		// back (a WAL segment reused), and regrowing costs copies.
		v := make([]byte, size, cap(f.ino.visible))
		copy(v, f.ino.visible)
		f.ino.visible = v
		d.push(pendingOp{kind: opTruncate, ino: f.ino, size: size})
	}
	return d.done(op, nil)
}

// Sync makes this file's pending writes and truncations durable. It does not
// make the file's name durable; that takes SyncDir.
func (f *File) Sync() error {
	d := f.disk
	op := Op{Kind: OpSync, Name: f.name}
	if err := f.check("sync"); err != nil {
		return d.done(op, err)
	}
	d.stats.Syncs++
	if err := d.chargeSync(OpSync, f.name, &op); err != nil {
		return d.done(op, err)
	}
	if f.ino.pending > 0 {
		d.syncOrDefer(f.ino)
	}
	op.Size = int64(len(f.ino.durable))
	return d.done(op, nil)
}

func (f *File) Size() (int64, error) {
	if err := f.check("size"); err != nil {
		return 0, err
	}
	return int64(len(f.ino.visible)), nil
}

// Close releases the handle; unsynced data stays in the page cache, as on a
// real disk.
func (f *File) Close() error {
	if err := f.check("close"); err != nil {
		return err
	}
	f.closed = true
	return nil
}
