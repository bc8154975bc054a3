package subject

// Capabilities says which of the harness's optional mechanisms a subject
// has. Where a subject lacks one, the host and the report say so in plain
// words (Lacks) instead of running as if it were there.
type Capabilities struct {
	// Recovery: the recovering mode for damaged storage (Restored's
	// Recovering, RecoverTo and VoteLost honoured: a replica that lost
	// durable data neither votes nor campaigns until it caught up).
	Recovery bool
	// ChunkedSnapshots: snapshots travel in chunks of at most
	// MaxSizePerMsg, one chunk window at a time.
	ChunkedSnapshots bool
	// ReadIndex: ReadIndex confirms reads (Replica.ReadIndex works).
	ReadIndex bool
	// DriftBoundedLease: ReadLease's lease is counted in the leader's
	// ticks from the send time of a round a quorum acknowledged and
	// shortened by Config.MaxClockDriftPPM, so lease reads stay
	// linearizable while clocks drift within that bound.
	DriftBoundedLease bool
	// Transfer: leadership transfer (Replica.TransferLeadership works).
	Transfer bool
	// Plants: bugs can be planted in the subject's Raft layer
	// (Config.Planted); only raftsim's own Raft has them.
	Plants bool
	// Differences are model differences the subject declares, one plain
	// sentence each, for reports: behaviour that is not missing but not
	// the same as raftsim's either.
	Differences []string
}

// Lacks lists, one plain sentence each, the mechanisms c does not have,
// in a fixed order.
func (c Capabilities) Lacks() []string {
	var out []string
	if !c.Recovery {
		out = append(out, "no recovering mode for damaged storage: a server whose disk lost data it had acknowledged cannot rejoin safely, so it stays down")
	}
	if !c.ChunkedSnapshots {
		out = append(out, "no chunked snapshots: a snapshot travels as one message, however large")
	}
	if !c.ReadIndex {
		out = append(out, "no read index: reads cannot be confirmed without the log")
	}
	if !c.DriftBoundedLease {
		out = append(out, "no drift-bounded lease: lease reads trust the leader's CheckQuorum alone, whatever the clocks do")
	}
	if !c.Transfer {
		out = append(out, "no leadership transfer")
	}
	if !c.Plants {
		out = append(out, "no planted bugs in the Raft layer (scenarios that plant one are skipped)")
	}
	return out
}
