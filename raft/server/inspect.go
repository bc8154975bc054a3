package server

import (
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject"
)

// Read-only views of the node's Raft state for invariant checkers; see the
// methods of the same names on subject.View.

// BasicStatus is the node's Raft state: it does not allocate.
func (s *Server) BasicStatus() subject.Status { return s.node.BasicStatus() }

// Changes counts the calls that may have changed the Raft node
// (subject.Changer): the same count means the same state. ok is false
// when the subject keeps no count.
func (s *Server) Changes() (n uint64, ok bool) {
	if s.changer == nil {
		return 0, false
	}
	return s.changer.Changes(), true
}

// LogTerm returns the term of the entry at index i of the node's log.
func (s *Server) LogTerm(i uint64) (uint64, bool) { return s.node.LogTerm(i) }

// LogEntry returns the entry at index i of the node's log. Data aliases the
// log: read it, do not modify or keep it.
func (s *Server) LogEntry(i uint64) (raftpb.Entry, bool) { return s.node.LogEntry(i) }

// ReplayedState is the hard state and the number of entries the server
// replayed from its WAL when it started.
func (s *Server) ReplayedState() (raftpb.HardState, int) {
	return s.Replayed.HardState, len(s.Replayed.Entries)
}
