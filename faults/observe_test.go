package faults_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

// observed is a cluster that hears its faults, as the runner's is.
type observed struct {
	*cluster.Cluster
	began, ended []string
	groups       [][][]int
	nodes        [][]int
}

func (o *observed) FaultBegan(i int, f faults.Fault, desc string) {
	o.began = append(o.began, desc)
	o.groups = append(o.groups, f.Groups)
	o.nodes = append(o.nodes, f.Nodes)
	if f.Leader {
		panic("a resolved fault names its leader as a node")
	}
}

func (o *observed) FaultEnded(i int, f faults.Fault) { o.ended = append(o.ended, f.String()) }

func TestObserverHearsFaultsWithTheirTargetsResolved(t *testing.T) {
	w, c := newCluster(t, 3, 5)
	o := &observed{Cluster: c}
	s := faults.Schedule{HealAt: 6 * time.Second, End: 8 * time.Second, Faults: []faults.Fault{
		{Kind: faults.MajorityMinority, At: sec(2), Until: sec(3)},
		{Kind: faults.Kill, At: sec(4), Until: sec(4.5), Leader: true},
		{Kind: faults.ClockJump, At: sec(5), Until: sec(5), Delay: time.Second, Nodes: []int{1}},
	}}
	require.NoError(t, s.Install(o))
	w.RunUntil(sim.Time(sec(1.9)))
	lead, _ := c.Leader()
	require.NotZero(t, lead)
	w.RunUntil(sim.Time(sec(8)))

	require.Len(t, o.began, 3)
	require.Len(t, o.groups[0], 2, "majority | minority")
	assert.Len(t, o.groups[0][0], 3)
	assert.Contains(t, o.groups[0][1], lead, "the minority holds the leader it found")
	require.Len(t, o.nodes[1], 1, "the leader the kill found")
	assert.Contains(t, o.began[1], "kill")
	assert.Len(t, o.ended, 2, "a clock jump only begins")
}
