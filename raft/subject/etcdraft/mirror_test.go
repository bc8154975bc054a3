package etcdraft

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
)

func ents(term uint64, from, to uint64) []raftpb.Entry {
	var out []raftpb.Entry
	for i := from; i <= to; i++ {
		out = append(out, raftpb.Entry{Term: term, Index: i, Data: []byte{byte(i)}})
	}
	return out
}

// TestMirrorCountsEveryReplacement: the checker learns which entries
// changed from LogRewrites/LogRewriteFrom, so every replacement counts:
// an overwritten suffix, and a snapshot installed over held entries (the
// entry at its index may have another term now). A compaction changes
// nothing the log holds and does not count.
func TestMirrorCountsEveryReplacement(t *testing.T) {
	var m mirror
	_, err := m.append(ents(1, 1, 5))
	require.NoError(t, err)
	assert.Zero(t, m.rewrites)
	_, err = m.append(ents(2, 4, 6))
	require.NoError(t, err)
	assert.Equal(t, uint64(1), m.rewrites)
	assert.Equal(t, uint64(4), m.rewriteFrom)
	tm, _ := m.term(3)
	assert.Equal(t, uint64(1), tm)
	tm, _ = m.term(4)
	assert.Equal(t, uint64(2), tm)

	m.compact(2)
	assert.Equal(t, uint64(1), m.rewrites, "compaction is no rewrite")
	_, ok := m.entry(2)
	assert.False(t, ok)
	tm, ok = m.term(2)
	assert.True(t, ok && tm == 1, "the compaction point keeps its term")

	m.restore(5, 3) // a snapshot whose entry 5 has term 3, not 2
	assert.Equal(t, uint64(2), m.rewrites)
	assert.Equal(t, uint64(3), m.rewriteFrom)
	tm, _ = m.term(5)
	assert.Equal(t, uint64(3), tm)
	assert.Equal(t, uint64(5), m.lastIndex())
	assert.Zero(t, m.bytes)

	m.restore(9, 3) // over an empty log: nothing replaced
	assert.Equal(t, uint64(2), m.rewrites)

	_, err = m.append(ents(3, 11, 11))
	assert.Error(t, err, "a gap")
	_, err = m.append(ents(3, 9, 9))
	assert.Error(t, err, "at the snapshot's index")
}
