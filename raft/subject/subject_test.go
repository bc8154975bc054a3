package subject_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/subject"
)

func TestMarkKeepsTheMessageAndAddsTheSentinel(t *testing.T) {
	lib := errors.New("lib: not the leader")
	err := subject.Mark(lib, subject.ErrNotLeader)
	assert.Equal(t, "lib: not the leader", err.Error())
	assert.ErrorIs(t, err, subject.ErrNotLeader)
	assert.ErrorIs(t, err, lib)
	assert.NotErrorIs(t, err, subject.ErrIgnored)
	assert.NoError(t, subject.Mark(nil, subject.ErrNotLeader))
	already := subject.Mark(subject.ErrNotLeader, subject.ErrNotLeader)
	assert.Same(t, subject.ErrNotLeader, already)
}

func raiseInLibrary() { panic("library invariant broken") }

type logger struct{}

func (logger) Panicf(format string, _ ...any) { panic(format) }

func raiseThroughLogger() { logger{}.Panicf("via logger") }

func call(f func()) (err error) {
	defer subject.Recover(&err, "Step")
	f()
	return nil
}

func TestRecoverNamesWhereThePanicWasRaised(t *testing.T) {
	for _, tc := range []struct {
		f            func()
		value, func_ string
	}{
		{raiseInLibrary, "library invariant broken", "subject_test.raiseInLibrary"},
		{raiseThroughLogger, "via logger", "subject_test.raiseThroughLogger"},
		{func() { var m map[int]int; m[1] = 1 }, "assignment to entry in nil map", "subject_test.TestRecoverNamesWhereThePanicWasRaised"},
	} {
		err := call(tc.f)
		require.ErrorIs(t, err, subject.ErrPanicked)
		var pe *subject.PanicError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "Step", pe.Op)
		assert.Contains(t, pe.Value, tc.value)
		assert.Contains(t, pe.Where, tc.func_)
		assert.Regexp(t, `\(subject_test\.go:\d+\)$`, pe.Where, "file name only, no address")
	}
	assert.NoError(t, call(func() {}))
}

func TestLacksSaysWhatIsMissing(t *testing.T) {
	all := subject.Capabilities{Recovery: true, ChunkedSnapshots: true, ReadIndex: true, ReadBatching: true,
		DriftBoundedLease: true, Transfer: true, PromotionGuard: true, Plants: true}
	assert.Empty(t, all.Lacks())
	assert.Empty(t, all.Missing(subject.Mechanisms()...))
	some := subject.Capabilities{ReadIndex: true, Transfer: true}
	lacks := some.Lacks()
	assert.Len(t, lacks, len(subject.Mechanisms())-2)
	assert.Contains(t, lacks[0], "recovering mode")
	assert.Empty(t, some.Missing("read-index", "transfer"))
	assert.Equal(t, "promotion-guard: no promotion guard: a learner is promoted however far behind it is, and the quorum waits for it",
		some.Missing("transfer", "promotion-guard"))
	assert.Contains(t, some.Missing("teleport"), "teleport: not a mechanism (known: recovery, ")
	for _, name := range subject.Mechanisms() {
		assert.True(t, subject.IsMechanism(name))
	}
	assert.False(t, subject.IsMechanism("teleport"))
}
