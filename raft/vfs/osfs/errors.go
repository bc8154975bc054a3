package osfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"syscall"

	"github.com/seed4fee1fef/raftsim/raft/vfs"
)

// sentinels maps os errors to the vfs errors callers test for.
var sentinels = []struct {
	os, vfs error
}{
	{fs.ErrNotExist, vfs.ErrNotExist},
	{fs.ErrExist, vfs.ErrExist},
	{fs.ErrClosed, vfs.ErrClosed},
	{syscall.ENOSPC, vfs.ErrNoSpace},
	{syscall.EDQUOT, vfs.ErrNoSpace},
	{syscall.EIO, vfs.ErrIO},
}

// wrap adds the operation and the matching vfs sentinel to an os error,
// keeping the os error's text and chain. A nil err stays nil.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	for _, s := range sentinels {
		if errors.Is(err, s.os) {
			return fmt.Errorf("osfs: %s: %w: %w", op, s.vfs, err)
		}
	}
	return fmt.Errorf("osfs: %s: %w", op, err)
}

// wrapRead is wrap for ReadAt, which must hand io.EOF back unwrapped.
func wrapRead(err error) error {
	if err == io.EOF {
		return err
	}
	return wrap("read", err)
}

// checkName accepts only a plain file name: the FS is one flat directory,
// and a separator or dot entry would reach outside it.
func checkName(name string) error {
	switch {
	case name == "", name == ".", name == "..":
	case strings.ContainsAny(name, `/\`+"\x00"):
	default:
		return nil
	}
	return fmt.Errorf("%q is not a plain file name: %w", name, fs.ErrInvalid)
}
