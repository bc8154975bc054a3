package scenarios

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/linearizability/model"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// Check is one expectation's verdict on a run.
type Check struct {
	Expect Expectation
	OK     bool
	// Skipped: the run stopped early (a safety violation stopped the
	// world) before the expectation could be judged. The run fails anyway.
	Skipped bool
	// Detail says what happened: why it failed, or what was seen.
	Detail string
	// Excused: it failed, but expected storage damage beyond the fault
	// model explains it (expect beyond-model), so it does not count.
	Excused bool
}

// String is "expect ...: ok (detail)", "expect ...: FAIL: detail",
// "expect ...: skipped (detail)" or "expect ...: excused, beyond the fault
// model (detail)".
func (c Check) String() string {
	switch {
	case c.Excused:
		return fmt.Sprintf("%s: excused, beyond the fault model (%s)", c.Expect, c.Detail)
	case c.Skipped:
		return fmt.Sprintf("%s: skipped (%s)", c.Expect, c.Detail)
	case c.OK:
		return fmt.Sprintf("%s: ok (%s)", c.Expect, c.Detail)
	}
	return fmt.Sprintf("%s: FAIL: %s", c.Expect, c.Detail)
}

// Restart-bytes slack: catching up is allowed Kx the bytes of the entries
// it missed, plus RestartSlackBytes, plus RestartSlackPerSecond for each
// second the catch-up took (heartbeats and client requests keep arriving
// meanwhile).
const (
	RestartSlackBytes     = 2 << 10
	RestartSlackPerSecond = 2 << 10
)

// evaluator judges expectations on one run's samples.
type evaluator struct {
	samples []runner.Sample
	// stoppedAt is when a safety violation stopped the world, or -1.
	stoppedAt sim.Time
	// entryBytes is the mean encoded size of a log entry (raftpb
	// AppendEntry), the unit of restart-bytes.
	entryBytes float64
	// installed counts snapshots each server installed (index id-1).
	installed []uint64
	// res is the run, for what samples do not hold: the messages sent,
	// the history, the servers at the end. Nil in tests of samples alone.
	res *runner.Result
}

// check judges one sample-based expectation (the always-judged ones are
// judged from the Result by baseCheck).
func (ev *evaluator) check(e Expectation) Check {
	c := Check{Expect: e}
	if end := e.end(); end > 0 {
		if skip, detail := ev.uncovered(end); detail != "" {
			c.Skipped, c.Detail = skip, detail
			return c
		}
	}
	switch e.Kind {
	case ExpectStableLeader:
		c.OK, c.Detail = ev.stableLeader(e.From, e.To)
	case ExpectOneLeader:
		c.OK, c.Detail = ev.oneLeader(e.From, e.To)
	case ExpectTermStable:
		c.OK, c.Detail = ev.termStable(e.From, e.To)
	case ExpectNoCommit:
		c.OK, c.Detail = ev.noCommit(e.From, e.To)
	case ExpectProgress:
		c.OK, c.Detail = ev.progress(e.After, e.Within)
	case ExpectLeaderChange:
		c.OK, c.Detail = ev.leaderChange(e.After, e.Within)
	case ExpectReadsPerRound:
		if why := ev.lacks("read-batching"); why != "" {
			c.Skipped, c.Detail = true, why
			break
		}
		c.OK, c.Detail = ev.readsPerRound(e)
	case ExpectRestartBytes:
		c.OK, c.Skipped, c.Detail = ev.restartBytes(e.Node, e.Factor)
	case ExpectBytesPerWrite:
		c.OK, c.Detail = ev.bytesPerWrite(e)
	case ExpectConfig:
		want := configWords(e.Voters, e.Learners)
		c.OK = ev.res != nil && ev.res.FinalConfig == want
		c.Detail = "the run ended with no server up to say"
		if ev.res != nil && ev.res.FinalConfig != "" {
			c.Detail = "ended with " + ev.res.FinalConfig
		}
		if !c.OK && ev.stoppedAt >= 0 {
			c.Skipped, c.Detail = true, "a safety violation stopped the run first"
		}
	case ExpectSnapshotInstalled:
		var n uint64
		if e.Node >= 1 && e.Node <= len(ev.installed) {
			n = ev.installed[e.Node-1]
		}
		c.OK = n > 0
		c.Detail = fmt.Sprintf("n%d installed %d snapshots from a leader", e.Node, n)
		if n == 0 && ev.stoppedAt >= 0 {
			c.Skipped, c.Detail = true, "a safety violation stopped the run first"
		}
	case ExpectSameTerm:
		c.OK, c.Detail = ev.sameTerm(e.At)
	case ExpectCommitted:
		c.OK, c.Detail = ev.committed(e.Index, e.Count, e.At)
	case ExpectLogsEqual:
		c.OK, c.Skipped, c.Detail = ev.logsEqual()
	case ExpectMessages, ExpectRPCs, ExpectBytes, ExpectOps:
		c.OK, c.Detail = ev.count(e)
	default:
		c.Detail = fmt.Sprintf("unknown expectation %q", e.Kind)
	}
	return c
}

// uncovered says whether the samples reach end; if not, whether that is
// because the run stopped early (skip) and what to report.
func (ev *evaluator) uncovered(end time.Duration) (skip bool, detail string) {
	last := sim.Time(-1)
	if n := len(ev.samples); n > 0 {
		last = ev.samples[n-1].At
	}
	if last.Add(runner.SampleEvery) > sim.Time(end) {
		return false, ""
	}
	if ev.stoppedAt >= 0 {
		return true, fmt.Sprintf("the run stopped at %v, before %v", ev.stoppedAt, end)
	}
	return false, fmt.Sprintf("the run ended at %v, before %v", max(last, 0), end)
}

// in returns the samples taken in [from, to].
func (ev *evaluator) in(from, to time.Duration) []runner.Sample {
	var out []runner.Sample
	for _, s := range ev.samples {
		if s.At >= sim.Time(from) && s.At <= sim.Time(to) {
			out = append(out, s)
		}
	}
	return out
}

// leaders lists the up nodes whose role is leader, with their terms.
func leaders(s runner.Sample) (ids []int, terms []uint64) {
	for i, n := range s.Nodes {
		if n.Up && n.Role == subject.Leader {
			ids, terms = append(ids, i+1), append(terms, n.Term)
		}
	}
	return ids, terms
}

// oneLeader: in every sample of [from, to] at most one up node believes it
// leads (a leader cut off from its quorum must have stepped down).
func (ev *evaluator) oneLeader(from, to time.Duration) (bool, string) {
	ss := ev.in(from, to)
	if len(ss) == 0 {
		return false, "no samples in the interval"
	}
	for _, s := range ss {
		if ids, terms := leaders(s); len(ids) > 1 {
			return false, fmt.Sprintf("at %v nodes %v all lead (terms %v)", s.At, ids, terms)
		}
	}
	return true, fmt.Sprintf("%d samples", len(ss))
}

// stableLeader: in every sample of [from, to] exactly one up node leads,
// and it is the same node in the same term throughout.
func (ev *evaluator) stableLeader(from, to time.Duration) (bool, string) {
	ss := ev.in(from, to)
	if len(ss) == 0 {
		return false, "no samples in the interval"
	}
	lead, term := 0, uint64(0)
	for _, s := range ss {
		ids, terms := leaders(s)
		switch {
		case len(ids) == 0:
			return false, fmt.Sprintf("no leader at %v", s.At)
		case len(ids) > 1:
			var parts []string
			for i, id := range ids {
				parts = append(parts, fmt.Sprintf("n%d term %d", id, terms[i]))
			}
			return false, fmt.Sprintf("%d leaders at %v (%s)", len(ids), s.At, strings.Join(parts, ", "))
		case lead == 0:
			lead, term = ids[0], terms[0]
		case ids[0] != lead || terms[0] != term:
			return false, fmt.Sprintf("at %v n%d led term %d, not n%d term %d as at %v", s.At, ids[0], terms[0], lead, term, ss[0].At)
		}
	}
	return true, fmt.Sprintf("n%d led term %d in all %d samples", lead, term, len(ss))
}

// maxTerm is the highest term of any up node.
func maxTerm(s runner.Sample) uint64 {
	var t uint64
	for _, n := range s.Nodes {
		if n.Up {
			t = max(t, n.Term)
		}
	}
	return t
}

// highest returns, for each sample, the highest value of "of" in any sample up to
// and including it: a committed index or a term never goes back, so a
// server that is down (or restarted with a lower commit hint, which it
// relearns) moves nothing, and only a real rise counts.
func (ev *evaluator) highest(of func(runner.Sample) uint64) []uint64 {
	out := make([]uint64, len(ev.samples))
	var hi uint64
	for k, s := range ev.samples {
		hi = max(hi, of(s))
		out[k] = hi
	}
	return out
}

// steady reports whether the highest value of "of" ever seen stays the same
// over the samples in [from, to]: the first sample that shows a rise, its
// value, and the value at the start.
func (ev *evaluator) steady(from, to time.Duration, of func(runner.Sample) uint64) (n int, v0, v uint64, at sim.Time) {
	hi := ev.highest(of)
	first := true
	for k, s := range ev.samples {
		if s.At < sim.Time(from) || s.At > sim.Time(to) {
			continue
		}
		n++
		if first {
			v0, first = hi[k], false
			continue
		}
		if hi[k] != v0 {
			return n, v0, hi[k], s.At
		}
	}
	return n, v0, v0, -1
}

// termStable: no up node reaches a term above the highest seen at the
// start of [from, to], in any sample of it (a node that is down, or
// restarts, moves nothing).
func (ev *evaluator) termStable(from, to time.Duration) (bool, string) {
	n, t0, t, at := ev.steady(from, to, maxTerm)
	switch {
	case n == 0:
		return false, "no samples in the interval"
	case at >= 0:
		return false, fmt.Sprintf("term went from %d to %d at %v", t0, t, at)
	}
	return true, fmt.Sprintf("term %d throughout", t0)
}

// noCommit: no up node shows a commit index above the highest any sample
// showed at the start of [from, to], in any sample of it. A committed
// index never goes back: a server that is down, or restarted with the
// lower commit hint it persisted, commits nothing.
func (ev *evaluator) noCommit(from, to time.Duration) (bool, string) {
	n, c0, c, at := ev.steady(from, to, runner.Sample.MaxCommit)
	switch {
	case n == 0:
		return false, "no samples in the interval"
	case at >= 0:
		return false, fmt.Sprintf("commit index went from %d to %d at %v", c0, c, at)
	}
	return true, fmt.Sprintf("commit index stayed at %d", c0)
}

// progress: some sample in (after, after+within] shows a commit index
// above the highest any sample up to after showed.
func (ev *evaluator) progress(after, within time.Duration) (bool, string) {
	var base uint64
	for _, s := range ev.samples {
		if s.At <= sim.Time(after) {
			base = max(base, s.MaxCommit())
		}
	}
	for _, s := range ev.in(after, after+within) {
		if s.At > sim.Time(after) && s.MaxCommit() > base {
			return true, fmt.Sprintf("commit index rose from %d to %d by %v", base, s.MaxCommit(), s.At)
		}
	}
	return false, fmt.Sprintf("commit index stayed at %d from %v to %v", base, after, after+within)
}

// leaderChange: some sample in (after, after+within] shows a leader other
// than the one leading in the last sample at or before after (a
// leadership transfer, or an election, happened in time).
func (ev *evaluator) leaderChange(after, within time.Duration) (bool, string) {
	before := 0
	for _, s := range ev.samples {
		if s.At <= sim.Time(after) {
			before, _ = s.Leader()
		}
	}
	if before == 0 {
		return false, fmt.Sprintf("no leader at %v to change from", after)
	}
	for _, s := range ev.in(after, after+within) {
		if id, _ := s.Leader(); s.At > sim.Time(after) && id != 0 && id != before {
			return true, fmt.Sprintf("n%d led at %v, n%d by %v", before, after, id, s.At)
		}
	}
	return false, fmt.Sprintf("n%d still led (or no one did) from %v to %v", before, after, after+within)
}

// readsPerRound compares the reads heartbeat rounds confirmed per round
// (the read index's batching) with the bound.
func (ev *evaluator) readsPerRound(e Expectation) (bool, string) {
	if ev.res == nil {
		return false, "no run"
	}
	m := ev.res.Metrics
	if m.ReadRounds == 0 {
		return false, "no heartbeat round confirmed a read"
	}
	ok := m.ReadsPerRound <= e.Factor
	if e.AtLeast {
		ok = m.ReadsPerRound >= e.Factor
	}
	return ok, fmt.Sprintf("%d reads in %d rounds: %.2f per round", m.RoundReads, m.ReadRounds, m.ReadsPerRound)
}

// restartBytes: after each restart of node (a sample in which it is up
// after one in which it was down), the bytes delivered to it until it has
// caught up are at most
//
//	factor × missed × entryBytes + RestartSlackBytes + RestartSlackPerSecond × catch-up seconds
//
// where "caught up" is the first sample in which its last log index
// reaches the highest last index any other up node had at the restart
// sample, missed is its last index then minus its last index in the last
// sample before it went down, and the bytes are its BytesReceived then
// minus in the sample before the restart (it receives nothing while
// down). A blank restart (sent the whole log again) or a leader that
// resends the whole log breaks it by the ratio of log length to missed
// entries. It fails if the node never restarts, or has not caught up when
// the run ends; a restart cut short by another crash is not judged.
// lacks says which of the named mechanisms the run's subject lacks ("" if
// none): an expectation about one of them is skipped, saying why.
func (ev *evaluator) lacks(names ...string) string {
	if ev.res == nil {
		return ""
	}
	sub := ev.res.Options.Server.Subject
	if why := sub.Capabilities.Missing(names...); why != "" && sub.Open != nil {
		return sub.Name + " lacks " + why
	}
	return ""
}

func (ev *evaluator) restartBytes(node int, factor float64) (ok, skipped bool, detail string) {
	i := node - 1
	ss := ev.samples
	restarts, judged := 0, 0
	var notes []string
	lastUp := -1 // index of the last sample in which the node was up
	for k := 0; k < len(ss); k++ {
		if i >= len(ss[k].Nodes) {
			return false, false, fmt.Sprintf("no node n%d in the samples", node)
		}
		if !ss[k].Nodes[i].Up {
			continue
		}
		if k == 0 || ss[k-1].Nodes[i].Up {
			lastUp = k
			continue
		}
		// A restart at sample k.
		restarts++
		var before uint64
		if lastUp >= 0 {
			before = ss[lastUp].Nodes[i].LastIndex
		}
		base := ss[k-1].Nodes[i].BytesReceived
		var target uint64
		for j, n := range ss[k].Nodes {
			if j != i && n.Up {
				target = max(target, n.LastIndex)
			}
		}
		caught := -1
		for j := k; j < len(ss) && ss[j].Nodes[i].Up; j++ {
			if ss[j].Nodes[i].LastIndex >= target {
				caught = j
				break
			}
			lastUp = j
		}
		if caught < 0 {
			j := k
			for j < len(ss) && ss[j].Nodes[i].Up {
				j++
			}
			if j < len(ss) {
				notes = append(notes, fmt.Sprintf("restart at %v went down again at %v before catching up (not judged)", ss[k].At, ss[j].At))
				k = j - 1
				continue
			}
			if ev.stoppedAt >= 0 {
				return false, true, fmt.Sprintf("the run stopped at %v before n%d (restarted at %v) caught up", ev.stoppedAt, node, ss[k].At)
			}
			return false, false, fmt.Sprintf("n%d restarted at %v and had not caught up to index %d when the run ended at %v (at %d)",
				node, ss[k].At, target, ss[len(ss)-1].At, ss[len(ss)-1].Nodes[i].LastIndex)
		}
		judged++
		c := ss[caught].Nodes[i]
		var missed uint64
		if c.LastIndex > before {
			missed = c.LastIndex - before
		}
		took := ss[caught].At.Sub(ss[k-1].At)
		got := c.BytesReceived - base
		allowed := factor*float64(missed)*ev.entryBytes + RestartSlackBytes + RestartSlackPerSecond*took.Seconds()
		what := fmt.Sprintf("restart at %v: caught up by %v, %d entries missed (%d to %d), %d bytes received, allowed %.0f (%.1f bytes/entry)",
			ss[k].At, ss[caught].At, missed, before, c.LastIndex, got, allowed, ev.entryBytes)
		if float64(got) > allowed {
			return false, false, what
		}
		notes = append(notes, what)
		lastUp = caught
		k = caught
	}
	switch {
	case restarts == 0 && ev.stoppedAt >= 0:
		return false, true, fmt.Sprintf("the run stopped at %v before n%d restarted", ev.stoppedAt, node)
	case restarts == 0:
		return false, false, fmt.Sprintf("n%d never restarted", node)
	case judged == 0:
		return false, false, strings.Join(notes, "; ")
	}
	return true, false, strings.Join(notes, "; ")
}

// bytesPerWrite: bytes delivered to all servers per committed entry over
// [From, To] is at most Factor times the same over [BaseFrom, BaseTo].
// Each window runs from the last sample at or before its start to the
// last sample at or before its end; committed entries are the rise of
// the highest commit index seen so far. Resending the whole log on every
// append makes the cost grow with the log, so a later window costs many
// times an earlier one.
func (ev *evaluator) bytesPerWrite(e Expectation) (bool, string) {
	cost := func(from, to time.Duration) (float64, uint64, string) {
		a, b := -1, -1
		var seen, ca, cb uint64
		for k, s := range ev.samples {
			seen = max(seen, s.MaxCommit())
			if s.At <= sim.Time(from) {
				a, ca = k, seen
			}
			if s.At <= sim.Time(to) {
				b, cb = k, seen
			}
		}
		if a < 0 || b <= a {
			return 0, 0, fmt.Sprintf("no samples from %v to %v", from, to)
		}
		var bytes uint64
		for i := range ev.samples[b].Nodes {
			bytes += ev.samples[b].Nodes[i].BytesReceived - ev.samples[a].Nodes[i].BytesReceived
		}
		if cb == ca {
			return 0, 0, fmt.Sprintf("no entry committed from %v to %v", from, to)
		}
		return float64(bytes) / float64(cb-ca), cb - ca, ""
	}
	got, n, why := cost(e.From, e.To)
	if why != "" {
		return false, why
	}
	base, nb, why := cost(e.BaseFrom, e.BaseTo)
	if why != "" {
		return false, why + " (the baseline)"
	}
	detail := fmt.Sprintf("%.0f bytes per write from %v to %v (%d writes), %.0f from %v to %v (%d writes): %.2fx",
		got, e.From, e.To, n, base, e.BaseFrom, e.BaseTo, nb, got/base)
	return got <= e.Factor*base, detail
}

// sameTerm: in the first sample at or after at, every up server is in
// the same term.
func (ev *evaluator) sameTerm(at time.Duration) (bool, string) {
	for _, s := range ev.samples {
		if s.At < sim.Time(at) {
			continue
		}
		var up []string
		terms := map[uint64]bool{}
		for i, n := range s.Nodes {
			if n.Up {
				up = append(up, fmt.Sprintf("n%d:%d", i+1, n.Term))
				terms[n.Term] = true
			}
		}
		switch {
		case len(up) == 0:
			return false, fmt.Sprintf("no server up at %v", s.At)
		case len(terms) > 1:
			return false, fmt.Sprintf("terms differ at %v (%s)", s.At, strings.Join(up, " "))
		}
		return true, fmt.Sprintf("%d servers in term %d at %v", len(up), s.Nodes[upIndex(s)].Term, s.At)
	}
	return false, fmt.Sprintf("no sample at or after %v", at)
}

func upIndex(s runner.Sample) int {
	for i, n := range s.Nodes {
		if n.Up {
			return i
		}
	}
	return 0
}

// committed: some sample at or before by shows at least count up servers
// whose commit index has reached index.
func (ev *evaluator) committed(index uint64, count int, by time.Duration) (bool, string) {
	most, mostAt := 0, sim.Time(0)
	for _, s := range ev.samples {
		if s.At > sim.Time(by) {
			break
		}
		k := 0
		for _, n := range s.Nodes {
			if n.Up && n.Commit >= index {
				k++
			}
		}
		if k >= count {
			return true, fmt.Sprintf("index %d committed on %d servers at %v", index, k, s.At)
		}
		if k > most {
			most, mostAt = k, s.At
		}
	}
	if most == 0 {
		return false, fmt.Sprintf("index %d committed on no server by %v", index, by)
	}
	return false, fmt.Sprintf("index %d committed on at most %d servers by %v (at %v)", index, most, by, mostAt)
}

// logsEqual: at the end of the run every server is up and holds the same
// log: the same last index, and at each index the same term and data on
// every server that still holds it.
func (ev *evaluator) logsEqual() (ok, skipped bool, detail string) {
	if ev.stoppedAt >= 0 {
		return false, true, fmt.Sprintf("the run stopped at %v", ev.stoppedAt)
	}
	if ev.res == nil || ev.res.Cluster == nil {
		return false, false, "no cluster to compare"
	}
	c := ev.res.Cluster
	var last uint64
	for id := 1; id <= c.Servers(); id++ {
		s := c.Server(id)
		if s == nil {
			return false, false, fmt.Sprintf("n%d is down at the end", id)
		}
		li := s.BasicStatus().LastIndex
		if id > 1 && li != last {
			return false, false, fmt.Sprintf("last index %d on n1, %d on n%d", last, li, id)
		}
		last = li
	}
	compared := 0
	for i := uint64(1); i <= last; i++ {
		first, have := raftpb.Entry{}, 0
		for id := 1; id <= c.Servers(); id++ {
			e, ok := c.Server(id).LogEntry(i)
			if !ok {
				continue // compacted away there
			}
			if have == 0 {
				first = e
			} else if e.Term != first.Term || e.Type != first.Type || !bytes.Equal(e.Data, first.Data) {
				return false, false, fmt.Sprintf("index %d differs: term %d on one server, %d on n%d", i, first.Term, e.Term, id)
			}
			have++
		}
		if have > 1 {
			compared++
		}
	}
	return true, false, fmt.Sprintf("%d servers, last index %d, %d entries compared", c.Servers(), last, compared)
}

// count: the messages (or requests, or bytes) servers sent each other,
// or the operations clients completed, in [From, To) and of the given
// types and clients, against the bound.
func (ev *evaluator) count(e Expectation) (bool, string) {
	if ev.res == nil {
		return false, "no run to count"
	}
	from, to := sim.Time(e.From), sim.Time(e.To)
	var n uint64
	what := string(e.Kind)
	if e.Kind == ExpectOps {
		what = "operations completed"
		servers := uint64(ev.res.Options.Servers)
		for _, op := range ev.res.Cluster.History.Operations() {
			if op.Unknown || sim.Time(op.Return) < from || sim.Time(op.Return) >= to {
				continue
			}
			if len(e.Clients) > 0 && !slices.Contains(e.Clients, int(op.ClientID-servers)) {
				continue
			}
			if len(e.Types) > 0 && !slices.Contains(e.Types, op.Input.Op.String()) {
				continue
			}
			n++
		}
	} else {
		var want [256]bool
		for _, name := range e.Types {
			t, _ := cluster.ParseType(name)
			want[t] = true
		}
		if e.Kind == ExpectRPCs {
			what = "requests"
		}
		for _, m := range ev.res.Messages {
			if m.At < from || m.At >= to || (len(e.Types) > 0 && !want[m.Type]) {
				continue
			}
			switch e.Kind {
			case ExpectRPCs:
				if !cluster.IsResponse(m.Type) {
					n++
				}
			case ExpectBytes:
				n += uint64(m.Size)
			default:
				n++
			}
		}
	}
	if n == 1 {
		what = map[string]string{"messages": "message", "requests": "request", "bytes": "byte",
			"operations completed": "operation completed"}[what]
	}
	detail := fmt.Sprintf("%d %s from %v to %v", n, what, e.From, e.To)
	if e.AtLeast {
		return n >= e.Bound, detail
	}
	return n <= e.Bound, detail
}

// baseCheck judges one of the always-judged expectations from the result.
func baseCheck(e Expectation, res *runner.Result) Check {
	c := Check{Expect: e}
	switch e.Kind {
	case ExpectLinearizable:
		lin := res.Linearizability
		c.OK = lin.Verdict == model.Linearizable
		switch lin.Verdict {
		case model.Linearizable:
			c.Detail = "history linearizable"
		case model.NotLinearizable:
			c.Detail = "not linearizable on keys " + strings.Join(lin.FailingKeys, ",")
		default:
			c.Detail = "the check did not finish (unknown)"
		}
	case ExpectNotLinearizable:
		lin := res.Linearizability
		c.OK = lin.Verdict == model.NotLinearizable
		switch lin.Verdict {
		case model.Linearizable:
			c.Detail = "the history is linearizable: no stale read showed"
		case model.NotLinearizable:
			c.Detail = "not linearizable on keys " + strings.Join(lin.FailingKeys, ",")
			if len(res.Explanations) > 0 && len(res.Explanations[0].Text) > 0 {
				c.Detail += ": " + strings.Join(res.Explanations[0].Text, " ")
			}
		default:
			c.Detail = "the check did not finish (unknown)"
		}
	case ExpectInvariants:
		c.OK = res.Invariant == nil && len(res.Halted) == 0
		switch {
		case res.Invariant != nil:
			c.Detail = fmt.Sprintf("%s broken at %v: %s", res.Invariant.Invariant, res.Invariant.At, res.Invariant.Message)
		case len(res.Halted) > 0:
			c.Detail = fmt.Sprintf("n%d halted: %s", res.Halted[0].Node, res.Halted[0].Err)
		default:
			c.Detail = fmt.Sprintf("%d checks, none broken", res.InvariantChecks)
		}
	case ExpectBeyondModel:
		c.OK = len(res.BeyondModel) > 0
		c.Detail = "every storage fault stayed within the fault model"
		if c.OK {
			c.Detail = strings.Join(res.BeyondModel, "; ")
		}
	case ExpectLiveness, ExpectUnavailable:
		l := res.Liveness
		c.Skipped = l.Skipped
		c.OK = l.OK == (e.Kind == ExpectLiveness) && !l.Skipped
		switch {
		case l.Skipped:
			c.Detail = "a safety violation stopped the run before the heal"
		case l.OK:
			c.Detail = fmt.Sprintf("recovered %v after the heal at %v", l.RecoveredAfter, res.HealedAt)
		default:
			c.Detail = fmt.Sprintf("no leader and completed operation within %v after the heal at %v", res.Options.Settle, res.HealedAt)
		}
	}
	return c
}

func isBase(k ExpectKind) bool {
	switch k {
	case ExpectLinearizable, ExpectNotLinearizable, ExpectInvariants, ExpectLiveness, ExpectUnavailable, ExpectBeyondModel:
		return true
	}
	return false
}

// meanEntryBytes is the mean encoded size of the entries in the log of
// the live server with the longest log.
func meanEntryBytes(res *runner.Result) float64 {
	c := res.Cluster
	if c == nil {
		return 0
	}
	best, last := 0, uint64(0)
	for id := 1; id <= c.Servers(); id++ {
		if s := c.Server(id); s != nil {
			if li := s.BasicStatus().LastIndex; li > last {
				best, last = id, li
			}
		}
	}
	if best == 0 {
		return 0
	}
	s := c.Server(best)
	size := s.Subject().EntrySize
	var total, n int
	for i := uint64(1); i <= last; i++ {
		e, ok := s.LogEntry(i)
		if !ok {
			continue
		}
		total += size(&e)
		n++
	}
	if n == 0 {
		return 0
	}
	return float64(total) / float64(n)
}
