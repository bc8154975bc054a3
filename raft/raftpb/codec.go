package raftpb

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrCorrupt is wrapped by every decoding error: the bytes are not a valid
// encoding. Decoders never panic on bad input and never return aliases of
// their input.
var ErrCorrupt = errors.New("raftpb: corrupt encoding")

// maxCount bounds decoded slice lengths before allocating, so a flipped bit
// in a length cannot make a decoder allocate gigabytes.
const maxCount = 1 << 26

const (
	msgVersion  = 1
	flagReject  = 1 << 0
	flagSnap    = 1 << 1
	flagContext = 1 << 2
	flagChunk   = 1 << 3
)

// encoder appends to a byte slice; decoder reads one with sticky errors.
type encoder struct{ b []byte }

func (e *encoder) u(v uint64)     { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) byte1(v byte)   { e.b = append(e.b, v) }
func (e *encoder) bytes(p []byte) { e.u(uint64(len(p))); e.b = append(e.b, p...) }

type decoder struct {
	b   []byte
	err error
	// arena is where byte fields are copied to: allocated once per
	// decode, at the first byte field, as large as the input left (which
	// bounds every field still to come), so a message with many entries
	// costs one allocation for their data, not one each.
	arena []byte
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, what)
	}
}

func (d *decoder) u(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint for " + what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte1(what string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("missing " + what)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) count(what string) int {
	n := d.u(what)
	if d.err == nil && (n > maxCount || n > uint64(len(d.b))) {
		d.fail(fmt.Sprintf("%s count %d exceeds remaining %d bytes", what, n, len(d.b)))
		return 0
	}
	return int(n)
}

func (d *decoder) bytes(what string) []byte {
	n := d.count(what)
	if d.err != nil || n == 0 {
		return nil
	}
	if cap(d.arena)-len(d.arena) < n {
		d.arena = make([]byte, 0, len(d.b))
	}
	k := len(d.arena)
	d.arena = append(d.arena, d.b[:n]...)
	d.b = d.b[n:]
	return d.arena[k : k+n : k+n] // capacity clipped: appending to one field never reaches the next
}

func (d *decoder) done(what string) error {
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Sprintf("%d trailing bytes after %s", len(d.b), what))
	}
	return d.err
}

func (e *encoder) entry(ent *Entry) {
	e.u(ent.Term)
	e.u(ent.Index)
	e.byte1(byte(ent.Type))
	e.bytes(ent.Data)
}

func (d *decoder) entry() Entry {
	var ent Entry
	ent.Term = d.u("entry term")
	ent.Index = d.u("entry index")
	t := d.byte1("entry type")
	if t > byte(EntryConfChange) {
		d.fail(fmt.Sprintf("unknown entry type %d", t))
	}
	ent.Type = EntryType(t)
	ent.Data = d.bytes("entry data")
	return ent
}

func (e *encoder) ids(ids []uint64) {
	e.u(uint64(len(ids)))
	for _, id := range ids {
		e.u(id)
	}
}

func (d *decoder) ids(what string) []uint64 {
	n := d.count(what)
	if n == 0 {
		return nil
	}
	out := make([]uint64, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.u(what))
	}
	return out
}

func (e *encoder) snapshot(s *Snapshot) {
	e.u(s.Metadata.Index)
	e.u(s.Metadata.Term)
	e.ids(s.Metadata.ConfState.Voters)
	e.ids(s.Metadata.ConfState.Learners)
	e.ids(s.Metadata.ConfState.VotersOutgoing)
	var auto byte
	if s.Metadata.ConfState.AutoLeave {
		auto = 1
	}
	e.byte1(auto)
	e.bytes(s.Data)
}

func (d *decoder) snapshot() Snapshot {
	var s Snapshot
	s.Metadata.Index = d.u("snapshot index")
	s.Metadata.Term = d.u("snapshot term")
	s.Metadata.ConfState.Voters = d.ids("voters")
	s.Metadata.ConfState.Learners = d.ids("learners")
	s.Metadata.ConfState.VotersOutgoing = d.ids("outgoing voters")
	switch auto := d.byte1("auto leave"); {
	case d.err != nil:
	case auto > 1:
		d.fail(fmt.Sprintf("auto leave %d, want 0 or 1", auto))
	default:
		s.Metadata.ConfState.AutoLeave = auto == 1
	}
	s.Data = d.bytes("snapshot data")
	return s
}

// AppendEntry appends the encoding of ent to b.
func AppendEntry(b []byte, ent *Entry) []byte {
	e := encoder{b}
	e.entry(ent)
	return e.b
}

// DecodeEntry decodes exactly one entry from b.
func DecodeEntry(b []byte) (Entry, error) {
	d := decoder{b: b}
	ent := d.entry()
	return ent, d.done("entry")
}

// AppendHardState appends the encoding of hs to b.
func AppendHardState(b []byte, hs HardState) []byte {
	e := encoder{b}
	e.u(hs.Term)
	e.u(hs.Vote)
	e.u(hs.Commit)
	return e.b
}

// DecodeHardState decodes exactly one HardState from b.
func DecodeHardState(b []byte) (HardState, error) {
	d := decoder{b: b}
	hs := HardState{Term: d.u("term"), Vote: d.u("vote"), Commit: d.u("commit")}
	return hs, d.done("hard state")
}

// AppendSnapshot appends the encoding of s to b.
func AppendSnapshot(b []byte, s *Snapshot) []byte {
	e := encoder{b}
	e.snapshot(s)
	return e.b
}

// DecodeSnapshot decodes exactly one Snapshot from b.
func DecodeSnapshot(b []byte) (Snapshot, error) {
	d := decoder{b: b}
	s := d.snapshot()
	return s, d.done("snapshot")
}

// EncodeConfChange returns the encoding of a single change, as
// EncodeConfChangeV2 writes a ConfChangeV2 holding just cc.
func EncodeConfChange(cc ConfChange) []byte {
	return EncodeConfChangeV2(ConfChangeV2{Changes: []ConfChange{cc}})
}

// confChangeV2Mark leads a ConfChangeV2 encoding. The older single-change
// encoding (a type byte, 0..2, then the node id) is still decoded.
const confChangeV2Mark = 0xc2

// EncodeConfChangeV2 returns the encoding of cc: the mark byte, the count
// of changes, then each change's type byte and node id.
func EncodeConfChangeV2(cc ConfChangeV2) []byte {
	e := encoder{}
	e.byte1(confChangeV2Mark)
	e.u(uint64(len(cc.Changes)))
	for _, c := range cc.Changes {
		e.byte1(byte(c.Type))
		e.u(c.NodeID)
	}
	return e.b
}

// DecodeConfChangeV2 decodes exactly one configuration change from b (a
// ConfChangeV2, or a single change in the older encoding).
func DecodeConfChangeV2(b []byte) (ConfChangeV2, error) {
	d := decoder{b: b}
	var cc ConfChangeV2
	one := func() ConfChange {
		t := d.byte1("conf change type")
		if d.err == nil && t > byte(ConfChangeAddLearner) {
			d.fail(fmt.Sprintf("unknown conf change type %d", t))
		}
		c := ConfChange{Type: ConfChangeType(t), NodeID: d.u("node id")}
		if d.err == nil && c.NodeID == 0 {
			d.fail("conf change of node 0")
		}
		return c
	}
	if len(b) > 0 && b[0] == confChangeV2Mark {
		d.byte1("mark")
		n := d.count("conf changes")
		for i := 0; i < n && d.err == nil; i++ {
			cc.Changes = append(cc.Changes, one())
		}
	} else {
		cc.Changes = []ConfChange{one()}
	}
	if err := d.done("conf change"); err != nil {
		return ConfChangeV2{}, err
	}
	return cc, nil
}

// Marshal returns the wire encoding of m.
func (m *Message) Marshal() []byte { return AppendMessage(make([]byte, 0, 32+m.size()), m) }

// AppendMessage appends the wire encoding of m to b (what Marshal
// returns), so a host can encode into a buffer it reuses.
func AppendMessage(b []byte, m *Message) []byte {
	e := encoder{b: b}
	e.byte1(msgVersion)
	e.byte1(byte(m.Type))
	var flags byte
	if m.Reject {
		flags |= flagReject
	}
	if m.Snapshot != nil {
		flags |= flagSnap
	}
	if m.Context != nil {
		flags |= flagContext
	}
	if m.SnapOffset != 0 || m.SnapTotal != 0 {
		flags |= flagChunk
	}
	e.byte1(flags)
	e.u(m.From)
	e.u(m.To)
	e.u(m.Term)
	e.u(m.LogTerm)
	e.u(m.Index)
	e.u(m.Commit)
	e.u(m.RejectHint)
	e.u(uint64(len(m.Entries)))
	for i := range m.Entries {
		e.entry(&m.Entries[i])
	}
	if m.Context != nil {
		e.bytes(m.Context)
	}
	if m.Snapshot != nil {
		e.snapshot(m.Snapshot)
	}
	if flags&flagChunk != 0 {
		e.u(m.SnapOffset)
		e.u(m.SnapTotal)
	}
	return e.b
}

// size estimates the payload bytes of m, for buffer sizing.
func (m *Message) size() int {
	n := len(m.Context)
	for i := range m.Entries {
		n += len(m.Entries[i].Data) + 24
	}
	if m.Snapshot != nil {
		n += len(m.Snapshot.Data) + 32
	}
	return n
}

// PeekType returns the type of the message encoded in b without decoding
// the rest (for traffic accounting on hot paths).
func PeekType(b []byte) (MessageType, bool) {
	if len(b) < 2 || b[0] != msgVersion || b[1] >= byte(msgTypeCount) {
		return 0, false
	}
	return MessageType(b[1]), true
}

// Unmarshal decodes a wire message. The result shares no memory with b.
func Unmarshal(b []byte) (Message, error) {
	d := decoder{b: b}
	var m Message
	if v := d.byte1("version"); d.err == nil && v != msgVersion {
		d.fail(fmt.Sprintf("message version %d, want %d", v, msgVersion))
	}
	t := d.byte1("message type")
	if d.err == nil && t >= byte(msgTypeCount) {
		d.fail(fmt.Sprintf("unknown message type %d", t))
	}
	m.Type = MessageType(t)
	flags := d.byte1("flags")
	m.Reject = flags&flagReject != 0
	m.From = d.u("from")
	m.To = d.u("to")
	m.Term = d.u("term")
	m.LogTerm = d.u("log term")
	m.Index = d.u("index")
	m.Commit = d.u("commit")
	m.RejectHint = d.u("reject hint")
	if n := d.count("entries"); n > 0 {
		m.Entries = make([]Entry, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			m.Entries = append(m.Entries, d.entry())
		}
	}
	if flags&flagContext != 0 {
		m.Context = d.bytes("context")
		if m.Context == nil {
			m.Context = []byte{}
		}
	}
	if flags&flagSnap != 0 {
		s := d.snapshot()
		m.Snapshot = &s
	}
	if flags&flagChunk != 0 {
		m.SnapOffset = d.u("snapshot offset")
		m.SnapTotal = d.u("snapshot total")
	}
	if d.err == nil && flags&^(flagReject|flagSnap|flagContext|flagChunk) != 0 {
		d.fail(fmt.Sprintf("unknown flags %#x", flags))
	}
	if err := d.done("message"); err != nil {
		return Message{}, err
	}
	return m, nil
}
