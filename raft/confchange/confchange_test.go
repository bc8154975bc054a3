package confchange_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/confchange"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/tracker"
)

func cfg(voters, learners []uint64) tracker.Config {
	return confchange.Restore(raftpb.ConfState{Voters: voters, Learners: learners})
}

func cc(changes ...any) raftpb.ConfChangeV2 {
	var out raftpb.ConfChangeV2
	for i := 0; i < len(changes); i += 2 {
		out.Changes = append(out.Changes, raftpb.ConfChange{Type: changes[i].(raftpb.ConfChangeType), NodeID: uint64(changes[i+1].(int))})
	}
	return out
}

const (
	add     = raftpb.ConfChangeAddNode
	learner = raftpb.ConfChangeAddLearner
	remove  = raftpb.ConfChangeRemoveNode
)

func TestApply(t *testing.T) {
	three := cfg([]uint64{1, 2, 3}, nil)
	for _, tc := range []struct {
		name string
		from tracker.Config
		cc   raftpb.ConfChangeV2
		want string // tracker.Config.String(), or the error's text
	}{
		{"add a learner", three, cc(learner, 4), "voters=(1 2 3) learners=(4)"},
		{"promote it: one voter more, simple", cfg([]uint64{1, 2, 3}, []uint64{4}), cc(add, 4), "voters=(1 2 3 4)"},
		{"remove a voter: simple", three, cc(remove, 2), "voters=(1 3)"},
		{"remove a learner", cfg([]uint64{1, 2, 3}, []uint64{4}), cc(remove, 4), "voters=(1 2 3)"},
		{"a learner and a voter change: still simple", three, cc(learner, 4, remove, 3), "voters=(1 2) learners=(4)"},
		{"three to five: joint", three, cc(add, 4, add, 5), "voters=(1 2 3 4 5)&&(1 2 3) autoleave"},
		{"replace two: joint", cfg([]uint64{1, 2, 3}, []uint64{4, 5}), cc(remove, 1, remove, 2, add, 4, add, 5), "voters=(3 4 5)&&(1 2 3) autoleave"},
		{"leave joint", cfg(nil, nil), raftpb.ConfChangeV2{}, "invalid configuration change: leave-joint, but () is not a joint configuration"},
		{"already a voter", three, cc(add, 2), "invalid configuration change: n2 is already a voter"},
		{"demote", three, cc(learner, 2), "invalid configuration change: n2 is a voter: demoting a voter is not supported (remove it, then add it as a learner)"},
		{"not a member", three, cc(remove, 9), "invalid configuration change: n9 is not a member"},
		{"twice", three, cc(learner, 4, add, 4), "invalid configuration change: n4 changed twice in one change"},
		{"no voters left", cfg([]uint64{1}, nil), cc(remove, 1), "invalid configuration change: remove 1 would leave no voters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := confchange.Apply(tc.from, tc.cc)
			if err != nil {
				assert.ErrorIs(t, err, confchange.ErrInvalid)
				assert.Equal(t, "raft: "+tc.want, err.Error())
				return
			}
			assert.Equal(t, tc.want, got.String())
		})
	}
}

func TestJointIsLeftBeforeAnythingElse(t *testing.T) {
	joint, err := confchange.Apply(cfg([]uint64{1, 2, 3}, nil), cc(add, 4, add, 5))
	require.NoError(t, err)
	_, err = confchange.Apply(joint, cc(remove, 1))
	assert.ErrorIs(t, err, confchange.ErrInvalid, "one change at a time: leave first")
	left, err := confchange.Apply(joint, raftpb.ConfChangeV2{})
	require.NoError(t, err)
	assert.Equal(t, "voters=(1 2 3 4 5)", left.String())

	// Replacing n1 and n2: in the joint phase they still vote (outgoing);
	// once left, they are no members at all.
	joint, err = confchange.Apply(cfg([]uint64{1, 2, 3}, []uint64{4, 5}), cc(remove, 1, remove, 2, add, 4, add, 5))
	require.NoError(t, err)
	assert.Equal(t, []uint64{1, 2, 3, 4, 5}, joint.IDs())
	left, err = confchange.LeaveJoint(joint)
	require.NoError(t, err)
	assert.Equal(t, []uint64{3, 4, 5}, left.IDs())
}

// The ConfState of a snapshot restores the configuration exactly,
// joint or not.
func TestConfStateRoundTrip(t *testing.T) {
	for _, c := range []tracker.Config{
		cfg([]uint64{1, 2, 3}, []uint64{7}),
		func() tracker.Config {
			j, _ := confchange.Apply(cfg([]uint64{1, 2, 3}, nil), cc(add, 4, add, 5))
			return j
		}(),
	} {
		assert.True(t, c.Equal(confchange.Restore(confchange.ConfState(c))), c.String())
	}
}

// Naive is the planted bug's one-step change: it never goes joint.
func TestNaive(t *testing.T) {
	got, err := confchange.Naive(cfg([]uint64{1, 2, 3}, nil), cc(add, 4, add, 5))
	require.NoError(t, err)
	assert.Equal(t, "voters=(1 2 3 4 5)", got.String())
}
