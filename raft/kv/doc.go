// Package kv is the replicated key-value state machine that runs on top of
// Raft, and the wire protocol between its clients and servers.
//
// Its one job: given the committed log, in order, produce the same state
// and the same per-command results on every replica. A Command (put, get,
// append, compare-and-set) is encoded into a log entry; Store.Apply
// executes entries in index order, exactly once each, and client sessions
// (the highest Seq executed per ClientID and its Result) make a retried
// command take effect once. Gets go through the log too, so every
// operation is linearizable. Snapshot, Restore and Digest expose the state
// as canonical bytes (sorted keys and sessions) so replicas can be compared
// and a lagging one installed from a snapshot.
//
// On the network every message starts with a one-byte channel tag
// (TagRaft, TagRequest, TagResponse), so a node carries Raft and client
// traffic on one address; Request and Response are the client protocol.
//
// Semantics, in one place:
//   - An absent key reads as "": Get returns Found=false and Value "",
//     Append creates the key, and CAS compares Expected with "", so CAS with
//     Expected "" is create-if-absent (it also matches a key holding "").
//   - Every Result reports the key as it was before the command (Value,
//     Found), and Applied says whether the command wrote it.
//   - Per client: Seq above the session's executes; Seq equal to it returns
//     the cached Result without executing again; Seq below it executes
//     nothing and returns Result{Stale: true}.
//
// What it never does: it never talks to Raft, the network or a disk (the
// host moves bytes between them), never proposes or reorders anything,
// never skips or repeats an index (that is an error), and never executes a
// corrupt entry. It reads no clock, starts no goroutine, draws no random
// number and never lets map order reach its output, so under the simulator
// a run is reproducible from its seed. Decoders never panic, whatever the
// bytes; their errors wrap ErrCorrupt. Sessions are never expired: a
// client's session lives as long as the store (fine for a simulated run
// with a bounded number of clients).
package kv
