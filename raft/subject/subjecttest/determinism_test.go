package subjecttest_test

import (
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/subject/etcdraft"
	"github.com/seed4fee1fef/raftsim/raft/subject/native"
	"github.com/seed4fee1fef/raftsim/raft/subject/subjecttest"
)

// TestSameHashAtAnyGOMAXPROCS runs one seed of each subject in many
// goroutines at once, under GOMAXPROCS 1 and 4: hidden shared state (a
// global rand, crypto/rand reaching behaviour, map order) would make some
// hash differ. For etcd-io/raft this is the test of the adapter's
// election timer: etcd draws its own timeouts from crypto/rand on every
// reset, and none of them may reach the messages.
func TestSameHashAtAnyGOMAXPROCS(t *testing.T) {
	for _, s := range []subject.Subject{native.Subject(), etcdraft.Subject()} {
		t.Run(s.Name, func(t *testing.T) {
			want, err := subjecttest.Trace(s, 42)
			require.NoError(t, err)
			for _, procs := range []int{1, 4} {
				prev := runtime.GOMAXPROCS(procs)
				var wg sync.WaitGroup
				hashes := make([]uint64, 6)
				errs := make([]error, len(hashes))
				for i := range hashes {
					wg.Go(func() { hashes[i], errs[i] = subjecttest.Trace(s, 42) })
				}
				wg.Wait()
				runtime.GOMAXPROCS(prev)
				for i, h := range hashes {
					require.NoError(t, errs[i])
					assert.Equal(t, want, h, "GOMAXPROCS=%d", procs)
				}
			}
		})
	}
}

// TestSubjectsDiffer: the two subjects' traffic differs (the hash sees
// the subject, not only the schedule).
func TestSubjectsDiffer(t *testing.T) {
	a, err := subjecttest.Trace(native.Subject(), 1)
	require.NoError(t, err)
	b, err := subjecttest.Trace(etcdraft.Subject(), 1)
	require.NoError(t, err)
	assert.NotEqual(t, a, b)
}
