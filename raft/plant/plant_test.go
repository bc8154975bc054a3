package plant

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNamesRoundTrip(t *testing.T) {
	require.Len(t, All(), len(names), "every bug has a name")
	for _, b := range All() {
		got, err := Parse(b.String())
		require.NoError(t, err)
		assert.Equal(t, b, got)
	}
	_, err := Parse("no-such-bug")
	assert.ErrorContains(t, err, `unknown bug "no-such-bug"`)
}

func TestSet(t *testing.T) {
	s := Of(NoHeartbeats, CommitPriorTerm)
	assert.True(t, s.Has(NoHeartbeats))
	assert.False(t, s.Has(BlankRestart))
	assert.Equal(t, 2, s.Len())
	assert.Equal(t, "no-heartbeats,commit-prior-term", s.String())
	assert.Equal(t, "none", Set(0).String())
}
