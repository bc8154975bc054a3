// Package etcdraft runs go.etcd.io/raft/v3 (etcd-io/raft, the Raft that
// etcd and Kubernetes depend on) as a subject under raftsim's harness. Its
// one job is the adapter: a RawNode over a MemoryStorage rebuilt from what
// the host restored, etcd's messages marshalled as bytes (etcd's own
// protobuf wire format, read by Peek), entries, snapshots and
// configuration changes translated to raftsim's raftpb formats at the
// boundary, configuration changes applied in Advance, a logger that
// discards, and every panic turned into an error (subject.PanicError).
// Nothing in raftsim's own raft/ imports it.
//
// It never reads a clock, starts goroutines, or draws randomness except
// from Config.Rand; and it never lets etcd's own randomness reach
// behaviour, as follows.
//
// # Determinism: the election timer
//
// etcd-io/raft draws each randomized election timeout from crypto/rand
// (raft.go: resetRandomizedElectionTimeout, through the unexported
// globalRand), which no seed can replay. The adapter neither touches
// crypto/rand nor patches etcd. It drives elections itself:
//
//   - A leader's Tick calls RawNode.Tick, which runs tickHeartbeat
//     (heartbeats, CheckQuorum, the leadership-transfer timeout). A role
//     is leader exactly when etcd's tick function is tickHeartbeat
//     (becomeLeader sets both; becomeFollower, becomeCandidate and
//     becomePreCandidate set tickElection), and tickHeartbeat never reads
//     the randomized timeout.
//   - Every other role's Tick calls RawNode.TickQuiesced, which only
//     increments electionElapsed, and advances the adapter's own timer. When
//     that timer reaches its timeout and the replica is promotable (a voter
//     of either half of the configuration, as etcd's promotable()), the
//     adapter zeroes it and calls Campaign: what tickElection does when
//     pastElectionTimeout() holds. A candidate or pre-candidate whose
//     election timed out campaigns again the same way.
//   - The adapter's timeout is drawn from Config.Rand in [ElectionTick,
//     2*ElectionTick), as etcd draws its own, at exactly the points where
//     etcd calls reset() (which redraws): on every change of term, and on
//     becoming follower, candidate or leader (becoming pre-candidate does
//     not reset, in etcd or here), and at Open for newRaft's and
//     Bootstrap's becomeFollower. The timer is zeroed without a redraw
//     exactly where etcd zeroes electionElapsed without reset(): when a
//     follower steps an MsgApp, MsgHeartbeat or MsgSnap of its term
//     (stepFollower), and when it grants a vote (Step, MsgVote: seen as the
//     granting MsgVoteResp in the next Ready, before any further tick).
//
// Why nothing else depends on the crypto/rand draw: randomizedElectionTimeout
// is read only by pastElectionTimeout, which only tickElection calls, which
// only RawNode.Tick reaches (through r.tick) on a non-leader, and the
// adapter never calls RawNode.Tick on a non-leader. The draws still
// happen (etcd calls reset() as always) but their values go nowhere.
//
// Why etcd's own electionElapsed is still right: etcd reads it on a
// non-leader in one other place, the CheckQuorum lease in Step (a vote
// request is ignored while electionElapsed < electionTimeout under a known
// leader). TickQuiesced and etcd's own resets keep it where etcd would
// have it, except after a campaign: tickElection zeroes electionElapsed
// before it campaigns and the adapter's Campaign does not. Campaigning
// makes the replica a candidate (reset() zeroes it: equal again) or a
// pre-candidate, which has no leader, so the lease is not read until
// reset() zeroes it on the way back to follower. (tickElection also zeroes
// it when the campaign is refused for unapplied configuration changes;
// under the host contract every committed entry is applied before the next
// tick, so that refusal cannot happen at a tick.)
//
// TestTimerFollowsElectionElapsed checks this under random schedules: after
// every input, the adapter's timer equals etcd's electionElapsed on every
// follower and candidate, and the adapter has reset its timer exactly as
// many times as etcd called reset() (counted through the logger).
// TestSameHashAtAnyGOMAXPROCS in subjecttest checks the outcome: one seed,
// one message hash, in every goroutine and at GOMAXPROCS 1 and 4.
//
// RawNode.TickQuiesced is marked deprecated in v3.7.0 ("will be removed in
// a future release"); the day it goes, a vendored one-line patch adding a
// seedable source for globalRand is the fallback.
//
// # Where etcd-io/raft differs from raftsim's Raft
//
// Subject().Capabilities says it in words: no recovering mode for damaged
// storage (Open refuses Restored.Recovering and VoteLost with
// subject.ErrUnsupported: the host keeps such a server down), no chunked
// snapshots, no drift-bounded lease, no planted bugs; and the model
// differences in Capabilities.Differences (joint configurations for any
// change of more than one member, a refused configuration change becoming an
// empty entry, learners that vote, a snapshot reported delivered when sent).
package etcdraft
