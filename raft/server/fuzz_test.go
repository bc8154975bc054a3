package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/vfs"
	"github.com/seed4fee1fef/raftsim/raft/wal"
	"github.com/seed4fee1fef/raftsim/scenarios/diskfs"
	"github.com/seed4fee1fef/raftsim/sim/disk"
)

// quietEnv is an Env for starting a server and looking at it: nothing
// is sent, no timer fires.
type quietEnv struct {
	d      *disk.Disk
	exited error
}

func (e *quietEnv) Send(uint64, []byte)                {}
func (e *quietEnv) After(time.Duration, func())        {}
func (e *quietEnv) Disk() vfs.FS                       { return diskfs.New(e.d) }
func (e *quietEnv) Rand() subject.Rand                 { return firstRand{} }
func (e *quietEnv) Note(string)                        {}
func (e *quietEnv) Exit(err error)                     { e.exited = err }
func (e *quietEnv) Monotonic() time.Duration           { return 0 }
func (firstRand) IntN(n int) int                       { return 0 }
func (e *quietEnv) String() string                     { return "quiet env" }
func (e *quietEnv) put(name string, data []byte) error { return putDurable(e.d, name, data) }

type firstRand struct{}

// putDurable writes a file and makes it and its name durable.
func putDurable(d *disk.Disk, name string, data []byte) error {
	f, err := d.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return d.SyncDir()
}

// seedDisk is a real node's durable state: a WAL segment and its mark.
func seedDisk(f *testing.F) (seg, mark []byte) {
	d := disk.New()
	w, _, err := wal.Open(diskfs.New(d), wal.Options{})
	require.NoError(f, err)
	var ents []raftpb.Entry
	for i := uint64(1); i <= 6; i++ {
		ents = append(ents, raftpb.Entry{Index: i, Term: 1 + i/4, Data: []byte{byte(i)}})
	}
	require.NoError(f, w.Save(raftpb.HardState{Term: 2, Vote: 1, Commit: 4}, ents))
	require.NoError(f, w.Close())
	names, err := d.List()
	require.NoError(f, err)
	seg, err = d.ReadFile(names[0])
	require.NoError(f, err)
	m := hwmRecord{LastIndex: 6, LastTerm: 2, Term: 2, Vote: 1}
	return seg, (&hwmRecord{LastIndex: 3, LastTerm: 1, Term: 1, Vote: 1}).append(m.append(nil))
}

// FuzzStartFromDisk: whatever a node's WAL and high-water mark hold, the
// server starts or refuses to with an error, never panics; and when it
// starts, its term never went back from the mark's, and unless it
// recovers (no votes, no quorum acks) its log holds the mark's last entry.
//
// The default test run replays the seed corpus; fuzz for real with
// go test ./raft/server/ -run '^$' -fuzz FuzzStartFromDisk -fuzztime 3m
// (or bash .ci/run --long).
func FuzzStartFromDisk(f *testing.F) {
	seg, mark := seedDisk(f)
	f.Add(seg, mark)
	f.Add(seg[:len(seg)/2], mark)
	f.Add(seg, mark[:len(mark)-5])
	f.Add([]byte(nil), mark)
	f.Add(seg, []byte(nil))
	bad := append([]byte(nil), mark...)
	bad[7] ^= 4
	f.Add(seg, bad)
	f.Fuzz(func(t *testing.T, seg, mark []byte) {
		walName := "wal-0000000000000001.log"
		env := &quietEnv{d: disk.New()}
		if len(seg) > 0 {
			require.NoError(t, putDurable(env.d, walName, seg))
		}
		if len(mark) > 0 {
			require.NoError(t, putDurable(env.d, hwmFile, mark))
		}
		s, err := Start(env, Config{ID: 1, Peers: []uint64{1, 2, 3}})
		if err != nil {
			require.NotEmpty(t, err.Error())
			return
		}
		st := s.BasicStatus()
		m, status, _ := parseHWM(mark)
		if status != hwmOK {
			return
		}
		assert.GreaterOrEqual(t, st.Term, m.Term, "term went back from the mark's")
		// A node that does not recover holds everything the mark says
		// it had made durable (a fresh bootstrap re-creates the same
		// first entries, so a lost WAL can still hold them).
		if !st.Recovering && m.LastIndex > 0 {
			term, ok := s.node.LogTerm(m.LastIndex)
			assert.True(t, ok && term == m.LastTerm, "%+v: not recovering, but its log lacks the mark's entry %d/%d", st, m.LastIndex, m.LastTerm)
		}
	})
}
