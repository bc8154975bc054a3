// Package disk is the simulator's disk: one per node, an in-memory flat
// directory with a page cache, so that a crash loses exactly what a real
// crash could. It knows nothing of Raft: its API has the shape of the
// hosts' file-system interface (raft/vfs), and the harness adapts one to
// the other (scenarios/cluster), so the kernel imports nothing above it.
//
// Crash model. Every file is an inode with visible contents (what reads see)
// and durable contents (what survives a crash); the directory likewise has a
// visible and a durable version. Each mutation is applied to the visible
// state at once and appended to one ordered list of pending operations.
// File.Sync makes that file's pending writes and truncations durable;
// FS.SyncDir makes pending creations, renames and removals durable. A crash
// drops the page cache: only durable state survives, optionally after
// applying a seeded prefix of the pending list whose last write may be torn.
// Bytes that were never written can never appear.
//
// The disk never reads a wall clock, never starts a goroutine and never uses
// a random source it was not handed: all time is reported back as a
// duration (TakeSyncDelay) for the simulator to charge, and all randomness
// arrives through the Rand passed to Crash. It is single-threaded; the
// simulator calls it from one event loop.
package disk
