package quorum_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/seed4fee1fef/raftsim/raft/quorum"
)

func TestJointCommittedIndex(t *testing.T) {
	acked := quorum.MapAckIndexer{1: 10, 2: 10, 3: 4, 4: 3, 5: 3}
	for _, tc := range []struct {
		name     string
		in, out  []uint64
		want     uint64
		wantJoin bool
	}{
		{"simple", []uint64{1, 2, 3}, nil, 10, false},
		{"both halves must commit", []uint64{1, 2, 3}, []uint64{3, 4, 5}, 3, true},
		{"the slower half decides", []uint64{1, 2, 4}, []uint64{1, 2, 3}, 10, true},
		{"no voters commit nothing", nil, nil, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := quorum.JointConfig{Incoming: quorum.NewMajorityConfig(tc.in...), Outgoing: quorum.NewMajorityConfig(tc.out...)}
			assert.Equal(t, tc.want, c.CommittedIndex(acked))
			assert.Equal(t, tc.wantJoin, c.Joint())
		})
	}
}

func TestJointVoteResult(t *testing.T) {
	c := quorum.JointConfig{Incoming: quorum.NewMajorityConfig(1, 2, 4, 5), Outgoing: quorum.NewMajorityConfig(1, 2, 3)}
	assert.Equal(t, quorum.VotePending, c.VoteResult(map[uint64]bool{1: true, 2: true}), "outgoing won, incoming needs three of four")
	assert.Equal(t, quorum.VoteWon, c.VoteResult(map[uint64]bool{1: true, 2: true, 4: true}))
	assert.Equal(t, quorum.VoteLost, c.VoteResult(map[uint64]bool{1: true, 4: true, 5: true, 2: false, 3: false}), "outgoing lost")
	assert.Equal(t, quorum.VoteLost, quorum.JointConfig{}.VoteResult(map[uint64]bool{1: true}))
	assert.Equal(t, []uint64{1, 2, 3, 4, 5}, c.IDs())
	assert.Equal(t, "(1 2 4 5)&&(1 2 3)", c.String())
}
