package raftpb

import (
	"encoding/binary"
	"errors"

	"github.com/seed4fee1fef/raftsim/raft/internal/wire"
)

// ErrCorrupt is wrapped by every decoding error: the bytes are not a valid
// encoding. Decoders never panic on bad input and never return aliases of
// their input.
var ErrCorrupt = errors.New("raftpb: corrupt encoding")

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

// decoder is the shared sticky decoder (raft/internal/wire) plus where
// byte fields are copied to.
type decoder struct {
	wire.Decoder
	// arena is where byte fields are copied to: allocated once per
	// decode, at the first byte field, as large as the input left (which
	// bounds every field still to come), so a message with many entries
	// costs one allocation for their data, not one each.
	arena []byte
}

func newDecoder(b []byte) decoder { return decoder{Decoder: wire.NewDecoder(b, ErrCorrupt)} }

// bytes reads a length-prefixed field into the arena (nil if empty).
func (d *decoder) bytes(what string) []byte {
	p := d.Field(what)
	if len(p) == 0 {
		return nil
	}
	if cap(d.arena)-len(d.arena) < len(p) {
		d.arena = make([]byte, 0, len(p)+len(d.Rest()))
	}
	k := len(d.arena)
	d.arena = append(d.arena, p...)
	return d.arena[k : k+len(p) : k+len(p)] // capacity clipped: appending to one field never reaches the next
}

func (e *encoder) entry(ent *Entry) {
	e.u(ent.Term)
	e.u(ent.Index)
	e.byte1(byte(ent.Type))
	e.bytes(ent.Data)
}

func (d *decoder) entry() Entry {
	var ent Entry
	ent.Term = d.Uvarint("entry term")
	ent.Index = d.Uvarint("entry index")
	t := d.Byte("entry type")
	if t > byte(EntryConfChange) {
		d.Fail("unknown entry type %d", t)
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
	n := d.Count(what)
	if n == 0 {
		return nil
	}
	out := make([]uint64, 0, n)
	for i := 0; i < n && !d.Failed(); i++ {
		out = append(out, d.Uvarint(what))
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
	s.Metadata.Index = d.Uvarint("snapshot index")
	s.Metadata.Term = d.Uvarint("snapshot term")
	s.Metadata.ConfState.Voters = d.ids("voters")
	s.Metadata.ConfState.Learners = d.ids("learners")
	s.Metadata.ConfState.VotersOutgoing = d.ids("outgoing voters")
	switch auto := d.Byte("auto leave"); {
	case d.Failed():
	case auto > 1:
		d.Fail("auto leave %d, want 0 or 1", auto)
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
	d := newDecoder(b)
	ent := d.entry()
	return ent, d.Done("entry")
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
	d := newDecoder(b)
	hs := HardState{Term: d.Uvarint("term"), Vote: d.Uvarint("vote"), Commit: d.Uvarint("commit")}
	return hs, d.Done("hard state")
}

// AppendSnapshot appends the encoding of s to b.
func AppendSnapshot(b []byte, s *Snapshot) []byte {
	e := encoder{b}
	e.snapshot(s)
	return e.b
}

// DecodeSnapshot decodes exactly one Snapshot from b.
func DecodeSnapshot(b []byte) (Snapshot, error) {
	d := newDecoder(b)
	s := d.snapshot()
	return s, d.Done("snapshot")
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
	d := newDecoder(b)
	var cc ConfChangeV2
	one := func() ConfChange {
		t := d.Byte("conf change type")
		if !d.Failed() && t > byte(ConfChangeAddLearner) {
			d.Fail("unknown conf change type %d", t)
		}
		c := ConfChange{Type: ConfChangeType(t), NodeID: d.Uvarint("node id")}
		if !d.Failed() && c.NodeID == 0 {
			d.Fail("conf change of node 0")
		}
		return c
	}
	if len(b) > 0 && b[0] == confChangeV2Mark {
		d.Byte("mark")
		n := d.Count("conf changes")
		for i := 0; i < n && !d.Failed(); i++ {
			cc.Changes = append(cc.Changes, one())
		}
	} else {
		cc.Changes = []ConfChange{one()}
	}
	if err := d.Done("conf change"); err != nil {
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
	d := newDecoder(b)
	var m Message
	if v := d.Byte("version"); !d.Failed() && v != msgVersion {
		d.Fail("message version %d, want %d", v, msgVersion)
	}
	t := d.Byte("message type")
	if !d.Failed() && t >= byte(msgTypeCount) {
		d.Fail("unknown message type %d", t)
	}
	m.Type = MessageType(t)
	flags := d.Byte("flags")
	m.Reject = flags&flagReject != 0
	m.From = d.Uvarint("from")
	m.To = d.Uvarint("to")
	m.Term = d.Uvarint("term")
	m.LogTerm = d.Uvarint("log term")
	m.Index = d.Uvarint("index")
	m.Commit = d.Uvarint("commit")
	m.RejectHint = d.Uvarint("reject hint")
	if n := d.Count("entries"); n > 0 {
		m.Entries = make([]Entry, 0, n)
		for i := 0; i < n && !d.Failed(); i++ {
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
		m.SnapOffset = d.Uvarint("snapshot offset")
		m.SnapTotal = d.Uvarint("snapshot total")
	}
	if !d.Failed() && flags&^(flagReject|flagSnap|flagContext|flagChunk) != 0 {
		d.Fail("unknown flags %#x", flags)
	}
	if err := d.Done("message"); err != nil {
		return Message{}, err
	}
	return m, nil
}
