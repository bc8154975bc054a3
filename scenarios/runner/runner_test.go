package runner_test

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/subject/etcdraft"
	"github.com/seed4fee1fef/raftsim/raft/subject/native"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

func TestSameSeedSameRun(t *testing.T) {
	for _, sub := range []subject.Subject{native.Subject(), etcdraft.Subject()} {
		opts := runner.Options{Seed: 9, FaultTime: 5 * time.Second, Trace: sim.TraceHashOnly}
		opts.Server.Subject = sub
		a, err := runner.Run(opts)
		require.NoError(t, err)
		b, err := runner.Run(opts)
		require.NoError(t, err)
		assert.Equal(t, a.TraceHash, b.TraceHash, sub.Name)
		assert.Equal(t, a.Metrics, b.Metrics, sub.Name)
	}
	opts := runner.Options{Seed: 9, FaultTime: 5 * time.Second, Trace: sim.TraceHashOnly}
	a, err := runner.Run(opts)
	require.NoError(t, err)
	opts.Seed = 10
	c, err := runner.Run(opts)
	require.NoError(t, err)
	assert.NotEqual(t, a.TraceHash, c.TraceHash)
}

func TestBadOptionsAreErrors(t *testing.T) {
	for _, tt := range []struct {
		opts runner.Options
		want string
	}{
		{runner.Options{Servers: -1}, "servers = -1"},
		{runner.Options{Clients: -2}, "clients = -2"},
		{runner.Options{Settle: -time.Second}, "negative phase length"},
		{runner.Options{Link: sim.LinkConfig{Loss: 3}}, "loss probability 3"},
	} {
		_, err := runner.Run(tt.opts)
		assert.ErrorContains(t, err, tt.want)
	}
}

// TestFullRunsShareNoHiddenState runs one seed of the full harness (Raft,
// faults, checkers) in parallel goroutines under GOMAXPROCS 1 and 2, for
// every subject: any global state anywhere in the stack (for etcd-io/raft,
// its election timeouts drawn from crypto/rand reaching behaviour) would
// make some hash differ.
func TestFullRunsShareNoHiddenState(t *testing.T) {
	for _, sub := range []subject.Subject{native.Subject(), etcdraft.Subject()} {
		t.Run(sub.Name, func(t *testing.T) {
			opts := runner.Options{Seed: 21, FaultTime: 5 * time.Second, Trace: sim.TraceHashOnly}
			opts.Server.Subject = sub
			want, err := runner.Run(opts)
			require.NoError(t, err)
			for _, procs := range []int{1, 2} {
				prev := runtime.GOMAXPROCS(procs)
				hashes := make([]string, 4)
				var wg sync.WaitGroup
				for i := range hashes {
					wg.Add(1)
					go func() {
						defer wg.Done()
						res, err := runner.Run(opts)
						if err == nil {
							hashes[i] = res.TraceHash
						}
					}()
				}
				wg.Wait()
				runtime.GOMAXPROCS(prev)
				for _, h := range hashes {
					assert.Equal(t, want.TraceHash, h, "GOMAXPROCS=%d", procs)
				}
			}
		})
	}
}

// A run keeps only its trace hash by default; WithFullTrace runs it again
// with the full trace, and the trace it kept hashes to the run's own hash.
func TestWithFullTraceReproducesTheRun(t *testing.T) {
	res, err := runner.Run(runner.Options{Seed: 3, FaultTime: 4 * time.Second})
	require.NoError(t, err)
	require.False(t, res.World.Trace().Kept(), "hash only by default")
	require.True(t, res.Pass)
	res.Judge([]string{"expect something: did not hold"}, res.Expected)
	require.False(t, res.Pass)

	full, err := runner.WithFullTrace(res)
	require.NoError(t, err)
	require.True(t, full.World.Trace().Kept())
	assert.Equal(t, res.TraceHash, full.TraceHash)
	assert.Equal(t, res.Events, full.Events)
	assert.Equal(t, uint64(0), full.Events-full.World.Trace().Len(), "every event kept")
	assert.Equal(t, res.Failures, full.Failures, "the scenario's judgement carries over")
	assert.Equal(t, res.Metrics, full.Metrics)

	again, err := runner.WithFullTrace(full)
	require.NoError(t, err)
	assert.Same(t, full, again, "a kept trace is not run again")

	res.TraceHash = "0000000000000000" // as if the run had not been deterministic
	_, err = runner.WithFullTrace(res)
	assert.ErrorContains(t, err, "not deterministic")
}

// panicRand panics on its first draw once armed: a panic planted inside a
// subject, which draws its election timeouts from it.
type panicRand struct {
	r     subject.Rand
	armed bool
}

func (p *panicRand) IntN(n int) int {
	if p.armed {
		panic("planted panic in the subject")
	}
	return p.r.IntN(n)
}

// A panic inside a subject halts its server with the panic's message, for
// the report to show; it never crashes the harness, and the run says it
// failed.
func TestSubjectPanicHaltsItsServer(t *testing.T) {
	for _, sub := range []subject.Subject{native.Subject(), etcdraft.Subject()} {
		t.Run(sub.Name, func(t *testing.T) {
			open := sub.Open
			sub.Open = func(cfg subject.Config, st subject.Restored) (subject.Replica, error) {
				if cfg.ID != 2 {
					return open(cfg, st)
				}
				// Armed once the replica runs: its next election timeout
				// (the first election's, at the latest) panics.
				pr := &panicRand{r: cfg.Rand}
				cfg.Rand = pr
				r, err := open(cfg, st)
				pr.armed = true
				return r, err
			}
			opts := runner.Options{Seed: 4, FaultTime: 5 * time.Second, Trace: sim.TraceHashOnly}
			opts.Server.Subject = sub
			res, err := runner.Run(opts)
			require.NoError(t, err)
			require.False(t, res.Pass)
			require.NotEmpty(t, res.Halted)
			assert.Equal(t, 2, int(res.Halted[0].Node))
			assert.Contains(t, res.Halted[0].Err, "subject panicked in ")
			assert.Contains(t, res.Halted[0].Err, "planted panic in the subject")
			assert.Contains(t, strings.Join(res.Failures, "\n"), "node n2 halted: server 2: subject panicked in ")
		})
	}
}
