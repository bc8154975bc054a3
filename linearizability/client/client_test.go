package client_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/raft/kv"
	"github.com/seed4fee1fef/raftsim/sim"
)

// fakeEnv runs a client by hand: sends are captured, timers queued.
type fakeEnv struct {
	sent   []kv.Request
	to     []uint64
	timers []*fakeTimer
	rand   *sim.Rand
}

type fakeTimer struct {
	fn      func()
	stopped bool
}

func (t *fakeTimer) Stop() bool {
	was := !t.stopped
	t.stopped = true
	return was
}

// pending is the timers not stopped.
func (e *fakeEnv) pending() int {
	n := 0
	for _, t := range e.timers {
		if !t.stopped {
			n++
		}
	}
	return n
}

func (e *fakeEnv) Send(to uint64, msg []byte) {
	tag, body, err := kv.SplitTag(msg)
	if err != nil || tag != kv.TagRequest {
		panic("not a request")
	}
	r, err := kv.DecodeRequest(body)
	if err != nil {
		panic(err)
	}
	e.sent, e.to = append(e.sent, r), append(e.to, to)
}
func (e *fakeEnv) After(_ time.Duration, fn func()) client.Timer {
	t := &fakeTimer{fn: fn}
	e.timers = append(e.timers, t)
	return t
}
func (e *fakeEnv) Rand() client.Rand { return e.rand }
func (e *fakeEnv) Note(string)       {}
func (e *fakeEnv) Now() int64        { return 0 }

// ops has a client issue n operations, each answered OK by the server it
// went to, and returns the commands.
func ops(t *testing.T, w client.Workload, n int) []kv.Command {
	t.Helper()
	env := &fakeEnv{rand: sim.NewRand(7, "c")}
	c, err := client.New(env, client.Config{ID: 9, Servers: []uint64{1, 2, 3}, Workload: w}, history.New())
	require.NoError(t, err)
	c.SetActive(true)
	for len(env.sent) < n {
		require.NotEmpty(t, env.timers)
		tm := env.timers[0]
		env.timers = env.timers[1:]
		if tm.stopped {
			continue
		}
		before := len(env.sent)
		tm.fn()
		if len(env.sent) > before {
			r := env.sent[len(env.sent)-1]
			require.Equal(t, 2, env.pending(), "the attempt's timeout and the give-up")
			c.Receive(env.to[len(env.to)-1], kv.WithTag(kv.TagResponse,
				kv.Response{ClientID: r.ClientID, Seq: r.Seq, Status: kv.StatusOK}.Encode()))
			require.Equal(t, 1, env.pending(), "answered: both stopped, the next operation's think scheduled")
		}
	}
	var out []kv.Command
	for _, r := range env.sent {
		out = append(out, r.Cmd)
	}
	return out
}

func TestValueSize(t *testing.T) {
	w := client.DefaultWorkload()
	w.ValueMin, w.ValueMax = 100, 100
	seen := map[string]bool{}
	written := map[string]bool{}
	cmds := ops(t, w, 200)
	for _, cmd := range cmds {
		switch cmd.Op {
		case kv.OpPut, kv.OpCAS, kv.OpAppend:
			assert.Len(t, cmd.Value, 100, "%v", cmd.Op)
			assert.False(t, seen[cmd.Value], "value %q written twice", cmd.Value)
			seen[cmd.Value] = true
			written[strings.TrimSuffix(cmd.Value, ";")] = true
		}
	}
	cas := 0
	for _, cmd := range cmds {
		if cmd.Op == kv.OpCAS && cmd.Expected != "" {
			cas++
			assert.Len(t, cmd.Expected, 100)
			assert.True(t, strings.HasPrefix(cmd.Expected, "c9."))
		}
	}
	assert.NotZero(t, cas)

	w.ValueMin, w.ValueMax = 50, 80
	sizes := map[int]bool{}
	for _, cmd := range ops(t, w, 200) {
		if cmd.Op == kv.OpPut {
			assert.True(t, len(cmd.Value) >= 50 && len(cmd.Value) <= 80, "%d", len(cmd.Value))
			sizes[len(cmd.Value)] = true
		}
	}
	assert.Greater(t, len(sizes), 5, "a range spreads the sizes")

	// Sizes come from the sequence number, not the client's stream: the
	// same operations are drawn with and without them.
	plain := ops(t, client.DefaultWorkload(), 50)
	w.ValueMin, w.ValueMax = 1000, 1000
	big := ops(t, w, 50)
	for i := range plain {
		assert.Equal(t, plain[i].Op, big[i].Op)
		assert.Equal(t, plain[i].Key, big[i].Key)
		assert.True(t, strings.HasPrefix(big[i].Value, strings.TrimSuffix(plain[i].Value, ";")))
	}
}

func TestWorkloadValidatesValueSize(t *testing.T) {
	for _, tt := range []struct{ min, max int }{{-1, 5}, {5, 4}, {0, 5}, {1, client.MaxValueSize + 1}} {
		w := client.DefaultWorkload()
		w.ValueMin, w.ValueMax = tt.min, tt.max
		assert.Error(t, w.Validate(), "%d..%d", tt.min, tt.max)
	}
	w := client.DefaultWorkload()
	w.ValueMin, w.ValueMax = 1, client.MaxValueSize
	assert.NoError(t, w.Validate())
}
