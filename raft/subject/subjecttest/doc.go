// Package subjecttest holds the conformance suite every subject (Raft
// implementation under the harness) must pass, and the small in-memory
// cluster it runs on: replicas of one subject, a FIFO message queue the
// test delivers, cut links, crashes that keep only what the replicas'
// Readies persisted, a state machine fed by committed entries, and checks
// as it goes (one leader per term, one entry per index across state
// machines, contiguous applies, raftsim's encoding at the boundary, every
// message's header readable by the subject's Peek).
//
// It is a test driver, not the simulator: no time besides Tick, no latency
// besides delivery order. It never reads a clock, starts goroutines or
// draws unseeded randomness, so a test using it is reproducible; Trace's
// hash proves it.
package subjecttest
