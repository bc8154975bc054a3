package raft

import (
	"errors"
	"fmt"

	"github.com/seed4fee1fef/raftsim/raft/plant"
)

// None is the zero node ID: "no leader", "voted for nobody".
const None uint64 = 0

// Rand is the only source of randomness a Node uses (to draw election
// timeouts). *math/rand/v2.Rand satisfies it; the host seeds it, so a run
// is reproducible.
type Rand interface {
	// IntN returns a number in [0, n); n > 0.
	IntN(n int) int
}

// Config is how a Node is set up. It is read once, by NewNode.
type Config struct {
	// ID identifies this node; never None (0).
	ID uint64
	// Peers are the initial voters, this node included, for a node that
	// starts with no persisted state. A node restarted from persisted
	// state ignores Peers: its membership comes from its own log.
	Peers []uint64
	// Join starts a node with no persisted state as a new server outside
	// the configuration instead (Peers is ignored): it has no log and no
	// vote until a leader that added it sends it the log or a snapshot.
	Join bool

	// ElectionTick is the number of Ticks a follower waits without hearing
	// from a leader before campaigning; the actual timeout is drawn from
	// [ElectionTick, 2*ElectionTick) on every reset, so candidates rarely
	// collide. It is also the period of the leader's CheckQuorum and the
	// length of a follower's leader lease. Must exceed HeartbeatTick.
	ElectionTick int
	// HeartbeatTick is the number of Ticks between a leader's heartbeats.
	HeartbeatTick int

	// PreVote makes a node that times out first ask whether it could win
	// (at term+1, without changing its own term) and only then start a
	// real election, so a node that was cut off cannot bump the term of
	// the cluster when it returns (Raft thesis §9.6).
	PreVote bool
	// CheckQuorum makes a leader step down when it has not heard from a
	// quorum within an election timeout, and makes followers that heard
	// from a live leader within an election timeout ignore vote requests
	// (the leader lease), so a returning node cannot depose a healthy
	// leader.
	CheckQuorum bool

	// MaxSizePerMsg bounds the encoded size (as raftpb encodes entries) of
	// the entries in one append message. An entry larger than the limit
	// is still sent, alone. 0 means one entry per message.
	MaxSizePerMsg uint64
	// MaxInflightMsgs bounds the append messages in flight (sent and not
	// acknowledged) to one follower while streaming. Must be > 0.
	MaxInflightMsgs int

	// ReadOnly says how the leader confirms it still leads before it
	// answers a ReadIndex: a heartbeat round (ReadOnlySafe, the default)
	// or a lease (ReadOnlyLeaseBased, which requires CheckQuorum).
	ReadOnly ReadOnlyOption
	// MaxClockDriftPPM bounds how fast or slow any node's clock may run,
	// in parts per million: a lease is shortened by twice it (lease.go).
	// Used only with ReadOnlyLeaseBased.
	MaxClockDriftPPM int64

	// Rand draws randomized election timeouts. Required.
	Rand Rand

	// Planted lists bugs to plant on purpose, for tests proving the
	// harness catches them. Zero in every real configuration.
	Planted plant.Set

	_ struct{} // name the fields
}

// ErrInvalidConfig is wrapped by every Config.Validate error.
var ErrInvalidConfig = errors.New("raft: invalid config")

// Validate reports the first field that is not usable, by name.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case c.ID == None:
		return bad("ID must not be 0 (None)")
	case c.HeartbeatTick <= 0:
		return bad("HeartbeatTick must be > 0, got %d", c.HeartbeatTick)
	case c.ElectionTick <= c.HeartbeatTick:
		return bad("ElectionTick (%d) must be greater than HeartbeatTick (%d)", c.ElectionTick, c.HeartbeatTick)
	case c.MaxInflightMsgs <= 0:
		return bad("MaxInflightMsgs must be > 0, got %d", c.MaxInflightMsgs)
	case c.Rand == nil:
		return bad("Rand must not be nil: election timeouts are drawn from it")
	case c.ReadOnly > ReadOnlyLeaseBased:
		return bad("ReadOnly %d is not a ReadOnlyOption", c.ReadOnly)
	case c.MaxClockDriftPPM < 0 || c.MaxClockDriftPPM >= 500_000:
		return bad("MaxClockDriftPPM %d outside [0, 500000)", c.MaxClockDriftPPM)
	case c.ReadOnly == ReadOnlyLeaseBased && !c.CheckQuorum:
		return bad("lease reads (ReadOnlyLeaseBased) require CheckQuorum: without it followers grant votes inside the lease")
	case c.ReadOnly == ReadOnlyLeaseBased && LeaseTicks(c.ElectionTick, c.MaxClockDriftPPM) == 0:
		return bad("ElectionTick %d leaves no lease with a drift bound of %d ppm", c.ElectionTick, c.MaxClockDriftPPM)
	}
	seen := make(map[uint64]bool, len(c.Peers))
	for i, p := range c.Peers {
		if p == None {
			return bad("Peers[%d] is 0 (None)", i)
		}
		if seen[p] {
			return bad("Peers[%d] = %d appears twice", i, p)
		}
		seen[p] = true
	}
	return nil
}

// Sentinel errors. Match them with errors.Is: most are wrapped with detail.
var (
	// ErrNotLeader: a proposal reached a node that is not the leader.
	// Status().Lead names the leader this node knows of (None if none).
	ErrNotLeader = errors.New("raft: not the leader")
	// ErrProposalDropped: the leader cannot take a proposal right now
	// (for example it is not a voter of its own configuration). Retry
	// later, possibly elsewhere.
	ErrProposalDropped = errors.New("raft: proposal dropped")
	// ErrStepIgnored: Step dropped the message, as Raft prescribes: it is
	// from an earlier term, from a peer outside the configuration, a vote
	// request inside the leader lease, or of a kind this node does not
	// handle yet (whose term it still honours). Normal under message delay
	// and loss; returned unwrapped, so hosts can filter it cheaply.
	ErrStepIgnored = errors.New("raft: message ignored")
	// ErrInvalidMessage: Step was given a message no correct peer sends
	// (wrong recipient, unknown type, malformed entries). The node's state
	// is unchanged; hosts should log and drop it.
	ErrInvalidMessage = errors.New("raft: invalid message")
	// ErrInvalidRestore: the persisted state given to NewNode is not one
	// this package could have produced.
	ErrInvalidRestore = errors.New("raft: invalid restored state")
	// ErrCompacted: a snapshot or compaction asked for is not possible at
	// that index (not applied yet, already compacted, or not newer than
	// the node's snapshot).
	ErrCompacted = errors.New("raft: cannot snapshot or compact there")
)
