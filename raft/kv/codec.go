package kv

import (
	"encoding/binary"
	"errors"

	"github.com/seed4fee1fef/raftsim/raft/internal/wire"
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

// decoder is the shared sticky decoder (raft/internal/wire) plus the
// string its string fields are cut from.
type decoder struct {
	wire.Decoder
	// s is a copy, as a string, of the input from the first string field
	// on (base is where that is); every string field is a substring of
	// it, so a command's key, value and expected cost one allocation,
	// not three.
	s    string
	base int
}

func newDecoder(b []byte) decoder { return decoder{Decoder: wire.NewDecoder(b, ErrCorrupt)} }

// str reads a length-prefixed string.
func (d *decoder) str(what string) string {
	p := d.Field(what)
	if len(p) == 0 {
		return ""
	}
	off := d.Offset() - len(p)
	if d.s == "" {
		d.s, d.base = string(d.Input()[off:]), off // copies
	}
	off -= d.base
	return d.s[off : off+len(p)]
}

func (d *decoder) result(what string) Result {
	r := Result{Value: d.str(what)}
	f := d.Byte(what)
	if !d.Failed() && f&^flagsKnown != 0 {
		d.Fail("unknown %s flag bits %#x", what, f&^flagsKnown)
	}
	r.Found = f&flagFound != 0
	r.Applied = f&flagApplied != 0
	r.Stale = f&flagStale != 0
	return r
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
