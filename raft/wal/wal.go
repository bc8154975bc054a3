package wal

import (
	"errors"
	"fmt"
	"slices"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/vfs"
)

// DefaultSegmentBytes is the segment size Options.SegmentBytes defaults to.
const DefaultSegmentBytes = 4 << 20

// Options configure a WAL.
type Options struct {
	// SegmentBytes is the size past which the WAL moves on to a new
	// segment: a write that would take a segment holding more than its
	// header beyond this size goes to a new segment instead (so a record
	// larger than SegmentBytes gets a segment of its own). Zero or less
	// means DefaultSegmentBytes.
	SegmentBytes int64
	// KeepValidPrefix makes Open, instead of failing on damage to durable
	// data (ErrCorrupt), cut the WAL at the first bad record (truncating
	// that segment there and removing every later segment), make the cut
	// durable, and replay what is left. State.Corrupt then reports the
	// damage found. A host that uses it must know what it may have lost:
	// it compares the result with a durable high-water mark kept
	// elsewhere and does not vote or count toward quorums until it has
	// caught up again.
	KeepValidPrefix bool
}

// State is what Open replayed: the last hard state recorded, the last
// snapshot marker (zero if none), and the log after it, with every
// overwrite applied. Entries are consecutive from Snapshot.Index+1.
type State struct {
	HardState raftpb.HardState
	Entries   []raftpb.Entry
	Snapshot  raftpb.SnapshotMetadata
	// TornBytes is how many bytes of a torn final record Open cut off the
	// last segment (0 if none): the trace of a crash mid-write, worth a log
	// line but not an error.
	TornBytes int64
	// Corrupt is the damage Open cut off with Options.KeepValidPrefix
	// (the first of it, if it took several cuts), or nil.
	Corrupt *CorruptError
}

// Stats are a WAL's counters since Open.
type Stats struct {
	BytesWritten int64 // bytes appended to segments, frames and headers included
	Records      int64 // records appended, headers included
	Syncs        int64 // File.Sync calls
	SyncDirs     int64 // FS.SyncDir calls
	Saves        int64 // Save and SaveSnapshot calls that wrote a record
	Segments     int   // live segment files
	Rotations    int64 // segments created by rotation
	Released     int64 // segment files removed (ReleaseTo, or leftovers at Open)
	Replayed     int64 // records Open replayed
	TornBytes    int64 // bytes of a torn tail Open cut off
}

// WAL is an open write-ahead log. It is not safe for concurrent use.
type WAL struct {
	fs   vfs.FS
	opts Options

	segs []segment // live segments, ascending; the last is the one written
	f    vfs.File  // the last segment, open for appending
	size int64     // its size
	// recs counts the records after the header in the last segment: a
	// segment is never rotated away from while it holds only its header.
	recs    int
	lastCRC uint32 // checksum of the last record written or replayed

	st logState // terms only

	buf, hbuf []byte
	stats     Stats
	err       error // sticky: after a failed write or sync the WAL is done
	closed    bool
}

// Open replays the WAL in fsys and returns it ready to append, with the
// state it replayed. On an empty FS it creates the first segment.
//
// Open cuts a torn tail off the last segment, writes a header into a last
// segment a crash left without one, and then syncs that segment and the
// directory: everything it returns is durable before the host acts on it,
// even if the bytes were only in the page cache of a process that died.
// Damage to data that was once durable is an error wrapping ErrCorrupt.
func Open(fsys vfs.FS, opts Options) (*WAL, State, error) {
	if !opts.KeepValidPrefix {
		return open(fsys, opts)
	}
	var first *CorruptError
	for {
		w, st, err := open(fsys, opts)
		var ce *CorruptError
		if !errors.As(err, &ce) {
			if first != nil {
				st.Corrupt = first
			}
			return w, st, err
		}
		if first == nil {
			first = ce
		}
		if err := cutAt(fsys, ce); err != nil {
			return nil, State{}, fmt.Errorf("wal: open: cutting off %v: %w", ce, err)
		}
	}
}

// cutAt makes the WAL end just before the damage ce reports: the damaged
// segment is truncated at the bad record (removed if that changes
// nothing, so every cut makes progress) and every later segment removed,
// durably.
func cutAt(fsys vfs.FS, ce *CorruptError) error {
	seq, ok := parseSegmentName(ce.File)
	if !ok {
		return errors.New("damage outside a segment")
	}
	names, err := fsys.List()
	if err != nil {
		return err
	}
	for _, name := range names {
		s, ok := parseSegmentName(name)
		if !ok || s < seq {
			continue
		}
		if s == seq {
			f, err := fsys.Open(name)
			if err != nil {
				return err
			}
			size, err := f.Size()
			if err == nil && ce.Offset > 0 && ce.Offset < size {
				if err = f.Truncate(ce.Offset); err == nil {
					err = f.Sync()
				}
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return err
				}
				continue
			}
			f.Close()
			if err != nil {
				return err
			}
		}
		if err := fsys.Remove(name); err != nil {
			return err
		}
	}
	return fsys.SyncDir()
}

func open(fsys vfs.FS, opts Options) (*WAL, State, error) {
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	w := &WAL{fs: fsys, opts: opts}
	names, err := fsys.List()
	if err != nil {
		return nil, State{}, fmt.Errorf("wal: open: %w", err)
	}
	var all []segment
	for _, name := range names {
		if seq, ok := parseSegmentName(name); ok {
			all = append(all, segment{name: name, seq: seq})
		}
	}

	// Replay the run of consecutive segments that ends with the newest.
	// Anything older, before a gap, is what an interrupted ReleaseTo left
	// behind (a file system may persist unlinks in any order): the run
	// starts at a header checkpoint, and the coverage check below proves
	// that nothing before it is still needed.
	start := max(len(all)-1, 0)
	for start > 0 && all[start-1].seq+1 == all[start].seq {
		start--
	}
	stale, run := all[:start], all[start:]
	r := replayer{st: logState{keepEntries: true}}
	var good, torn int64
	var records int
	if len(run) == 0 {
		run = []segment{{name: segmentName(1), seq: 1}}
		if w.f, err = fsys.Create(run[0].name); err != nil {
			return nil, State{}, fmt.Errorf("wal: open: %w", err)
		}
	} else {
		for i := range run {
			data, err := fsys.ReadFile(run[i].name)
			if err != nil {
				return nil, State{}, fmt.Errorf("wal: open: %w", err)
			}
			last := i == len(run)-1
			n, nrec, err := r.scan(&run[i], data, last)
			if err != nil {
				return nil, State{}, err
			}
			if n == 0 && !last {
				return nil, State{}, &CorruptError{File: run[i].name, Reason: "sealed segment has no header"}
			}
			good, torn, records = n, int64(len(data))-n, nrec
		}
	}
	lastSeg := &run[len(run)-1]
	if !r.started && lastSeg.seq != 1 {
		return nil, State{}, &CorruptError{File: lastSeg.name,
			Reason: "the oldest remaining segment has no header, so the state before it is lost"}
	}
	if r.st.hole > r.st.snap.Index {
		return nil, State{}, &CorruptError{File: run[0].name, Reason: sprintf(
			"entries up to %d were released with earlier segments, but no snapshot covers them (snapshot index %d)",
			r.st.hole, r.st.snap.Index)}
	}

	if w.f == nil {
		if w.f, err = fsys.Open(lastSeg.name); err != nil {
			return nil, State{}, fmt.Errorf("wal: open: %w", err)
		}
	}
	w.st, w.segs, w.lastCRC, w.size = r.st, run, r.lastCRC, good
	w.recs = max(records-1, 0) // not counting the header
	w.stats.Replayed, w.stats.TornBytes = r.records, torn
	if err := w.recover(lastSeg, torn, stale); err != nil {
		w.f.Close()
		return nil, State{}, err
	}

	state := State{HardState: r.st.hs, Snapshot: r.st.snap, TornBytes: torn}
	if len(r.st.ents) > 0 {
		state.Entries = slices.Clip(r.st.ents)
	}
	w.st.keepEntries, w.st.ents = false, nil
	return w, state, nil
}

// recover makes the replayed state durable and the last segment ready to
// append to: cut the torn tail, give a headerless segment its header, sync
// it, remove leftovers, and sync the directory.
func (w *WAL) recover(seg *segment, torn int64, stale []segment) error {
	fail := func(err error) error { return fmt.Errorf("wal: open: %w", err) }
	if torn > 0 {
		if err := w.f.Truncate(w.size); err != nil {
			return fail(err)
		}
	}
	if w.size == 0 {
		b, crc := w.appendHeaderRecord(w.hbuf[:0], seg.seq)
		w.hbuf = b
		if err := w.writeOut(b, 1, crc); err != nil {
			return err
		}
	}
	if err := w.f.Sync(); err != nil {
		return fail(err)
	}
	w.stats.Syncs++
	for _, s := range stale {
		if err := w.fs.Remove(s.name); err != nil {
			return fail(err)
		}
		w.stats.Released++
	}
	if err := w.fs.SyncDir(); err != nil {
		return fail(err)
	}
	w.stats.SyncDirs++
	return nil
}

// Save appends hs and ents and syncs once before it returns: the host may
// send what depends on them as soon as it returns nil. hs is skipped if it
// is the zero value or unchanged. The entries and their hard state go into
// one record, so a crash keeps all of a Save or none of it. A Save with
// nothing to write does nothing.
//
// Input replay would reject (see ErrInvalid) is refused before anything is
// written. Any I/O error leaves the WAL unusable: the host must Close it
// and Open again, which replays what is durable.
func (w *WAL) Save(hs raftpb.HardState, ents []raftpb.Entry) error {
	if err := w.usable(); err != nil {
		return err
	}
	writeHS := !hs.IsEmpty() && hs != w.st.hs
	if writeHS {
		if why := w.st.checkHardState(hs); why != "" {
			return invalidf("%s", why)
		}
	}
	if why := w.st.checkEntries(ents); why != "" {
		return invalidf("%s", why)
	}
	if !writeHS && len(ents) == 0 {
		return nil
	}
	var start int
	b := w.buf[:0]
	if len(ents) > 0 {
		b, start = beginRecord(b, recEntries)
		var hp *raftpb.HardState
		if writeHS {
			hp = &hs
		}
		b = appendEntries(b, hp, ents)
	} else {
		b, start = beginRecord(b, recHardState)
		b = raftpb.AppendHardState(b, hs)
	}
	w.buf = b
	crc, err := finishRecord(b, start)
	if err != nil {
		return err
	}
	if err := w.write(b, crc, false); err != nil {
		return err
	}
	w.st.appendEntries(ents)
	if writeHS {
		w.st.hs = hs
	}
	if len(ents) > 0 {
		last := &w.segs[len(w.segs)-1]
		last.maxIndex = max(last.maxIndex, ents[len(ents)-1].Index)
	}
	return nil
}

// SaveSnapshot records a snapshot marker (metadata only; the snapshot's
// data is stored elsewhere, durably, before this is called), at the start
// of a new segment, and syncs.
// Entries at or below meta.Index are dropped from the replayed log; those
// after it survive if the log holds an entry at meta.Index with meta.Term
// (the snapshot is a prefix of this log) and are dropped otherwise (an
// installed snapshot replaced a divergent log). Recording the current
// snapshot again does nothing; an older one is refused.
func (w *WAL) SaveSnapshot(meta raftpb.SnapshotMetadata) error {
	if err := w.usable(); err != nil {
		return err
	}
	meta = cloneMeta(meta)
	keep, _, why := w.st.checkSnapshot(&meta)
	if why != "" {
		return invalidf("%s", why)
	}
	if meta.Index == w.st.snap.Index {
		return nil
	}
	b, start := beginRecord(w.buf[:0], recSnapshot)
	b = appendSnapshotMarker(b, &meta, keep)
	w.buf = b
	crc, err := finishRecord(b, start)
	if err != nil {
		return err
	}
	// The marker starts a new segment, so every older one holding only
	// entries the snapshot covers can be released (ReleaseTo), and a
	// restart replays the log from about the snapshot on.
	if err := w.write(b, crc, true); err != nil {
		return err
	}
	w.st.applySnapshot(meta, keep)
	return nil
}

// ReleaseTo removes the oldest segments whose entries are all at or below
// index, never the one being written. index must not exceed the recorded
// snapshot's index: the snapshot must already stand in for what goes. Each
// segment's header checkpoints the hard state and snapshot, so only
// entries are lost with a released segment. Removal goes oldest first and
// ends with a SyncDir.
func (w *WAL) ReleaseTo(index uint64) error {
	if err := w.usable(); err != nil {
		return err
	}
	if index > w.st.snap.Index {
		return invalidf("release to %d beyond the snapshot index %d", index, w.st.snap.Index)
	}
	k := 0
	for k < len(w.segs)-1 && w.segs[k].maxIndex <= index {
		k++
	}
	if k == 0 {
		return nil
	}
	for _, s := range w.segs[:k] {
		if err := w.fs.Remove(s.name); err != nil {
			return w.fail(err)
		}
		w.stats.Released++
	}
	w.segs = slices.Delete(w.segs, 0, k)
	if err := w.fs.SyncDir(); err != nil {
		return w.fail(err)
	}
	w.stats.SyncDirs++
	return nil
}

// Destroy removes every segment of the WAL in fsys, durably: what a host
// does when the snapshot its WAL stands on is lost, so that it starts
// over from its hard state (which it saves again) and a leader's
// snapshot. Files that are not the WAL's are left alone.
func Destroy(fsys vfs.FS) error {
	names, err := fsys.List()
	if err != nil {
		return err
	}
	for _, name := range names {
		if _, ok := parseSegmentName(name); ok {
			if err := fsys.Remove(name); err != nil {
				return err
			}
		}
	}
	return fsys.SyncDir()
}

// Close closes the WAL. Everything Save returned nil for is already durable.
func (w *WAL) Close() error {
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("wal: close: %w", err)
	}
	return nil
}

// Stats returns the counters since Open.
func (w *WAL) Stats() Stats {
	s := w.stats
	s.Segments = len(w.segs)
	return s
}

func (w *WAL) usable() error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return fmt.Errorf("wal: unusable after an earlier failure (close and reopen): %w", w.err)
	}
	return nil
}

func (w *WAL) fail(err error) error {
	w.err = err
	return fmt.Errorf("wal: %w", err)
}

// write appends one record, moving on to a new segment first if the
// current one would grow past SegmentBytes (or rotate asks for one), and
// syncs.
func (w *WAL) write(rec []byte, crc uint32, rotate bool) error {
	nrec := 1 // records in this write
	if w.recs > 0 && (rotate || w.size+int64(len(rec)) > w.opts.SegmentBytes) {
		// The new segment's name is made durable before anything is
		// written to it; its header goes out in the same write as the
		// record, under the same single sync.
		seq := w.segs[len(w.segs)-1].seq + 1
		name := segmentName(seq)
		f, err := w.fs.Create(name)
		if err != nil {
			return w.fail(err)
		}
		if err := w.fs.SyncDir(); err != nil {
			f.Close()
			return w.fail(err)
		}
		w.stats.SyncDirs++
		old := w.f
		w.f, w.size, w.recs = f, 0, 0
		w.segs = append(w.segs, segment{name: name, seq: seq})
		w.stats.Rotations++
		if err := old.Close(); err != nil {
			return w.fail(err)
		}
		b, _ := w.appendHeaderRecord(w.hbuf[:0], seq)
		rec = append(b, rec...)
		w.hbuf = rec
		nrec = 2
	}
	if err := w.writeOut(rec, nrec, crc); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return w.fail(err)
	}
	w.recs++
	w.stats.Syncs++
	w.stats.Saves++
	return nil
}

// writeOut appends b, holding nrec records the last of which has checksum
// crc, to the last segment, without syncing.
func (w *WAL) writeOut(b []byte, nrec int, crc uint32) error {
	if _, err := w.f.Write(b); err != nil {
		return w.fail(err)
	}
	w.size += int64(len(b))
	w.lastCRC = crc
	w.stats.BytesWritten += int64(len(b))
	w.stats.Records += int64(nrec)
	return nil
}

// appendHeaderRecord appends the header record of segment seq, chained to
// the last record written and checkpointing the current state.
func (w *WAL) appendHeaderRecord(b []byte, seq uint64) ([]byte, uint32) {
	h := w.st.header(seq, w.lastCRC)
	b, start := beginRecord(b, recHeader)
	b = appendHeader(b, &h)
	crc, _ := finishRecord(b, start) // a header is far below MaxRecordBytes
	return b, crc
}

const (
	segPrefix = "wal-"
	segSuffix = ".log"
)

func segmentName(seq uint64) string { return fmt.Sprintf("%s%016x%s", segPrefix, seq, segSuffix) }

// parseSegmentName accepts exactly the names segmentName makes; any other
// file in the directory is not the WAL's and is left alone.
func parseSegmentName(name string) (uint64, bool) {
	const n = len(segPrefix) + 16 + len(segSuffix)
	if len(name) != n || name[:len(segPrefix)] != segPrefix || name[n-len(segSuffix):] != segSuffix {
		return 0, false
	}
	var seq uint64
	for _, c := range name[len(segPrefix) : n-len(segSuffix)] {
		switch {
		case c >= '0' && c <= '9':
			seq = seq<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			seq = seq<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return seq, true
}
