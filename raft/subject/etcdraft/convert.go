package etcdraft

import (
	"errors"
	"fmt"
	"slices"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/seed4fee1fef/raftsim/raft/quorum"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/tracker"
)

// Translation between etcd's protobuf types and raftsim's raftpb types, at
// the boundary: the host, the WAL and the checker see raftsim's formats
// only. Normal entries pass with their data as is; configuration changes
// are re-encoded (raftpb.EncodeConfChangeV2 on raftsim's side, a
// ConfChangeV2 with the automatic transition on etcd's).

// errTranslate is wrapped by every value one side cannot express.
var errTranslate = errors.New("etcdraft: cannot translate")

func translateErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errTranslate, fmt.Sprintf(format, args...))
}

var ccTypeToEtcd = [...]pb.ConfChangeType{
	raftpb.ConfChangeAddNode:    pb.ConfChangeAddNode,
	raftpb.ConfChangeRemoveNode: pb.ConfChangeRemoveNode,
	raftpb.ConfChangeAddLearner: pb.ConfChangeAddLearnerNode,
}

func ccTypeFromEtcd(t pb.ConfChangeType) (raftpb.ConfChangeType, error) {
	switch t {
	case pb.ConfChangeAddNode:
		return raftpb.ConfChangeAddNode, nil
	case pb.ConfChangeRemoveNode:
		return raftpb.ConfChangeRemoveNode, nil
	case pb.ConfChangeAddLearnerNode:
		return raftpb.ConfChangeAddLearner, nil
	}
	return 0, translateErr("configuration change type %s has no raftsim counterpart", t)
}

// confChangeToEtcd is cc as etcd proposes it: every change at once, with
// the automatic transition (simple for one change, joint and left
// automatically for more; none leaves a joint configuration).
func confChangeToEtcd(cc raftpb.ConfChangeV2) (*pb.ConfChangeV2, error) {
	out := &pb.ConfChangeV2{}
	for _, c := range cc.Changes {
		if int(c.Type) >= len(ccTypeToEtcd) {
			return nil, translateErr("configuration change type %s", c.Type)
		}
		out.Changes = append(out.Changes, &pb.ConfChangeSingle{Type: ccTypeToEtcd[c.Type].Enum(), NodeId: new(c.NodeID)})
	}
	return out, nil
}

// confChangeFromEtcd decodes an etcd configuration change entry's data
// (EntryConfChange or EntryConfChangeV2).
func confChangeFromEtcd(typ pb.EntryType, data []byte) (*pb.ConfChangeV2, error) {
	switch typ {
	case pb.EntryConfChange:
		var cc pb.ConfChange
		if err := proto.Unmarshal(data, &cc); err != nil {
			return nil, translateErr("configuration change: %v", err)
		}
		return cc.AsV2(), nil
	case pb.EntryConfChangeV2:
		var cc pb.ConfChangeV2
		if err := proto.Unmarshal(data, &cc); err != nil {
			return nil, translateErr("configuration change: %v", err)
		}
		return &cc, nil
	}
	return nil, translateErr("entry type %s is no configuration change", typ)
}

// raftsimConfChange is cc in raftsim's terms. raftsim has one transition
// rule (the automatic one), so an explicit transition cannot cross.
func raftsimConfChange(cc *pb.ConfChangeV2) (raftpb.ConfChangeV2, error) {
	if cc.GetTransition() != pb.ConfChangeTransitionAuto {
		return raftpb.ConfChangeV2{}, translateErr("transition %s has no raftsim counterpart", cc.GetTransition())
	}
	var out raftpb.ConfChangeV2
	for _, c := range cc.GetChanges() {
		t, err := ccTypeFromEtcd(c.GetType())
		if err != nil {
			return raftpb.ConfChangeV2{}, err
		}
		out.Changes = append(out.Changes, raftpb.ConfChange{Type: t, NodeID: c.GetNodeId()})
	}
	return out, nil
}

// entryFromEtcd is e in raftsim's format; a normal entry's data is shared.
func entryFromEtcd(e *pb.Entry) (raftpb.Entry, error) {
	out := raftpb.Entry{Term: e.GetTerm(), Index: e.GetIndex(), Type: raftpb.EntryNormal, Data: e.GetData()}
	if e.GetType() == pb.EntryNormal {
		return out, nil
	}
	cc, err := confChangeFromEtcd(e.GetType(), e.GetData())
	if err != nil {
		return raftpb.Entry{}, fmt.Errorf("entry %d: %w", e.GetIndex(), err)
	}
	rcc, err := raftsimConfChange(cc)
	if err != nil {
		return raftpb.Entry{}, fmt.Errorf("entry %d: %w", e.GetIndex(), err)
	}
	out.Type, out.Data = raftpb.EntryConfChange, raftpb.EncodeConfChangeV2(rcc)
	return out, nil
}

// entryToEtcd is e in etcd's format (a restored log).
func entryToEtcd(e *raftpb.Entry) (*pb.Entry, error) {
	out := &pb.Entry{Term: new(e.Term), Index: new(e.Index), Type: pb.EntryNormal.Enum(), Data: e.Data}
	switch e.Type {
	case raftpb.EntryNormal:
		return out, nil
	case raftpb.EntryConfChange:
		cc, err := raftpb.DecodeConfChangeV2(e.Data)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", e.Index, err)
		}
		ecc, err := confChangeToEtcd(cc)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", e.Index, err)
		}
		data, err := proto.Marshal(ecc)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", e.Index, err)
		}
		out.Type, out.Data = pb.EntryConfChangeV2.Enum(), data
		return out, nil
	}
	return nil, translateErr("entry %d has type %d", e.Index, e.Type)
}

func confStateToEtcd(cs raftpb.ConfState) *pb.ConfState {
	return &pb.ConfState{
		Voters:         slices.Clone(cs.Voters),
		Learners:       slices.Clone(cs.Learners),
		VotersOutgoing: slices.Clone(cs.VotersOutgoing),
		AutoLeave:      new(cs.AutoLeave),
	}
}

// confStateFromEtcd is cs in raftsim's terms. raftsim has no staged
// learners (a voter demoted to learner in a joint configuration waits in
// etcd's LearnersNext until the joint configuration is left); the host
// never demotes, so one there is refused rather than lost.
func confStateFromEtcd(cs *pb.ConfState) (raftpb.ConfState, error) {
	if len(cs.GetLearnersNext()) > 0 {
		return raftpb.ConfState{}, translateErr("configuration with staged learners %v (etcd's LearnersNext)", cs.GetLearnersNext())
	}
	return raftpb.ConfState{
		Voters:         sorted(cs.GetVoters()),
		Learners:       sorted(cs.GetLearners()),
		VotersOutgoing: sorted(cs.GetVotersOutgoing()),
		AutoLeave:      cs.GetAutoLeave(),
	}, nil
}

func sorted(ids []uint64) []uint64 {
	if len(ids) == 0 {
		return nil
	}
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// trackerConfig is cs in raftsim's terms (staged learners left out: the
// host never makes them).
func trackerConfig(cs *pb.ConfState) tracker.Config {
	return tracker.Config{
		Voters: quorum.JointConfig{
			Incoming: quorum.NewMajorityConfig(cs.GetVoters()...),
			Outgoing: quorum.NewMajorityConfig(cs.GetVotersOutgoing()...),
		},
		Learners:  quorum.NewMajorityConfig(cs.GetLearners()...),
		AutoLeave: cs.GetAutoLeave(),
	}
}

func snapshotToEtcd(s *raftpb.Snapshot) *pb.Snapshot {
	return &pb.Snapshot{
		Data: s.Data,
		Metadata: &pb.SnapshotMetadata{
			Index:     new(s.Metadata.Index),
			Term:      new(s.Metadata.Term),
			ConfState: confStateToEtcd(s.Metadata.ConfState),
		},
	}
}

func snapshotFromEtcd(s *pb.Snapshot) (raftpb.Snapshot, error) {
	md := s.GetMetadata()
	cs, err := confStateFromEtcd(md.GetConfState())
	if err != nil {
		return raftpb.Snapshot{}, fmt.Errorf("snapshot %d: %w", md.GetIndex(), err)
	}
	return raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{Index: md.GetIndex(), Term: md.GetTerm(), ConfState: cs}, Data: s.GetData()}, nil
}

// messageTypes maps etcd's message types onto the shared vocabulary;
// types with no raftsim counterpart (and local ones) are absent.
var messageTypes = map[pb.MessageType]raftpb.MessageType{
	pb.MsgHup: raftpb.MsgHup, pb.MsgBeat: raftpb.MsgBeat, pb.MsgProp: raftpb.MsgProp,
	pb.MsgApp: raftpb.MsgApp, pb.MsgAppResp: raftpb.MsgAppResp,
	pb.MsgVote: raftpb.MsgVote, pb.MsgVoteResp: raftpb.MsgVoteResp,
	pb.MsgPreVote: raftpb.MsgPreVote, pb.MsgPreVoteResp: raftpb.MsgPreVoteResp,
	pb.MsgHeartbeat: raftpb.MsgHeartbeat, pb.MsgHeartbeatResp: raftpb.MsgHeartbeatResp,
	pb.MsgSnap:      raftpb.MsgSnap,
	pb.MsgReadIndex: raftpb.MsgReadIndex, pb.MsgReadIndexResp: raftpb.MsgReadIndexResp,
	pb.MsgTimeoutNow: raftpb.MsgTimeoutNow,
}

// sharedType is etcd's type t in the shared vocabulary (a table rather than
// the map above, so Peek does not hash).
var sharedType = func() (t [32]int16) {
	for i := range t {
		t[i] = -1
	}
	for e, s := range messageTypes { //detguard:unordered filling a table indexed by key: order cannot matter
		t[e] = int16(s)
	}
	return t
}()

// EntrySize is what e costs inside an etcd MsgApp: the entries field's
// tag and length, then the entry's fields as protobuf writes them (type
// always, term and index, data when there is some; a configuration
// change as etcd encodes it is not worth the difference and is sized as
// raftsim's).
func EntrySize(e *raftpb.Entry) int {
	n := 1 + protowire.SizeVarint(uint64(e.Type)) + 1 + protowire.SizeVarint(e.Term) + 1 + protowire.SizeVarint(e.Index)
	if e.Data != nil {
		n += 1 + protowire.SizeBytes(len(e.Data))
	}
	return 1 + protowire.SizeBytes(n)
}
