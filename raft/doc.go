// Package raft is the Raft consensus algorithm as a pure, deterministic
// state machine, in the mould of go.etcd.io/raft: a Node takes inputs
// (Tick, Step, Propose, Campaign) and produces outputs (a Ready: state and
// entries to persist, messages to send, entries to apply). Its one job is
// deciding, for one peer, what Raft requires next.
//
// It never reads a clock (time arrives as Tick), never starts goroutines,
// never draws randomness except from the Config.Rand the host passes in,
// never iterates a map where the order could change what it does, and never
// does I/O: persisting, sending and applying are the host's. Given the same
// inputs in the same order it produces the same outputs, which is what lets
// a simulator replay a run from its seed.
//
// # The host contract
//
// A host drives one Node from one loop:
//
//	for {
//		// feed inputs: n.Tick() every tick, n.Step(msg) for every message
//		// received, n.Propose(cmd) for client commands
//		for n.HasReady() {
//			rd := n.Ready()
//			// 1. Persist: if rd.Entries is not empty and rd.Entries[0].Index
//			//    is at or below the last stored index, first drop the stored
//			//    entries from that index on; append rd.Entries; record
//			//    rd.HardState unless it is empty. Fsync if rd.MustSync. The
//			//    HardState and Entries of one Ready must become durable
//			//    together (one WAL record): a crash keeps both or neither.
//			// 2. Send rd.Messages, only now that step 1 is durable.
//			// 3. Apply rd.CommittedEntries in order, skipping entries that
//			//    are not EntryNormal or have no Data.
//			// 4. n.Advance(rd)
//		}
//	}
//
// The order is what makes Raft safe across crashes. A vote, a term or an
// appended entry goes out in a message only after the disk has it, so a
// node that restarts can never contradict what it told its peers (vote
// twice in a term, deny an entry it acknowledged). Everything the Node
// produced but the host did not persist before a crash was never seen by
// anyone, and is safely forgotten.
//
// # Restarting
//
// NewNode with the Restored state the host replayed from disk brings the
// node back as itself: its term, vote and log are what it persisted; its
// commit index starts at the persisted hint; its applied index starts at the
// snapshot (0 without one), so the first Ready re-delivers every committed
// entry after the snapshot for the host to rebuild its state machine. The
// leader then sends the node only what it is missing, found by probing from
// the end of the node's log.
//
// A node with nothing persisted bootstraps from Config.Peers: it writes one
// EntryConfChange (AddNode) per voter at term 1, index 1..len(Peers), and
// treats them as committed. Every member writes the same entries, so their
// logs agree from the start, and the membership is recovered from the log
// on restart (Peers is then ignored).
//
// # What it does
//
//   - Leader election with randomized timeouts in [ElectionTick,
//     2*ElectionTick), the up-to-date-log vote restriction, and optional
//     PreVote and CheckQuorum (with the leader lease: followers that heard
//     from a leader within an election timeout ignore vote requests).
//   - Heartbeats every HeartbeatTick, so followers do not time out while
//     the leader has nothing to replicate; heartbeat responses from lagging
//     followers restart their catch-up.
//   - Replication with per-follower flow control (tracker.Progress): probe
//     until a match is found (backtracking a term at a time with the
//     follower's hint), then stream only new entries, at most MaxSizePerMsg
//     per append and MaxInflightMsgs appends in flight. The cost of a write
//     does not depend on the length of the log. A new commit index rides
//     on the next append or heartbeat, never in a message of its own, so
//     a write costs one append and one ack per follower; entries still
//     unacknowledged a heartbeat round trip after they were sent are
//     checked with one empty append, not sent again.
//   - Commitment by majority of current-term entries only (Raft §5.4.2); a
//     new leader appends an empty entry so earlier entries commit promptly.
//   - Reads without the log (ReadIndex, readindex.go): a heartbeat round a
//     quorum acknowledges confirms leadership for every read that arrived
//     before it was sent, so one round serves many reads; a new leader
//     answers none before an entry of its term commits; followers forward
//     reads to the leader. With ReadOnlyLeaseBased the leader answers at
//     once while a lease holds (lease.go): counted on its own ticks from
//     the send of an acknowledged round, shorter than an election timeout
//     by the clock drift bound; it requires CheckQuorum.
//   - Leadership transfer (TransferLeadership, transfer.go): proposals
//     stop, the target is brought up to date and told to campaign at
//     once (MsgTimeoutNow); given up after an election timeout.
//   - Membership changes (ProposeConfChange, membership.go): learners,
//     single-server changes and joint consensus; a change takes effect
//     when it is applied, one pending at a time.
//
// # Errors
//
// Nothing a peer can send makes a Node panic. Step drops messages from
// stale terms and other no-ops with ErrStepIgnored, rejects malformed ones
// with ErrInvalidMessage, and leaves the node consistent either way.
// Propose on a non-leader returns ErrNotLeader; Status().Lead names the
// leader, if known. Panics are reserved for broken internal invariants and
// say which.
package raft
