package sim_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/sim"
)

// firstByte describes a message by its first byte: type = byte, term and
// index = its length (a protocol the kernel knows nothing about).
type firstByte struct{}

func (firstByte) Describe(b []byte) sim.MsgInfo {
	if len(b) == 0 {
		return sim.MsgInfo{}
	}
	return sim.MsgInfo{Type: b[0], Term: uint64(len(b)), Index: uint64(len(b)) * 10}
}

func (firstByte) TypeName(t uint8) string { return "t" + string(rune('a'+t%26)) }

// Every event about a message (send, dup, deliver, drop) carries what the
// Describer said about it; the description leaves the hash alone.
func TestDescriberLabelsEveryMessageEvent(t *testing.T) {
	run := func(desc sim.Describer) (*sim.World, string) {
		w, err := sim.New(sim.Config{Seed: 3, Nodes: 2, Trace: sim.TraceFull, Link: sim.LinkConfig{MinLatency: time.Millisecond,
			MaxLatency: time.Millisecond, Duplicate: 1}})
		require.NoError(t, err)
		if desc != nil {
			w.Trace().SetDescriber(desc)
		}
		envs, _ := startAll(t, w)
		envs[1].Send(2, []byte{2, 0, 0})
		w.RunFor(5 * time.Millisecond)
		require.NoError(t, w.Net().Cut(1, 2))
		envs[1].Send(2, []byte{1})
		w.RunFor(5 * time.Millisecond)
		return w, w.Trace().Hash()
	}
	plain, hash := run(nil)
	w, described := run(firstByte{})
	assert.Equal(t, hash, described, "a description is not hashed")

	kinds := map[sim.Kind]int{}
	w.Trace().Each(func(_ uint64, e *sim.Event) bool {
		if e.Msg == 0 {
			return true
		}
		kinds[e.Kind]++
		switch e.Msg {
		case 1:
			assert.Equal(t, sim.MsgInfo{Type: 2, Term: 3, Index: 30}, sim.MsgInfo{Type: e.MsgType, Term: e.Term, Index: e.Index}, e.Format())
		case 2:
			assert.Equal(t, sim.MsgInfo{Type: 1, Term: 1, Index: 10}, sim.MsgInfo{Type: e.MsgType, Term: e.Term, Index: e.Index}, e.Format())
		}
		return true
	})
	assert.Equal(t, map[sim.Kind]int{sim.KindSend: 2, sim.KindDup: 1, sim.KindDeliver: 2, sim.KindDrop: 1}, kinds)
	plain.Trace().Each(func(_ uint64, e *sim.Event) bool {
		assert.Zero(t, e.MsgType)
		return true
	})

	var b bytes.Buffer
	require.NoError(t, w.Trace().WriteJSONL(&b))
	assert.Contains(t, b.String(), `"kind":"send","node":1,"peer":2,"msg":1,"size":3,"type":"tc","term":3,"index":30}`)
	assert.Contains(t, b.String(), `"kind":"drop","node":2,"peer":1,"msg":2,"size":1,"type":"tb","term":1,"index":10,"note":"partition"}`)
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var je sim.JSONEvent
		require.NoError(t, json.Unmarshal([]byte(line), &je))
	}
	var send *sim.Event
	w.Trace().Each(func(_ uint64, e *sim.Event) bool {
		if e.Kind == sim.KindSend {
			send = e
			return false
		}
		return true
	})
	require.NotNil(t, send)
	assert.True(t, strings.HasSuffix(w.Trace().Format(send), " tc term=3 index=30"), w.Trace().Format(send))
	assert.True(t, strings.HasSuffix(send.Format(), " type(2) term=3 index=30"), send.Format())
}
