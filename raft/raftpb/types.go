// Package raftpb holds the values Raft exchanges with the world: log
// entries, the hard state a node must persist, snapshots, and messages, plus
// their byte encoding. Everything that crosses the network or reaches a disk
// is encoded here first, so no node ever shares memory with another.
package raftpb

import (
	"fmt"
	"strconv"
)

// EntryType says how an entry's Data is to be read.
type EntryType uint8

const (
	EntryNormal     EntryType = iota // application command (may be empty: a leader's no-op)
	EntryConfChange                  // a ConfChange, encoded
)

// Entry is one slot of the replicated log.
type Entry struct {
	Term  uint64
	Index uint64
	Type  EntryType
	Data  []byte
}

// HardState is what a node must have durably recorded before it sends any
// message that depends on it: its term, whom it voted for in that term, and
// (as a hint for restart) how far it knows the log to be committed.
type HardState struct {
	Term   uint64
	Vote   uint64
	Commit uint64
}

// IsEmpty reports whether hs is the zero HardState.
func (hs HardState) IsEmpty() bool { return hs == HardState{} }

// ConfState is the membership a snapshot (or the log up to some index)
// implies: the voters (during a joint-consensus change, the incoming
// ones, with the outgoing ones in VotersOutgoing), the learners, and
// whether the leader leaves a joint configuration on its own.
type ConfState struct {
	Voters         []uint64
	Learners       []uint64
	VotersOutgoing []uint64
	AutoLeave      bool
}

// SnapshotMetadata says which prefix of the log a snapshot replaces.
type SnapshotMetadata struct {
	Index     uint64
	Term      uint64
	ConfState ConfState
}

// Snapshot is a state-machine image standing in for the log up to Metadata.Index.
type Snapshot struct {
	Metadata SnapshotMetadata
	Data     []byte
}

// IsEmpty reports whether s stands for no log prefix at all.
func (s Snapshot) IsEmpty() bool { return s.Metadata.Index == 0 }

// ConfChangeType is the kind of change to one server's membership.
type ConfChangeType uint8

const (
	// ConfChangeAddNode makes the server a voter (promoting it if it is
	// a learner).
	ConfChangeAddNode ConfChangeType = iota
	// ConfChangeRemoveNode removes the server, voter or learner.
	ConfChangeRemoveNode
	// ConfChangeAddLearner makes a new server a learner: it replicates
	// the log but never votes and never counts toward a commit.
	ConfChangeAddLearner
)

func (t ConfChangeType) String() string {
	switch t {
	case ConfChangeAddNode:
		return "add-voter"
	case ConfChangeRemoveNode:
		return "remove"
	case ConfChangeAddLearner:
		return "add-learner"
	}
	return "ConfChangeType(" + strconv.Itoa(int(t)) + ")"
}

// ConfChange changes one server's membership.
type ConfChange struct {
	Type   ConfChangeType
	NodeID uint64
}

// ConfChangeV2 is the payload of an EntryConfChange entry: any number of
// single changes, made at once. At most one voter changing is a simple
// change; more go through a joint configuration (Raft §6: C_old,new,
// then C_new). No changes at all leaves a joint configuration.
type ConfChangeV2 struct {
	Changes []ConfChange
}

// LeaveJoint reports whether cc is the change that leaves a joint
// configuration.
func (cc ConfChangeV2) LeaveJoint() bool { return len(cc.Changes) == 0 }

func (cc ConfChangeV2) String() string {
	if cc.LeaveJoint() {
		return "leave-joint"
	}
	s := ""
	for i, c := range cc.Changes {
		if i > 0 {
			s += ","
		}
		s += c.Type.String() + " " + strconv.FormatUint(c.NodeID, 10)
	}
	return s
}

// MessageType names the Raft messages. Local messages (Hup, Beat, Prop) are
// inputs a host may also step; the rest cross the network.
type MessageType uint8

const (
	MsgHup           MessageType = iota // local: start an election
	MsgBeat                             // local: leader, send heartbeats
	MsgProp                             // propose entries (local, or forwarded to the leader)
	MsgApp                              // append entries
	MsgAppResp                          // append entries response
	MsgVote                             // request vote
	MsgVoteResp                         // vote response
	MsgPreVote                          // pre-vote request (does not bump terms)
	MsgPreVoteResp                      // pre-vote response
	MsgHeartbeat                        // leader liveness + commit, no entries
	MsgHeartbeatResp                    // heartbeat ack (also confirms read-index rounds)
	MsgSnap                             // install snapshot
	MsgReadIndex                        // ask the leader for a read index
	MsgReadIndexResp                    // the leader's answer
	MsgTimeoutNow                       // leadership transfer: campaign now
	MsgSnapResp                         // install snapshot progress: how much of it arrived
	msgTypeCount
)

var msgTypeNames = [...]string{
	MsgHup: "MsgHup", MsgBeat: "MsgBeat", MsgProp: "MsgProp",
	MsgApp: "MsgApp", MsgAppResp: "MsgAppResp",
	MsgVote: "MsgVote", MsgVoteResp: "MsgVoteResp",
	MsgPreVote: "MsgPreVote", MsgPreVoteResp: "MsgPreVoteResp",
	MsgHeartbeat: "MsgHeartbeat", MsgHeartbeatResp: "MsgHeartbeatResp",
	MsgSnap: "MsgSnap", MsgReadIndex: "MsgReadIndex", MsgReadIndexResp: "MsgReadIndexResp",
	MsgTimeoutNow: "MsgTimeoutNow", MsgSnapResp: "MsgSnapResp",
}

func (t MessageType) String() string {
	if int(t) < len(msgTypeNames) {
		return msgTypeNames[t]
	}
	return "MsgType(" + strconv.Itoa(int(t)) + ")"
}

// IsResponse reports whether t answers a request (responses never start elections
// and may be dropped freely).
func (t MessageType) IsResponse() bool {
	switch t {
	case MsgAppResp, MsgVoteResp, MsgPreVoteResp, MsgHeartbeatResp, MsgReadIndexResp, MsgSnapResp:
		return true
	}
	return false
}

// Message is one Raft RPC. Field meanings follow etcd-io/raft:
//   - MsgApp: Index/LogTerm identify the entry preceding Entries; Commit is the leader's commit.
//   - MsgAppResp: Index is the follower's last matching index (accept) or the
//     rejected probe index (reject, with RejectHint/LogTerm as a backtracking hint).
//   - MsgVote/MsgPreVote: Index/LogTerm are the candidate's last entry.
//   - MsgHeartbeat: Commit is the leader's commit capped at the follower's
//     match; Index is the leader's last index (the recovery point of a
//     follower that lost data and its record of how far it had acked).
//   - MsgReadIndex/MsgHeartbeat(Resp)/MsgReadIndexResp: Context identifies a read request.
//   - MsgSnap: Snapshot.Metadata names the snapshot; Snapshot.Data is the
//     chunk of its data starting at byte SnapOffset, of SnapTotal in all.
//   - MsgSnapResp: Index is the snapshot index; SnapOffset is how many
//     bytes of it the follower holds, the offset it wants next.
type Message struct {
	Type       MessageType
	From       uint64
	To         uint64
	Term       uint64
	LogTerm    uint64
	Index      uint64
	Commit     uint64
	Entries    []Entry
	Reject     bool
	RejectHint uint64
	Context    []byte
	Snapshot   *Snapshot
	SnapOffset uint64
	SnapTotal  uint64
}

func (m Message) String() string {
	return fmt.Sprintf("%d->%d %s term=%d logterm=%d index=%d commit=%d entries=%d reject=%t",
		m.From, m.To, m.Type, m.Term, m.LogTerm, m.Index, m.Commit, len(m.Entries), m.Reject)
}
