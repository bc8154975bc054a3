package disk_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/sim/disk"
)

// names is small so creations, renames and removals collide often.
var names = []string{"a", "b", "c"}

type actionKind int

const (
	actCreate actionKind = iota
	actOpen
	actWrite
	actTruncate
	actSync
	actSyncDir
	actRename
	actRemove
	actClose
)

// action is one step; a and b pick a name or a handle by index modulo what
// exists, so any drawn sequence is runnable.
type action struct {
	kind actionKind
	a, b int
	data string
}

// round is a run of actions ending in a crash.
type round struct {
	actions    []action
	seed       uint64
	keepPrefix bool
}

// kindWeights makes writes common and syncs rarer, so crashes find long
// pending lists to cut.
var kindWeights = []actionKind{
	actCreate, actCreate, actOpen,
	actWrite, actWrite, actWrite, actWrite, actWrite, actWrite,
	actTruncate, actSync, actSync, actSyncDir,
	actRename, actRemove, actClose,
}

func drawRounds(t *rapid.T) []round {
	act := rapid.Custom(func(t *rapid.T) action {
		return action{
			kind: rapid.SampledFrom(kindWeights).Draw(t, "kind"),
			a:    rapid.IntRange(0, 7).Draw(t, "a"),
			b:    rapid.IntRange(0, 7).Draw(t, "b"),
			data: string(rapid.SliceOfN(rapid.Byte(), 1, 6).Draw(t, "data")),
		}
	})
	return rapid.SliceOfN(rapid.Custom(func(t *rapid.T) round {
		return round{
			actions:    rapid.SliceOfN(act, 8, 60).Draw(t, "actions"),
			seed:       rapid.Uint64().Draw(t, "seed"),
			keepPrefix: rapid.Bool().Draw(t, "keepPrefix"),
		}
	}), 1, 3).Draw(t, "rounds")
}

// handle is an open file and the model file it is bound to.
type handle struct {
	f  *disk.File
	id int
}

// runner drives a disk and the model through the same actions, checking
// that they agree on visible state after every step.
type runner struct {
	t       *rapid.T
	d       *disk.Disk
	m       *model
	handles []handle
}

func newRunner(t *rapid.T) *runner {
	return &runner{t: t, d: disk.New(), m: newModel(nil)}
}

func (r *runner) step(a action) {
	t, d, m := r.t, r.d, r.m
	name, other := names[a.a%len(names)], names[a.b%len(names)]
	var h *handle
	if len(r.handles) > 0 {
		h = &r.handles[a.a%len(r.handles)]
	}
	_, exists := m.dir[name]
	switch a.kind {
	case actCreate:
		f, err := d.Create(name)
		require.NoError(t, err)
		r.handles = append(r.handles, handle{f, m.create(name)})
	case actOpen:
		f, err := d.Open(name)
		if !exists {
			require.ErrorIs(t, err, disk.ErrNotExist)
			return
		}
		require.NoError(t, err)
		r.handles = append(r.handles, handle{f, m.dir[name]})
	case actWrite:
		if h != nil {
			_, err := h.f.Write([]byte(a.data))
			require.NoError(t, err)
			m.write(h.id, a.data)
		}
	case actTruncate:
		if h != nil {
			size := a.b % (len(m.visible[h.id]) + 1)
			require.NoError(t, h.f.Truncate(int64(size)))
			m.truncate(h.id, size)
		}
	case actSync:
		if h != nil {
			require.NoError(t, h.f.Sync())
			m.sync(h.id)
		}
	case actSyncDir:
		require.NoError(t, d.SyncDir())
		m.syncDir()
	case actRename:
		err := d.Rename(name, other)
		if !exists {
			require.ErrorIs(t, err, disk.ErrNotExist)
			return
		}
		require.NoError(t, err)
		m.rename(name, other)
	case actRemove:
		err := d.Remove(name)
		if !exists {
			require.ErrorIs(t, err, disk.ErrNotExist)
			return
		}
		require.NoError(t, err)
		m.remove(name)
	case actClose:
		if h != nil {
			require.NoError(t, h.f.Close())
			r.handles = append(r.handles[:a.a%len(r.handles)], r.handles[a.a%len(r.handles)+1:]...)
		}
	}
	r.checkVisible()
}

func (r *runner) checkVisible() {
	want := map[string]string{}
	for name, id := range r.m.dir {
		want[name] = r.m.visible[id]
	}
	require.Equal(r.t, want, contents(r.t, r.d), "visible state")
}

// crash crashes the disk, checks the outcome against the model and
// restarts the model from it. It returns the post-crash state.
func (r *runner) crash(rd round) map[string]string {
	t := r.t
	r.d.Crash(seeded(rd.seed), rd.keepPrefix)
	got := contents(t, r.d)

	for _, h := range r.handles {
		_, err := h.f.Write([]byte("x"))
		require.ErrorIs(t, err, disk.ErrClosed, "a handle outlived the crash")
	}
	for name, data := range got {
		assert.True(t, r.m.everWritten(data), "%q holds bytes never written to any file: %q", name, data)
	}
	outcomes := r.m.outcomes(rd.keepPrefix)
	if !rd.keepPrefix {
		require.Len(t, outcomes, 1)
		require.Equal(t, r.m.afterCrash(0, -1), got, "without a kept prefix only synced state survives")
	}
	_, ok := outcomes[render(got)]
	require.True(t, ok, "crash left a state no prefix of the pending ops explains: %v", got)
	require.Equal(t, r.d.DurableBytes(), r.d.VisibleBytes(), "visible == durable after a crash")

	r.m = newModel(got)
	r.handles = nil
	return got
}

// TestPropertyCrashMatchesModel: (a) without a kept prefix each file holds
// exactly its contents at its last Sync, if its name was durable; (b) with
// one, the state is one the model's prefix replay allows, and never holds
// bytes that were not written.
func TestPropertyCrashMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := newRunner(t)
		for _, rd := range drawRounds(t) {
			for _, a := range rd.actions {
				r.step(a)
			}
			r.crash(rd)
		}
	})
}

// TestPropertyCrashIsDeterministic: (c) the same actions and seed leave the
// same state, byte for byte, and the same counters.
func TestPropertyCrashIsDeterministic(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rounds := drawRounds(t)
		first, second := newRunner(t), newRunner(t)
		for _, rd := range rounds {
			for _, a := range rd.actions {
				first.step(a)
				second.step(a)
			}
			require.Equal(t, first.crash(rd), second.crash(rd))
			require.Equal(t, first.d.Stats(), second.d.Stats())
		}
	})
}

// A kept prefix must actually vary with the seed, or (b) proves little.
func TestCrashPrefixDependsOnSeed(t *testing.T) {
	seen := map[string]bool{}
	for seed := range uint64(64) {
		d := disk.New()
		f := mustCreate(t, d, "a")
		for range 8 {
			mustWrite(t, f, "0123456789")
		}
		d.Crash(seeded(seed), true)
		seen[render(contents(t, d))] = true
	}
	assert.Greater(t, len(seen), 20, "64 seeds gave only %d distinct crash states", len(seen))
}
