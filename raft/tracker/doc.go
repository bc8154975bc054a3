// Package tracker is the leader's bookkeeping about its followers: for each
// peer a Progress (how much of the log it is known to hold, what to send it
// next, whether to probe or stream, and an Inflights window bounding the
// appends sent but not yet acknowledged), plus the ProgressTracker that
// holds them all together with the voter configuration and the votes of
// an election in progress.
//
// It never sends messages or reads the log: it only answers "what may be
// sent to whom" and records what was sent and acknowledged. Peers are kept
// in sorted ID order, so every walk over them (Visit, IDs) is the same on
// every run.
package tracker
