package raftpb

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// PeekHeader reads back what Marshal wrote, and never allocates.
func TestPeekHeaderMatchesMarshal(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genMessage().Draw(t, "m")
		h, ok := PeekHeader(m.Marshal())
		require.True(t, ok)
		assert.Equal(t, Header{Type: m.Type, From: m.From, To: m.To, Term: m.Term, Index: m.Index}, h)
	})
	b := (&Message{Type: MsgApp, Term: 3, Index: 9, Entries: []Entry{{Term: 3, Index: 10}}}).Marshal()
	assert.Zero(t, testing.AllocsPerRun(100, func() { PeekHeader(b) }))
}

func TestPeekHeaderRejectsWhatIsNoMessage(t *testing.T) {
	b := (&Message{Type: MsgVote, From: 1, To: 2, Term: 300, Index: 1 << 40}).Marshal()
	for _, bad := range [][]byte{nil, {msgVersion}, {msgVersion + 1, byte(MsgApp), 0, 1, 2, 3, 4, 5}, {msgVersion, byte(msgTypeCount), 0, 1, 2, 3, 4, 5}, b[:5]} {
		_, ok := PeekHeader(bad)
		assert.False(t, ok, "%x", bad)
	}
}

// Whatever Unmarshal accepts, PeekHeader reads the same header from.
func FuzzPeekHeader(f *testing.F) {
	f.Add((&Message{Type: MsgApp, Term: 2, Index: 5, Entries: []Entry{{Term: 1, Index: 6}}}).Marshal())
	f.Add([]byte{msgVersion, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := PeekHeader(b)
		m, err := Unmarshal(b)
		if err != nil {
			return
		}
		require.True(t, ok)
		assert.Equal(t, Header{Type: m.Type, From: m.From, To: m.To, Term: m.Term, Index: m.Index}, h)
	})
}
