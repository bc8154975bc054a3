package etcdraft

import (
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/subject/subjecttest"
)

// TestVersionIsTheModuleVersion keeps Version in step with go.mod.
func TestVersionIsTheModuleVersion(t *testing.T) {
	mod, err := os.ReadFile("../../../go.mod")
	require.NoError(t, err)
	for _, line := range strings.Split(string(mod), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "go.etcd.io/raft/v3" {
			assert.Equal(t, Version, f[0]+" "+f[1])
			return
		}
	}
	t.Fatal("go.mod does not require go.etcd.io/raft/v3")
}

// TestEtcdPanicBecomesError: a message etcd-io/raft panics on (an empty
// proposal stepped into a leader) halts that replica with the panic's
// message and where etcd raised it, instead of crashing the harness.
func TestEtcdPanicBecomesError(t *testing.T) {
	c, err := subjecttest.NewCluster(Subject(), 3, 0, 1, subjecttest.DefaultConfig())
	require.NoError(t, err)
	lead := c.ElectLeader(200)
	require.NotZero(t, lead)
	from := lead%3 + 1
	b, err := proto.Marshal(&pb.Message{Type: pb.MsgProp.Enum(), From: new(from), To: new(lead)})
	require.NoError(t, err)
	r := c.Nodes[lead].R
	err = r.Step(from, b)
	require.ErrorIs(t, err, subject.ErrPanicked)
	var pe *subject.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "Step", pe.Op)
	assert.Contains(t, pe.Value, "stepped empty MsgProp")
	assert.Contains(t, pe.Where, "go.etcd.io/raft/v3.stepLeader")
	assert.ErrorIs(t, r.Tick(), subject.ErrPanicked, "dead after the panic")
}

func TestOpenRefusesWhatEtcdLacks(t *testing.T) {
	cfg := subjecttest.DefaultConfig()
	cfg.ID, cfg.Peers, cfg.Rand = 1, []uint64{1, 2, 3}, rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		name string
		cfg  func(*subject.Config)
		st   subject.Restored
		want error
	}{
		{"recovering", nil, subject.Restored{Recovering: true}, subject.ErrUnsupported},
		{"vote lost", nil, subject.Restored{VoteLost: true}, subject.ErrUnsupported},
		{"planted bug", func(c *subject.Config) { c.Planted = plant.Of(plant.LooseQuorum) }, subject.Restored{}, subject.ErrUnsupported},
		{"no rand", func(c *subject.Config) { c.Rand = nil }, subject.Restored{}, subject.ErrInvalidConfig},
		{"election tick", func(c *subject.Config) { c.ElectionTick = 1 }, subject.Restored{}, subject.ErrInvalidConfig},
		{"gap in the log", nil, subject.Restored{HardState: raftpb.HardState{Term: 1},
			Entries: []raftpb.Entry{{Term: 1, Index: 1}, {Term: 1, Index: 3}}}, subject.ErrInvalidRestore},
		{"commit beyond the log", nil, subject.Restored{HardState: raftpb.HardState{Term: 1, Commit: 2},
			Entries: []raftpb.Entry{{Term: 1, Index: 1}}}, subject.ErrInvalidRestore},
		{"hard state without a log", nil, subject.Restored{HardState: raftpb.HardState{Term: 3, Vote: 2}}, subject.ErrInvalidRestore},
		{"bad conf change", nil, subject.Restored{HardState: raftpb.HardState{Term: 1},
			Entries: []raftpb.Entry{{Term: 1, Index: 1, Type: raftpb.EntryConfChange, Data: []byte{0xc2, 9}}}}, subject.ErrInvalidRestore},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			if tc.cfg != nil {
				tc.cfg(&c)
			}
			_, err := Open(c, tc.st)
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

func TestPeek(t *testing.T) {
	for _, tc := range []struct {
		m    *pb.Message
		want subject.Header
		ok   bool
	}{
		{&pb.Message{Type: pb.MsgApp.Enum(), From: new(uint64(1)), To: new(uint64(2)), Term: new(uint64(7)), LogTerm: new(uint64(6)), Index: new(uint64(41)),
			Entries: []*pb.Entry{{Term: new(uint64(7)), Index: new(uint64(42)), Data: []byte("x")}}, Commit: new(uint64(40))},
			subject.Header{Type: raftpb.MsgApp, From: 1, To: 2, Term: 7, Index: 41}, true},
		{&pb.Message{Type: pb.MsgHeartbeat.Enum(), From: new(uint64(3)), To: new(uint64(1)), Term: new(uint64(2))},
			subject.Header{Type: raftpb.MsgHeartbeat, From: 3, To: 1, Term: 2}, true},
		{&pb.Message{Type: pb.MsgReadIndex.Enum(), From: new(uint64(2)), To: new(uint64(1)), Entries: []*pb.Entry{{Data: []byte("ctx")}}},
			subject.Header{Type: raftpb.MsgReadIndex, From: 2, To: 1}, true},
		{&pb.Message{Type: pb.MsgTransferLeader.Enum(), From: new(uint64(2)), To: new(uint64(1))}, subject.Header{}, false},
		{&pb.Message{Type: pb.MsgStorageAppend.Enum(), To: new(uint64(1))}, subject.Header{}, false},
		{&pb.Message{From: new(uint64(2)), To: new(uint64(1))}, subject.Header{}, false},
	} {
		b, err := proto.Marshal(tc.m)
		require.NoError(t, err)
		h, ok := Peek(b)
		assert.Equal(t, tc.ok, ok, "%v", tc.m)
		assert.Equal(t, tc.want, h, "%v", tc.m)
	}
	for _, b := range [][]byte{nil, {0x08}, {0x0a, 0x01}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}} {
		_, ok := Peek(b)
		assert.False(t, ok, "%x", b)
	}
	m, _ := proto.Marshal(&pb.Message{Type: pb.MsgVote.Enum(), From: new(uint64(1)), To: new(uint64(2)), Term: new(uint64(3))})
	assert.Zero(t, testing.AllocsPerRun(100, func() { Peek(m) }))
}

// TestConfChangeRoundTrip: raftsim's changes cross to etcd and back
// unchanged, and etcd's decode as the changes they are.
func TestConfChangeRoundTrip(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		var cc raftpb.ConfChangeV2
		for range rapid.IntRange(0, 4).Draw(rt, "changes") {
			cc.Changes = append(cc.Changes, raftpb.ConfChange{
				Type:   raftpb.ConfChangeType(rapid.IntRange(0, 2).Draw(rt, "type")),
				NodeID: rapid.Uint64Range(1, 9).Draw(rt, "id"),
			})
		}
		e := raftpb.Entry{Term: 3, Index: 9, Type: raftpb.EntryConfChange, Data: raftpb.EncodeConfChangeV2(cc)}
		ee, err := entryToEtcd(&e)
		if err != nil {
			rt.Fatal(err)
		}
		back, err := entryFromEtcd(ee)
		if err != nil {
			rt.Fatal(err)
		}
		if !assert.Equal(rt, e, back) {
			rt.FailNow()
		}
	})
	// etcd's own encodings: the V1 change of a bootstrap and the empty V2
	// of an automatic leave.
	v1, err := proto.Marshal(&pb.ConfChange{Type: pb.ConfChangeAddNode.Enum(), NodeId: new(uint64(2))})
	require.NoError(t, err)
	got, err := entryFromEtcd(&pb.Entry{Term: new(uint64(1)), Index: new(uint64(2)), Type: pb.EntryConfChange.Enum(), Data: v1})
	require.NoError(t, err)
	assert.Equal(t, raftpb.EncodeConfChange(raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: 2}), got.Data)
	got, err = entryFromEtcd(&pb.Entry{Term: new(uint64(4)), Index: new(uint64(8)), Type: pb.EntryConfChangeV2.Enum()})
	require.NoError(t, err)
	assert.Equal(t, raftpb.EncodeConfChangeV2(raftpb.ConfChangeV2{}), got.Data)
	// What raftsim cannot express is refused, not dropped.
	upd, err := proto.Marshal(&pb.ConfChange{Type: pb.ConfChangeUpdateNode.Enum(), NodeId: new(uint64(2))})
	require.NoError(t, err)
	_, err = entryFromEtcd(&pb.Entry{Type: pb.EntryConfChange.Enum(), Data: upd})
	assert.ErrorIs(t, err, errTranslate)
	_, err = confStateFromEtcd(&pb.ConfState{Voters: []uint64{1}, VotersOutgoing: []uint64{1, 2}, LearnersNext: []uint64{2}})
	assert.ErrorIs(t, err, errTranslate)
}

// TestEntrySizeIsTheWireSize: EntrySize is exactly what an entry adds to
// a marshalled MsgApp.
func TestEntrySizeIsTheWireSize(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		e := raftpb.Entry{Term: rapid.Uint64().Draw(rt, "term"), Index: rapid.Uint64().Draw(rt, "index"),
			Data: rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(rt, "data")}
		if len(e.Data) == 0 {
			e.Data = nil
		}
		ee, err := entryToEtcd(&e)
		if err != nil {
			rt.Fatal(err)
		}
		base := &pb.Message{Type: pb.MsgApp.Enum(), To: new(uint64(2)), From: new(uint64(1)), Term: new(uint64(3))}
		with := &pb.Message{Type: pb.MsgApp.Enum(), To: new(uint64(2)), From: new(uint64(1)), Term: new(uint64(3)), Entries: []*pb.Entry{ee}}
		if got, want := EntrySize(&e), proto.Size(with)-proto.Size(base); got != want {
			rt.Fatalf("EntrySize %d, on the wire %d", got, want)
		}
	})
}

// jointSnapshot is a restored state whose snapshot holds a joint
// configuration left automatically.
func jointSnapshot() subject.Restored {
	return subject.Restored{HardState: raftpb.HardState{Term: 25, Vote: 1, Commit: 238},
		Snapshot: raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{Index: 238, Term: 18,
			ConfState: raftpb.ConfState{Voters: []uint64{1, 3, 4}, VotersOutgoing: []uint64{1, 2, 4, 5}, AutoLeave: true}}}}
}

// TestRestartKeepsAutoLeave: a replica restarted from a snapshot taken in a
// joint configuration left automatically still leaves it automatically,
// and says so (soak seed 1606: the adapter read the configuration from
// Status, which drops the flag, and the checker saw it).
func TestRestartKeepsAutoLeave(t *testing.T) {
	cfg := subjecttest.DefaultConfig()
	cfg.ID, cfg.Rand = 1, rand.New(rand.NewPCG(1, 1))
	r, err := Open(cfg, jointSnapshot())
	require.NoError(t, err)
	assert.True(t, r.Config().AutoLeave)
	assert.Equal(t, []uint64{1, 2, 4, 5}, []uint64(r.Config().Voters.Outgoing))
	r.(*Replica).st.Applied = 238
	meta, err := r.SnapshotMeta(238)
	require.NoError(t, err)
	assert.True(t, meta.ConfState.AutoLeave)
}

// TestEtcdStatusDropsAutoLeave pins finding 4 of docs/SUBJECTS.md: in
// go.etcd.io/raft/v3 v3.7.0, RawNode.Status().Config of a joint
// configuration left automatically says AutoLeave false
// (tracker.Config.Clone does not copy the field), while the node itself
// keeps it. When this fails, etcd-io/raft fixed it.
func TestEtcdStatusDropsAutoLeave(t *testing.T) {
	cfg := subjecttest.DefaultConfig()
	cfg.ID, cfg.Rand = 1, rand.New(rand.NewPCG(1, 1))
	r, err := Open(cfg, jointSnapshot())
	require.NoError(t, err)
	rn := r.(*Replica).rn
	assert.False(t, rn.Status().Config.AutoLeave, "Status reports the flag now: etcd-io/raft fixed tracker.Config.Clone")
	assert.NotEmpty(t, rn.Status().Config.Voters[1], "still joint")
}
