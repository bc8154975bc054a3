package tracker

import (
	"slices"
	"strconv"
	"strings"

	"github.com/seed4fee1fef/raftsim/raft/quorum"
)

// Config is the membership the leader counts quorums over. Today it is a
// single majority of voters; learners and joint configurations will be
// added here when membership changes land.
type Config struct {
	Voters quorum.MajorityConfig
}

// ProgressTracker holds the configuration, a Progress for every peer in it
// and the votes of the current election.
type ProgressTracker struct {
	Config

	// progress has exactly one entry per ID in ids.
	progress map[uint64]*Progress
	// ids is every peer with a Progress, sorted: the iteration order.
	ids []uint64

	// votes holds the votes received in the current election: true for
	// granted, false for rejected. The first answer from a voter counts.
	votes map[uint64]bool

	maxInflight int
}

// New returns a tracker for the given voters, each in StateProbe with
// Next = next.
func New(maxInflight int, voters quorum.MajorityConfig, next uint64) *ProgressTracker {
	t := &ProgressTracker{
		Config:      Config{Voters: slices.Clone(voters)},
		progress:    make(map[uint64]*Progress, len(voters)),
		votes:       make(map[uint64]bool, len(voters)),
		maxInflight: maxInflight,
	}
	for _, id := range t.Voters {
		t.progress[id] = NewProgress(next, maxInflight)
		t.ids = append(t.ids, id)
	}
	return t
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

// IsVoter reports whether id's vote and acknowledgements count.
func (t *ProgressTracker) IsVoter(id uint64) bool { return t.Voters.Contains(id) }

// matchAcks adapts the tracker to quorum.AckedIndexer over Match.
type matchAcks ProgressTracker

func (m *matchAcks) AckedIndex(id uint64) (uint64, bool) {
	pr, ok := m.progress[id]
	if !ok {
		return 0, false
	}
	return pr.Match, true
}

// Committed is the highest index a quorum of voters has acknowledged, or 0
// when there are no voters (nothing can commit without a quorum).
func (t *ProgressTracker) Committed() uint64 {
	if len(t.Voters) == 0 {
		return 0
	}
	return t.Voters.CommittedIndex((*matchAcks)(t))
}

// QuorumActive reports whether a quorum of voters has been RecentActive.
func (t *ProgressTracker) QuorumActive() bool {
	if len(t.Voters) == 0 {
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
	for _, id := range t.Voters {
		v, ok := t.votes[id]
		switch {
		case !ok:
		case v:
			granted++
		default:
			rejected++
		}
	}
	if len(t.Voters) == 0 {
		return granted, rejected, quorum.VoteLost
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
