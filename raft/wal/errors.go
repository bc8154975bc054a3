package wal

import (
	"errors"
	"fmt"
)

var (
	// ErrCorrupt is wrapped by every error that reports damage to data that
	// was once durable: a complete record with a bad checksum, an unknown
	// type or an undecodable payload, a record that could not have been
	// written (a gap in the log, a term going backwards), a sealed segment
	// that ends early, or a segment that does not continue its predecessor.
	// The error is a *CorruptError, which names the file and byte offset.
	ErrCorrupt = errors.New("wal: corrupt")

	// ErrInvalid is wrapped by the errors Save and SaveSnapshot return for
	// input that replay would have to call corrupt (a gap, an entry at or
	// below the snapshot, a term going backwards, a changed vote, a
	// snapshot index going backwards, a record over MaxRecordBytes).
	// Nothing is written and the WAL stays usable.
	ErrInvalid = errors.New("wal: invalid input")

	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("wal: closed")
)

// CorruptError says where replay found damage. errors.Is(err, ErrCorrupt)
// holds for it.
type CorruptError struct {
	// File is the segment's name, Offset the byte offset in it of the
	// record (or header) that is bad.
	File   string
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("wal: corrupt: %s at offset %d: %s", e.File, e.Offset, e.Reason)
}

// Unwrap makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
