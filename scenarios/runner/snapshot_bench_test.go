package runner_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/raft/kv"
	"github.com/seed4fee1fef/raftsim/raft/server"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// BenchmarkCompactionBoundsTheLog runs the standard load with no faults
// and snapshot-entries 1000 for 120s and 480s of virtual time: the most
// entries (and entry bytes) any server's log holds stays the same however
// long the run, where without snapshots it grows with the run.
func BenchmarkCompactionBoundsTheLog(b *testing.B) {
	for _, policy := range []struct {
		name    string
		entries int
	}{{"snapshot-entries-1000", 1000}, {"never", -1}} {
		for _, d := range []time.Duration{120 * time.Second, 480 * time.Second} {
			b.Run(fmt.Sprintf("%s/%v", policy.name, d), func(b *testing.B) {
				var entries, logBytes, taken uint64
				for i := 0; i < b.N; i++ {
					res, err := runner.Run(runner.Options{Seed: uint64(i + 1), NoFaults: true, FaultTime: d,
						Trace: sim.TraceHashOnly, Server: server.Config{SnapshotEntries: policy.entries}})
					if err != nil {
						b.Fatal(err)
					}
					if !res.Pass {
						b.Fatalf("run failed: %v", res.Failures)
					}
					entries = max(entries, res.Metrics.LogEntriesMax)
					logBytes = max(logBytes, res.Metrics.LogBytesMax)
					taken += res.Metrics.SnapshotsTaken
				}
				b.ReportMetric(float64(entries), "log-entries-max")
				b.ReportMetric(float64(logBytes), "log-bytes-max")
				b.ReportMetric(float64(taken)/float64(b.N), "snapshots/run")
			})
		}
	}
}

// BenchmarkRestart restarts a single server whose log holds 100,000
// committed entries: from its snapshot plus the WAL after it (a snapshot
// every 1000 entries, no trailing tail kept) versus replaying the whole
// log. It reports the CPU cost of one restart (ns/op), the entries
// replayed from the WAL, and the trace events the restart takes.
func BenchmarkRestart(b *testing.B) {
	for _, policy := range []struct {
		name    string
		entries int
	}{{"from-snapshot", 1000}, {"full-replay", -1}} {
		b.Run(policy.name, func(b *testing.B) {
			w, err := sim.New(sim.Config{Seed: 1, Nodes: 1, Trace: sim.TraceHashOnly})
			if err != nil {
				b.Fatal(err)
			}
			c, err := cluster.New(w, cluster.Config{Servers: 1,
				Server: server.Config{SnapshotEntries: policy.entries, TrailingEntries: -1}})
			if err != nil {
				b.Fatal(err)
			}
			w.RunFor(time.Second)
			for i := 0; c.Server(1).Store().AppliedIndex() < 100_000; i++ {
				cmd := kv.Command{ClientID: 1, Seq: uint64(i + 1), Op: kv.OpPut, Key: fmt.Sprintf("k%d", i%64), Value: fmt.Sprintf("v%d", i)}
				if err := c.Server(1).Propose(cmd.Encode()); err != nil {
					b.Fatal(err)
				}
			}
			var replayed int
			events := w.Trace().Len()
			b.ResetTimer()
			for b.Loop() {
				if err := w.Kill(1, false); err != nil {
					b.Fatal(err)
				}
				before := w.Trace().Len()
				if err := w.Restart(1); err != nil {
					b.Fatal(err)
				}
				events = w.Trace().Len() - before
				s := c.Server(1)
				if s == nil || s.Store().AppliedIndex() < 100_000 {
					b.Fatalf("restart lost state: %v", w.StartError(1))
				}
				replayed = len(s.Replayed.Entries)
			}
			b.ReportMetric(float64(replayed), "entries-replayed")
			b.ReportMetric(float64(events), "events/restart")
		})
	}
}

// BenchmarkBringUpAnEmptyFollower has n5 down from the start while the
// others commit for 30s, then brings it up: by InstallSnapshot (a
// snapshot every 1000 entries, no trailing tail) or by entries (no
// snapshots). It reports the bytes delivered to n5 until it caught up.
func BenchmarkBringUpAnEmptyFollower(b *testing.B) {
	for _, policy := range []struct {
		name    string
		entries int
	}{{"by-snapshot", 1000}, {"by-entries", -1}} {
		b.Run(policy.name, func(b *testing.B) {
			var bytes, missed uint64
			for i := 0; i < b.N; i++ {
				sched := faults.Schedule{Faults: []faults.Fault{{Kind: faults.Kill, At: 0, Until: 30 * time.Second, Nodes: []int{5}}},
					HealAt: 30 * time.Second, End: 40 * time.Second}
				res, err := runner.Run(runner.Options{Seed: uint64(i + 1), FaultTime: 30 * time.Second, Schedule: &sched,
					Workload: client.Workload{Keys: 16, Put: 3, Get: 4, Append: 2, CAS: 1, Think: 20 * time.Millisecond},
					Trace:    sim.TraceHashOnly, Server: server.Config{SnapshotEntries: policy.entries, TrailingEntries: -1}})
				if err != nil {
					b.Fatal(err)
				}
				if !res.Pass {
					b.Fatalf("run failed: %v", res.Failures)
				}
				got, n, ok := catchUp(res, 5, 30*time.Second)
				if !ok {
					b.Fatal("n5 never caught up")
				}
				bytes += got
				missed += n
			}
			b.ReportMetric(float64(bytes)/float64(b.N), "bytes-to-catch-up")
			b.ReportMetric(float64(missed)/float64(b.N), "entries-behind")
		})
	}
}

// catchUp measures, from the samples, the bytes delivered to server id
// from its restart at from until its last index reached the leader's, and
// how many entries it was behind.
func catchUp(res *runner.Result, id int, from time.Duration) (bytes, behind uint64, ok bool) {
	var start *runner.Sample
	for i := range res.Samples {
		s := &res.Samples[i]
		if s.At.Duration() < from {
			continue
		}
		n := s.Nodes[id-1]
		if start == nil {
			start = s
			lead, _ := s.Leader()
			if lead > 0 {
				behind = s.Nodes[lead-1].LastIndex - n.LastIndex
			}
			continue
		}
		if lead, _ := s.Leader(); lead > 0 && n.Up && n.LastIndex >= s.Nodes[lead-1].LastIndex {
			return n.BytesReceived - start.Nodes[id-1].BytesReceived, behind, true
		}
	}
	return 0, 0, false
}
