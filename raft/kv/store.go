package kv

import (
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"slices"
)

// ErrOutOfOrder is wrapped by Apply's error when the host hands it an entry
// that is not the next one: a gap (an index was skipped) or a repeat (an
// index already applied). Either is a bug in the host, never a client's
// doing, so the host should stop rather than carry on.
var ErrOutOfOrder = errors.New("kv: entry applied out of order")

// session is what the store remembers about one client: the highest Seq it
// executed for it and that command's Result, so a retry gets the same answer.
type session struct {
	seq uint64
	res Result
}

// Store is the replicated key-value state machine. Every replica applies
// the same committed entries in the same order and ends in the same state,
// which Digest and Snapshot expose for comparison.
//
// A Store is not safe for concurrent use; under the simulator nothing is
// concurrent.
type Store struct {
	applied  uint64
	data     map[string]string
	sessions map[uint64]session // by ClientID
}

// New returns an empty store that expects entry 1 next.
func New() *Store {
	return &Store{data: map[string]string{}, sessions: map[uint64]session{}}
}

// AppliedIndex returns the index of the last entry applied (or restored).
func (s *Store) AppliedIndex() uint64 { return s.applied }

// Get reads a key without going through the log: for checkers inspecting a
// replica, never for answering clients (that read would not be linearizable).
func (s *Store) Get(key string) (value string, found bool) {
	value, found = s.data[key]
	return value, found
}

// Apply applies the committed log entry at index, whose data is an encoded
// Command. Entries must be applied exactly once each, in index order:
// index must be AppliedIndex()+1, or Apply returns an error wrapping
// ErrOutOfOrder and changes nothing.
//
// Empty data (Raft's no-op entry) only advances the applied index. The host
// must hand over every index, so entries that are not commands for this
// store (configuration changes) are to be applied as empty data.
//
// Data that does not decode returns an error wrapping ErrCorrupt and
// changes nothing, the applied index included: servers only propose
// commands they encoded themselves, so a corrupt committed entry means the
// log was damaged or the host has a bug, and the host must not continue.
//
// A command whose ClientID has already executed its Seq is not executed
// again: Apply returns that execution's Result, so a retried write takes
// effect once. A Seq below the session's is answered with Result{Stale:
// true}. Either way the entry is consumed and the index advances.
func (s *Store) Apply(index uint64, data []byte) (Result, error) {
	_, res, err := s.ApplyEntry(index, data)
	return res, err
}

// ApplyEntry is Apply that also returns the command it decoded (the zero
// Command for empty data), so a host that answers the client need not
// decode the entry a second time.
func (s *Store) ApplyEntry(index uint64, data []byte) (Command, Result, error) {
	switch {
	case s.applied == math.MaxUint64:
		return Command{}, Result{}, fmt.Errorf("%w: entry %d after the last possible index", ErrOutOfOrder, index)
	case index <= s.applied:
		return Command{}, Result{}, fmt.Errorf("%w: entry %d repeats one already applied (applied index %d)", ErrOutOfOrder, index, s.applied)
	case index > s.applied+1:
		return Command{}, Result{}, fmt.Errorf("%w: entry %d leaves a gap (applied index %d, want %d)", ErrOutOfOrder, index, s.applied, s.applied+1)
	}
	if len(data) == 0 {
		s.applied = index
		return Command{}, Result{}, nil
	}
	cmd, err := DecodeCommand(data)
	if err != nil {
		return Command{}, Result{}, fmt.Errorf("kv: entry %d: %w", index, err)
	}
	s.applied = index
	return cmd, s.execute(cmd), nil
}

// execute runs cmd under its client's session.
func (s *Store) execute(cmd Command) Result {
	if sess, ok := s.sessions[cmd.ClientID]; ok {
		switch {
		case cmd.Seq == sess.seq:
			return sess.res
		case cmd.Seq < sess.seq:
			return Result{Stale: true}
		}
	}
	old, found := s.data[cmd.Key]
	res := Result{Value: old, Found: found}
	switch cmd.Op {
	case OpPut:
		s.data[cmd.Key] = cmd.Value
		res.Applied = true
	case OpAppend:
		s.data[cmd.Key] = old + cmd.Value
		res.Applied = true
	case OpCAS:
		if old == cmd.Expected {
			s.data[cmd.Key] = cmd.Value
			res.Applied = true
		}
	case OpGet:
	}
	s.sessions[cmd.ClientID] = session{seq: cmd.Seq, res: res}
	return res
}

// snapVersion leads every snapshot encoding.
const snapVersion = 1

// Snapshot returns a deterministic encoding of the whole state: the applied
// index, every key and value in ascending key order, and every session in
// ascending ClientID order. Two stores in the same state produce the same
// bytes however they got there.
func (s *Store) Snapshot() []byte {
	e := encoder{b: make([]byte, 0, 16+16*(len(s.data)+len(s.sessions)))}
	e.byte1(snapVersion)
	e.u(s.applied)
	e.u(uint64(len(s.data)))
	for _, k := range slices.Sorted(maps.Keys(s.data)) {
		e.str(k)
		e.str(s.data[k])
	}
	e.u(uint64(len(s.sessions)))
	for _, id := range slices.Sorted(maps.Keys(s.sessions)) {
		sess := s.sessions[id]
		e.u(id)
		e.u(sess.seq)
		e.result(sess.res)
	}
	return e.b
}

// Restore replaces the store's whole state, applied index included, with
// the one encoded in snap (as made by Snapshot). It accepts only canonical
// snapshots (keys and sessions strictly ascending, nothing trailing), so
// Snapshot after Restore returns snap exactly. On error, which wraps
// ErrCorrupt, the store is unchanged.
func (s *Store) Restore(snap []byte) error {
	d := newDecoder(snap)
	if v := d.Byte("snapshot version"); !d.Failed() && v != snapVersion {
		d.Fail("snapshot version %d, want %d", v, snapVersion)
	}
	applied := d.Uvarint("applied index")
	n := d.Count("key count")
	data := make(map[string]string, n)
	prev := ""
	for i := 0; i < n && !d.Failed(); i++ {
		k := d.str("key")
		if i > 0 && !d.Failed() && k <= prev {
			d.Fail("key %q after %q: keys not strictly ascending", k, prev)
		}
		data[k] = d.str("value")
		prev = k
	}
	n = d.Count("session count")
	sessions := make(map[uint64]session, n)
	var prevID uint64
	for i := 0; i < n && !d.Failed(); i++ {
		id := d.Uvarint("client id")
		if i > 0 && !d.Failed() && id <= prevID {
			d.Fail("client %d after %d: sessions not strictly ascending", id, prevID)
		}
		seq := d.Uvarint("session seq")
		sessions[id] = session{seq: seq, res: d.result("session result")}
		prevID = id
	}
	if err := d.Done("snapshot"); err != nil {
		return fmt.Errorf("kv: restore: %w", err)
	}
	s.applied, s.data, s.sessions = applied, data, sessions
	return nil
}

// Digest returns a hash of the store's whole state (the FNV-1a hash of its
// Snapshot encoding, so it covers the applied index, the contents and the
// sessions). Replicas at the same applied index must have equal digests.
// It costs a full encoding, O(state), per call.
func (s *Store) Digest() uint64 {
	h := fnv.New64a()
	h.Write(s.Snapshot())
	return h.Sum64()
}

// StripSessions returns snap without its client sessions, for the planted
// bug that installs a snapshot so (raft/plant): a retried write then
// applies twice. It returns snap unchanged if it does not decode.
func StripSessions(snap []byte) []byte {
	s := New()
	if err := s.Restore(snap); err != nil {
		return snap
	}
	clear(s.sessions)
	return s.Snapshot()
}
