package server

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/wal"
	"github.com/seed4fee1fef/raftsim/scenarios/diskfs"
	"github.com/seed4fee1fef/raftsim/sim/disk"
)

func TestHWMFile(t *testing.T) {
	a := hwmRecord{LastIndex: 7, LastTerm: 2, Term: 3, Vote: 1}
	b := hwmRecord{LastIndex: 9, LastTerm: 3, Term: 3, Vote: 1, Recovering: true, RecoverTo: 12}
	two := b.append(a.append(nil))
	flipped := append([]byte(nil), two...)
	flipped[5] ^= 1 // in the first record: the second still stands
	flippedLast := append([]byte(nil), two...)
	flippedLast[hwmRecSize+5] ^= 1
	c := hwmRecord{LastIndex: 10, LastTerm: 3, Term: 5, VoteLost: true}
	for _, tc := range []struct {
		name   string
		data   []byte
		want   hwmRecord
		status hwmStatus
	}{
		{"empty", nil, hwmRecord{}, hwmMissing},
		{"one", a.append(nil), a, hwmOK},
		{"last wins", two, b, hwmOK},
		{"torn tail ignored", two[:len(two)-3], a, hwmOK},
		{"zero tail ignored", append(a.append(nil), make([]byte, hwmRecSize)...), a, hwmOK},
		{"bad checksum under a good record", flipped, b, hwmOK},
		{"bad checksum of the last record is damage", flippedLast, hwmRecord{}, hwmDamaged},
		{"vote-lost flag", c.append(nil), c, hwmOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, st, _ := parseHWM(tc.data)
			assert.Equal(t, tc.status, st)
			assert.Equal(t, tc.want, got)
		})
	}

	d := disk.New()
	_, st, _, err := readHWM(diskfs.New(d))
	require.NoError(t, err)
	assert.Equal(t, hwmMissing, st)
	w, err := createHWM(diskfs.New(d), a)
	require.NoError(t, err)
	require.NoError(t, w.put(b))
	require.NoError(t, w.put(b)) // unchanged: nothing written
	got, st, _, err := readHWM(diskfs.New(d))
	require.NoError(t, err)
	assert.Equal(t, hwmOK, st)
	assert.Equal(t, b, got)
	assert.Equal(t, int64(2*hwmRecSize), w.size)
	for i := range hwmCompactBytes / hwmRecSize {
		require.NoError(t, w.put(hwmRecord{LastIndex: uint64(100 + i), Term: 4}))
	}
	assert.LessOrEqual(t, w.size, int64(hwmCompactBytes), "compacted")
	got, _, _, err = readHWM(diskfs.New(d))
	require.NoError(t, err)
	assert.Equal(t, w.last, got)
	w.close()
}

func TestReconcile(t *testing.T) {
	ents := func(terms ...uint64) []raftpb.Entry {
		var out []raftpb.Entry
		for i, tm := range terms {
			out = append(out, raftpb.Entry{Index: uint64(i + 1), Term: tm})
		}
		return out
	}
	walState := func(term, vote uint64, e []raftpb.Entry) wal.State {
		return wal.State{HardState: raftpb.HardState{Term: term, Vote: vote, Commit: 1}, Entries: e}
	}
	for _, tc := range []struct {
		name     string
		st       wal.State
		mark     hwmRecord
		status   hwmStatus
		wantRec  bool
		wantTo   uint64
		wantTerm uint64
		wantVote uint64
		wantLost bool
	}{
		{"fresh", wal.State{}, hwmRecord{}, hwmMissing, false, 0, 0, 0, false},
		{"intact", walState(3, 2, ents(1, 2, 3)), hwmRecord{LastIndex: 3, LastTerm: 3, Term: 3, Vote: 2}, hwmOK, false, 0, 3, 2, false},
		{"wal ahead of mark (crash before the mark)", walState(3, 2, ents(1, 2, 3, 3)), hwmRecord{LastIndex: 3, LastTerm: 3, Term: 3, Vote: 2}, hwmOK, false, 0, 3, 2, false},
		{"truncated", walState(2, 1, ents(1, 2)), hwmRecord{LastIndex: 5, LastTerm: 3, Term: 4, Vote: 5}, hwmOK, true, 5, 4, 5, false},
		{"older log, longer", walState(2, 1, ents(1, 2, 2, 2)), hwmRecord{LastIndex: 3, LastTerm: 3, Term: 3, Vote: 0}, hwmOK, true, 3, 3, 0, false},
		{"whole log lost", wal.State{}, hwmRecord{LastIndex: 4, LastTerm: 2, Term: 2, Vote: 3}, hwmOK, true, 4, 2, 3, false},
		{"mark damaged", walState(3, 2, ents(1, 2, 3)), hwmRecord{}, hwmDamaged, true, 0, 3, 2, true},
		{"vote lost before", walState(3, 2, ents(1, 2, 3)), hwmRecord{LastIndex: 3, LastTerm: 3, Term: 3, Vote: 2, VoteLost: true}, hwmOK, false, 0, 3, 2, true},
		{"still recovering from before", walState(3, 2, ents(1, 2, 3)), hwmRecord{LastIndex: 3, LastTerm: 3, Term: 3, Vote: 2, Recovering: true, RecoverTo: 9}, hwmOK, true, 9, 3, 2, false},
		{"vote kept in the same term", walState(3, 0, ents(1, 2, 3)), hwmRecord{LastIndex: 3, LastTerm: 3, Term: 3, Vote: 4}, hwmOK, false, 0, 3, 4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.st
			rec := reconcile(&st, tc.mark, tc.status)
			assert.Equal(t, tc.wantRec, rec.Recovering)
			assert.Equal(t, tc.wantTo, rec.RecoverTo)
			assert.Equal(t, tc.wantTerm, st.HardState.Term)
			assert.Equal(t, tc.wantVote, st.HardState.Vote)
			assert.Equal(t, rec.Term, st.HardState.Term)
			assert.Equal(t, tc.wantLost, rec.VoteLost)
		})
	}
	st := walState(3, 2, ents(1, 2))
	st.Corrupt = &wal.CorruptError{File: "wal-x"}
	rec := reconcile(&st, hwmRecord{LastIndex: 2, LastTerm: 2, Term: 3, Vote: 2}, hwmOK)
	assert.True(t, rec.Recovering, "a damaged WAL recovers even if the mark looks satisfied")
	assert.Equal(t, uint64(2), rec.RecoverTo)
}

// A server started on a replaced (empty) disk never votes again, and its
// high-water mark says so from the start: a restart after its WAL is lost
// as well must not make it a voter that forgot what it promised before
// the disk was replaced.
func TestReplacedDiskStaysVoteLostAcrossRestarts(t *testing.T) {
	env := &quietEnv{d: disk.New()}
	cfg := Config{ID: 2, Peers: []uint64{1, 2, 3}, EmptyDisk: Replaced}
	s, err := Start(env, cfg)
	require.NoError(t, err)
	require.True(t, s.BasicStatus().VoteLost)
	s.halt(errors.New("test: stop"))

	// Its WAL is lost; the mark is what remains.
	names, err := env.d.List()
	require.NoError(t, err)
	for _, name := range names {
		if name != hwmFile {
			require.NoError(t, env.d.Remove(name))
		}
	}
	require.NoError(t, env.d.SyncDir())
	s, err = Start(&quietEnv{d: env.d}, cfg)
	require.NoError(t, err)
	assert.True(t, s.BasicStatus().VoteLost, "the mark kept it")
}

// seqRand draws each of its values in turn, then 0.
type seqRand struct{ vals []uint64 }

func (r *seqRand) Uint64() uint64 {
	if len(r.vals) == 0 {
		return 0
	}
	v := r.vals[0]
	r.vals = r.vals[1:]
	return v
}

// A replaced server that crashes at any point of its first start, with
// its fsyncs still in flight (a slow disk), comes back knowing what it is:
// outside the configuration and never voting again. Before, a crash that
// kept the first (blank) mark and the WAL's header but not the mark that
// says "vote lost" made it a blank initial voter again (soak seed 1096:
// it had voted in term 2 on the old disk and could vote in term 2 again).
func TestReplacedDiskCrashAtAnyPointOfItsFirstStart(t *testing.T) {
	cfg := Config{ID: 2, Peers: []uint64{1, 2, 3}, EmptyDisk: Replaced}
	firstStart := func() *disk.Disk {
		d := disk.New()
		d.SetSyncLatency(func() time.Duration { return 100 * time.Millisecond })
		s, err := Start(&quietEnv{d: d}, cfg)
		require.NoError(t, err)
		s.halt(errors.New("test: kill -9"))
		d.TakeSyncDelay()
		return d
	}
	pending := uint64(firstStart().Pending())
	require.Positive(t, pending)
	for kept := uint64(0); kept <= pending; kept++ {
		for _, torn := range []uint64{0, 1 << 40} {
			d := firstStart()
			d.Crash(&seqRand{vals: []uint64{kept, torn}}, true)
			d.SetSyncLatency(nil)
			s, err := Start(&quietEnv{d: d}, cfg)
			require.NoError(t, err, "kept %d of %d pending ops", kept, pending)
			assert.True(t, s.BasicStatus().VoteLost, "kept %d of %d pending ops (torn %d): it must know it never votes", kept, pending, torn)
			assert.Empty(t, s.Config().Voters.IDs(), "kept %d of %d pending ops (torn %d): it must not make itself a voter", kept, pending, torn)
		}
	}
}
