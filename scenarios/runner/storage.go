package runner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

// storageWatch compares the storage damage the nemesis dealt each server
// with the damage the server itself reported when it started ("storage
// fault: ..." notes). The two must agree in two ways:
//
//   - A server no storage fault ever hit must never report damage: a plain
//     crash (between two fsyncs, say) must not look like data loss, or
//     the server refuses votes it could give and a power cut across a
//     majority leaves a cluster that can never elect a leader.
//   - Damage no checksum can see is beyond the fault model of any Raft: a
//     high-water mark cut back (truncate-mark) together with a WAL that
//     lost its tail can roll both back to a consistent earlier state. If
//     a server was dealt that and started without noticing, the run says
//     so rather than blaming Raft for what follows.
type storageWatch struct {
	servers int
	// hit: a storage fault ever hit the node; reported: the node ever
	// reported damage; recovered: it reported catching up afterwards.
	hit, reported, recovered []bool
	// window is what happened to each node since its last crash: the
	// storage fault kinds that hit it and whether it reported damage.
	window []damageWindow
	beyond []string
}

type damageWindow struct {
	kinds    []faults.Kind
	reported bool
}

func newStorageWatch(servers int) *storageWatch {
	return &storageWatch{servers: servers, hit: make([]bool, servers+1), reported: make([]bool, servers+1),
		recovered: make([]bool, servers+1), window: make([]damageWindow, servers+1)}
}

// StorageDamaged is the nemesis's report (faults.DamageObserver).
func (s *storageWatch) StorageDamaged(node int, kind faults.Kind) {
	if node < 1 || node > s.servers {
		return
	}
	s.hit[node] = true
	s.window[node].kinds = append(s.window[node].kinds, kind)
}

// onEvent follows crashes (a new window) and the servers' own reports.
func (s *storageWatch) onEvent(e *sim.Event) {
	id := int(e.Node)
	if id < 1 || id > s.servers {
		return
	}
	switch {
	case e.Kind == sim.KindCrash:
		s.close(id)
	case e.Kind == sim.KindNote && strings.HasPrefix(e.Note, "storage fault:"):
		s.reported[id] = true
		s.window[id].reported = true
	case e.Kind == sim.KindNote && strings.HasPrefix(e.Note, "recovered:"):
		s.recovered[id] = true
	}
}

// close judges node id's window and opens a new one.
func (s *storageWatch) close(id int) {
	w := s.window[id]
	if !w.reported && slices.Contains(w.kinds, faults.TruncateMark) &&
		(slices.Contains(w.kinds, faults.Truncate) || slices.Contains(w.kinds, faults.Bitflip)) {
		s.beyond = append(s.beyond, fmt.Sprintf("n%d's WAL and high-water mark were both cut back (%s) and it restarted without noticing: a consistent rollback of both files is invisible to any checksum",
			id, kindList(w.kinds)))
	}
	s.window[id] = damageWindow{}
}

func kindList(ks []faults.Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, "+")
}

// finish closes every window and returns the verdict's inputs.
func (s *storageWatch) finish(w *sim.World) (reported, hit, recovered, falseDamage []int, beyond []string) {
	for id := 1; id <= s.servers; id++ {
		if w.Up(sim.NodeID(id)) {
			s.close(id)
		}
		if s.reported[id] {
			reported = append(reported, id)
			if !s.hit[id] {
				falseDamage = append(falseDamage, id)
			}
		}
		if s.hit[id] {
			hit = append(hit, id)
		}
		if s.recovered[id] {
			recovered = append(recovered, id)
		}
	}
	return reported, hit, recovered, falseDamage, s.beyond
}

// damageTarget is the cluster as the nemesis's target, with the storage
// watch listening for damage.
type damageTarget struct {
	*cluster.Cluster
	watch *storageWatch
}

func (t damageTarget) StorageDamaged(node int, kind faults.Kind) { t.watch.StorageDamaged(node, kind) }

// ChangeMembership hands a membership fault to the cluster's operator,
// which keeps trying until the heal.
func (t damageTarget) ChangeMembership(kind faults.Kind, add, remove []int) {
	m := cluster.Membership{Add: add, Remove: remove}
	switch kind {
	case faults.AddLearner:
		m.Kind = cluster.AddLearner
	case faults.Promote:
		m.Kind = cluster.Promote
	case faults.Add:
		m.Kind = cluster.Add
	case faults.Remove:
		m.Kind = cluster.Remove
	default:
		m.Kind = cluster.Change
	}
	t.Cluster.ChangeMembership(m)
}
