package kv

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// apply applies cmd at the store's next index and fails the test on error.
func apply(t require.TestingT, s *Store, cmd Command) Result {
	res, err := s.Apply(s.AppliedIndex()+1, cmd.Encode())
	require.NoError(t, err)
	return res
}

func TestOpSemantics(t *testing.T) {
	t.Parallel()
	// Each case starts from a store holding "k"="v" (unless initial is
	// absent) and applies one command as client 9, seq 1.
	type kv struct {
		val     string
		present bool
	}
	for _, tc := range []struct {
		name    string
		initial kv
		cmd     Command
		want    Result
		after   kv
	}{
		{"put absent", kv{}, Command{Op: OpPut, Key: "k", Value: "x"}, Result{Applied: true}, kv{"x", true}},
		{"put present", kv{"v", true}, Command{Op: OpPut, Key: "k", Value: "x"}, Result{Value: "v", Found: true, Applied: true}, kv{"x", true}},
		{"put empty value", kv{}, Command{Op: OpPut, Key: "k"}, Result{Applied: true}, kv{"", true}},
		{"get absent", kv{}, Command{Op: OpGet, Key: "k"}, Result{}, kv{}},
		{"get present", kv{"v", true}, Command{Op: OpGet, Key: "k"}, Result{Value: "v", Found: true}, kv{"v", true}},
		{"get present empty", kv{"", true}, Command{Op: OpGet, Key: "k"}, Result{Found: true}, kv{"", true}},
		{"get ignores value", kv{"v", true}, Command{Op: OpGet, Key: "k", Value: "junk", Expected: "junk"}, Result{Value: "v", Found: true}, kv{"v", true}},
		{"append absent creates", kv{}, Command{Op: OpAppend, Key: "k", Value: "x"}, Result{Applied: true}, kv{"x", true}},
		{"append present", kv{"v", true}, Command{Op: OpAppend, Key: "k", Value: "x"}, Result{Value: "v", Found: true, Applied: true}, kv{"vx", true}},
		{"append nothing creates", kv{}, Command{Op: OpAppend, Key: "k"}, Result{Applied: true}, kv{"", true}},
		{"cas match", kv{"v", true}, Command{Op: OpCAS, Key: "k", Expected: "v", Value: "x"}, Result{Value: "v", Found: true, Applied: true}, kv{"x", true}},
		{"cas mismatch reports current", kv{"v", true}, Command{Op: OpCAS, Key: "k", Expected: "w", Value: "x"}, Result{Value: "v", Found: true}, kv{"v", true}},
		{"cas absent with empty expected creates", kv{}, Command{Op: OpCAS, Key: "k", Value: "x"}, Result{Applied: true}, kv{"x", true}},
		{"cas absent with nonempty expected fails", kv{}, Command{Op: OpCAS, Key: "k", Expected: "v", Value: "x"}, Result{}, kv{}},
		{"cas present empty with empty expected", kv{"", true}, Command{Op: OpCAS, Key: "k", Value: "x"}, Result{Found: true, Applied: true}, kv{"x", true}},
		{"cas present with empty expected fails", kv{"v", true}, Command{Op: OpCAS, Key: "k", Value: "x"}, Result{Value: "v", Found: true}, kv{"v", true}},
		{"cas to same value", kv{"v", true}, Command{Op: OpCAS, Key: "k", Expected: "v", Value: "v"}, Result{Value: "v", Found: true, Applied: true}, kv{"v", true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := New()
			if tc.initial.present {
				apply(t, s, Command{ClientID: 1, Seq: 1, Op: OpPut, Key: "k", Value: tc.initial.val})
			}
			apply(t, s, Command{ClientID: 1, Seq: 2, Op: OpPut, Key: "other", Value: "untouched"})
			cmd := tc.cmd
			cmd.ClientID, cmd.Seq = 9, 1
			assert.Equal(t, tc.want, apply(t, s, cmd))

			got := apply(t, s, Command{ClientID: 1, Seq: 3, Op: OpGet, Key: "k"})
			assert.Equal(t, tc.after, kv{got.Value, got.Found}, "key afterwards")
			got = apply(t, s, Command{ClientID: 1, Seq: 4, Op: OpGet, Key: "other"})
			assert.Equal(t, Result{Value: "untouched", Found: true}, got, "other keys are untouched")
		})
	}
}

func TestRetriedWriteAppliesOnce(t *testing.T) {
	t.Parallel()
	s := New()
	cmd := Command{ClientID: 7, Seq: 1, Op: OpAppend, Key: "k", Value: "x"}
	first, err := s.Apply(1, cmd.Encode())
	require.NoError(t, err)
	assert.Equal(t, Result{Applied: true}, first)
	d := s.Digest()

	// The same command, committed again at a later index (a client retry
	// that went through a second proposal): consumed, not executed.
	again, err := s.Apply(2, cmd.Encode())
	require.NoError(t, err)
	assert.Equal(t, first, again, "the retry gets the cached result")
	assert.Equal(t, uint64(2), s.AppliedIndex())

	got := apply(t, s, Command{ClientID: 7, Seq: 2, Op: OpGet, Key: "k"})
	assert.Equal(t, Result{Value: "x", Found: true}, got, "appended once, not twice")
	assert.NotEqual(t, d, s.Digest())
}

func TestRetriedCASKeepsItsOriginalResult(t *testing.T) {
	t.Parallel()
	s := New()
	cas := Command{ClientID: 1, Seq: 1, Op: OpCAS, Key: "k", Expected: "", Value: "a"}
	assert.Equal(t, Result{Applied: true}, apply(t, s, cas))
	// Another client changes the key; the retried CAS would now fail if it
	// ran again, but it must report the original success.
	apply(t, s, Command{ClientID: 2, Seq: 1, Op: OpPut, Key: "k", Value: "b"})
	assert.Equal(t, Result{Applied: true}, apply(t, s, cas))
	assert.Equal(t, Result{Value: "b", Found: true}, apply(t, s, Command{ClientID: 3, Seq: 1, Op: OpGet, Key: "k"}))
}

func TestRetriedGetReturnsTheFirstRead(t *testing.T) {
	t.Parallel()
	s := New()
	apply(t, s, Command{ClientID: 1, Seq: 1, Op: OpPut, Key: "k", Value: "a"})
	get := Command{ClientID: 2, Seq: 5, Op: OpGet, Key: "k"}
	assert.Equal(t, Result{Value: "a", Found: true}, apply(t, s, get))
	apply(t, s, Command{ClientID: 1, Seq: 2, Op: OpPut, Key: "k", Value: "b"})
	assert.Equal(t, Result{Value: "a", Found: true}, apply(t, s, get), "a get takes effect once, at its first execution")
}

func TestStaleSeq(t *testing.T) {
	t.Parallel()
	s := New()
	apply(t, s, Command{ClientID: 1, Seq: 1, Op: OpPut, Key: "k", Value: "a"})
	apply(t, s, Command{ClientID: 1, Seq: 3, Op: OpPut, Key: "k", Value: "b"}) // seqs may skip
	before := s.Snapshot()

	for _, seq := range []uint64{0, 1, 2} {
		res, err := s.Apply(s.AppliedIndex()+1, Command{ClientID: 1, Seq: seq, Op: OpPut, Key: "k", Value: "late"}.Encode())
		require.NoError(t, err)
		assert.Equal(t, Result{Stale: true}, res, "seq %d", seq)
	}
	// Nothing changed but the applied index.
	after := New()
	require.NoError(t, after.Restore(before))
	for after.AppliedIndex() < s.AppliedIndex() {
		_, err := after.Apply(after.AppliedIndex()+1, nil)
		require.NoError(t, err)
	}
	assert.Equal(t, after.Snapshot(), s.Snapshot())

	// Sessions are per client: another client's low seq is fresh.
	assert.Equal(t, Result{Value: "b", Found: true}, apply(t, s, Command{ClientID: 2, Seq: 1, Op: OpGet, Key: "k"}))
	// And the client's next seq still runs.
	assert.Equal(t, Result{Value: "b", Found: true, Applied: true}, apply(t, s, Command{ClientID: 1, Seq: 4, Op: OpPut, Key: "k", Value: "c"}))
}

func TestApplyOrder(t *testing.T) {
	t.Parallel()
	put := Command{ClientID: 1, Seq: 1, Op: OpPut, Key: "k", Value: "v"}.Encode()

	s := New()
	_, err := s.Apply(0, put)
	require.ErrorIs(t, err, ErrOutOfOrder, "index 0 is never a log index")
	_, err = s.Apply(2, put)
	require.ErrorIs(t, err, ErrOutOfOrder, "gap")
	assert.Equal(t, uint64(0), s.AppliedIndex())
	assert.Equal(t, New().Snapshot(), s.Snapshot(), "a refused entry changes nothing")

	_, err = s.Apply(1, put)
	require.NoError(t, err)
	snap := s.Snapshot()
	for _, idx := range []uint64{0, 1, 3, 100} {
		_, err = s.Apply(idx, put)
		require.ErrorIs(t, err, ErrOutOfOrder, "index %d", idx)
		_, err = s.Apply(idx, nil)
		require.ErrorIs(t, err, ErrOutOfOrder, "no-op at index %d", idx)
	}
	assert.Equal(t, snap, s.Snapshot())

	// After a restore, the snapshot's index is where the log resumes.
	r := New()
	require.NoError(t, r.Restore(snap))
	_, err = r.Apply(1, nil)
	require.ErrorIs(t, err, ErrOutOfOrder)
	_, err = r.Apply(2, nil)
	require.NoError(t, err)

	// The end of the index space.
	var e encoder
	e.byte1(snapVersion)
	e.u(^uint64(0))
	e.u(0)
	e.u(0)
	full := New()
	require.NoError(t, full.Restore(e.b))
	_, err = full.Apply(0, nil)
	require.ErrorIs(t, err, ErrOutOfOrder)
}

func TestNoopEntries(t *testing.T) {
	t.Parallel()
	s := New()
	for i := uint64(1); i <= 3; i++ {
		data := []byte(nil)
		if i == 2 {
			data = []byte{}
		}
		res, err := s.Apply(i, data)
		require.NoError(t, err)
		assert.Equal(t, Result{}, res)
	}
	assert.Equal(t, uint64(3), s.AppliedIndex())
	r := New()
	require.NoError(t, r.Restore(s.Snapshot()))
	assert.Equal(t, uint64(3), r.AppliedIndex())
	assert.Empty(t, r.data)
	assert.Empty(t, r.sessions)
}

func TestCorruptEntryChangesNothing(t *testing.T) {
	t.Parallel()
	s := New()
	apply(t, s, Command{ClientID: 1, Seq: 1, Op: OpPut, Key: "k", Value: "v"})
	snap := s.Snapshot()
	good := Command{ClientID: 1, Seq: 2, Op: OpPut, Key: "k", Value: "w"}.Encode()
	for _, bad := range [][]byte{{0}, {cmdVersion}, good[:len(good)-1], append(good[:len(good):len(good)], 0), {cmdVersion, 0, 1, 2, 0, 0, 0}} {
		_, err := s.Apply(2, bad)
		require.ErrorIs(t, err, ErrCorrupt, "%x", bad)
		assert.NotErrorIs(t, err, ErrOutOfOrder)
		assert.Equal(t, snap, s.Snapshot(), "%x", bad)
	}
	_, err := s.Apply(2, good)
	require.NoError(t, err)
}

func TestSnapshotIsCanonical(t *testing.T) {
	t.Parallel()
	// The same state reached in two orders encodes to the same bytes.
	a, b := New(), New()
	var cmds []Command
	for i := range 20 {
		cmds = append(cmds, Command{ClientID: uint64(i), Seq: 1, Op: OpPut, Key: fmt.Sprintf("k%02d", i), Value: "v"})
	}
	for i := range cmds {
		apply(t, a, cmds[i])
		apply(t, b, cmds[len(cmds)-1-i])
	}
	assert.Equal(t, a.Snapshot(), b.Snapshot())
	assert.Equal(t, a.Digest(), b.Digest())
	for range 10 { // map order varies call to call; the encoding must not
		assert.Equal(t, a.Snapshot(), a.Snapshot())
	}

	apply(t, b, Command{ClientID: 1, Seq: 2, Op: OpGet, Key: "k00"})
	_, err := a.Apply(a.AppliedIndex()+1, nil)
	require.NoError(t, err)
	assert.NotEqual(t, a.Digest(), b.Digest(), "a get changes the session, so the state")
}

func TestRestoreRejectsNonCanonical(t *testing.T) {
	t.Parallel()
	s := New()
	apply(t, s, Command{ClientID: 1, Seq: 1, Op: OpPut, Key: "a", Value: "1"})
	apply(t, s, Command{ClientID: 2, Seq: 1, Op: OpPut, Key: "b", Value: "2"})
	good := s.Snapshot()

	build := func(keys []string, ids []uint64) []byte {
		var e encoder
		e.byte1(snapVersion)
		e.u(5)
		e.u(uint64(len(keys)))
		for _, k := range keys {
			e.str(k)
			e.str("v")
		}
		e.u(uint64(len(ids)))
		for _, id := range ids {
			e.u(id)
			e.u(1)
			e.result(Result{})
		}
		return e.b
	}
	require.NoError(t, New().Restore(build([]string{"a", "b"}, []uint64{1, 2})))
	for name, bad := range map[string][]byte{ //detguard:unordered test cases are independent
		"keys descending":     build([]string{"b", "a"}, nil),
		"duplicate key":       build([]string{"a", "a"}, nil),
		"sessions descending": build(nil, []uint64{2, 1}),
		"duplicate session":   build(nil, []uint64{1, 1}),
		"empty":               nil,
		"bad version":         append([]byte{9}, good[1:]...),
		"trailing":            append(good[:len(good):len(good)], 0),
		"truncated":           good[:len(good)-1],
		"bad result flags":    append(good[:len(good)-1:len(good)-1], 0x80),
	} {
		before := s.Snapshot()
		err := s.Restore(bad)
		require.ErrorIs(t, err, ErrCorrupt, name)
		assert.Equal(t, before, s.Snapshot(), "%s: a failed restore changes nothing", name)
	}
}

// genCommand draws a command over a small key set from a small set of
// clients, whose seqs mostly advance but are sometimes retried, stale or
// skip ahead. lastSeq is the generator's view of each client's seq.
func genCommand(t *rapid.T, lastSeq map[uint64]uint64) Command {
	id := rapid.Uint64Range(1, 3).Draw(t, "client")
	seq := lastSeq[id]
	switch rapid.IntRange(0, 9).Draw(t, "seqkind") {
	case 0, 1, 2, 3, 4, 5:
		seq++
	case 6, 7: // retry
	case 8: // late duplicate
		if seq > 0 {
			seq--
		}
	case 9:
		seq = rapid.Uint64Range(0, seq+3).Draw(t, "seq")
	}
	if seq > lastSeq[id] {
		lastSeq[id] = seq
	}
	key := rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, "key")
	val := rapid.SampledFrom([]string{"", "x", "y", "xy"}).Draw(t, "value")
	return Command{
		ClientID: id, Seq: seq,
		Op:  Op(rapid.IntRange(int(OpPut), int(OpCAS)).Draw(t, "op")),
		Key: key, Value: val,
		Expected: rapid.SampledFrom([]string{"", "x", "y", "xy", "yx"}).Draw(t, "expected"),
	}
}

// model is an independent, obviously-correct statement of the semantics.
type model struct {
	vals map[string]string
	has  map[string]bool
	seq  map[uint64]uint64
	res  map[uint64]Result
}

func (m *model) apply(c Command) Result {
	if last, ok := m.seq[c.ClientID]; ok && c.Seq <= last {
		if c.Seq == last {
			return m.res[c.ClientID]
		}
		return Result{Stale: true}
	}
	r := Result{Value: m.vals[c.Key], Found: m.has[c.Key]}
	write := func(v string) { m.vals[c.Key], m.has[c.Key], r.Applied = v, true, true }
	switch c.Op {
	case OpPut:
		write(c.Value)
	case OpAppend:
		write(m.vals[c.Key] + c.Value)
	case OpCAS:
		if m.vals[c.Key] == c.Expected {
			write(c.Value)
		}
	}
	m.seq[c.ClientID], m.res[c.ClientID] = c.Seq, r
	return r
}

// TestReplicasAgree applies one random log to three stores: one straight
// through, one that is restored from a snapshot part way, and an oracle
// model. Results must match the model, and the stores must end with equal
// digests and snapshot bytes.
func TestReplicasAgree(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 80).Draw(t, "n")
		cut := rapid.IntRange(0, n).Draw(t, "cut")
		lastSeq := map[uint64]uint64{}
		m := &model{map[string]string{}, map[string]bool{}, map[uint64]uint64{}, map[uint64]Result{}}
		a, b := New(), New()
		for i := 1; i <= n; i++ {
			idx := uint64(i)
			var data []byte
			var cmd Command
			if rapid.IntRange(0, 9).Draw(t, "noop") != 0 {
				cmd = genCommand(t, lastSeq)
				data = cmd.Encode()
			}
			ra, err := a.Apply(idx, data)
			require.NoError(t, err)
			rb, err := b.Apply(idx, data)
			require.NoError(t, err)
			require.Equal(t, ra, rb, "entry %d", idx)
			if data != nil {
				require.Equal(t, m.apply(cmd), ra, "entry %d: %v", idx, cmd)
			}
			if i == cut {
				// b is replaced by a fresh replica installed from a's snapshot.
				snap := a.Snapshot()
				b = New()
				require.NoError(t, b.Restore(snap))
				require.Equal(t, snap, b.Snapshot())
			}
			require.Equal(t, a.Digest(), b.Digest(), "entry %d", idx)
		}
		require.Equal(t, uint64(n), a.AppliedIndex())
		require.Equal(t, a.Snapshot(), b.Snapshot())

		// Snapshot -> Restore round trip, onto a store with other state.
		c := New()
		apply(t, c, Command{ClientID: 99, Seq: 1, Op: OpPut, Key: "zz", Value: "old"})
		require.NoError(t, c.Restore(a.Snapshot()))
		require.Equal(t, a.Snapshot(), c.Snapshot())
		require.Equal(t, a.Digest(), c.Digest())
		require.Equal(t, a.AppliedIndex(), c.AppliedIndex())
		require.Equal(t, a.data, c.data)
		require.Equal(t, a.sessions, c.sessions)
	})
}
