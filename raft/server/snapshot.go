package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"

	"github.com/seed4fee1fef/raftsim/raft/kv"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/vfs"
)

// Snapshot files. A snapshot (the state machine with its client sessions,
// its last included index and term, and the configuration) is one file,
// named after its index and term:
//
//	snap-%016x-%016x.snap: [magic "RSNP"][version 1][crc32c of payload uint32 LE][payload]
//
// where the payload is raftpb.AppendSnapshot. It is written to snapTmpFile,
// fsynced, renamed into place and the directory fsynced, and only then
// recorded in the WAL (WAL.SaveSnapshot), which makes it the node's
// snapshot; only then are the WAL segments it covers released. So a crash
// at any point leaves either the old snapshot and the log it stands on, or
// the new one: a snapshot file the WAL does not name is a leftover and is
// removed on start. A file that fails its checksum, or does not hold what
// the WAL names, is damage: the node never runs on it.
const (
	snapPrefix  = "snap-"
	snapSuffix  = ".snap"
	snapTmpFile = "snap.tmp"
	snapVersion = 1
)

var snapMagic = []byte("RSNP")

func snapFileName(index, term uint64) string {
	return fmt.Sprintf("%s%016x-%016x%s", snapPrefix, index, term, snapSuffix)
}

func isSnapFile(name string) bool {
	return strings.HasPrefix(name, snapPrefix) && strings.HasSuffix(name, snapSuffix)
}

func encodeSnapFile(s *raftpb.Snapshot) []byte {
	payload := raftpb.AppendSnapshot(nil, s)
	b := make([]byte, 0, len(snapMagic)+1+4+len(payload))
	b = append(b, snapMagic...)
	b = append(b, snapVersion)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(payload, hwmCRC))
	return append(b, payload...)
}

// errSnapDamaged is wrapped by every reason a snapshot file cannot be used.
var errSnapDamaged = errors.New("snapshot damaged")

func decodeSnapFile(b []byte, want raftpb.SnapshotMetadata) (raftpb.Snapshot, error) {
	bad := func(format string, args ...any) (raftpb.Snapshot, error) {
		return raftpb.Snapshot{}, fmt.Errorf("%w: %s", errSnapDamaged, fmt.Sprintf(format, args...))
	}
	h := len(snapMagic) + 1 + 4
	switch {
	case len(b) < h:
		return bad("%d bytes, shorter than the header", len(b))
	case !bytes.Equal(b[:len(snapMagic)], snapMagic) || b[len(snapMagic)] != snapVersion:
		return bad("bad magic or version")
	case crc32.Checksum(b[h:], hwmCRC) != binary.LittleEndian.Uint32(b[len(snapMagic)+1:]):
		return bad("checksum mismatch")
	}
	s, err := raftpb.DecodeSnapshot(b[h:])
	if err != nil {
		return bad("%v", err)
	}
	if s.Metadata.Index != want.Index || s.Metadata.Term != want.Term {
		return bad("holds %d/%d, the WAL names %d/%d", s.Metadata.Index, s.Metadata.Term, want.Index, want.Term)
	}
	return s, nil
}

// loadSnapshot reads the snapshot the WAL names (none if meta is empty).
func loadSnapshot(fs vfs.FS, meta raftpb.SnapshotMetadata, planted plant.Set) (raftpb.Snapshot, error) {
	if meta.Index == 0 {
		return raftpb.Snapshot{}, nil
	}
	name := snapFileName(meta.Index, meta.Term)
	b, err := fs.ReadFile(name)
	if errors.Is(err, vfs.ErrNotExist) {
		return raftpb.Snapshot{}, fmt.Errorf("%w: %s is missing", errSnapDamaged, name)
	}
	if err != nil {
		return raftpb.Snapshot{}, fmt.Errorf("read %s: %w", name, err)
	}
	if planted.Has(plant.SnapshotUnchecked) && len(b) > len(snapMagic)+5 {
		// The bug: trust the file, checksum or not.
		binary.LittleEndian.PutUint32(b[len(snapMagic)+1:], crc32.Checksum(b[len(snapMagic)+5:], hwmCRC))
	}
	s, err := decodeSnapFile(b, meta)
	if err != nil {
		return raftpb.Snapshot{}, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// removeSnapshotsExcept removes every snapshot file (and a leftover
// temporary one) but keep's. Removal need not be durable: a file that
// comes back after a crash is removed again on start.
func removeSnapshotsExcept(fs vfs.FS, keep string) error {
	names, err := fs.List()
	if err != nil {
		return err
	}
	for _, name := range names {
		if (isSnapFile(name) || name == snapTmpFile) && name != keep {
			if err := fs.Remove(name); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeSnapshot makes s durable under its own name: temporary file,
// fsync, rename, fsync of the directory.
func (s *Server) writeSnapshot(snap *raftpb.Snapshot) error {
	fs := s.env.Disk()
	f, err := fs.Create(snapTmpFile)
	if err != nil {
		return err
	}
	if _, err := f.Write(encodeSnapFile(snap)); err != nil {
		f.Close()
		return err
	}
	durable := !s.cfg.Planted.Has(plant.SnapshotNotSynced)
	if durable {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fs.Rename(snapTmpFile, snapFileName(snap.Metadata.Index, snap.Metadata.Term)); err != nil {
		return err
	}
	if durable {
		return fs.SyncDir()
	}
	return nil
}

// recordSnapshot makes snap the node's snapshot on disk: the file, then
// the WAL marker; then it releases what the snapshot covers.
func (s *Server) recordSnapshot(snap *raftpb.Snapshot) error {
	if err := s.writeSnapshot(snap); err != nil {
		return fmt.Errorf("write snapshot %d: %w", snap.Metadata.Index, err)
	}
	if err := s.log.SaveSnapshot(snap.Metadata); err != nil {
		return fmt.Errorf("record snapshot %d in the WAL: %w", snap.Metadata.Index, err)
	}
	if err := s.log.ReleaseTo(snap.Metadata.Index); err != nil {
		return fmt.Errorf("release the WAL up to %d: %w", snap.Metadata.Index, err)
	}
	if err := removeSnapshotsExcept(s.env.Disk(), snapFileName(snap.Metadata.Index, snap.Metadata.Term)); err != nil {
		return fmt.Errorf("remove older snapshots: %w", err)
	}
	s.snapIndex, s.snapBytes = snap.Metadata.Index, uint64(len(snap.Data))
	return nil
}

// maybeSnapshot takes a snapshot if the policy says so (or the subject
// wants one): at least
// SnapshotEntries entries applied since the last one, and (unless
// SnapshotRatio is 0) a log larger than SnapshotRatio times the last
// snapshot. It keeps TrailingEntries entries before the snapshot.
func (s *Server) maybeSnapshot(wanted bool) error {
	n := s.cfg.SnapshotEntries
	applied := s.store.AppliedIndex()
	st := s.node.BasicStatus()
	switch {
	case wanted && applied > s.snapIndex:
		// The subject cannot serve a peer from the snapshot it has
		// (subject.Ready.WantSnapshot): one now, whatever the policy.
	case n <= 0, applied < s.snapIndex+uint64(n):
		return nil
	case s.cfg.SnapshotRatio > 0 && st.LogBytes <= uint64(s.cfg.SnapshotRatio*float64(s.snapBytes)):
		return nil
	}
	index := applied
	switch {
	case s.cfg.Planted.Has(plant.SnapshotOffByOne):
		index-- // the bug: metadata one entry behind the state
	case s.snapshotsPastApplied():
		index = st.Commit // the bug: entries still being applied
	}
	meta, err := s.node.SnapshotMeta(index)
	if err != nil {
		return fmt.Errorf("snapshot at %d: %w", index, err)
	}
	snap := raftpb.Snapshot{Metadata: meta, Data: s.store.Snapshot()}
	if err := s.recordSnapshot(&snap); err != nil {
		return err
	}
	if err := s.node.Compact(snap, uint64(s.cfg.TrailingEntries)); err != nil {
		return fmt.Errorf("compact to %d: %w", meta.Index, err)
	}
	s.stats.SnapshotsTaken++
	s.env.Note(fmt.Sprintf("snapshot taken at %d/%d: %d bytes, log %d bytes", meta.Index, meta.Term, len(snap.Data), st.LogBytes))
	if s.cfg.OnSnapshot != nil {
		s.cfg.OnSnapshot(s.cfg.ID, SnapshotTaken, &snap)
	}
	return nil
}

// installSnapshot persists and installs a snapshot received from the
// leader (Ready.Snapshot), before the rest of its Ready.
func (s *Server) installSnapshot(snap *raftpb.Snapshot) error {
	meta := snap.Metadata
	if meta.Index < s.mark.LastIndex {
		// The snapshot replaces a log reaching further (a divergent
		// suffix): the mark must not name an entry the WAL is about
		// to drop. Lower it to the WAL's current snapshot, which the
		// WAL holds now and the new snapshot covers.
		low := s.mark
		low.LastIndex, low.LastTerm = s.walSnap.Index, s.walSnap.Term
		if err := s.marks.put(low); err != nil {
			return fmt.Errorf("persist %s: %w", hwmFile, err)
		}
		s.mark = low
	}
	if err := s.recordSnapshot(snap); err != nil {
		return err
	}
	s.walSnap = meta
	data := snap.Data
	if s.cfg.Planted.Has(plant.SnapshotDropsSessions) {
		data = kv.StripSessions(data)
	}
	if err := s.store.Restore(data); err != nil {
		return fmt.Errorf("install snapshot %d: %w", meta.Index, err)
	}
	if got := s.store.AppliedIndex(); got != meta.Index {
		return fmt.Errorf("install snapshot %d: its state machine is at %d", meta.Index, got)
	}
	s.stats.SnapshotsInstalled++
	s.env.Note(fmt.Sprintf("snapshot installed at %d/%d: %d bytes", meta.Index, meta.Term, len(snap.Data)))
	if s.cfg.OnSnapshot != nil {
		// What the store now holds, which is what a checker must judge.
		s.cfg.OnSnapshot(s.cfg.ID, SnapshotInstalled, &raftpb.Snapshot{Metadata: meta, Data: s.store.Snapshot()})
	}
	return nil
}

// SnapshotEvent says how a snapshot reached a server, for OnSnapshot.
type SnapshotEvent uint8

const (
	SnapshotTaken     SnapshotEvent = iota // taken from its own state machine
	SnapshotInstalled                      // received from the leader and installed
	SnapshotRestored                       // loaded from disk at start
)

func (e SnapshotEvent) String() string {
	switch e {
	case SnapshotTaken:
		return "taken"
	case SnapshotInstalled:
		return "installed"
	}
	return "restored"
}

// snapshotsPastApplied is the planted SnapshotPastApplied bug on the host's
// side (the protocol's is raft's snapshotLimit): snapshots taken when the
// commit index moves, before the entries are applied, at the commit index.
func (s *Server) snapshotsPastApplied() bool { return s.cfg.Planted.Has(plant.SnapshotPastApplied) }
