package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ExpectKind names an expectation exactly as the script spells it after
// "expect".
type ExpectKind string

// The expectations. What each means precisely is in docs/SCENARIOS.md and
// on the evaluators in check.go.
const (
	// Always judged (listing them documents the scenario):
	ExpectLinearizable ExpectKind = "linearizable" // porcupine finds the history linearizable
	ExpectInvariants   ExpectKind = "invariants"   // no Raft safety invariant broken, no node halted
	ExpectLiveness     ExpectKind = "liveness"     // leader and a completed operation within settle after the heal
	// ExpectUnavailable turns liveness around: the cluster must NOT
	// recover after the heal (a majority gone for good).
	ExpectUnavailable ExpectKind = "unavailable"
	// ExpectNotLinearizable turns linearizability around: the history
	// must NOT be linearizable (reads that are stale by design, or past
	// a configured bound), and the check names the stale read.
	ExpectNotLinearizable ExpectKind = "not-linearizable"
	// ExpectBeyondModel: the run's storage faults must go beyond what any
	// Raft can survive (a consistent rollback of a server's WAL and
	// high-water mark that no checksum sees), and the run must say so;
	// the safety failures that follow are then its consequence, reported
	// but not counted against the scenario.
	ExpectBeyondModel ExpectKind = "beyond-model"

	// Judged on the samples (runner.Sample, every 50ms):
	ExpectStableLeader  ExpectKind = "stable-leader"   // from T to T
	ExpectOneLeader     ExpectKind = "one-leader"      // from T to T
	ExpectTermStable    ExpectKind = "term-stable"     // from T to T
	ExpectNoCommit      ExpectKind = "no-commit"       // from T to T
	ExpectProgress      ExpectKind = "progress"        // within D after T
	ExpectLeaderChange  ExpectKind = "leader-change"   // within D after T
	ExpectRestartBytes  ExpectKind = "restart-bytes"   // nX <= Kx-missed
	ExpectBytesPerWrite ExpectKind = "bytes-per-write" // from T to T <= Kx from T to T
	ExpectSameTerm      ExpectKind = "same-term"       // at T
	ExpectCommitted     ExpectKind = "committed"       // INDEX on K by T

	// Judged on the servers at the end of the run:
	ExpectLogsEqual ExpectKind = "logs-equal"

	// Counted exactly, over [from, to) (not sampled):
	ExpectMessages ExpectKind = "messages" // [type=T,...] <= N from T to T: server-to-server messages sent
	ExpectRPCs     ExpectKind = "rpcs"     // the same, requests only (an RPC is a request and its response)
	ExpectBytes    ExpectKind = "bytes"    // the same, their bytes
	ExpectOps      ExpectKind = "ops"      // [clients=cI,...] [type=OP,...] <= N: client operations completed

	// Judged on the run's counters:
	ExpectSnapshotInstalled ExpectKind = "snapshot-installed" // nX: installed a snapshot from a leader
	ExpectConfig            ExpectKind = "config"             // voters=nA,nB [learners=nC]: the configuration at the end
	ExpectReadsPerRound     ExpectKind = "reads-per-round"    // >= X: reads confirmed per heartbeat round
)

var expectKinds = []ExpectKind{ExpectLinearizable, ExpectNotLinearizable, ExpectInvariants, ExpectLiveness, ExpectUnavailable, ExpectBeyondModel,
	ExpectStableLeader, ExpectOneLeader, ExpectTermStable, ExpectNoCommit, ExpectProgress, ExpectLeaderChange, ExpectRestartBytes, ExpectBytesPerWrite,
	ExpectSnapshotInstalled, ExpectConfig, ExpectReadsPerRound,
	ExpectSameTerm, ExpectCommitted, ExpectLogsEqual, ExpectMessages, ExpectRPCs, ExpectBytes, ExpectOps}

// Expectation is one expect line. Only the fields its kind uses are set.
type Expectation struct {
	Kind ExpectKind
	// From and To bound the interval of stable-leader, term-stable,
	// no-commit, and the measured window of bytes-per-write.
	From, To time.Duration
	// progress and leader-change within Within after After.
	After, Within time.Duration
	// Node is restart-bytes' and snapshot-installed's server.
	Node int
	// Factor is restart-bytes' K (Kx-missed), bytes-per-write's K and
	// reads-per-round's bound (with AtLeast for >=).
	Factor float64
	// BaseFrom and BaseTo are bytes-per-write's baseline window.
	BaseFrom, BaseTo time.Duration
	// At is same-term's time and committed's "by".
	At time.Duration
	// Index and Count: committed's index, and the servers it needs.
	Index uint64
	Count int
	// Types filter a count: message types (cluster.TypeName) for
	// messages, rpcs and bytes; operations (get, put, append, cas) for ops.
	// Clients filters ops by client (1 is c1). Empty: all.
	Types   []string
	Clients []int
	// AtLeast makes a count a lower bound (>=); otherwise it is an upper
	// bound (<=) on Bound.
	AtLeast bool
	Bound   uint64
	// Voters and Learners are config's expected configuration.
	Voters, Learners []int
}

// String renders e as its script line, e.g. "expect stable-leader from 2s to 30s".
func (e Expectation) String() string {
	s := "expect " + string(e.Kind)
	switch e.Kind {
	case ExpectStableLeader, ExpectOneLeader, ExpectTermStable, ExpectNoCommit:
		s += fmt.Sprintf(" from %v to %v", e.From, e.To)
	case ExpectProgress, ExpectLeaderChange:
		s += fmt.Sprintf(" within %v after %v", e.Within, e.After)
	case ExpectReadsPerRound:
		s += fmt.Sprintf(" %s %s", e.op(), strconv.FormatFloat(e.Factor, 'g', -1, 64))
	case ExpectRestartBytes:
		s += fmt.Sprintf(" n%d <= %sx-missed", e.Node, strconv.FormatFloat(e.Factor, 'g', -1, 64))
	case ExpectSnapshotInstalled:
		s += fmt.Sprintf(" n%d", e.Node)
	case ExpectConfig:
		s += " " + configWords(e.Voters, e.Learners)
	case ExpectBytesPerWrite:
		s += fmt.Sprintf(" from %v to %v <= %sx from %v to %v", e.From, e.To,
			strconv.FormatFloat(e.Factor, 'g', -1, 64), e.BaseFrom, e.BaseTo)
	case ExpectSameTerm:
		s += fmt.Sprintf(" at %v", e.At)
	case ExpectCommitted:
		s += fmt.Sprintf(" %d on %d by %v", e.Index, e.Count, e.At)
	case ExpectMessages, ExpectRPCs, ExpectBytes, ExpectOps:
		if len(e.Clients) > 0 {
			names := make([]string, len(e.Clients))
			for i, c := range e.Clients {
				names[i] = "c" + strconv.Itoa(c)
			}
			s += " clients=" + strings.Join(names, ",")
		}
		if len(e.Types) > 0 {
			s += " type=" + strings.Join(e.Types, ",")
		}
		s += fmt.Sprintf(" %s %d from %v to %v", e.op(), e.Bound, e.From, e.To)
	}
	return s
}

// op is a count's comparison as written.
func (e Expectation) op() string {
	if e.AtLeast {
		return ">="
	}
	return "<="
}

// end is the latest time e looks at (0 for the whole-run checks).
func (e Expectation) end() time.Duration {
	switch e.Kind {
	case ExpectStableLeader, ExpectOneLeader, ExpectTermStable, ExpectNoCommit:
		return e.To
	case ExpectProgress, ExpectLeaderChange:
		return e.After + e.Within
	case ExpectBytesPerWrite:
		return max(e.To, e.BaseTo)
	case ExpectSameTerm, ExpectCommitted:
		return e.At
	case ExpectMessages, ExpectRPCs, ExpectBytes, ExpectOps:
		return e.To
	}
	return 0
}

// configWords renders a configuration as config expects it:
// "voters=n1,n2,n3 learners=n4" (learners= empty when there are none).
func configWords(voters, learners []int) string {
	names := func(ids []int) string {
		s := make([]string, len(ids))
		for i, id := range ids {
			s[i] = "n" + strconv.Itoa(id)
		}
		return strings.Join(s, ",")
	}
	return "voters=" + names(voters) + " learners=" + names(learners)
}
