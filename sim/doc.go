// Package sim is raftsim's kernel: a seeded, single-threaded discrete-event
// simulator with a virtual clock, a virtual network and virtual disks.
//
// One World holds everything a run touches. Events are ordered by (virtual
// time, insertion sequence), so two runs from the same seed execute the same
// callbacks in the same order and produce byte-identical traces. Randomness
// comes from one seed split into named streams (World.Rand), so a new draw in
// one component never shifts the draws of another.
//
// Processes (Raft nodes, clients) are built by a Factory that sees only an
// Env: its id, its local clock, its disk and its network. Kill is kill -9:
// the process's memory, timers, deferred work and unsynced disk writes are
// gone, and Restart calls the Factory again on what the disk kept.
//
// The trace records every event; a message event also carries the
// message's type, term and index as a Describer the harness installs says,
// so the kernel labels protocol traffic without knowing the protocol.
//
// The kernel never reads the wall clock, sleeps, starts goroutines, uses
// global rand or lets map order reach behaviour; sim/detguard enforces that
// for every package that runs under it.
package sim
