package raftpb

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func genEntry() *rapid.Generator[Entry] {
	return rapid.Custom(func(t *rapid.T) Entry {
		data := rapid.SliceOfN(rapid.Byte(), 0, 16).Draw(t, "data")
		if len(data) == 0 {
			data = nil
		}
		return Entry{
			Term:  rapid.Uint64().Draw(t, "term"),
			Index: rapid.Uint64().Draw(t, "index"),
			Type:  EntryType(rapid.IntRange(0, 1).Draw(t, "type")),
			Data:  data,
		}
	})
}

func genMessage() *rapid.Generator[Message] {
	return rapid.Custom(func(t *rapid.T) Message {
		m := Message{
			Type:       MessageType(rapid.IntRange(0, int(msgTypeCount)-1).Draw(t, "type")),
			From:       rapid.Uint64().Draw(t, "from"),
			To:         rapid.Uint64().Draw(t, "to"),
			Term:       rapid.Uint64().Draw(t, "term"),
			LogTerm:    rapid.Uint64().Draw(t, "logterm"),
			Index:      rapid.Uint64().Draw(t, "index"),
			Commit:     rapid.Uint64().Draw(t, "commit"),
			Reject:     rapid.Bool().Draw(t, "reject"),
			RejectHint: rapid.Uint64().Draw(t, "hint"),
		}
		if ents := rapid.SliceOfN(genEntry(), 0, 4).Draw(t, "entries"); len(ents) > 0 {
			m.Entries = ents
		}
		if rapid.Bool().Draw(t, "hasctx") {
			m.Context = rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(t, "ctx")
		}
		if rapid.Bool().Draw(t, "hassnap") {
			data := rapid.SliceOfN(rapid.Byte(), 1, 8).Draw(t, "snapdata")
			m.Snapshot = &Snapshot{Metadata: SnapshotMetadata{Index: 5, Term: 2,
				ConfState: ConfState{Voters: []uint64{1, 2, 3}}}, Data: data}
		}
		return m
	})
}

func TestMessageRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genMessage().Draw(t, "m")
		b := m.Marshal()
		got, err := Unmarshal(b)
		require.NoError(t, err)
		assert.Equal(t, m, got)
		// The decoded message must not alias the wire bytes.
		for i := range b {
			b[i] ^= 0xff
		}
		assert.Equal(t, m, got)
	})
}

func TestUnmarshalNeverPanicsOnGarbage(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := rapid.SliceOfN(rapid.Byte(), 0, 64).Draw(t, "b")
		_, err := Unmarshal(b)
		if err != nil {
			assert.True(t, errors.Is(err, ErrCorrupt), "%v", err)
		}
	})
}

func TestUnmarshalRejectsTruncation(t *testing.T) {
	m := Message{Type: MsgApp, From: 1, To: 2, Term: 3, Entries: []Entry{{Term: 3, Index: 7, Data: []byte("hello")}}}
	b := m.Marshal()
	for n := 0; n < len(b); n++ {
		_, err := Unmarshal(b[:n])
		require.ErrorIs(t, err, ErrCorrupt, "prefix of %d bytes", n)
	}
	_, err := Unmarshal(append(b, 0))
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestHardStateAndConfChangeRoundTrip(t *testing.T) {
	hs := HardState{Term: 9, Vote: 3, Commit: 1 << 40}
	got, err := DecodeHardState(AppendHardState(nil, hs))
	require.NoError(t, err)
	assert.Equal(t, hs, got)

	cc := ConfChange{Type: ConfChangeRemoveNode, NodeID: 4}
	gotcc, err := DecodeConfChangeV2(EncodeConfChange(cc))
	require.NoError(t, err)
	assert.Equal(t, ConfChangeV2{Changes: []ConfChange{cc}}, gotcc)
	old, err := DecodeConfChangeV2([]byte{byte(ConfChangeAddLearner), 7})
	require.NoError(t, err, "the single-change encoding still decodes")
	assert.Equal(t, ConfChangeV2{Changes: []ConfChange{{Type: ConfChangeAddLearner, NodeID: 7}}}, old)
	for _, v2 := range []ConfChangeV2{{}, {Changes: []ConfChange{{ConfChangeAddNode, 4}, {ConfChangeRemoveNode, 1}, {ConfChangeAddLearner, 9}}}} {
		got, err := DecodeConfChangeV2(EncodeConfChangeV2(v2))
		require.NoError(t, err)
		assert.Equal(t, v2, got)
	}

	for _, bad := range [][]byte{{9, 1}, {0, 0}, {confChangeV2Mark, 2, 0, 1}, {confChangeV2Mark}} {
		_, err = DecodeConfChangeV2(bad)
		assert.ErrorIs(t, err, ErrCorrupt, "%x", bad)
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add((&Message{Type: MsgApp, Entries: []Entry{{Term: 1, Index: 1}}}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Unmarshal(b)
		if err == nil {
			// Whatever decodes must re-encode to something that decodes the same.
			m2, err := Unmarshal(m.Marshal())
			if err != nil {
				t.Fatalf("re-decode: %v", err)
			}
			assert.Equal(t, m, m2)
		}
	})
}

// A decoded message's byte fields are copies (of one allocation for all of
// them): changing the input or appending to one entry's data changes no
// other field.
func TestUnmarshalCopiesEachField(t *testing.T) {
	m := Message{Type: MsgApp, From: 1, To: 2, Term: 3, Context: []byte("ctx")}
	for i := range 10 {
		m.Entries = append(m.Entries, Entry{Term: 3, Index: uint64(i + 1), Data: []byte{byte(i), byte(i), byte(i)}})
	}
	b := m.Marshal()
	got, err := Unmarshal(b)
	require.NoError(t, err)
	require.Equal(t, m, got)
	clear(b)
	got.Entries[0].Data = append(got.Entries[0].Data, 0xff, 0xff, 0xff)
	assert.Equal(t, []byte{1, 1, 1}, got.Entries[1].Data, "appending to one field reaches no other")
	assert.Equal(t, []byte("ctx"), got.Context)
	allocs := testing.AllocsPerRun(100, func() { _, _ = Unmarshal(m.Marshal()) })
	assert.LessOrEqual(t, allocs, 3.0, "the encoding, the entries, and one copy of all their data")
}
