package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/seed4fee1fef/raftsim/raft/kv"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/subject"
)

// ReadMode is how a server answers gets.
type ReadMode uint8

const (
	// ReadDefault is the zero value: ReadIndex.
	ReadDefault ReadMode = iota
	// ReadIndex: the leader confirms with a heartbeat round that it still
	// leads (one round for every read that arrived before it), then the
	// server that got the get answers from its own state once it has
	// applied up to the read index. A follower forwards the read to the
	// leader. Linearizable whatever the clocks do.
	ReadIndex
	// ReadLease: as ReadIndex, except that the leader skips the round
	// while its lease holds (subject.ReadLease). Linearizable while
	// every clock's drift stays within MaxDriftPPM.
	ReadLease
	// ReadLog: a get goes through the log like a write, and is answered
	// when it applies. Linearizable, at the cost of an entry and an fsync
	// per read.
	ReadLog
	// ReadLocal: any server answers from its own state at once, leader or
	// not, however far behind. Not linearizable, by design: a dashboard's
	// reads.
	ReadLocal
)

var readModeNames = [...]string{ReadDefault: "default", ReadIndex: "index", ReadLease: "lease", ReadLog: "log", ReadLocal: "local"}

func (m ReadMode) String() string {
	if int(m) < len(readModeNames) {
		return readModeNames[m]
	}
	return fmt.Sprintf("ReadMode(%d)", m)
}

// ReadModes are the modes a run may choose, in the order the language
// lists them.
func ReadModes() []ReadMode { return []ReadMode{ReadIndex, ReadLease, ReadLog, ReadLocal} }

// ParseReadMode returns the mode spelled s ("index", "lease", "log",
// "local").
func ParseReadMode(s string) (ReadMode, bool) {
	for _, m := range ReadModes() {
		if m.String() == s {
			return m, true
		}
	}
	return ReadDefault, false
}

// pendingRead is a get waiting at this server for its read index (or, once
// confirmed, for this server to apply up to it). Clients issue one request
// at a time, so there is at most one per client.
type pendingRead struct {
	from, seq uint64
	key       string
	index     uint64
	confirmed bool
}

// ReadEvent is a get on its way through the read index (Config.OnRead):
// asked of the node (Confirmed false), in Term, by a server that led
// then (Leader) or not; or confirmed by it at read index Index.
type ReadEvent struct {
	Client, Seq uint64
	Confirmed   bool
	Term        uint64
	Leader      bool
	Index       uint64
}

// readCtx identifies a read to Raft: the client and its sequence number.
func readCtx(client, seq uint64) []byte {
	return binary.AppendUvarint(binary.AppendUvarint(make([]byte, 0, 12), client), seq)
}

func parseReadCtx(b []byte) (client, seq uint64, ok bool) {
	client, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, 0, false
	}
	seq, j := binary.Uvarint(b[k:])
	return client, seq, j > 0 && k+j == len(b)
}

// handleGet answers a get by the server's read mode; it reports false if
// the get is to go through the log.
func (s *Server) handleGet(from uint64, req kv.Request, st *subject.Status) bool {
	switch s.cfg.Reads {
	case ReadLocal:
		s.answerGet(from, req.ClientID, req.Seq, req.Cmd.Key)
		return true
	case ReadIndex, ReadLease:
	default:
		return false
	}
	if !s.node.Member() {
		// Removed (or not yet added): no leader answers it.
		s.stats.Redirects++
		s.respond(from, kv.Response{ClientID: req.ClientID, Seq: req.Seq, Status: kv.StatusNotLeader})
		return true
	}
	if err := s.node.ReadIndex(readCtx(req.ClientID, req.Seq)); err != nil {
		if errors.Is(err, subject.ErrPanicked) {
			s.halt(fmt.Errorf("server %d: %w", s.cfg.ID, err))
			return true
		}
		// No leader to ask (or the leader has too many reads pending):
		// nothing was done, the client tries elsewhere.
		s.stats.Redirects++
		s.respond(from, kv.Response{ClientID: req.ClientID, Seq: req.Seq, Status: kv.StatusNotLeader, LeaderHint: st.Lead})
		return true
	}
	if old, ok := s.reads[req.ClientID]; ok && old.confirmed {
		s.confirmedReads-- // replaced by the client's retry or next get
	}
	s.reads[req.ClientID] = pendingRead{from: from, seq: req.Seq, key: req.Cmd.Key}
	s.stats.ReadsAsked++
	if s.cfg.OnRead != nil {
		s.cfg.OnRead(s.cfg.ID, ReadEvent{Client: req.ClientID, Seq: req.Seq, Term: st.Term, Leader: st.Role == subject.Leader})
	}
	return true
}

// confirmRead records a read index Raft confirmed.
func (s *Server) confirmRead(rs subject.ReadState) {
	client, seq, ok := parseReadCtx(rs.RequestCtx)
	if !ok {
		return
	}
	if r, ok := s.reads[client]; ok && r.seq == seq && !r.confirmed {
		r.index, r.confirmed = rs.Index, true
		s.reads[client] = r
		s.confirmedReads++
		if s.cfg.OnRead != nil {
			s.cfg.OnRead(s.cfg.ID, ReadEvent{Client: client, Seq: seq, Confirmed: true, Index: rs.Index})
		}
	}
}

// answerReads answers every confirmed read whose index this server has
// applied: its state then reflects every write that completed before the
// read was asked for. Answering before that could return a state older
// than a write the client already saw complete.
func (s *Server) answerReads() {
	if s.confirmedReads == 0 {
		return
	}
	applied := s.store.AppliedIndex()
	for _, client := range s.readClients() {
		r := s.reads[client]
		if !r.confirmed || r.index > applied && !s.cfg.Planted.Has(plant.ReadBeforeApply) {
			continue
		}
		delete(s.reads, client)
		s.confirmedReads--
		s.answerGet(r.from, client, r.seq, r.key)
	}
}

// failReads tells the clients of reads Raft had not confirmed that this
// server cannot answer them (its leader changed: Raft dropped them). A
// confirmed read stays: its index holds whoever leads now, and the server
// answers it once it has applied that far.
func (s *Server) failReads() {
	if len(s.reads) == 0 {
		return
	}
	lead := s.node.BasicStatus().Lead
	for _, client := range s.readClients() {
		r := s.reads[client]
		if r.confirmed {
			continue
		}
		delete(s.reads, client)
		s.respond(r.from, kv.Response{ClientID: client, Seq: r.seq, Status: kv.StatusNotLeader, LeaderHint: lead})
	}
}

// readClients are the clients with a read pending here, in order.
func (s *Server) readClients() []uint64 {
	ids := make([]uint64, 0, len(s.reads))
	for id := range s.reads {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// answerGet answers a get from this server's state machine.
func (s *Server) answerGet(to, client, seq uint64, key string) {
	v, found := s.store.Get(key)
	s.stats.ReadsAnswered++
	s.respond(to, kv.Response{ClientID: client, Seq: seq, Status: kv.StatusOK, Result: kv.Result{Value: v, Found: found}})
}

// observe looks at what a Ready changed: a new leader or term drops the
// reads Raft held unconfirmed; the hooks see the leader's commits and the
// node's counters.
func (s *Server) observe(soft *subject.SoftState) {
	st := s.node.BasicStatus()
	if soft != nil && *soft != s.soft || st.Term != s.term {
		if soft != nil {
			s.soft = *soft
		}
		s.term = st.Term
		s.failReads()
	}
	if st.Commit > s.commit {
		if st.Role == subject.Leader && s.cfg.OnCommit != nil {
			s.cfg.OnCommit(s.cfg.ID, st.Commit)
		}
		s.commit = st.Commit
	}
	if s.cfg.OnCounters != nil {
		if c := s.node.Counters(); c != s.counters {
			s.cfg.OnCounters(s.cfg.ID, subCounters(c, s.counters))
			s.counters = c
		}
	}
}

// subCounters is a - b, field by field.
func subCounters(a, b subject.Counters) subject.Counters {
	return subject.Counters{
		EntryBytesSent: a.EntryBytesSent - b.EntryBytesSent, SnapshotBytesSent: a.SnapshotBytesSent - b.SnapshotBytesSent,
		SnapshotsInstalled: a.SnapshotsInstalled - b.SnapshotsInstalled, Campaigns: a.Campaigns - b.Campaigns,
		ReadRounds: a.ReadRounds - b.ReadRounds, RoundReads: a.RoundReads - b.RoundReads, LeaseReads: a.LeaseReads - b.LeaseReads,
		Transfers: a.Transfers - b.Transfers, TransfersAborted: a.TransfersAborted - b.TransfersAborted,
	}
}

// TransferLeadership asks this server, if it leads, to hand leadership to
// server to (0: the follower whose log is the most up to date). It returns
// subject.ErrNotLeader if it does not lead; the transfer itself may
// still fail, and is given up after an election timeout.
func (s *Server) TransferLeadership(to uint64) error {
	return s.input(func() error { return s.node.TransferLeadership(to) })
}
