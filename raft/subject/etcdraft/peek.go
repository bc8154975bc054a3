package etcdraft

import (
	"encoding/binary"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject"
)

// Peek reads the header of an etcd message (protobuf wire format) without
// decoding the rest and without allocating. Its first six fields (type,
// to, from, term, log term, index) are varints; the protobuf runtime writes
// fields in field-number order and omits unset ones (zero), so Peek stops
// at the first field numbered above six. etcd always sets the type
// (explicit presence, even for type 0), so a message without it is no
// message of etcd's. It reports false for bytes that
// do not parse as such a prefix, and for message types the shared
// vocabulary has no name for (etcd's MsgTransferLeader and local types).
func Peek(b []byte) (subject.Header, bool) {
	var f [7]uint64 // by field number
	sawType := false
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return subject.Header{}, false
		}
		num, wire := key>>3, key&7
		if num > 6 {
			break
		}
		if wire != 0 || num == 0 {
			return subject.Header{}, false
		}
		b = b[n:]
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return subject.Header{}, false
		}
		b = b[n:]
		f[num] = v
		sawType = sawType || num == 1
	}
	if !sawType || f[1] >= uint64(len(sharedType)) || sharedType[f[1]] < 0 {
		return subject.Header{}, false
	}
	return subject.Header{Type: raftpb.MessageType(sharedType[f[1]]), To: f[2], From: f[3], Term: f[4], Index: f[6]}, true
}
