package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/seed4fee1fef/raftsim/raft/vfs"
	"github.com/seed4fee1fef/raftsim/raft/wal"
)

// The durable high-water mark: a tiny append-only file, separate from the
// WAL, that says how far the WAL was known to reach. The server appends a
// record and fsyncs it after every WAL Save and before any message that
// depends on the Save goes out, so whatever a peer may have counted on
// (an acknowledged entry, a granted vote) is covered by the last record.
// Before a Save that overwrites entries at or below the mark, it first
// lowers the mark to the entry before the overwrite, so the mark never
// names an entry the WAL has legitimately replaced.
// On start, a WAL shorter than the mark (truncated or damaged synced data)
// means the node lost data it promised to keep: it recovers (no votes, no
// quorum acks) until it has caught up again.
//
// Record format, fixed size:
//
//	[crc32c of the payload uint32 LE][payload: last index, last term,
//	 term, vote, recover-to (uint64 LE each), flags byte]
//
// flags bit 0: the node is recovering (recover-to 0 with the bit set: to
// an index still unknown, the last index of the first leader heard).
// flags bit 1: the node cannot vouch for its vote and never votes again
// (raft.Restored.VoteLost).
//
// A final record that is incomplete or all zero is a torn write (a crash
// before its fsync) and is ignored: the record before it stands. A
// complete record with a bad checksum is damage to synced data: if a valid
// record follows it, that later record is the mark; if it is the last
// record, the mark is unknown.
const (
	hwmFile    = "hwm.log"
	hwmTmpFile = "hwm.tmp"
	hwmPayload = 5*8 + 1
	hwmRecSize = 4 + hwmPayload
	// hwmCompactBytes is the size past which the file is rewritten with
	// its last record only.
	hwmCompactBytes = 64 << 10
)

var hwmCRC = crc32.MakeTable(crc32.Castagnoli)

// hwmRecord is one high-water mark.
type hwmRecord struct {
	LastIndex, LastTerm uint64 // the WAL's last entry after the Save
	Term, Vote          uint64 // the WAL's hard state after the Save
	// Recovering and RecoverTo: the node had lost data and had not yet
	// caught up to RecoverTo (0: unknown) when this record was written.
	Recovering bool
	RecoverTo  uint64
	// VoteLost: the node could not vouch for its term and vote (see
	// raft.Restored.VoteLost); it stays so for good.
	VoteLost bool
}

const (
	hwmFlagRecovering = 1 << 0
	hwmFlagVoteLost   = 1 << 1
)

func (r *hwmRecord) append(b []byte) []byte {
	n := len(b)
	b = append(b, make([]byte, hwmRecSize)...) // filled in place: a local array passed to crc32 escaped
	p := b[n+4 : n+4+hwmPayload]
	binary.LittleEndian.PutUint64(p[0:], r.LastIndex)
	binary.LittleEndian.PutUint64(p[8:], r.LastTerm)
	binary.LittleEndian.PutUint64(p[16:], r.Term)
	binary.LittleEndian.PutUint64(p[24:], r.Vote)
	binary.LittleEndian.PutUint64(p[32:], r.RecoverTo)
	if r.Recovering {
		p[40] |= hwmFlagRecovering
	}
	if r.VoteLost {
		p[40] |= hwmFlagVoteLost
	}
	binary.LittleEndian.PutUint32(b[n:], crc32.Checksum(p, hwmCRC))
	return b
}

func decodeHWM(b []byte) (hwmRecord, bool) {
	p := b[4:hwmRecSize]
	if crc32.Checksum(p, hwmCRC) != binary.LittleEndian.Uint32(b) || p[40]&^(hwmFlagRecovering|hwmFlagVoteLost) != 0 {
		return hwmRecord{}, false
	}
	return hwmRecord{
		LastIndex: binary.LittleEndian.Uint64(p[0:]), LastTerm: binary.LittleEndian.Uint64(p[8:]),
		Term: binary.LittleEndian.Uint64(p[16:]), Vote: binary.LittleEndian.Uint64(p[24:]),
		RecoverTo: binary.LittleEndian.Uint64(p[32:]), Recovering: p[40]&hwmFlagRecovering != 0,
		VoteLost: p[40]&hwmFlagVoteLost != 0,
	}, true
}

// hwmStatus is what reading the file found.
type hwmStatus uint8

const (
	hwmMissing hwmStatus = iota // no file (or no complete record): nothing known
	hwmOK                       // the last valid record is the mark
	hwmDamaged                  // a complete record failed its checksum: unknown
)

func (s hwmStatus) String() string {
	switch s {
	case hwmMissing:
		return "missing"
	case hwmOK:
		return "ok"
	}
	return "damaged"
}

// parseHWM returns the last record of data and what it found: the mark,
// or damaged if the last complete record fails its checksum. why
// describes any damage found, also where a later record still stands.
func parseHWM(data []byte) (rec hwmRecord, st hwmStatus, why string) {
	st = hwmMissing
	for off := 0; off < len(data); off += hwmRecSize {
		rest := data[off:]
		if len(rest) < hwmRecSize || allZero(rest) {
			break // torn tail
		}
		r, ok := decodeHWM(rest)
		if !ok {
			why = fmt.Sprintf("record at offset %d fails its checksum", off)
			rec, st = hwmRecord{}, hwmDamaged
			continue
		}
		rec, st = r, hwmOK
	}
	if st == hwmOK && why != "" {
		why += "; a later record stands"
	}
	return rec, st, why
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// readHWM reads the mark from fs.
func readHWM(fs vfs.FS) (hwmRecord, hwmStatus, string, error) {
	data, err := fs.ReadFile(hwmFile)
	if errors.Is(err, vfs.ErrNotExist) {
		return hwmRecord{}, hwmMissing, "", nil
	}
	if err != nil {
		return hwmRecord{}, hwmMissing, "", fmt.Errorf("read %s: %w", hwmFile, err)
	}
	rec, st, why := parseHWM(data)
	return rec, st, why, nil
}

// hwmWriter appends marks.
type hwmWriter struct {
	fs   vfs.FS
	f    vfs.File
	size int64
	last hwmRecord
	buf  []byte
}

// createHWM writes a fresh file holding rec only (through a temporary file
// and a rename, so a crash leaves the old file or the new one) and opens
// it for appending.
func createHWM(fs vfs.FS, rec hwmRecord) (*hwmWriter, error) {
	w := &hwmWriter{fs: fs}
	if err := w.rewrite(rec); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *hwmWriter) rewrite(rec hwmRecord) error {
	if w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
	tmp, err := w.fs.Create(hwmTmpFile)
	if err != nil {
		return err
	}
	b := rec.append(w.buf[:0])
	w.buf = b
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := w.fs.Rename(hwmTmpFile, hwmFile); err != nil {
		return err
	}
	if err := w.fs.SyncDir(); err != nil {
		return err
	}
	if w.f, err = w.fs.Open(hwmFile); err != nil {
		return err
	}
	w.size, w.last = int64(len(b)), rec
	return nil
}

// put makes rec the durable mark, if it differs from the last one.
func (w *hwmWriter) put(rec hwmRecord) error {
	if rec == w.last {
		return nil
	}
	if w.size+hwmRecSize > hwmCompactBytes {
		return w.rewrite(rec)
	}
	b := rec.append(w.buf[:0])
	w.buf = b
	if _, err := w.f.Write(b); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	w.size += int64(len(b))
	w.last = rec
	return nil
}

func (w *hwmWriter) close() {
	if w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
}

// reconcile compares what the WAL replayed (st) with the durable
// high-water mark and returns the mark the node starts with. Term and
// vote become the larger of the two (they never go back; st.HardState is
// updated). A damaged mark leaves the vote unvouched for (VoteLost). The
// node is recovering if the WAL lost anything it had made
// durable: a damaged WAL (cut at the bad record), a damaged mark
// (unknown: recover to the first leader's last index), a mark still
// recovering, or a WAL that no longer holds the mark's last entry.
func reconcile(st *wal.State, mark hwmRecord, status hwmStatus) hwmRecord {
	rec := hwmRecord{Term: st.HardState.Term, Vote: st.HardState.Vote}
	rec.LastIndex, rec.LastTerm = st.Snapshot.Index, st.Snapshot.Term
	if k := len(st.Entries); k > 0 {
		rec.LastIndex, rec.LastTerm = st.Entries[k-1].Index, st.Entries[k-1].Term
	}
	switch status {
	case hwmDamaged:
		// Neither how far the WAL had reached nor the last vote is
		// known: the WAL may have lost its tail with them.
		rec.Recovering, rec.VoteLost = true, true
	case hwmOK:
		if mark.Term > rec.Term || mark.Term == rec.Term && rec.Vote == 0 {
			rec.Term, rec.Vote = mark.Term, mark.Vote
		}
		if mark.Recovering {
			rec.Recovering, rec.RecoverTo = true, mark.RecoverTo
		}
		rec.VoteLost = mark.VoteLost
		// (An index at or below the snapshot is covered by it.)
		if mark.LastIndex > st.Snapshot.Index && termAt(st, mark.LastIndex) != mark.LastTerm {
			rec.Recovering = true
			if !mark.Recovering || mark.RecoverTo > 0 {
				rec.RecoverTo = max(rec.RecoverTo, mark.LastIndex)
			}
		}
	}
	if st.Corrupt != nil && !rec.Recovering {
		rec.Recovering = true
		if status == hwmOK {
			rec.RecoverTo = mark.LastIndex
		}
	}
	st.HardState.Term, st.HardState.Vote = rec.Term, rec.Vote
	return rec
}

// termAt is the term of the entry at i in st, or 0 if st does not hold it.
func termAt(st *wal.State, i uint64) uint64 {
	if i == st.Snapshot.Index {
		return st.Snapshot.Term
	}
	if i < st.Snapshot.Index {
		return 0
	}
	k := i - st.Snapshot.Index - 1
	if k >= uint64(len(st.Entries)) {
		return 0
	}
	return st.Entries[k].Term
}
