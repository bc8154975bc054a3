package tracker

import (
	"slices"
	"strconv"
	"strings"

	"github.com/seed4fee1fef/raftsim/raft/quorum"
)

// Config is the membership the leader counts quorums over: the voters
// (two majority configs during a joint-consensus change) and the
// learners, who receive the log but never vote or count toward a commit.
//
// Invariant: no ID is both a learner and a voter of either half;
// Learners is sorted without duplicates (like a MajorityConfig).
type Config struct {
	Voters   quorum.JointConfig
	Learners quorum.MajorityConfig
	// AutoLeave: the joint configuration is left by the leader on its
	// own, as soon as it has applied it.
	AutoLeave bool
}

// Clone returns an independent copy of c.
func (c Config) Clone() Config {
	return Config{Voters: quorum.JointConfig{Incoming: slices.Clone(c.Voters.Incoming), Outgoing: slices.Clone(c.Voters.Outgoing)},
		Learners: slices.Clone(c.Learners), AutoLeave: c.AutoLeave}
}

// IDs returns every member, voter or learner, sorted.
func (c Config) IDs() []uint64 {
	return quorum.NewMajorityConfig(append(c.Voters.IDs(), c.Learners...)...)
}

// Equal reports whether c and o are the same configuration.
func (c Config) Equal(o Config) bool {
	return slices.Equal(c.Voters.Incoming, o.Voters.Incoming) && slices.Equal(c.Voters.Outgoing, o.Voters.Outgoing) &&
		slices.Equal(c.Learners, o.Learners) && c.AutoLeave == o.AutoLeave
}

// String prints the configuration, e.g. "voters=(1 2 3) learners=(4)".
func (c Config) String() string {
	s := "voters=" + c.Voters.String()
	if len(c.Learners) > 0 {
		s += " learners=" + c.Learners.String()
	}
	if c.AutoLeave {
		s += " autoleave"
	}
	return s
}

// ProgressTracker holds the configuration, a Progress for every member
// and the votes of the current election.
type ProgressTracker struct {
	Config

	// progress has exactly one entry per ID in ids.
	progress map[uint64]*Progress
	// ids is every member (voters of both halves and learners), sorted:
	// the iteration order.
	ids []uint64

	// votes holds the votes received in the current election: true for
	// granted, false for rejected. The first answer from a voter counts.
	votes map[uint64]bool

	maxInflight int
}

// New returns a tracker for the given voters, each in StateProbe with
// Next = next.
func New(maxInflight int, voters quorum.MajorityConfig, next uint64) *ProgressTracker {
	return NewWithConfig(maxInflight, Config{Voters: quorum.JointConfig{Incoming: slices.Clone(voters)}}, next)
}

// NewWithConfig returns a tracker for cfg, every member in StateProbe
// with Next = next.
func NewWithConfig(maxInflight int, cfg Config, next uint64) *ProgressTracker {
	t := &ProgressTracker{
		progress:    map[uint64]*Progress{},
		votes:       map[uint64]bool{},
		maxInflight: maxInflight,
	}
	t.setConfig(cfg, next, false)
	return t
}

// SetConfig makes cfg the configuration: members that left lose their
// Progress, new ones get one in StateProbe with Next = next (and are
// presumed active, so CheckQuorum does not depose the leader for not yet
// having heard from them); the others keep theirs.
func (t *ProgressTracker) SetConfig(cfg Config, next uint64) { t.setConfig(cfg, next, true) }

func (t *ProgressTracker) setConfig(cfg Config, next uint64, active bool) {
	t.Config = cfg.Clone()
	ids := t.Config.IDs()
	for _, id := range t.ids {
		if _, ok := slices.BinarySearch(ids, id); !ok {
			delete(t.progress, id)
		}
	}
	for _, id := range ids {
		if _, ok := t.progress[id]; !ok {
			pr := NewProgress(next, t.maxInflight)
			pr.RecentActive = active
			t.progress[id] = pr
		}
	}
	t.ids = ids
}

// Progress returns the peer's Progress, or nil if id is not tracked (for
// example a message from a node outside the configuration).
func (t *ProgressTracker) Progress(id uint64) *Progress { return t.progress[id] }

// IDs returns the tracked peers in ascending order. The slice is shared:
// do not modify it.
func (t *ProgressTracker) IDs() []uint64 { return t.ids }

// Visit calls f for every tracked peer in ascending ID order.
func (t *ProgressTracker) Visit(f func(id uint64, pr *Progress)) {
	for _, id := range t.ids {
		f(id, t.progress[id])
	}
}

// IsVoter reports whether id's vote and acknowledgements count (in
// either half of a joint configuration).
func (t *ProgressTracker) IsVoter(id uint64) bool { return t.Voters.Contains(id) }

// IsLearner reports whether id is a learner.
func (t *ProgressTracker) IsLearner(id uint64) bool { return t.Learners.Contains(id) }

// matchAcks adapts the tracker to quorum.AckedIndexer over Match.
type matchAcks ProgressTracker

func (m *matchAcks) AckedIndex(id uint64) (uint64, bool) {
	pr, ok := m.progress[id]
	if !ok {
		return 0, false
	}
	return pr.Match, true
}

// Committed is the highest index a quorum of voters (of both halves of a
// joint configuration) has acknowledged, or 0 when there are no voters
// (nothing can commit without a quorum). Learners never count.
func (t *ProgressTracker) Committed() uint64 {
	return t.Voters.CommittedIndex((*matchAcks)(t))
}

// CommittedOver is the highest index a majority of c has acknowledged
// (the planted LearnerCounts bug counts learners with it).
func (t *ProgressTracker) CommittedOver(c quorum.MajorityConfig) uint64 {
	if len(c) == 0 {
		return 0
	}
	return c.CommittedIndex((*matchAcks)(t))
}

// QuorumActive reports whether a quorum of voters has been RecentActive.
func (t *ProgressTracker) QuorumActive() bool {
	if t.Voters.Empty() {
		return false
	}
	active := make(map[uint64]bool, len(t.ids))
	for _, id := range t.ids {
		active[id] = t.progress[id].RecentActive
	}
	return t.Voters.VoteResult(active) == quorum.VoteWon
}

// ResetVotes forgets the votes of the previous election.
func (t *ProgressTracker) ResetVotes() { clear(t.votes) }

// RecordVote records id's answer. Only the first answer counts, so a
// duplicated or reordered response cannot flip a vote.
func (t *ProgressTracker) RecordVote(id uint64, granted bool) {
	if _, ok := t.votes[id]; !ok {
		t.votes[id] = granted
	}
}

// TallyVotes counts the voters' answers and says whether the election is
// won, lost or pending. Answers from non-voters are not counted.
func (t *ProgressTracker) TallyVotes() (granted, rejected int, result quorum.VoteResult) {
	for _, id := range t.Voters.IDs() {
		v, ok := t.votes[id]
		switch {
		case !ok:
		case v:
			granted++
		default:
			rejected++
		}
	}
	return granted, rejected, t.Voters.VoteResult(t.votes)
}

// String prints every peer's progress in ID order, one per line.
func (t *ProgressTracker) String() string {
	var b strings.Builder
	t.Visit(func(id uint64, pr *Progress) {
		b.WriteString(strconv.FormatUint(id, 10) + ": " + pr.String())
		b.WriteByte('\n')
	})
	return b.String()
}
