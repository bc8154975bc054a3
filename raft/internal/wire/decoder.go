// Package wire reads the binary encodings of raftpb, wal and kv: one
// sticky-error decoder shared by the three, so every encoding is checked
// the same way (canonical varints, lengths bounded by the bytes left, no
// trailing bytes) and a bad input is an error, never a panic or a huge
// allocation.
//
// Labels name the field in an error message; they are constant strings
// at the call sites, and messages are formatted only when decoding fails:
// decoding is on every message's path.
package wire

import (
	"encoding/binary"
	"fmt"
)

// Decoder reads a byte slice front to back. The first error sticks:
// later reads return zero values, so a caller decodes a whole structure
// and checks once. It never copies; fields it returns alias the input.
type Decoder struct {
	in, b   []byte
	err     error
	corrupt error
}

// NewDecoder reads b; every error it reports wraps corrupt (the calling
// package's sentinel, e.g. raftpb.ErrCorrupt).
func NewDecoder(b []byte, corrupt error) Decoder {
	return Decoder{in: b, b: b, corrupt: corrupt}
}

// Err is the first error, if any.
func (d *Decoder) Err() error { return d.err }

// Failed reports whether an error has stuck.
func (d *Decoder) Failed() bool { return d.err != nil }

// Rest is what is left to read.
func (d *Decoder) Rest() []byte { return d.b }

// Offset is how many bytes of the input have been read.
func (d *Decoder) Offset() int { return len(d.in) - len(d.b) }

// Input is the whole input.
func (d *Decoder) Input() []byte { return d.in }

// Fail records an error (unless one already stuck).
func (d *Decoder) Fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", d.corrupt, fmt.Sprintf(format, args...))
	}
}

// SetErr records err as it is (an error of a nested decoder that already
// wraps the sentinel), unless one already stuck.
func (d *Decoder) SetErr(err error) {
	if d.err == nil {
		d.err = err
	}
}

// Uvarint reads a minimal unsigned varint: every encoder here writes
// minimal ones, so accepting only those keeps encodings canonical
// (decode-then-encode gives back the input).
func (d *Decoder) Uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	switch {
	case n <= 0:
		d.Fail("bad varint for %s", what)
		return 0
	case n > 1 && d.b[n-1] == 0:
		d.Fail("non-minimal varint for %s", what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Byte reads one byte.
func (d *Decoder) Byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.Fail("missing %s", what)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// Uint32 reads a little-endian uint32.
func (d *Decoder) Uint32(what string) uint32 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 4 {
		d.Fail("missing %s", what)
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

// Count reads a length or an element count and checks it against the
// bytes left (every element takes at least one), so a flipped bit in a
// length cannot make a caller allocate more than its input's size.
func (d *Decoder) Count(what string) int {
	n := d.Uvarint(what)
	if d.err == nil && n > uint64(len(d.b)) {
		d.Fail("%s: %d exceeds the %d bytes left", what, n, len(d.b))
		return 0
	}
	return int(n)
}

// Field reads a length-prefixed field. It aliases the input: a caller
// that keeps it copies it.
func (d *Decoder) Field(what string) []byte {
	n := d.Count(what)
	if d.err != nil {
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

// Done checks that the whole input was read and returns the first error.
func (d *Decoder) Done(what string) error {
	if d.err == nil && len(d.b) != 0 {
		d.Fail("%d trailing bytes after %s", len(d.b), what)
	}
	return d.err
}
