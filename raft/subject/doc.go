// Package subject is the contract between the harness and a Raft
// implementation under test (a subject): what a library must offer to run
// as a replica in raftsim's deterministic world. The host loop (WAL,
// high-water mark, state machine, client protocol) drives any subject the
// same way, and the invariant checker reads any subject through the same
// read-only view.
//
// A Subject describes one implementation: its name and version, how to
// open a replica from what the host restored from its disk, how to read
// the header of one of its wire messages (for the trace), and which of the
// harness's optional mechanisms it has (Capabilities). A Replica is one
// running peer: a deterministic state machine in the etcd-io/raft mould.
//
// # What crosses the boundary
//
// Log entries, hard state, snapshots and configuration changes cross in
// raftsim's own raftpb types and encodings, whatever the subject uses
// inside, so the WAL, the state machine and the checker stay
// subject-neutral: an adapter translates at the boundary (a configuration
// change entry always carries raftpb.EncodeConfChangeV2 data). Messages
// cross as bytes in the subject's own wire format, which only the subject
// decodes; Subject.Peek reads their header in the shared vocabulary of
// raftpb.MessageType.
//
// # The host contract
//
// A host drives one Replica from one loop, as raft.Node's documentation
// describes: inputs (Tick, Step, Propose, ProposeConfChange, ReadIndex,
// TransferLeadership, Campaign), then, after every input, Ready until
// HasReady is false: persist (snapshot, entries, hard state; fsync if
// MustSync), then send Messages, then apply CommittedEntries and serve
// ReadStates, then Advance. Advance is also the apply hook: the
// configuration changes among the committed entries take effect in it
// (etcd's ApplyConfChange is called there), so the host never calls into
// the subject per entry. No tick arrives between an input and the Readies
// that follow it.
//
// # Failure
//
// A panic inside a subject never crashes the harness: the adapter
// recovers it at its boundary and the replica is dead from then on. The
// call that panicked, and every later call, returns an error wrapping
// ErrPanicked (a *PanicError with the panic's message and where it was
// raised); HasReady reports true so that a host draining Readies meets
// the error at once. The host halts the node with that message.
//
// This package never reads a clock, starts goroutines or draws randomness;
// it holds types, sentinel errors and the panic guard, and imports no
// implementation: raft/ does not depend on it, and it does not depend on
// raft/ or on any library under test.
package subject
