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
	assert.Empty(t, subject.Capabilities{Recovery: true, ChunkedSnapshots: true, ReadIndex: true,
		DriftBoundedLease: true, Transfer: true, Plants: true}.Lacks())
	lacks := subject.Capabilities{ReadIndex: true, Transfer: true}.Lacks()
	assert.Len(t, lacks, 4)
	assert.Contains(t, lacks[0], "recovering mode")
}
