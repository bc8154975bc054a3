// Package wal is a Raft node's write-ahead log: the one place its hard
// state, log entries and snapshot markers become durable, and the thing it
// replays on start so that a restarted node comes back as itself (its term,
// its vote, its log), never as a blank follower.
//
// It writes only through vfs, so the same code runs on the simulator's
// disk (sim/disk) and on a real directory (vfs/osfs).
//
// # Contract
//
// Save(hs, ents) appends one record and calls File.Sync once before it
// returns; a host persists with Save and only then sends the messages that
// depend on it. The entries of a Save and its hard state share one record,
// so a crash keeps a whole Save or none of it: raft.NewNode requires the
// restored state to be the end of some Ready, and a torn Save could leave
// entries of a newer term than the hard state, or a Commit past the last
// durable entry. Open replays everything and returns the State.
//
// # Files
//
// Segments are named wal-%016x.log after their sequence number (1, 2, ...),
// so List order is replay order. When a write would take the current
// segment past Options.SegmentBytes the WAL creates the next one, SyncDirs
// so its name is durable before anything is written to it, and writes the
// new header and the record with a single Write and a single Sync. A
// sealed segment is never written again. Files with other names are not
// the WAL's and are left alone.
//
// # Record format
//
// Every record is framed as
//
//	[payload length uint32 LE][crc32c(type byte + payload) uint32 LE][type byte][payload]
//
// with payloads of at most MaxRecordBytes. Types (0 is never valid):
//
//	1 header      first record of every segment: version byte, sequence
//	              (uvarint), CRC of the previous segment's last record
//	              (uint32 LE; a chain, so a stale or foreign segment cannot
//	              be spliced in), and a checkpoint of the state at that
//	              point: last index, last term (uvarints), hard state
//	              (length-prefixed raftpb encoding), snapshot metadata
//	              (raftpb snapshot encoding with no data, to the end)
//	2 hard state  raftpb.AppendHardState: a Save with no entries
//	3 entries     flags byte (bit 0: a hard state follows), the hard state
//	              (length-prefixed), entry count (uvarint), then each
//	              entry length-prefixed (raftpb.AppendEntry): one Save
//	4 snapshot    flags byte (bit 0: the log after the snapshot index is
//	              kept), snapshot metadata as in the header
//
// Length prefixes are uvarints.
//
// # Replay rules
//
// Segments replay in sequence order from the oldest of the consecutive run
// that ends with the newest. Each must start with a header whose sequence
// matches its name; a later segment's header must chain to the previous
// segment's last record and its checkpoint must equal the replayed state.
// The oldest segment's checkpoint is the starting state, which is what lets
// ReleaseTo drop segments (and lets Open remove older segments stranded
// before a gap by an interrupted ReleaseTo, once it has proved the
// snapshot covers everything they held).
//
//   - An entry at index i replaces every entry at i or after it (a leader
//     overwrote an uncommitted suffix). An entry past last+1 is a gap.
//   - A snapshot marker at index s drops entries up to s, and drops the rest
//     too unless the log had an entry at s with the marker's term (the
//     decision is made at write time and recorded in the marker).
//   - The hard state is the last one recorded.
//
// A torn tail is cut off: in the last segment only, a final record whose
// frame is incomplete or whose declared length runs past the end of the
// file, or a tail of zero bytes (what a file system shows when a crash
// kept a file's new size but not its data). Open truncates the segment to
// the end of the last good record, syncs it and reports the bytes cut in
// State.TornBytes and Stats.TornBytes. A last segment that is empty or
// holds only its header (a crash right after rotation) is normal.
//
// Everything else is corruption of data that was once durable, and Open
// returns a *CorruptError wrapping ErrCorrupt that names the file and the
// byte offset of the bad record:
//
//   - A complete record (wholly inside the file) whose checksum fails,
//     whose type is unknown, or whose payload does not decode. This holds
//     for the final record too: a torn write keeps a prefix of what was
//     written, so it cannot produce a complete record with a bad checksum;
//     only damage to synced bytes can.
//   - A declared length over MaxRecordBytes, which no writer produces.
//   - A declared length past the end of the file where the bytes show it is
//     a damaged length rather than a tear: the record is complete up to the
//     end of the file, or a valid record follows inside the supposed
//     payload (a tear has nothing valid after it). This scan can misfire
//     only on a torn record whose own data contains a whole valid WAL
//     record, and then it fails safe.
//   - An incomplete record or a missing header in a sealed segment, which
//     was synced before its successor was created.
//   - A record this WAL could not have written, because Save and
//     SaveSnapshot refuse the same things up front (ErrInvalid): a gap, an
//     entry at or below the snapshot index, non-consecutive entries, a term
//     of 0 or a term below the entry before it, a hard state term going
//     backwards, a vote changed within a term, a snapshot index going
//     backwards.
//   - A header that does not continue its predecessor, and released
//     entries that no snapshot covers.
//
// Open then syncs the last segment and the directory, so everything it
// returns is durable before the host acts on it, even if it was read from
// the page cache of a process that died before its sync.
//
// # What it never does
//
// It never runs on bad data or silently drops data that was durable:
// corruption is an error, not a truncation. It never rewrites a record in
// place. It never reads a clock, starts a goroutine, draws randomness,
// iterates a map, or touches the os package. After any I/O error it writes
// nothing more (a failed fsync may have lost the page cache): the host
// closes it and opens it again, which replays what is durable. It cannot
// notice durable data cut exactly at a record boundary, or the zeroing of
// whole final records; that takes a durable high-water mark kept
// elsewhere (peers, or a separate file).
package wal
