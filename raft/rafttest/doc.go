// Package rafttest runs a cluster of raft.Nodes in memory for tests: a
// message queue whose delivery, loss, duplication, reordering and
// partitioning the test controls; a per-node Disk that holds exactly what
// the node's Ready told the host to persist; and a per-node state machine
// fed by CommittedEntries. Crash drops everything but the Disk (kill -9),
// and Restart rebuilds the node from the Disk alone, so a test sees what a
// real restart would.
//
// It is a test driver, not the simulator: there is no time besides Tick
// and no latency besides the order the test delivers in. It never uses a
// clock, goroutines or unseeded randomness, so a test using it is
// reproducible.
package rafttest
