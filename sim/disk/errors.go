package disk

import (
	"errors"
	"io/fs"
)

// Errors the disk reports, wrapped, so test with errors.Is. The first three
// are the standard library's own, which is what lets a host's file-system
// interface (raft/vfs) use the same ones without either package importing
// the other; the host's adapter translates the last two.
var (
	ErrNotExist = fs.ErrNotExist
	ErrExist    = fs.ErrExist
	ErrClosed   = fs.ErrClosed
	ErrNoSpace  = errors.New("no space left on device")
	ErrIO       = errors.New("input/output error")
)
