// Package model checks a run's client history for linearizability against
// a sequential specification of the KV store (raft/kv), written as a
// porcupine model.
//
// Its one job: given every operation the clients called (history.Operation),
// decide whether some single order of them, consistent with real time, is
// a legal execution of kv.Store — and if not, which keys are to blame. The
// model is partitioned by key (a history is linearizable if and only if
// each key's sub-history is), and its Step mirrors raft/kv exactly: an
// absent key reads as "" with Found=false, Append creates the key, CAS
// compares Expected with the current value (absent counts as ""), and
// every result reports the key as it was before the command (Value,
// Found) with Applied saying whether the command wrote. Results are
// checked in full, so a put that reports the wrong previous value is a
// violation just like a stale read.
//
// The unknown-outcome rule: an operation whose outcome the client never
// learned (it timed out, its client gave up, its node died) may have taken
// effect at any time after its call, or never. Check gives it a return
// time of infinity (math.MaxInt64), and the model accepts any output for
// it while still applying its write where it is linearized. Each key also
// gets an end-of-history marker, after every known operation: an unknown
// operation linearized before the marker took effect there, one linearized
// after it never took effect. Such an operation is never dropped and never
// treated as failed: either would make the checker accept wrong histories
// or reject right ones. A result marked Stale says nothing about the key;
// the client should record it as unknown, and Check does so itself if one
// slips through (counted in Result.StaleOps).
//
// Unknown operations that never took effect stay pending through the
// whole search, and porcupine would try each at every point; on a key that
// is not linearizable (where the search is exhaustive) a few dozen of them
// made checks of a thousand operations time out. So the model only places
// an unknown operation where a canonical linearization would: where it
// changes the key, not directly overwriting another unobserved unknown
// write, and leaving a value that some known operation could still
// observe (see Model and ModelFor, which argue why no verdict changes; a
// brute-force differential test backs the argument).
//
// Long histories: Check cuts each key's history at quiet points (no
// operation open; an unknown one counts as open until the last known
// operation that could observe its write) and searches the segments in
// turn, every state one can end in feeding the next, so a check's cost
// grows linearly with the history rather than with its square (see
// segment.go for why the cuts are sound; rapid tests compare the
// segmented check with porcupine over whole histories, and with brute
// force). Porcupine itself runs only for a report's visualization.
//
// A check's effort is bounded by a Budget in model steps, never by wall
// time, so its verdict depends on the history alone, on any machine under
// any load. A budget that runs out is never a pass: the verdict is
// Unknown, which callers must treat as "not shown linearizable".
// Verdict's zero value is Unknown for the same reason.
//
// The package runs after the simulation, not under it, but still obeys the
// repository's determinism rules (sim/detguard): it reads no clock (the
// caller times a check if it wants to), starts no goroutine and lets no
// map order reach its output. (Porcupine, for the visualization, runs its
// keys in goroutines of its own; each key's budget is its own, so the
// picture is deterministic too.)
package model
