package runner

import (
	"regexp"
	"strings"
)

// Signature says how a run failed, in words that do not change from one
// seed to another: which check failed and how (the invariant broken, the
// kind of operation porcupine could not place, the expectation that did
// not hold), without times, node names, keys or values. Runs of many
// seeds that hit one bug share it, so a soak groups them by it, and a
// shrinker keeps only candidates that still fail with it. It is "" for a
// run that passed.
//
// It is the signature of the run's first failure (Failures' order puts
// the cause before its consequences: damage beyond the model, damage no
// fault dealt, an invariant, read-safety, linearizability, liveness, the
// other always-on checks, halted servers, then a scenario's
// expectations).
func (r *Result) Signature() string {
	switch {
	case r.Verdict == Pass:
		return ""
	case r.Verdict == Unknown || len(r.Failures) == 0:
		return "unknown: the linearizability check did not finish"
	}
	first := r.Failures[0]
	if strings.HasPrefix(first, "history not linearizable") {
		return "not linearizable: " + r.unplaced()
	}
	return FailureSignature(first)
}

// unplaced names the kind of operation porcupine could not place on the
// first failing key ("a get cannot be placed").
func (r *Result) unplaced() string {
	for _, e := range r.Explanations {
		if e.Conflict == nil {
			continue
		}
		if e.Conflict.Blocked < 0 || len(e.Operations) == 0 {
			return "only a write nobody observed explains the results"
		}
		op, _, _ := strings.Cut(e.Operations[0].Op, "(")
		return article(op) + " cannot be placed"
	}
	return "an operation cannot be placed"
}

func article(op string) string {
	if op == "" {
		return "an operation"
	}
	if strings.ContainsRune("aeiou", rune(op[0])) {
		return "an " + op
	}
	return "a " + op
}

var numbers = regexp.MustCompile(`\b(n|c|k)?[0-9]+(\.[0-9]+)?(ns|µs|ms|s|m|h|B)?\b`)

// FailureSignature is the signature of one failure line (Result.Failures),
// for reports that keep the lines but not the run.
func FailureSignature(failure string) string {
	switch {
	case strings.HasPrefix(failure, "history not linearizable"):
		return "not linearizable: an operation cannot be placed"
	case strings.HasPrefix(failure, "invariant "):
		if f := strings.Fields(failure); len(f) >= 2 {
			return "invariant " + f[1] + " broken"
		}
	case strings.HasPrefix(failure, "liveness: expected"):
		return "liveness: recovered where it must stay unavailable"
	case strings.HasPrefix(failure, "liveness:"):
		return "liveness: no recovery after the heal"
	case strings.HasPrefix(failure, "storage faults exceeded"):
		return "storage faults exceeded what Raft tolerates"
	case strings.HasPrefix(failure, "storage damage beyond the fault model"):
		return "storage damage beyond the fault model"
	case strings.Contains(failure, "reported storage damage, but no storage fault hit it"):
		return "storage damage reported with no storage fault"
	case strings.HasPrefix(failure, "node ") && strings.Contains(failure, " halted: "):
		_, rest, _ := strings.Cut(failure, " halted: ")
		// "server 5: snapshot 948 does not restore (...): kv: ..." ->
		// what went wrong, without whose and which.
		rest = strings.TrimPrefix(rest, "server ")
		if i := strings.Index(rest, ": "); i >= 0 && strings.Trim(rest[:i], "0123456789") == "" {
			rest = rest[i+2:]
		}
		msg, _, _ := strings.Cut(rest, ":")
		return "a node halted: " + numbers.ReplaceAllString(msg, "N")
	case strings.HasPrefix(failure, "expect "):
		kind, _, _ := strings.Cut(strings.TrimPrefix(failure, "expect "), " ")
		return "expect " + strings.TrimSuffix(kind, ":")
	case strings.HasPrefix(failure, "check "):
		name, _, _ := strings.Cut(strings.TrimPrefix(failure, "check "), ":")
		return "check " + name
	}
	s, _, _ := strings.Cut(failure, ":")
	return numbers.ReplaceAllString(s, "N")
}
