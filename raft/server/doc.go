// Package server runs one Raft node for real: the thin host loop that
// drives a raft.Node, persists its Ready through the WAL, sends its
// messages, applies committed entries to the KV store, and answers clients.
//
// The loop's order is the whole point: persist and fsync first, then send,
// then apply. A vote or an acknowledgement that leaves before its state is
// durable is a promise a crash can break.
//
// On start, a server replays its WAL before it handles anything: term, vote
// and log come back from disk, and the store is rebuilt by reapplying the
// committed entries. A node that cannot read its WAL refuses to start.
//
// The server reaches the world only through Env (messages, timers, its
// disk, its random stream), which the simulator implements. It never reads
// a clock, starts goroutines or touches another node's memory.
package server
