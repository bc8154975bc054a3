package kv

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrCorrupt is wrapped by every decoding error: the bytes are not a valid
// encoding. Decoders never panic on bad input and never return values that
// share memory with their input.
var ErrCorrupt = errors.New("kv: corrupt encoding")

// Every encoding in this package is canonical: a decoder accepts exactly
// the bytes its encoder produces (minimal varints, known enum values and
// flag bits, no trailing bytes), so decode-then-encode gives back the input.
// That is what lets replicas and checkers compare encodings byte for byte.

// encoder appends to a byte slice.
type encoder struct{ b []byte }

func (e *encoder) u(v uint64)   { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) byte1(v byte) { e.b = append(e.b, v) }
func (e *encoder) str(s string) { e.u(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) result(r Result) {
	e.str(r.Value)
	e.byte1(r.flags())
}

// decoder reads a byte slice; the first error sticks and later reads
// return zero values.
type decoder struct {
	b   []byte
	err error
	// s is a copy, as a string, of the input left when the first string
	// field was read; every string field is a substring of it, so a
	// command's key, value and expected cost one allocation, not three.
	s string
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
	}
}

// A field's label is what plus an optional suffix ("result" + " value"),
// joined only in an error message: decoding is on every message's path,
// and building labels there cost an allocation per field.

func (d *decoder) u(what string) uint64 { return d.uOf(what, "") }

func (d *decoder) uOf(what, suffix string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint for %s%s", what, suffix)
		return 0
	}
	var tmp [binary.MaxVarintLen64]byte
	if binary.PutUvarint(tmp[:], v) != n {
		d.fail("non-minimal varint for %s%s", what, suffix)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte1(what string) byte { return d.byteOf(what, "") }

func (d *decoder) byteOf(what, suffix string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("missing %s%s", what, suffix)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// count reads a length or element count and checks it against the bytes
// left (every element takes at least one byte), so a flipped bit in a
// length cannot make the decoder allocate more than its input's size.
func (d *decoder) count(what string) int { return d.countOf(what, "") }

func (d *decoder) countOf(what, suffix string) int {
	n := d.uOf(what, suffix)
	if d.err == nil && n > uint64(len(d.b)) {
		d.fail("%s%s %d exceeds the %d bytes left", what, suffix, n, len(d.b))
		return 0
	}
	return int(n)
}

func (d *decoder) str(what string) string { return d.strOf(what, " length") }

// strOf reads a length-prefixed string; what+lengthSuffix names its length.
func (d *decoder) strOf(what, lengthSuffix string) string {
	n := d.countOf(what, lengthSuffix)
	if d.err != nil || n == 0 {
		return ""
	}
	if d.s == "" {
		d.s = string(d.b) // copies
	}
	off := len(d.s) - len(d.b) // d.b is d.s's tail: only ever consumed from the front
	d.b = d.b[n:]
	return d.s[off : off+n]
}

func (d *decoder) result(what string) Result {
	r := Result{Value: d.strOf(what, " value length")}
	f := d.byteOf(what, " flags")
	if d.err == nil && f&^flagsKnown != 0 {
		d.fail("unknown %s flag bits %#x", what, f&^flagsKnown)
	}
	r.Found = f&flagFound != 0
	r.Applied = f&flagApplied != 0
	r.Stale = f&flagStale != 0
	return r
}

func (d *decoder) done(what string) error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes after %s", len(d.b), what)
	}
	return d.err
}

const (
	flagFound   = 1 << 0
	flagApplied = 1 << 1
	flagStale   = 1 << 2
	flagsKnown  = flagFound | flagApplied | flagStale
)

func (r Result) flags() byte {
	var f byte
	if r.Found {
		f |= flagFound
	}
	if r.Applied {
		f |= flagApplied
	}
	if r.Stale {
		f |= flagStale
	}
	return f
}
