package subjecttest

import (
	"fmt"

	"github.com/seed4fee1fef/raftsim/raft/subject"
)

// Trace runs a fixed schedule on a five-replica cluster of s seeded with
// seed (an election, writes, a partition of the leader, a crash and
// restart, a snapshot, a heal; a network that loses, duplicates and
// reorders) and returns the hash of every message sent,
// in order. The same subject, seed and build must give the same hash in
// every run, process and GOMAXPROCS.
func Trace(s subject.Subject, seed uint64) (uint64, error) {
	c, err := NewCluster(s, 5, 0, seed, DefaultConfig())
	if err != nil {
		return 0, err
	}
	c.Net = Net{Loss: 0.05, Duplicate: 0.05, Reorder: 0.1}
	step := 0
	write := func(k int) {
		for range k {
			if lead := c.Leader(); lead != 0 {
				_ = c.Propose(lead, fmt.Sprintf("w%d", step))
			}
			step++
			c.Round()
		}
	}
	c.Rounds(40)
	write(10)
	if lead := c.Leader(); lead != 0 {
		c.Isolate(lead)
	}
	c.Rounds(40)
	write(10)
	c.Crash(2)
	write(5)
	if lead := c.Leader(); lead != 0 {
		if err := c.Snapshot(lead, 2); err != nil {
			return 0, fmt.Errorf("snapshot: %w", err)
		}
	}
	c.Heal()
	if err := c.Restart(2); err != nil {
		return 0, err
	}
	write(10)
	c.Rounds(40)
	if len(c.Violations) > 0 {
		return 0, fmt.Errorf("violations: %v", c.Violations)
	}
	for _, n := range c.Nodes[1:] {
		if n.Err != nil {
			return 0, fmt.Errorf("n%d halted: %w", n.ID, n.Err)
		}
	}
	return c.Hash(), nil
}
