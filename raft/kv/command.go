package kv

import (
	"fmt"
	"strconv"
)

// Op is what a command does to its key.
type Op uint8

// The operations. The zero Op is not one of them, so a forgotten field is
// caught when the command is decoded.
const (
	// OpPut sets Key to Value.
	OpPut Op = iota + 1
	// OpGet reads Key. It goes through the log like a write, so it is
	// linearizable, and it takes part in the client's session.
	OpGet
	// OpAppend sets Key to its current value followed by Value. An absent
	// key counts as "", so Append creates it.
	OpAppend
	// OpCAS sets Key to Value if and only if the key's current value equals
	// Expected, where an absent key's value is "". So CAS with Expected ""
	// succeeds on an absent key (create-if-absent) and on a key holding "".
	OpCAS

	opEnd // one past the last valid Op
)

func (o Op) String() string {
	switch o {
	case OpPut:
		return "put"
	case OpGet:
		return "get"
	case OpAppend:
		return "append"
	case OpCAS:
		return "cas"
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// Valid reports whether o is one of the defined operations.
func (o Op) Valid() bool { return o >= OpPut && o < opEnd }

// Command is one client operation as it is stored in the Raft log.
// ClientID and Seq identify it for exactly-once execution: a client issues
// one command at a time, numbers them with increasing Seq, and reuses the
// Seq when it retries. Fields the Op does not use (Value for a get,
// Expected for anything but CAS) are carried but ignored.
type Command struct {
	ClientID, Seq uint64
	Op            Op
	Key           string
	Value         string
	Expected      string
}

func (c Command) String() string {
	s := fmt.Sprintf("c%d#%d %s %q", c.ClientID, c.Seq, c.Op, c.Key)
	switch c.Op {
	case OpGet:
	case OpCAS:
		s += fmt.Sprintf(" %q->%q", c.Expected, c.Value)
	default:
		s += fmt.Sprintf(" %q", c.Value)
	}
	return s
}

// cmdVersion leads every encoded command. Commands live in the durable log
// and in snapshots, so the format carries a version from the start. It is
// never zero, so an encoded command is never empty and cannot be confused
// with Raft's empty no-op entry.
const cmdVersion = 1

// Encode returns the canonical binary encoding of c: a version byte, the
// op, ClientID and Seq as uvarints, then Key, Value and Expected as
// length-prefixed strings. An invalid Op is encoded as is, and
// DecodeCommand rejects it.
func (c Command) Encode() []byte {
	e := encoder{b: make([]byte, 0, 24+len(c.Key)+len(c.Value)+len(c.Expected))}
	e.command(c)
	return e.b
}

func (e *encoder) command(c Command) {
	e.byte1(cmdVersion)
	e.byte1(byte(c.Op))
	e.u(c.ClientID)
	e.u(c.Seq)
	e.str(c.Key)
	e.str(c.Value)
	e.str(c.Expected)
}

// DecodeCommand decodes exactly one command from b. Errors wrap ErrCorrupt.
func DecodeCommand(b []byte) (Command, error) {
	d := newDecoder(b)
	c := d.command()
	if err := d.Done("command"); err != nil {
		return Command{}, err
	}
	return c, nil
}

func (d *decoder) command() Command {
	var c Command
	if v := d.Byte("command version"); !d.Failed() && v != cmdVersion {
		d.Fail("command version %d, want %d", v, cmdVersion)
	}
	c.Op = Op(d.Byte("op"))
	if !d.Failed() && !c.Op.Valid() {
		d.Fail("unknown %s", c.Op)
	}
	c.ClientID = d.Uvarint("client id")
	c.Seq = d.Uvarint("seq")
	c.Key = d.str("key")
	c.Value = d.str("value")
	c.Expected = d.str("expected")
	return c
}

// Result is what applying a command produced.
//
// Value and Found describe the key as it was just before the command
// (for a get that is simply the value read): Found is false for an absent
// key, whose Value is then "". A failed CAS therefore reports the value it
// found instead of Expected.
//
// Applied says the command changed (wrote) the key: always for put and
// append, for CAS only when it succeeded, never for get.
//
// Stale says the command was not executed at all: its session had already
// moved past its Seq (a very late duplicate of a request whose client has
// since issued a later one). Value, Found and Applied are then zero and
// say nothing about the key.
type Result struct {
	Value   string
	Found   bool
	Applied bool
	Stale   bool
}
