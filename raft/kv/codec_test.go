package kv

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func genString() *rapid.Generator[string] {
	return rapid.OneOf(
		rapid.Just(""),
		rapid.StringN(0, 8, -1),
		rapid.Map(rapid.SliceOfN(rapid.Byte(), 0, 8), func(b []byte) string { return string(b) }), // not UTF-8
	)
}

func genAnyCommand() *rapid.Generator[Command] {
	return rapid.Custom(func(t *rapid.T) Command {
		return Command{
			ClientID: rapid.Uint64().Draw(t, "client"),
			Seq:      rapid.Uint64().Draw(t, "seq"),
			Op:       Op(rapid.IntRange(int(OpPut), int(OpCAS)).Draw(t, "op")),
			Key:      genString().Draw(t, "key"),
			Value:    genString().Draw(t, "value"),
			Expected: genString().Draw(t, "expected"),
		}
	})
}

func genResult() *rapid.Generator[Result] {
	return rapid.Custom(func(t *rapid.T) Result {
		return Result{
			Value:   genString().Draw(t, "value"),
			Found:   rapid.Bool().Draw(t, "found"),
			Applied: rapid.Bool().Draw(t, "applied"),
			Stale:   rapid.Bool().Draw(t, "stale"),
		}
	})
}

func genResponse() *rapid.Generator[Response] {
	return rapid.Custom(func(t *rapid.T) Response {
		return Response{
			ClientID:   rapid.Uint64().Draw(t, "client"),
			Seq:        rapid.Uint64().Draw(t, "seq"),
			Status:     Status(rapid.IntRange(int(StatusOK), int(statusEnd)-1).Draw(t, "status")),
			LeaderHint: rapid.Uint64().Draw(t, "hint"),
			Result:     genResult().Draw(t, "result"),
		}
	})
}

// checkPrefixes asserts that every proper prefix of a valid encoding is
// rejected with ErrCorrupt (no encoding is a prefix of another).
func checkPrefixes[T any](t *rapid.T, b []byte, decode func([]byte) (T, error)) {
	for n := range len(b) {
		_, err := decode(b[:n])
		require.ErrorIs(t, err, ErrCorrupt, "prefix of %d/%d bytes", n, len(b))
	}
	_, err := decode(append(b[:len(b):len(b)], 0))
	require.ErrorIs(t, err, ErrCorrupt, "trailing byte")
}

func TestCommandRoundTrip(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		c := genAnyCommand().Draw(t, "c")
		b := c.Encode()
		got, err := DecodeCommand(b)
		require.NoError(t, err)
		require.Equal(t, c, got)
		require.Equal(t, b, got.Encode())
		checkPrefixes(t, b, DecodeCommand)
	})
}

func TestRequestRoundTrip(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		r := NewRequest(genAnyCommand().Draw(t, "c"))
		b := r.Encode()
		got, err := DecodeRequest(b)
		require.NoError(t, err)
		require.Equal(t, r, got)
		require.Equal(t, b, got.Encode())
		checkPrefixes(t, b, DecodeRequest)

		msg := WithTag(TagRequest, b)
		tag, payload, err := SplitTag(msg)
		require.NoError(t, err)
		require.Equal(t, TagRequest, tag)
		require.Equal(t, b, payload)
	})
}

func TestResponseRoundTrip(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		r := genResponse().Draw(t, "r")
		b := r.Encode()
		got, err := DecodeResponse(b)
		require.NoError(t, err)
		require.Equal(t, r, got)
		require.Equal(t, b, got.Encode())
		checkPrefixes(t, b, DecodeResponse)
	})
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	cmd := Command{ClientID: 1, Seq: 2, Op: OpCAS, Key: "k", Value: "v", Expected: "e"}
	enc := cmd.Encode()
	with := func(i int, v byte) []byte {
		b := append([]byte(nil), enc...)
		b[i] = v
		return b
	}
	for name, b := range map[string][]byte{ //detguard:unordered test cases are independent
		"empty":              nil,
		"version 0":          with(0, 0),
		"version 2":          with(0, 2),
		"op 0":               with(1, 0),
		"op past the end":    with(1, byte(opEnd)),
		"non-minimal seq":    {cmdVersion, byte(OpGet), 1, 0x82, 0x00, 0, 0, 0},
		"key length too big": append([]byte{cmdVersion, byte(OpGet), 1, 2, 10}, "k"...),
		"varint overflow":    {cmdVersion, byte(OpGet), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0, 0, 0},
	} {
		_, err := DecodeCommand(b)
		assert.ErrorIs(t, err, ErrCorrupt, name)
	}
	// The minimal form of the non-minimal case above is accepted.
	_, err := DecodeCommand([]byte{cmdVersion, byte(OpGet), 1, 2, 0, 0, 0})
	require.NoError(t, err)

	// Invalid enums encode as they are, and decoding catches them.
	_, err = DecodeCommand(Command{Op: 0}.Encode())
	assert.ErrorIs(t, err, ErrCorrupt)
	_, err = DecodeResponse(Response{Status: 0}.Encode())
	assert.ErrorIs(t, err, ErrCorrupt)
	_, err = DecodeResponse(Response{Status: statusEnd}.Encode())
	assert.ErrorIs(t, err, ErrCorrupt)
	resp := Response{Status: StatusOK}.Encode()
	resp[len(resp)-1] = 0x08 // unknown result flag
	_, err = DecodeResponse(resp)
	assert.ErrorIs(t, err, ErrCorrupt)

	// A request whose header disagrees with its command.
	for _, r := range []Request{
		{ClientID: 1, Seq: 2, Cmd: Command{ClientID: 1, Seq: 3, Op: OpGet}},
		{ClientID: 1, Seq: 2, Cmd: Command{ClientID: 4, Seq: 2, Op: OpGet}},
	} {
		_, err = DecodeRequest(r.Encode())
		assert.ErrorIs(t, err, ErrCorrupt, "%+v", r)
	}
}

func TestDecodedValuesDoNotAliasInput(t *testing.T) {
	t.Parallel()
	cmd := Command{ClientID: 1, Seq: 1, Op: OpPut, Key: "key", Value: "value", Expected: "exp"}
	b := cmd.Encode()
	got, err := DecodeCommand(b)
	require.NoError(t, err)
	for i := range b {
		b[i] = 'X'
	}
	assert.Equal(t, cmd, got)
}

// A command's strings share one copy of the input: one allocation.
func TestDecodeCommandAllocatesOnce(t *testing.T) {
	b := Command{ClientID: 1, Seq: 1, Op: OpCAS, Key: "key", Value: "value", Expected: "exp"}.Encode()
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _, _ = DecodeCommand(b) }))
}

func TestTags(t *testing.T) {
	t.Parallel()
	payload := []byte("abc")
	for _, tag := range []byte{TagRaft, TagRequest, TagResponse} {
		msg := WithTag(tag, payload)
		assert.Equal(t, append([]byte{tag}, payload...), msg)
		msg[1] = 'z'
		assert.Equal(t, []byte("abc"), payload, "WithTag copies")
		got, p, err := SplitTag(msg)
		require.NoError(t, err)
		assert.Equal(t, tag, got)
		assert.Equal(t, []byte("zbc"), p)
	}
	got, p, err := SplitTag([]byte{TagRaft})
	require.NoError(t, err)
	assert.Equal(t, TagRaft, got)
	assert.Empty(t, p)

	_, _, err = SplitTag(nil)
	assert.ErrorIs(t, err, ErrCorrupt)
	_, _, err = SplitTag([]byte("Xabc"))
	assert.ErrorIs(t, err, ErrCorrupt)
}

func TestStrings(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "put", OpPut.String())
	assert.Equal(t, "cas", OpCAS.String())
	assert.Equal(t, "op(0)", Op(0).String())
	assert.Equal(t, "not-leader", StatusNotLeader.String())
	assert.Equal(t, "status(9)", Status(9).String())
	assert.Equal(t, `c1#2 cas "k" "a"->"b"`, Command{ClientID: 1, Seq: 2, Op: OpCAS, Key: "k", Expected: "a", Value: "b"}.String())
	assert.Equal(t, `c1#2 get "k"`, Command{ClientID: 1, Seq: 2, Op: OpGet, Key: "k"}.String())
}
