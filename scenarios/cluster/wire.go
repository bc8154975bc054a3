package cluster

import (
	"strings"

	"github.com/seed4fee1fef/raftsim/raft/kv"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/sim"
)

// Wire describes the cluster's messages for the trace (a sim.Describer):
// a Raft message by its type, term and index, read by the subject's Peek
// in the shared vocabulary, a client request or response by its channel.
// New installs it on the world's trace, so every message event carries
// what it was, and the kernel never learns Raft.
type Wire struct {
	// Peek reads a Raft message's header (the subject's); nil reads
	// raftsim's own wire format.
	Peek func(b []byte) (subject.Header, bool)
}

// Message types as the trace records them (sim.MsgInfo.Type): Raft's
// type plus one (0 means "not described"), then the client protocol's.
const (
	TypeRequest  uint8 = 64 // client to server (kv.TagRequest)
	TypeResponse uint8 = 65 // server to client (kv.TagResponse)
)

// RaftType is the trace's type for a Raft message type.
func RaftType(t raftpb.MessageType) uint8 { return uint8(t) + 1 }

// typeNames are the names people and scripts use, one vocabulary for the
// trace, simrun's traffic line and the scenario language.
var typeNames = map[uint8]string{
	RaftType(raftpb.MsgHup): "hup", RaftType(raftpb.MsgBeat): "beat", RaftType(raftpb.MsgProp): "prop",
	RaftType(raftpb.MsgApp): "app", RaftType(raftpb.MsgAppResp): "app-resp",
	RaftType(raftpb.MsgVote): "vote", RaftType(raftpb.MsgVoteResp): "vote-resp",
	RaftType(raftpb.MsgPreVote): "prevote", RaftType(raftpb.MsgPreVoteResp): "prevote-resp",
	RaftType(raftpb.MsgHeartbeat): "heartbeat", RaftType(raftpb.MsgHeartbeatResp): "heartbeat-resp",
	RaftType(raftpb.MsgSnap): "snap", RaftType(raftpb.MsgSnapResp): "snap-resp",
	RaftType(raftpb.MsgReadIndex): "read-index", RaftType(raftpb.MsgReadIndexResp): "read-index-resp",
	RaftType(raftpb.MsgTimeoutNow): "timeout-now",
	TypeRequest:                    "request", TypeResponse: "response",
}

// Describe implements sim.Describer without allocating.
func (w Wire) Describe(b []byte) sim.MsgInfo {
	if len(b) == 0 {
		return sim.MsgInfo{}
	}
	switch b[0] {
	case kv.TagRaft:
		if w.Peek != nil {
			if h, ok := w.Peek(b[1:]); ok {
				return sim.MsgInfo{Type: RaftType(h.Type), Term: h.Term, Index: h.Index}
			}
		} else if h, ok := raftpb.PeekHeader(b[1:]); ok {
			return sim.MsgInfo{Type: RaftType(h.Type), Term: h.Term, Index: h.Index}
		}
	case kv.TagRequest:
		return sim.MsgInfo{Type: TypeRequest}
	case kv.TagResponse:
		return sim.MsgInfo{Type: TypeResponse}
	}
	return sim.MsgInfo{}
}

// TypeName implements sim.Describer: "app", "vote-resp", "request"...
func (Wire) TypeName(t uint8) string { return TypeName(t) }

// TypeName names a trace message type ("" for 0).
func TypeName(t uint8) string {
	if t == 0 {
		return ""
	}
	if s, ok := typeNames[t]; ok {
		return s
	}
	if t <= 63 { // a Raft type this table does not know yet
		return strings.ToLower(raftpb.MessageType(t - 1).String())
	}
	return "unknown"
}

// ParseType is the inverse of TypeName over the named types.
func ParseType(name string) (uint8, bool) {
	for _, t := range Types() {
		if typeNames[t] == name {
			return t, true
		}
	}
	return 0, false
}

// Types lists every named type: Raft's in protocol order, then the client's.
func Types() []uint8 {
	var out []uint8
	for t := 1; t <= 63; t++ {
		if _, ok := typeNames[uint8(t)]; ok {
			out = append(out, uint8(t))
		}
	}
	return append(out, TypeRequest, TypeResponse)
}

// IsRaft reports whether t is a Raft message type.
func IsRaft(t uint8) bool { return t >= 1 && t <= 63 }

// IsResponse reports whether t answers a request (a Raft response, or a
// client response): one RPC is a request and its response.
func IsResponse(t uint8) bool {
	return t == TypeResponse || (IsRaft(t) && raftpb.MessageType(t-1).IsResponse())
}
