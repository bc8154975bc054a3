package subjects_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/subject/subjects"
)

func TestByName(t *testing.T) {
	assert.Equal(t, []string{"raftsim", "etcd", "etcd-literal"}, subjects.Names())
	for _, name := range subjects.Names() {
		s, err := subjects.ByName(name)
		require.NoError(t, err)
		assert.Equal(t, name, s.Name)
		assert.NotEmpty(t, s.Version)
		assert.NotNil(t, s.Open)
		assert.NotNil(t, s.Peek)
	}
	s, err := subjects.ByName("")
	require.NoError(t, err)
	assert.Equal(t, subjects.Default, s.Name)
	_, err = subjects.ByName("zookeeper")
	assert.EqualError(t, err, `unknown subject "zookeeper" (want raftsim, etcd, etcd-literal)`)
}
