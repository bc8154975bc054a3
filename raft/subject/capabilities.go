package subject

import "strings"

// Capabilities says which of the harness's optional mechanisms a subject
// has. Where a subject lacks one, the host and the report say so in plain
// words (Lacks), and a scenario that requires it is skipped, saying why
// (Missing), instead of running as if it were there.
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
	// ReadBatching: one heartbeat round confirms every read that arrived
	// while the previous round was in flight.
	ReadBatching bool
	// DriftBoundedLease: ReadLease's lease is counted in the leader's
	// ticks from the send time of a round a quorum acknowledged and
	// shortened by Config.MaxClockDriftPPM, so lease reads stay
	// linearizable while clocks drift within that bound.
	DriftBoundedLease bool
	// Transfer: leadership transfer (Replica.TransferLeadership works).
	Transfer bool
	// PromotionGuard: the leader refuses to promote a learner that does
	// not yet hold every committed entry (it would make the quorum wait).
	PromotionGuard bool
	// Plants: bugs can be planted in the subject's Raft layer
	// (Config.Planted); only raftsim's own Raft has them.
	Plants bool
	// Differences are model differences the subject declares, one plain
	// sentence each, for reports: behaviour that is not missing but not
	// the same as raftsim's either.
	Differences []string
}

// mechanism is one optional mechanism: the name scripts use (requires
// NAME), the field, and what lacking it means, in plain words.
type mechanism struct {
	name string
	has  func(Capabilities) bool
	lack string
}

var mechanisms = []mechanism{
	{"recovery", func(c Capabilities) bool { return c.Recovery },
		"no recovering mode for damaged storage: a server whose disk lost data it had acknowledged (or its record of its vote) cannot rejoin safely, so it stays down"},
	{"chunked-snapshots", func(c Capabilities) bool { return c.ChunkedSnapshots },
		"no chunked snapshots: a snapshot travels as one message, however large"},
	{"read-index", func(c Capabilities) bool { return c.ReadIndex },
		"no read index: reads cannot be confirmed without the log"},
	{"read-batching", func(c Capabilities) bool { return c.ReadBatching },
		"no read batching: every read index costs a heartbeat round of its own"},
	{"drift-bounded-lease", func(c Capabilities) bool { return c.DriftBoundedLease },
		"no drift-bounded lease: lease reads trust the leader's CheckQuorum alone, whatever the clocks do"},
	{"transfer", func(c Capabilities) bool { return c.Transfer },
		"no leadership transfer"},
	{"promotion-guard", func(c Capabilities) bool { return c.PromotionGuard },
		"no promotion guard: a learner is promoted however far behind it is, and the quorum waits for it"},
	{"plants", func(c Capabilities) bool { return c.Plants },
		"no planted bugs in the Raft layer"},
}

// Mechanisms lists the names of the optional mechanisms, in a fixed
// order.
func Mechanisms() []string {
	out := make([]string, len(mechanisms))
	for i, m := range mechanisms {
		out[i] = m.name
	}
	return out
}

// IsMechanism reports whether name is one of Mechanisms.
func IsMechanism(name string) bool {
	for _, m := range mechanisms {
		if m.name == name {
			return true
		}
	}
	return false
}

// Lacks lists, one plain sentence each, the mechanisms c does not have,
// in Mechanisms' order.
func (c Capabilities) Lacks() []string {
	var out []string
	for _, m := range mechanisms {
		if !m.has(c) {
			out = append(out, m.lack)
		}
	}
	return out
}

// Missing says which of the named mechanisms c lacks, as "name: what
// lacking it means" joined by "; "; "" if it has them all. Unknown names
// are reported as such.
func (c Capabilities) Missing(names ...string) string {
	var out []string
	for _, name := range names {
		found := false
		for _, m := range mechanisms {
			if m.name == name {
				found = true
				if !m.has(c) {
					out = append(out, name+": "+m.lack)
				}
			}
		}
		if !found {
			out = append(out, name+": not a mechanism (known: "+strings.Join(Mechanisms(), ", ")+")")
		}
	}
	return strings.Join(out, "; ")
}
