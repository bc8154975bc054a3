package server

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/seed4fee1fef/raftsim/raft/kv"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/subject/etcdraft"
	"github.com/seed4fee1fef/raftsim/raft/subject/native"
	"github.com/seed4fee1fef/raftsim/sim/disk"
)

// A server joining the cluster may learn a term (a leader's first probe)
// before it holds any log, and crash then. It comes back as the joiner it
// was, for every subject: not refused for a hard state without a log
// (etcd-io/raft's adapter accepts one only from a joiner).
func TestJoinerRestartsWithATermAndNoLog(t *testing.T) {
	probe := map[string][]byte{}
	b, err := proto.Marshal(&pb.Message{Type: pb.MsgApp.Enum(), From: new(uint64(1)), To: new(uint64(4)), Term: new(uint64(5)),
		LogTerm: new(uint64(4)), Index: new(uint64(20)), Commit: new(uint64(20))})
	require.NoError(t, err)
	probe["etcd"] = b
	for _, sub := range []subject.Subject{native.Subject(), etcdraft.Subject()} {
		t.Run(sub.Name, func(t *testing.T) {
			env := &quietEnv{d: disk.New()}
			cfg := Config{Subject: sub, ID: 4, Peers: []uint64{1, 2, 3}, EmptyDisk: Join, SnapshotEntries: -1}
			s, err := Start(env, cfg)
			require.NoError(t, err)
			msg := probe[sub.Name]
			if sub.Name == "raftsim" {
				m := raftpb.Message{Type: raftpb.MsgApp, From: 1, To: 4, Term: 5, LogTerm: 4, Index: 20, Commit: 20}
				msg = m.Marshal()
			}
			s.Receive(1, append([]byte{kv.TagRaft}, msg...))
			require.NoError(t, env.exited)
			assert.Equal(t, uint64(5), s.BasicStatus().Term)
			env.d.Crash(nil, false)
			again := &quietEnv{d: env.d}
			cfg.EmptyDisk = Replaced // how the cluster restarts any server that ran before
			s, err = Start(again, cfg)
			require.NoError(t, err, "restart with a term and no log")
			assert.Equal(t, uint64(5), s.BasicStatus().Term)
			assert.False(t, s.node.Member(), "still outside the configuration")
		})
	}
}
