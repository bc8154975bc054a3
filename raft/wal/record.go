package wal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/seed4fee1fef/raftsim/raft/internal/wire"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
)

// frameSize is the bytes before a record's payload: [payload length uint32
// LE][crc32c(type+payload) uint32 LE][type byte].
const frameSize = 9

// MaxRecordBytes bounds one record's payload. Save refuses larger batches,
// and replay treats a larger declared length as corruption rather than as a
// torn write, so a flipped high bit in a length can never pass for a tear.
const MaxRecordBytes = 64 << 20

// Record types. Zero is never valid, so a zero-filled tail is never a record.
const (
	recHeader    byte = 1 // first record of every segment
	recHardState byte = 2 // a hard state on its own
	recEntries   byte = 3 // the entries of one Save, with its hard state if it changed
	recSnapshot  byte = 4 // snapshot marker: metadata only
)

func knownType(t byte) bool { return t >= recHeader && t <= recSnapshot }

func typeName(t byte) string {
	switch t {
	case recHeader:
		return "header"
	case recHardState:
		return "hard state"
	case recEntries:
		return "entries"
	case recSnapshot:
		return "snapshot"
	}
	return fmt.Sprintf("type %d", t)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// recordCRC is the checksum of a record's type byte and payload.
func recordCRC(typ byte, payload []byte) uint32 {
	return crc32.Update(crc32.Update(0, castagnoli, []byte{typ}), castagnoli, payload)
}

// beginRecord appends the frame of a record of type typ to b, with length
// and checksum to be filled in by finishRecord once the payload follows.
func beginRecord(b []byte, typ byte) ([]byte, int) {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0, typ)
	return b, start
}

// finishRecord fills in the length and checksum of the record that starts
// at start and runs to the end of b, and returns its checksum.
func finishRecord(b []byte, start int) (uint32, error) {
	n := len(b) - start - frameSize
	if n > MaxRecordBytes {
		return 0, invalidf("record of %d bytes exceeds MaxRecordBytes (%d)", n, MaxRecordBytes)
	}
	crc := crc32.Checksum(b[start+frameSize-1:], castagnoli) // type byte and payload are contiguous
	binary.LittleEndian.PutUint32(b[start:], uint32(n))
	binary.LittleEndian.PutUint32(b[start+4:], crc)
	return crc, nil
}

// segHeader is the payload of a segment's first record: the segment's
// sequence number, the checksum of the last record of the segment before
// it (a chain, so a stale or foreign segment cannot be spliced in), and a
// checkpoint of the state replay must have reached at this point. The
// checkpoint is what lets ReleaseTo drop earlier segments: a replay that
// starts here starts from it.
type segHeader struct {
	seq       uint64
	prevCRC   uint32
	lastIndex uint64 // the log's last index (the snapshot's if the log is empty)
	lastTerm  uint64
	hs        raftpb.HardState
	snap      raftpb.SnapshotMetadata
}

const headerVersion = 1

func appendHeader(b []byte, h *segHeader) []byte {
	b = append(b, headerVersion)
	b = binary.AppendUvarint(b, h.seq)
	b = binary.LittleEndian.AppendUint32(b, h.prevCRC)
	b = binary.AppendUvarint(b, h.lastIndex)
	b = binary.AppendUvarint(b, h.lastTerm)
	b = appendPrefixed(b, func(b []byte) []byte { return raftpb.AppendHardState(b, h.hs) })
	return appendSnapMeta(b, &h.snap)
}

func decodeHeader(p []byte) (segHeader, error) {
	d := newDecoder(p)
	var h segHeader
	if v := d.Byte("version"); !d.Failed() && v != headerVersion {
		d.Fail("header version %d, want %d", v, headerVersion)
	}
	h.seq = d.Uvarint("sequence")
	h.prevCRC = d.Uint32("previous crc")
	h.lastIndex = d.Uvarint("last index")
	h.lastTerm = d.Uvarint("last term")
	if hs := d.Field("hard state"); !d.Failed() {
		var err error
		h.hs, err = raftpb.DecodeHardState(hs)
		d.SetErr(err)
	}
	if !d.Failed() {
		var err error
		h.snap, err = decodeSnapMeta(d.Rest())
		d.SetErr(err)
	}
	return h, d.Err()
}

// appendEntries encodes the payload of a recEntries record: a flags byte
// (bit 0: a hard state follows), the hard state (length-prefixed), the
// entry count, and each entry length-prefixed.
func appendEntries(b []byte, hs *raftpb.HardState, ents []raftpb.Entry) []byte {
	if hs != nil {
		b = append(b, 1)
		b = appendPrefixed(b, func(b []byte) []byte { return raftpb.AppendHardState(b, *hs) })
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(ents)))
	for i := range ents {
		b = appendPrefixed(b, func(b []byte) []byte { return raftpb.AppendEntry(b, &ents[i]) })
	}
	return b
}

func decodeEntries(p []byte) (hs *raftpb.HardState, ents []raftpb.Entry, err error) {
	d := newDecoder(p)
	flags := d.Byte("flags")
	if !d.Failed() && flags&^1 != 0 {
		d.Fail("unknown flags %#x", flags)
	}
	if flags&1 != 0 {
		if enc := d.Field("hard state"); !d.Failed() {
			h, herr := raftpb.DecodeHardState(enc)
			d.SetErr(herr)
			hs = &h
		}
	}
	n := d.Uvarint("entry count")
	if !d.Failed() && (n == 0 || n > uint64(len(d.Rest()))) {
		d.Fail("entry count %d with %d bytes left", n, len(d.Rest()))
	}
	if !d.Failed() {
		ents = make([]raftpb.Entry, 0, n)
	}
	for i := uint64(0); i < n && !d.Failed(); i++ {
		if enc := d.Field("entry"); !d.Failed() {
			e, eerr := raftpb.DecodeEntry(enc)
			d.SetErr(eerr)
			ents = append(ents, e)
		}
	}
	if err := d.Done("record"); err != nil {
		return nil, nil, err
	}
	return hs, ents, nil
}

// appendSnapshotMarker encodes a recSnapshot payload: a flags byte (bit 0:
// the log's entries after the snapshot index are kept) and the metadata.
func appendSnapshotMarker(b []byte, meta *raftpb.SnapshotMetadata, keep bool) []byte {
	if keep {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return appendSnapMeta(b, meta)
}

func decodeSnapshotMarker(p []byte) (meta raftpb.SnapshotMetadata, keep bool, err error) {
	d := newDecoder(p)
	flags := d.Byte("flags")
	if !d.Failed() && flags&^1 != 0 {
		d.Fail("unknown flags %#x", flags)
	}
	if d.Failed() {
		return meta, false, d.Err()
	}
	meta, err = decodeSnapMeta(d.Rest())
	return meta, flags&1 != 0, err
}

// appendSnapMeta encodes metadata as raftpb encodes a snapshot with no data.
func appendSnapMeta(b []byte, meta *raftpb.SnapshotMetadata) []byte {
	return raftpb.AppendSnapshot(b, &raftpb.Snapshot{Metadata: *meta})
}

func decodeSnapMeta(p []byte) (raftpb.SnapshotMetadata, error) {
	s, err := raftpb.DecodeSnapshot(p)
	if err == nil && len(s.Data) != 0 {
		err = fmt.Errorf("%w: snapshot marker carries %d data bytes", raftpb.ErrCorrupt, len(s.Data))
	}
	return s.Metadata, err
}

// appendPrefixed appends what enc appends, preceded by its length as a
// uvarint. Encodings are small, so the length nearly always fits the one
// byte reserved for it; otherwise the encoding is moved up.
func appendPrefixed(b []byte, enc func([]byte) []byte) []byte {
	at := len(b)
	b = enc(append(b, 0))
	n := len(b) - at - 1
	if n < 0x80 {
		b[at] = byte(n)
		return b
	}
	var tmp [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(tmp[:], uint64(n))
	b = append(b, tmp[:k-1]...)    // grow by the extra length bytes
	copy(b[at+k:], b[at+1:at+1+n]) // shift the encoding up
	copy(b[at:], tmp[:k])          // and write the length before it
	return b
}

// newDecoder reads a record payload with the shared sticky decoder;
// errors wrap raftpb.ErrCorrupt.
func newDecoder(p []byte) wire.Decoder { return wire.NewDecoder(p, raftpb.ErrCorrupt) }
