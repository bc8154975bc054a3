package raftpb

import "encoding/binary"

// Header is the part of a wire message that says what it is: enough to
// count and label traffic without decoding entries or snapshots.
type Header struct {
	Type  MessageType
	From  uint64
	To    uint64
	Term  uint64
	Index uint64
}

// PeekHeader reads the header of a wire message (Message.Marshal) without
// decoding the rest and without allocating. It reports false if b does not
// start like a message; true does not mean the whole of b would decode.
func PeekHeader(b []byte) (Header, bool) {
	if len(b) < 3 || b[0] != msgVersion || b[1] >= byte(msgTypeCount) {
		return Header{}, false
	}
	h := Header{Type: MessageType(b[1])}
	b = b[3:]
	var fields [5]uint64 // from, to, term, log term, index
	for i := range fields {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return Header{}, false
		}
		fields[i], b = v, b[n:]
	}
	h.From, h.To, h.Term, h.Index = fields[0], fields[1], fields[2], fields[4]
	return h, true
}
