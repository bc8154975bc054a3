package subject

import (
	"errors"
	"fmt"
	"path"
	"runtime"
	"strings"
)

// Sentinel errors a replica's errors wrap, whatever the subject: match them
// with errors.Is. An adapter marks a library's own error with one of these
// (Mark), so its message stays the library's.
var (
	// ErrNotLeader: the call needs the leader (or, for ReadIndex, a known
	// leader) and this replica is not it.
	ErrNotLeader = errors.New("subject: not the leader")
	// ErrProposalDropped: the leader cannot take the proposal now (a
	// leadership transfer under way, not a voter of its configuration, too
	// much pending). Retry later, possibly elsewhere.
	ErrProposalDropped = errors.New("subject: proposal dropped")
	// ErrConfChangePending: another configuration change is not applied yet.
	ErrConfChangePending = errors.New("subject: a configuration change is pending")
	// ErrConfChangeInvalid: the configuration in force cannot take the change.
	ErrConfChangeInvalid = errors.New("subject: invalid configuration change")
	// ErrTransferRefused: the leadership transfer cannot start (the target
	// is this leader, no voter, or there is no other voter).
	ErrTransferRefused = errors.New("subject: leadership transfer refused")
	// ErrIgnored: Step dropped the message as Raft prescribes (stale, or
	// from a peer outside the configuration). Normal under delay and loss.
	ErrIgnored = errors.New("subject: message ignored")
	// ErrInvalidMessage: Step was given bytes no correct peer sends. The
	// replica is unchanged.
	ErrInvalidMessage = errors.New("subject: invalid message")
	// ErrInvalidConfig and ErrInvalidRestore: Open cannot start from the
	// configuration or the restored state.
	ErrInvalidConfig  = errors.New("subject: invalid config")
	ErrInvalidRestore = errors.New("subject: invalid restored state")
	// ErrCompacted: no snapshot or compaction is possible at that index.
	ErrCompacted = errors.New("subject: cannot snapshot or compact there")
	// ErrUnsupported: the call or the restored state needs a mechanism the
	// subject lacks (see Capabilities).
	ErrUnsupported = errors.New("subject: not supported")
	// ErrPanicked: the subject panicked; the replica is dead (PanicError).
	ErrPanicked = errors.New("subject: panicked")
)

// Mark returns err, which also matches sentinel under errors.Is; its
// message is err's. Nil stays nil.
func Mark(err, sentinel error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sentinel) {
		return err
	}
	return &marked{err: err, sentinel: sentinel}
}

type marked struct{ err, sentinel error }

func (m *marked) Error() string        { return m.err.Error() }
func (m *marked) Unwrap() error        { return m.err }
func (m *marked) Is(target error) bool { return target == m.sentinel }

// PanicError is a panic raised inside a subject, recovered at the
// adapter's boundary. It wraps ErrPanicked.
type PanicError struct {
	// Op is the replica method that was running ("Step", "Ready", ...).
	Op string
	// Value is the panic's value, printed.
	Value string
	// Where is the function (and file:line, file name only) that raised
	// it, outside the runtime: deterministic for one build, unlike a full
	// stack with its addresses.
	Where string
}

func (e *PanicError) Error() string {
	s := "subject panicked in " + e.Op + ": " + e.Value
	if e.Where != "" {
		s += " (at " + e.Where + ")"
	}
	return s
}

func (e *PanicError) Unwrap() error { return ErrPanicked }

// Recover turns a panic into a *PanicError stored in *err. Defer it
// directly (recover works only in the deferred function itself) in every
// method of an adapter that calls into the subject:
//
//	func (r *replica) Step(from uint64, b []byte) (err error) {
//		defer subject.Recover(&err, "Step")
//		...
//
// An adapter that also keeps the replica dead defers its own method,
// which calls recover itself and builds the error with Panicked.
func Recover(err *error, op string) {
	if v := recover(); v != nil {
		*err = Panicked(op, v)
	}
}

// Panicked is the *PanicError for a panic with value v recovered in op.
// Call it from the deferred function that recovered, while the panicking
// frames are still on the stack: it finds the function that raised it.
func Panicked(op string, v any) *PanicError {
	return &PanicError{Op: op, Value: fmt.Sprint(v), Where: raiser()}
}

// raiser is the frame that raised the panic being recovered: the first
// caller of runtime.gopanic outside the runtime and a logger's Panic and
// Fatal methods (libraries panic through their logger). Deterministic for
// one build, unlike a full stack with its addresses.
func raiser() string {
	var pcs [64]uintptr
	n := runtime.Callers(2, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	below := false // past runtime.gopanic: the panicking goroutine's own frames
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			below = true
		case below && f.Function != "" && !strings.HasPrefix(f.Function, "runtime.") && !loggerPanic(f.Function):
			return fmt.Sprintf("%s (%s:%d)", f.Function, path.Base(f.File), f.Line)
		}
		if !more {
			return ""
		}
	}
}

func loggerPanic(fn string) bool {
	switch fn[strings.LastIndexByte(fn, '.')+1:] {
	case "Panic", "Panicf", "Fatal", "Fatalf":
		return true
	}
	return false
}
