package runner

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/sim"
)

// staleWorst is the longest a replaced leader went on leading, in
// election timeouts of its own (slowest) clock, counting running time.
func (r *Result) staleWorst() float64 {
	ts := r.Chronicle.Tenures()
	worst := 0.0
	for _, t := range ts {
		newer := sim.Time(-1)
		for _, u := range ts {
			if u.Term > t.Term && u.From >= t.From && u.From < t.To && (newer < 0 || u.From < newer) {
				newer = u.From
			}
		}
		if newer >= 0 {
			x := float64(r.runningTime(t.Node, newer, t.To)) * r.slowestClock(t.Node, newer, t.To) / float64(r.electionTimeout())
			worst = max(worst, x)
		}
	}
	return worst
}

// bytesRatio is append bytes per committed entry per follower, in mean
// entries (0 below MinEntriesForBytes).
func (r *Result) bytesRatio() float64 {
	m := r.Metrics
	if m.CommittedEntries < MinEntriesForBytes || m.LogEntriesMax == 0 || r.Options.Servers < 2 {
		return 0
	}
	mean := float64(m.LogBytesMax) / float64(m.LogEntriesMax)
	return float64(m.EntryBytesSent) / float64(m.CommittedEntries) / float64(r.Options.Servers-1) / mean
}

// TestCheckMargins prints how close the real implementation (or, with
// RAFTSIM_CHECK_PLANT, a planted bug) comes to each always-on check's
// bound over RAFTSIM_CHECK_MARGINS default seeds: the measurements behind
// the bounds in checks.go (docs/PERFORMANCE.md).
//
//	RAFTSIM_CHECK_MARGINS=500 go test ./scenarios/runner/ -run CheckMargins -v -timeout 1h
func TestCheckMargins(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("RAFTSIM_CHECK_MARGINS"))
	if n <= 0 {
		t.Skip("set RAFTSIM_CHECK_MARGINS=N")
	}
	var planted plant.Set
	if name := os.Getenv("RAFTSIM_CHECK_PLANT"); name != "" {
		b, err := plant.Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		planted = plant.Of(b)
	}
	var stale, bytes float64
	var rounds uint64
	failed := map[string]int{}
	for seed := 1; seed <= n; seed++ {
		res, err := Run(Options{Seed: uint64(seed), Planted: planted})
		if err != nil {
			t.Fatal(err)
		}
		stale, bytes = max(stale, res.staleWorst()), max(bytes, res.bytesRatio())
		rounds = max(rounds, res.calmElections().rounds)
		if sig := res.Signature(); sig != "" {
			failed[sig]++
			t.Logf("seed %d: %v", seed, res.Failures)
		}
	}
	fmt.Printf("plant %s, %d seeds: stale leader at most %.2f election timeouts of running time (bound %d + %v); appends at most %.1fx the entries per follower (bound %d); a calm election at most %d terms (bound %d); failed %v\n",
		planted, n, stale, StaleLeaderBound, StaleLeaderMargin, bytes, EntryBytesFactor, rounds, MaxElectionRounds, failed)
}
