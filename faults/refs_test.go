package faults_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/sim"
)

func TestRefNamesRoundTrip(t *testing.T) {
	for _, id := range []int{faults.RefLeader, faults.LeaderPlus(1), faults.LeaderPlus(4), faults.RefFollower, faults.RefNotLeader} {
		back, ok := faults.ParseRef(faults.RefName(id))
		assert.True(t, ok, faults.RefName(id))
		assert.Equal(t, id, back)
		assert.True(t, faults.IsRef(id))
	}
	assert.Equal(t, "leader+2", faults.RefName(faults.LeaderPlus(2)))
	for _, bad := range []string{"leader+", "leader+0", "leader+-1", "leader+x", "leader-1", "n1", "Leader"} {
		_, ok := faults.ParseRef(bad)
		assert.False(t, ok, bad)
	}
	assert.Equal(t, []int{4, 5, 1, 3}, faults.ResolveRefs([]int{faults.RefLeader, faults.LeaderPlus(1), faults.LeaderPlus(2), 3}, 4, 5, nil))
	assert.Equal(t, []int{1, 2, 3, 5}, faults.ResolveRefs([]int{faults.RefNotLeader}, 4, 5, nil))
	r := sim.NewRand(1, "t")
	for i := 0; i < 50; i++ {
		f := faults.ResolveRefs([]int{faults.RefFollower}, 2, 3, r)
		require.Len(t, f, 1)
		assert.Contains(t, []int{1, 3}, f[0])
	}
}

func TestRefsValidate(t *testing.T) {
	L, F, NL, P := faults.RefLeader, faults.RefFollower, faults.RefNotLeader, faults.LeaderPlus
	for _, tt := range []struct {
		f    faults.Fault
		want string // "" valid
	}{
		{faults.Fault{Kind: faults.Kill, Nodes: []int{L, P(1)}}, ""},
		{faults.Fault{Kind: faults.Kill, Nodes: []int{NL}}, ""},
		{faults.Fault{Kind: faults.Isolate, Nodes: []int{P(2)}}, ""},
		{faults.Fault{Kind: faults.Loss, Prob: 0.5, Nodes: []int{F}}, ""},
		{faults.Fault{Kind: faults.Partition, Groups: [][]int{{L, P(1)}, {P(2), P(3), P(4)}}}, ""},
		{faults.Fault{Kind: faults.MajorityMinority, Groups: [][]int{{L, P(1)}, {P(2), P(3), P(4)}}}, ""},
		{faults.Fault{Kind: faults.Partition, Groups: [][]int{{L}, {NL}}}, ""},
		{faults.Fault{Kind: faults.OneWay, Groups: [][]int{{L}, {NL}}}, ""},
		{faults.Fault{Kind: faults.Bridge, Groups: [][]int{{P(1), P(2)}, {L}, {P(3), P(4)}}}, ""},
		{faults.Fault{Kind: faults.Kill, Nodes: []int{L}}, "a lone leader target is written Leader"},
		{faults.Fault{Kind: faults.Kill, Nodes: []int{L, 2}}, "mixes explicit nodes"},
		{faults.Fault{Kind: faults.Kill, Nodes: []int{P(5)}}, "leader+5 out of range: with 5 servers, leader+1..leader+4"},
		{faults.Fault{Kind: faults.Kill, Nodes: []int{F, P(1)}}, "follower and leader+1 may name the same server"},
		{faults.Fault{Kind: faults.Partition, Groups: [][]int{{L, P(1)}, {NL}}}, "not-leader and leader+1 may name the same server"},
		{faults.Fault{Kind: faults.Partition, Groups: [][]int{{P(1)}, {P(1)}}}, "leader+1 named twice"},
		{faults.Fault{Kind: faults.MajorityMinority, Groups: [][]int{{L}, {P(1)}}}, "majority-minority needs 2 groups covering all 5 servers"},
	} {
		err := tt.f.Validate(5)
		if tt.want == "" {
			assert.NoError(t, err, "%s", tt.f)
		} else {
			assert.ErrorContains(t, err, tt.want, "%s", tt.f)
		}
	}
}

// A leader-relative partition cuts the leader's side from the rest as
// they are when it starts, and says whom it resolved.
func TestLeaderRelativePartition(t *testing.T) {
	w, c := newCluster(t, 4, 5)
	w.RunUntil(at(2 * time.Second))
	lead, _ := c.Leader()
	require.NotZero(t, lead)
	next := lead%5 + 1
	s := faults.Schedule{Faults: []faults.Fault{{Kind: faults.Partition, At: 2 * time.Second, Until: 3 * time.Second,
		Groups: [][]int{{faults.RefLeader, faults.LeaderPlus(1)}, {faults.LeaderPlus(2), faults.LeaderPlus(3), faults.LeaderPlus(4)}}}}, End: 5 * time.Second}
	require.NoError(t, s.Install(c))
	var begin string
	w.Trace().OnEvent = func(e *sim.Event) {
		if e.Kind == sim.KindFault && begin == "" {
			begin = e.Note
		}
	}
	w.RunUntil(at(2500 * time.Millisecond))
	minority := map[int]bool{lead: true, next: true}
	for a := 1; a <= 5; a++ {
		for b := 1; b <= 5; b++ {
			if a != b && minority[a] != minority[b] {
				assert.True(t, cutBothWays(w, a, b), "n%d and n%d", a, b)
			}
			if a != b && minority[a] == minority[b] {
				assert.True(t, connectedBothWays(w, a, b), "n%d and n%d", a, b)
			}
		}
	}
	assert.Contains(t, begin, fmt.Sprintf("(leader n%d)", lead))
	w.RunUntil(at(3500 * time.Millisecond))
	assertNetworkHealed(t, w)
}

// The round trip through String holds for leader-relative targets.
func TestRefFaultsPrint(t *testing.T) {
	f := faults.Fault{Kind: faults.Partition, At: 2 * time.Second, Until: 3 * time.Second,
		Groups: [][]int{{faults.RefLeader}, {faults.RefNotLeader}}}
	assert.Equal(t, "at 2s partition leader | not-leader until 3s", f.String())
	require.NoError(t, f.Validate(5))
	k := faults.Fault{Kind: faults.Kill, At: time.Second, Until: time.Second, Nodes: []int{faults.RefLeader, faults.LeaderPlus(2)}}
	assert.Equal(t, "at 1s kill leader,leader+2", k.String())
}
