package wal

import (
	"errors"
	"fmt"
	"slices"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/vfs"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// splitmix64 is a tiny deterministic Rand for disk.Crash.
type splitmix64 struct{ s uint64 }

func (r *splitmix64) Uint64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// scripted returns the given values in turn, then zeros: it pins down
// exactly which prefix a crash keeps.
type scripted struct{ vals []uint64 }

func (r *scripted) Uint64() uint64 {
	if len(r.vals) == 0 {
		return 0
	}
	v := r.vals[0]
	r.vals = r.vals[1:]
	return v
}

var errKilled = errors.New("killed")

// killFS passes operations through to an FS until its budget of
// operations runs out; from then on every operation fails, as if the
// process died right there. A crash of the underlying disk then decides
// what of the work in flight survives.
type killFS struct {
	vfs.FS
	budget int
	killed bool
}

func (k *killFS) spend(op string) error {
	if k.budget <= 0 {
		k.killed = true
		return fmt.Errorf("%s: %w", op, errKilled)
	}
	k.budget--
	return nil
}

func (k *killFS) Create(name string) (vfs.File, error) {
	if err := k.spend("create"); err != nil {
		return nil, err
	}
	f, err := k.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return &killFile{File: f, k: k}, nil
}

func (k *killFS) Open(name string) (vfs.File, error) {
	if err := k.spend("open"); err != nil {
		return nil, err
	}
	f, err := k.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return &killFile{File: f, k: k}, nil
}

func (k *killFS) Remove(name string) error {
	if err := k.spend("remove"); err != nil {
		return err
	}
	return k.FS.Remove(name)
}

func (k *killFS) SyncDir() error {
	if err := k.spend("syncdir"); err != nil {
		return err
	}
	return k.FS.SyncDir()
}

type killFile struct {
	vfs.File
	k *killFS
}

func (f *killFile) Write(p []byte) (int, error) {
	if err := f.k.spend("write"); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f *killFile) Truncate(size int64) error {
	if err := f.k.spend("truncate"); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func (f *killFile) Sync() error {
	if err := f.k.spend("sync"); err != nil {
		return err
	}
	return f.File.Sync()
}

// model is the specification: what replay must return after a sequence of
// successful writes.
type model struct {
	hs   raftpb.HardState
	snap raftpb.SnapshotMetadata
	ents []raftpb.Entry // from snap.Index+1
}

func (m model) clone() model {
	m.ents = slices.Clone(m.ents)
	return m
}

func (m model) last() uint64 { return m.snap.Index + uint64(len(m.ents)) }

func (m model) termAt(i uint64) uint64 {
	if i <= m.snap.Index {
		return m.snap.Term
	}
	return m.ents[i-m.snap.Index-1].Term
}

func (m model) save(hs raftpb.HardState, ents []raftpb.Entry) model {
	m = m.clone()
	if !hs.IsEmpty() {
		m.hs = hs
	}
	if len(ents) > 0 {
		cut := ents[0].Index - m.snap.Index - 1
		m.ents = append(m.ents[:cut], ents...)
	}
	return m
}

func (m model) snapshot(meta raftpb.SnapshotMetadata) model {
	m = m.clone()
	if meta.Index == m.snap.Index {
		return m
	}
	if meta.Index <= m.last() && m.termAt(meta.Index) == meta.Term {
		m.ents = m.ents[meta.Index-m.snap.Index:]
	} else {
		m.ents = nil
	}
	m.snap = cloneMeta(meta)
	return m
}

func (m model) state() State {
	st := State{HardState: m.hs, Snapshot: m.snap}
	if len(m.ents) > 0 {
		st.Entries = slices.Clone(m.ents)
	}
	return st
}

// requireState checks got against want, ignoring TornBytes.
func requireState(t require.TestingT, want, got State, msgAndArgs ...any) {
	got.TornBytes, want.TornBytes = 0, 0
	require.Equal(t, want, got, msgAndArgs...)
}

func stateEqual(a, b State) bool {
	return a.HardState == b.HardState && metaEqual(&a.Snapshot, &b.Snapshot) &&
		slices.EqualFunc(a.Entries, b.Entries, func(x, y raftpb.Entry) bool {
			return x.Index == y.Index && x.Term == y.Term && x.Type == y.Type && string(x.Data) == string(y.Data)
		})
}

// op is one write a test performs.
type op struct {
	kind    string // "save", "snap", "release"
	hs      raftpb.HardState
	ents    []raftpb.Entry
	meta    raftpb.SnapshotMetadata
	release uint64
}

func (o op) String() string {
	switch o.kind {
	case "save":
		if len(o.ents) == 0 {
			return fmt.Sprintf("save hs=%+v", o.hs)
		}
		return fmt.Sprintf("save hs=%+v ents=[%d..%d]@%d", o.hs, o.ents[0].Index, o.ents[len(o.ents)-1].Index, o.ents[0].Term)
	case "snap":
		return fmt.Sprintf("snap %d@%d", o.meta.Index, o.meta.Term)
	}
	return fmt.Sprintf("release %d", o.release)
}

func (o op) do(w *WAL) error {
	switch o.kind {
	case "save":
		return w.Save(o.hs, o.ents)
	case "snap":
		return w.SaveSnapshot(o.meta)
	}
	return w.ReleaseTo(o.release)
}

func (o op) apply(m model) model {
	switch o.kind {
	case "save":
		return m.save(o.hs, o.ents)
	case "snap":
		return m.snapshot(o.meta)
	}
	return m
}

// genOp draws a write that is valid after m, as a Raft node could issue
// it: terms never decrease, votes are cast once per term, entries carry
// terms no older than the log before them, a new leader may overwrite an
// uncommitted suffix.
func genOp(t *rapid.T, m model, maxData int) op {
	switch k := rapid.IntRange(0, 19).Draw(t, "kind"); {
	case k == 0 && m.snap.Index > 0:
		return op{kind: "release", release: rapid.Uint64Range(0, m.snap.Index).Draw(t, "release")}
	case k <= 2 && m.last() > m.snap.Index:
		i := rapid.Uint64Range(m.snap.Index+1, m.last()).Draw(t, "snapIndex")
		meta := raftpb.SnapshotMetadata{Index: i, Term: m.termAt(i),
			ConfState: raftpb.ConfState{Voters: []uint64{1, 2, 3}}}
		if rapid.IntRange(0, 3).Draw(t, "divergent") == 0 {
			// An installed snapshot that does not match this log.
			meta.Index = rapid.Uint64Range(m.snap.Index+1, m.last()+3).Draw(t, "snapIndex2")
			meta.Term = max(m.hs.Term, 1) + 1
		}
		return op{kind: "snap", meta: meta}
	}
	hs := m.hs
	switch rapid.IntRange(0, 4).Draw(t, "hs") {
	case 0: // unchanged
		hs = raftpb.HardState{}
	case 1:
		hs.Term++
		hs.Vote = rapid.Uint64Range(0, 3).Draw(t, "vote")
	case 2:
		if hs.Vote == 0 {
			hs.Vote = rapid.Uint64Range(1, 3).Draw(t, "vote")
		}
		hs.Commit++
	default:
		hs.Commit++
	}
	term := max(m.hs.Term, hs.Term, 1)
	if hs.Term != 0 && hs.Term < term {
		hs.Term = term
	}
	n := rapid.IntRange(0, 4).Draw(t, "n")
	var ents []raftpb.Entry
	if n > 0 {
		first := rapid.Uint64Range(m.snap.Index+1, m.last()+1).Draw(t, "first")
		term = max(term, m.termAt(first-1))
		for i := range n {
			var data []byte
			if sz := rapid.IntRange(0, maxData).Draw(t, "size"); sz > 0 {
				data = make([]byte, sz)
				data[0] = byte(i)
				data[sz-1] = byte(first)
			}
			ents = append(ents, raftpb.Entry{Term: term, Index: first + uint64(i), Data: data,
				Type: raftpb.EntryType(rapid.IntRange(0, 1).Draw(t, "type"))})
		}
		if hs.IsEmpty() && m.hs.Term < term {
			hs = m.hs
			hs.Term = term
		}
	}
	return op{kind: "save", hs: hs, ents: ents}
}

// mustOpen opens fsys and fails the test on error.
func mustOpen(t interface {
	require.TestingT
	Helper()
}, fsys vfs.FS, opts Options) (*WAL, State) {
	t.Helper()
	w, st, err := Open(fsys, opts)
	require.NoError(t, err)
	return w, st
}

func ent(index, term uint64, data string) raftpb.Entry {
	e := raftpb.Entry{Index: index, Term: term}
	if data != "" {
		e.Data = []byte(data)
	}
	return e
}

func ents(first, last, term uint64) []raftpb.Entry {
	var out []raftpb.Entry
	for i := first; i <= last; i++ {
		out = append(out, ent(i, term, fmt.Sprintf("e%d.%d", i, term)))
	}
	return out
}
