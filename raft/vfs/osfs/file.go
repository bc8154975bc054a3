package osfs

import (
	"fmt"
	"io/fs"
	"os"

	"github.com/seed4fee1fef/raftsim/raft/vfs"
)

// File is an open file, opened with O_APPEND so every write lands at the
// end whatever other handles did.
type File struct {
	f *os.File
}

var _ vfs.File = (*File)(nil)

// ReadAt reads with pread; io.EOF is returned bare, as io.ReaderAt callers
// expect.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.f.ReadAt(p, off)
	if err != nil && n < len(p) {
		return n, wrapRead(err)
	}
	return n, nil
}

func (f *File) Write(p []byte) (int, error) {
	n, err := f.f.Write(p)
	return n, wrap("write", err)
}

// Truncate cuts the file to size bytes. ftruncate(2) would grow the file
// with zeros, which vfs forbids, so the size is checked first.
func (f *File) Truncate(size int64) error {
	cur, err := f.Size()
	if err != nil {
		return err
	}
	if size < 0 || size > cur {
		return fmt.Errorf("osfs: truncate %s to %d: size must be in [0, %d]: %w", f.f.Name(), size, cur, fs.ErrInvalid)
	}
	return wrap("truncate", f.f.Truncate(size))
}

// Sync is fsync(2).
func (f *File) Sync() error { return wrap("sync", f.f.Sync()) }

func (f *File) Size() (int64, error) {
	info, err := f.f.Stat()
	if err != nil {
		return 0, wrap("size", err)
	}
	return info.Size(), nil
}

func (f *File) Close() error { return wrap("close", f.f.Close()) }
