package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// Kind names a traced event.
type Kind uint8

const (
	KindCall    Kind = iota // world callback
	KindTimer               // process timer fired
	KindSend                // message handed to the network
	KindDeliver             // message delivered to its destination
	KindDrop                // message lost (Note says why)
	KindDup                 // message duplicated by the network
	KindDisk                // disk operation (Note: op and file)
	KindCrash               // process killed (kill -9)
	KindRestart             // process started again from its disk
	KindStart               // process started for the first time
	KindPause               // process frozen
	KindResume              // process thawed
	KindNote                // annotation from a process or the harness
	KindFault               // fault injected or healed (Note says which)
	kindCount
)

var kindNames = [...]string{
	KindCall: "call", KindTimer: "timer", KindSend: "send", KindDeliver: "deliver",
	KindDrop: "drop", KindDup: "dup", KindDisk: "disk", KindCrash: "crash",
	KindRestart: "restart", KindStart: "start", KindPause: "pause", KindResume: "resume",
	KindNote: "note", KindFault: "fault",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, bool) {
	for k, name := range kindNames {
		if name == s {
			return Kind(k), true
		}
	}
	return 0, false
}

// Event is one line of the trace.
type Event struct {
	At   Time
	Kind Kind
	// MsgType, Term and Index are what the trace's Describer said about a
	// message event's bytes (send, deliver, drop, dup); MsgType 0: nothing.
	MsgType uint8
	Node    NodeID // the process the event happened at (0: the world)
	Peer    NodeID // the other end of a message, if any
	Msg     uint64 // message id, linking send, deliver, drop and dup
	Size    int64  // bytes of a message or disk write
	Term    uint64
	Index   uint64
	Note    string
}

// MsgInfo is what a protocol says about one message: its type, term and
// index. The kernel records it without knowing the protocol.
type MsgInfo struct {
	Type  uint8 // 0: not described (not a protocol message, or no Describer)
	Term  uint64
	Index uint64
}

// Describer reads a message's protocol header for the trace: the harness
// installs one (Trace.SetDescriber) so that sim never imports the protocol.
// Describe is called once per message sent, with bytes it must not keep or
// change; it must be cheap (no allocation) and deterministic. TypeName
// names a type Describe returned, for the exported trace.
type Describer interface {
	Describe(data []byte) MsgInfo
	TypeName(t uint8) string
}

// TraceMode says how much of the trace a World keeps. The hash is always
// computed; Full also keeps every event so it can be exported. The zero
// mode keeps only the hash: keeping every event costs memory and time in
// every run, and only a run someone will read needs it (determinism lets
// a run that turned out interesting be run again with the full trace; see
// runner.WithFullTrace).
type TraceMode uint8

const (
	TraceHashOnly TraceMode = iota
	TraceFull
)

// Trace is the append-only record of a run with a running hash over every
// event (and every message's bytes), so two runs are compared by one number.
type Trace struct {
	mode   TraceMode
	chunks [][]Event // fixed-size chunks: growing never copies old events
	count  uint64
	hash   uint64
	last   Event
	desc   Describer
	// OnEvent, if set, sees every event as it is appended (online checkers).
	OnEvent func(*Event)
}

// SetDescriber installs d to describe every message sent from now on
// (nil: none). What it says is recorded on each message event; it is not
// hashed, since it is a function of the message bytes, which are.
func (t *Trace) SetDescriber(d Describer) { t.desc = d }

// describe is d's word on data, or nothing without a Describer.
func (t *Trace) describe(data []byte) MsgInfo {
	if t.desc == nil {
		return MsgInfo{}
	}
	return t.desc.Describe(data)
}

// TypeName names a message type as the Describer does ("" if unknown).
func (t *Trace) TypeName(typ uint8) string {
	if t.desc == nil || typ == 0 {
		return ""
	}
	return t.desc.TypeName(typ)
}

func newTrace(mode TraceMode) *Trace { return &Trace{mode: mode, hash: 0x243f6a8885a308d3} }

// mix folds one word into the running hash. It is a multiply-xorshift
// round: not cryptographic, but any difference in any traced field changes
// the result with overwhelming probability, which is all determinism
// checking needs.
func (t *Trace) mix(w uint64) {
	h := (t.hash ^ w) * 0x9fb21c651e98df25
	t.hash = h ^ (h >> 29)
}

// mixData folds a byte string into the hash, eight bytes per round.
func mixData[T string | []byte](t *Trace, p T) {
	t.mix(uint64(len(p)))
	for len(p) >= 8 {
		t.mix(uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 |
			uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(p[6])<<48 | uint64(p[7])<<56)
		p = p[8:]
	}
	var w uint64
	for i := 0; i < len(p); i++ {
		w |= uint64(p[i]) << (8 * i)
	}
	t.mix(w)
}

func (t *Trace) add(e Event, payload []byte) {
	t.count++
	t.mix(uint64(e.At))
	t.mix(uint64(e.Kind) | uint64(e.Node)<<8 | uint64(e.Peer)<<36)
	t.mix(e.Msg)
	t.mix(uint64(e.Size))
	if e.Note != "" {
		mixData(t, e.Note)
	}
	if payload != nil {
		mixData(t, payload)
	}
	if t.mode == TraceFull {
		n := len(t.chunks)
		if n == 0 || len(t.chunks[n-1]) == traceChunk {
			t.chunks = append(t.chunks, make([]Event, 0, traceChunk))
			n++
		}
		t.chunks[n-1] = append(t.chunks[n-1], e)
	}
	if t.OnEvent != nil {
		t.last = e // handing out &e would move every event to the heap
		t.OnEvent(&t.last)
	}
}

// Hash is the running hash of every event so far, as 16 hex digits.
func (t *Trace) Hash() string { return fmt.Sprintf("%016x", t.hash) }

// Len is the number of events traced so far (in any mode).
func (t *Trace) Len() uint64 { return t.count }

const traceChunk = 4096

// Kept reports whether the trace keeps its events (TraceFull).
func (t *Trace) Kept() bool { return t.mode == TraceFull }

// Each calls fn for every kept event in order (none in TraceHashOnly
// mode), with its sequence number; it stops early if fn returns false.
func (t *Trace) Each(fn func(seq uint64, e *Event) bool) {
	var seq uint64
	for _, c := range t.chunks {
		for i := range c {
			if !fn(seq, &c[i]) {
				return
			}
			seq++
		}
	}
}

// JSONEvent is the JSON Lines form of an Event.
type JSONEvent struct {
	Seq  uint64 `json:"seq"`
	At   int64  `json:"t"`
	Kind string `json:"kind"`
	Node int    `json:"node,omitempty"`
	Peer int    `json:"peer,omitempty"`
	Msg  uint64 `json:"msg,omitempty"`
	Size int64  `json:"size,omitempty"`
	// Type, Term and Index describe a message (see Describer).
	Type  string `json:"type,omitempty"`
	Term  uint64 `json:"term,omitempty"`
	Index uint64 `json:"index,omitempty"`
	Note  string `json:"note,omitempty"`
}

// WriteJSONL writes the kept events as JSON Lines, one event per line.
func (t *Trace) WriteJSONL(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	var err error
	t.Each(func(seq uint64, e *Event) bool {
		je := JSONEvent{Seq: seq, At: int64(e.At), Kind: e.Kind.String(), Node: int(e.Node),
			Peer: int(e.Peer), Msg: e.Msg, Size: e.Size, Note: e.Note}
		if e.MsgType != 0 {
			je.Type, je.Term, je.Index = t.TypeName(e.MsgType), e.Term, e.Index
		}
		err = enc.Encode(&je)
		return err == nil
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// Format renders one event as a dense, fixed-format line for people and
// diffs; a described message shows as its type number (Trace.Format names it).
func (e *Event) Format() string { return e.format("") }

// Format renders e like Event.Format, naming its message type as the
// trace's Describer does.
func (t *Trace) Format(e *Event) string { return e.format(t.TypeName(e.MsgType)) }

func (e *Event) format(typeName string) string {
	s := fmt.Sprintf("%14s %-7s", e.At, e.Kind)
	if e.Node != 0 {
		s += fmt.Sprintf(" n%d", e.Node)
	}
	if e.Peer != 0 {
		s += fmt.Sprintf(" peer=n%d", e.Peer)
	}
	if e.Msg != 0 {
		s += fmt.Sprintf(" msg=%d", e.Msg)
	}
	if e.Size != 0 {
		s += fmt.Sprintf(" size=%d", e.Size)
	}
	if e.MsgType != 0 {
		if typeName == "" {
			typeName = fmt.Sprintf("type(%d)", e.MsgType)
		}
		s += fmt.Sprintf(" %s term=%d index=%d", typeName, e.Term, e.Index)
	}
	if e.Note != "" {
		s += " " + e.Note
	}
	return s
}
