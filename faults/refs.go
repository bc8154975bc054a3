package faults

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/seed4fee1fef/raftsim/sim"
)

// Leader-relative targets. Wherever a server id may stand in Fault.Nodes
// or Fault.Groups (and in a scenario's client bindings), these negative
// values name servers by their place relative to the leader when the
// fault starts; with no leader then, the fault is skipped (and says so).
//
//	leader      RefLeader        the leader
//	leader+K    LeaderPlus(K)    the K-th server after it in id order,
//	                             wrapping (K in 1..servers-1)
//	follower    RefFollower      one server that is not the leader, drawn
//	                             from the "faults" stream
//	not-leader  RefNotLeader     every server but the leader
//
// The references of one fault are distinct, never mixed with explicit
// ids (n3 may be the leader), and follower and not-leader combine only
// with leader: so they never name one server twice. A lone leader in a
// node list is written Fault.Leader.
const (
	RefLeader    = -1
	RefFollower  = -2
	RefNotLeader = -3
)

// LeaderPlus is the reference to leader+k (k >= 1).
func LeaderPlus(k int) int { return RefNotLeader - k }

// IsRef reports whether id is a leader-relative reference, not a server id.
func IsRef(id int) bool { return id < 0 }

// refPlus returns k for a leader+k reference, or 0.
func refPlus(id int) int {
	if id < RefNotLeader {
		return RefNotLeader - id
	}
	return 0
}

// RefName renders an id or reference as scripts write it: "n3", "leader",
// "leader+2", "follower", "not-leader".
func RefName(id int) string {
	switch {
	case id > 0:
		return "n" + strconv.Itoa(id)
	case id == RefLeader:
		return "leader"
	case id == RefFollower:
		return "follower"
	case id == RefNotLeader:
		return "not-leader"
	case refPlus(id) > 0:
		return "leader+" + strconv.Itoa(refPlus(id))
	}
	return "n" + strconv.Itoa(id) // invalid: Validate says so
}

// ParseRef reads a leader-relative reference ("leader", "leader+2",
// "follower", "not-leader"); ok is false for anything else.
func ParseRef(s string) (id int, ok bool) {
	switch s {
	case "leader":
		return RefLeader, true
	case "follower":
		return RefFollower, true
	case "not-leader":
		return RefNotLeader, true
	}
	num, found := strings.CutPrefix(s, "leader+")
	if !found || num == "" || num[0] < '1' || num[0] > '9' {
		return 0, false
	}
	k, err := strconv.Atoi(num)
	if err != nil || k > 1<<20 {
		return 0, false
	}
	return LeaderPlus(k), true
}

// checkRefs checks the references among ids (all of a fault's targets,
// every group's together) against n servers.
func checkRefs(ids []int, n int) string {
	var refs []int
	explicit := false
	for _, id := range ids {
		if IsRef(id) {
			refs = append(refs, id)
		} else {
			explicit = true
		}
	}
	if len(refs) == 0 {
		return ""
	}
	if explicit {
		return "mixes explicit nodes with leader-relative ones (an explicit node may be the leader)"
	}
	seen := map[int]bool{}
	for _, r := range refs {
		if k := refPlus(r); k > 0 && k >= n {
			return fmt.Sprintf("%s out of range: with %d servers, leader+1..leader+%d", RefName(r), n, n-1)
		}
		if r < RefNotLeader && refPlus(r) == 0 {
			return fmt.Sprintf("bad leader-relative target %d", r)
		}
		if seen[r] {
			return fmt.Sprintf("%s named twice", RefName(r))
		}
		seen[r] = true
	}
	for _, wide := range []int{RefFollower, RefNotLeader} {
		if seen[wide] {
			for _, r := range refs {
				if r != wide && r != RefLeader {
					return fmt.Sprintf("%s and %s may name the same server", RefName(wide), RefName(r))
				}
			}
		}
	}
	if n < 2 {
		for _, r := range refs {
			if r != RefLeader {
				return fmt.Sprintf("%s needs at least 2 servers", RefName(r))
			}
		}
	}
	return ""
}

// refSize is how many servers id names once resolved.
func refSize(id, n int) int {
	if id == RefNotLeader {
		return n - 1
	}
	return 1
}

// hasRefs reports whether any of ids is a reference.
func hasRefs(ids []int) bool { return slices.ContainsFunc(ids, IsRef) }

// ResolveRefs replaces the references among ids by the servers they name
// with leader leading among n servers (in the order written; not-leader
// in id order). A follower is drawn from r. Ids pass through.
func ResolveRefs(ids []int, leader, n int, r *sim.Rand) []int {
	var out []int
	for _, id := range ids {
		switch {
		case id > 0:
			out = append(out, id)
		case id == RefLeader:
			out = append(out, leader)
		case id == RefFollower:
			k := r.IntN(n - 1) // the k-th non-leader
			out = append(out, 1+(leader+k)%n)
		case id == RefNotLeader:
			for o := 1; o <= n; o++ {
				if o != leader {
					out = append(out, o)
				}
			}
		default:
			out = append(out, 1+(leader-1+refPlus(id))%n)
		}
	}
	return out
}

// ValidateTargets checks a list of servers and references as a fault's
// node list is checked (ids in 1..n, or references that name no server
// twice), for other users of the same notation (client bindings).
func ValidateTargets(ids []int, n int) error {
	if len(ids) == 0 {
		return &ValidationError{Index: -1, Reason: "no servers"}
	}
	reason := ""
	if hasRefs(ids) {
		reason = checkRefs(ids, n)
	} else {
		reason = checkNodes(ids, n, map[int]bool{})
	}
	if reason != "" {
		return &ValidationError{Index: -1, Reason: reason}
	}
	return nil
}
