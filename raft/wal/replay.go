package wal

import (
	"encoding/binary"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
)

// segment is one live segment file.
type segment struct {
	name string
	seq  uint64
	// maxIndex is the highest entry index recorded in the segment (0 if
	// none); ReleaseTo drops a segment once it is at or below the release
	// index.
	maxIndex uint64
}

// replayer applies the records of consecutive segments, in order, to a
// logState.
type replayer struct {
	st      logState
	started bool   // a header has initialized st
	lastCRC uint32 // checksum of the last record applied
	records int64
}

// scan replays one segment's bytes. It returns the length of the valid
// prefix and the number of records in it: all of data, except in the last segment, where a torn tail after
// it is to be cut off. Any damage to a complete record, and any incomplete
// record in a sealed (not last) segment, is a *CorruptError.
func (r *replayer) scan(seg *segment, data []byte, last bool) (good int64, records int, err error) {
	off := 0
	for off < len(data) {
		typ, payload, crc, n, cerr := frame(seg.name, data, off, last)
		if cerr != nil {
			return 0, 0, cerr
		}
		if n == 0 { // torn tail
			break
		}
		if why := r.apply(seg, off, typ, payload, crc); why != "" {
			return 0, 0, &CorruptError{File: seg.name, Offset: int64(off), Reason: why}
		}
		off += n
		records++
	}
	return int64(off), records, nil
}

// frame reads the record at off. n is its total length, or 0 if the rest
// of the last segment is a torn tail.
func frame(name string, data []byte, off int, last bool) (typ byte, payload []byte, crc uint32, n int, err error) {
	rest := data[off:]
	corrupt := func(format string, args ...any) error {
		return &CorruptError{File: name, Offset: int64(off), Reason: sprintf(format, args...)}
	}
	if last && allZero(rest) {
		// Never a record (type 0 is invalid): what a file system leaves
		// when a crash persisted the file's new size but not its data.
		return 0, nil, 0, 0, nil
	}
	if len(rest) < frameSize {
		if last {
			return 0, nil, 0, 0, nil // an incomplete frame: torn
		}
		return 0, nil, 0, 0, corrupt("sealed segment ends inside a record frame (%d of %d bytes)", len(rest), frameSize)
	}
	size := binary.LittleEndian.Uint32(rest)
	crc = binary.LittleEndian.Uint32(rest[4:])
	typ = rest[frameSize-1]
	if size > MaxRecordBytes {
		return 0, nil, 0, 0, corrupt("declared length %d exceeds MaxRecordBytes (%d)", size, MaxRecordBytes)
	}
	if avail := len(rest) - frameSize; int(size) > avail {
		if !last {
			return 0, nil, 0, 0, corrupt("sealed segment ends inside a record: %d payload bytes declared, %d present", size, avail)
		}
		// In the last segment this is a torn write, unless the bytes
		// show it is a damaged length: a torn write keeps a prefix of
		// what was written, so nothing valid can follow the tear.
		if knownType(typ) && recordCRC(typ, rest[frameSize:]) == crc {
			return 0, nil, 0, 0, corrupt("complete %s record with a damaged length (%d declared, %d present)", typeName(typ), size, avail)
		}
		if p := findRecord(rest[frameSize:]); p >= 0 {
			return 0, nil, 0, 0, corrupt("declared length %d runs past the end of the file, but a valid record follows at offset %d: a damaged length, not a torn write",
				size, off+frameSize+p)
		}
		return 0, nil, 0, 0, nil
	}
	payload = rest[frameSize : frameSize+int(size)]
	if got := recordCRC(typ, payload); got != crc {
		return 0, nil, 0, 0, corrupt("checksum mismatch (stored %08x, computed %08x) in a complete record", crc, got)
	}
	if !knownType(typ) {
		return 0, nil, 0, 0, corrupt("unknown record type %d", typ)
	}
	return typ, payload, crc, frameSize + int(size), nil
}

// findRecord returns the offset of the first complete record with a known
// type, a non-empty payload and a matching checksum in b, or -1. Its
// checksum work is capped at a few times len(b): for ordinary bytes the
// cost is negligible, and a payload built to be slow to scan (long runs of
// bytes that read as plausible frames) falls back to the plain rule, torn.
func findRecord(b []byte) int {
	budget := 4*len(b) + 1<<16
	for p := 0; p+frameSize < len(b) && budget > 0; p++ {
		typ := b[p+frameSize-1]
		if !knownType(typ) {
			continue
		}
		size := int(binary.LittleEndian.Uint32(b[p:]))
		if size == 0 || size > len(b)-p-frameSize {
			continue
		}
		budget -= size
		if recordCRC(typ, b[p+frameSize:p+frameSize+size]) == binary.LittleEndian.Uint32(b[p+4:]) {
			return p
		}
	}
	return -1
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// apply applies one checksummed record and returns why it cannot be
// applied, or "".
func (r *replayer) apply(seg *segment, off int, typ byte, payload []byte, crc uint32) string {
	if (typ == recHeader) != (off == 0) {
		if off == 0 {
			return sprintf("segment starts with a %s record, not a header", typeName(typ))
		}
		return "header record in the middle of a segment"
	}
	switch typ {
	case recHeader:
		h, err := decodeHeader(payload)
		if err != nil {
			return sprintf("undecodable header: %v", err)
		}
		if h.seq != seg.seq {
			return sprintf("header has sequence %d but the file name says %d", h.seq, seg.seq)
		}
		if !r.started {
			st, why := fromHeader(&h, true)
			if why != "" {
				return why
			}
			r.st, r.started = st, true
			break
		}
		if h.prevCRC != r.lastCRC {
			return sprintf("header chains to checksum %08x but the previous segment ends with %08x: not its successor", h.prevCRC, r.lastCRC)
		}
		if !r.st.matches(&h) {
			return "header checkpoint disagrees with the state replayed from the segments before it"
		}

	case recHardState:
		hs, err := raftpb.DecodeHardState(payload)
		if err != nil {
			return sprintf("undecodable hard state: %v", err)
		}
		if why := r.st.checkHardState(hs); why != "" {
			return why
		}
		r.st.hs = hs

	case recEntries:
		hs, ents, err := decodeEntries(payload)
		if err != nil {
			return sprintf("undecodable entries: %v", err)
		}
		if why := r.st.checkEntries(ents); why != "" {
			return why
		}
		if hs != nil {
			if why := r.st.checkHardState(*hs); why != "" {
				return why
			}
			r.st.hs = *hs
		}
		r.st.appendEntries(ents)
		seg.maxIndex = max(seg.maxIndex, ents[len(ents)-1].Index)

	case recSnapshot:
		meta, keep, err := decodeSnapshotMarker(payload)
		if err != nil {
			return sprintf("undecodable snapshot marker: %v", err)
		}
		want, known, why := r.st.checkSnapshot(&meta)
		switch {
		case why != "":
			return why
		case known && keep != want:
			return sprintf("snapshot marker at %d says keep=%t, the log says %t", meta.Index, keep, want)
		case keep && meta.Index > r.st.last:
			return sprintf("snapshot marker at %d keeps a log that ends at %d", meta.Index, r.st.last)
		}
		r.st.applySnapshot(meta, keep)
	}
	r.lastCRC = crc
	r.records++
	return ""
}
