package faults_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/raft/server"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

// kindTarget is a cluster that records what the nemesis tells it.
type kindTarget struct {
	*cluster.Cluster
	began, ended, changes, damaged int
}

func (k *kindTarget) FaultBegan(int, faults.Fault, string)       { k.began++ }
func (k *kindTarget) FaultEnded(int, faults.Fault)               { k.ended++ }
func (k *kindTarget) ChangeMembership(faults.Kind, []int, []int) { k.changes++ }
func (k *kindTarget) StorageDamaged(int, faults.Kind)            { k.damaged++ }

var _ interface {
	faults.Observer
	faults.MembershipTarget
	faults.DamageObserver
	faults.Transferrer
} = (*kindTarget)(nil)

// Every kind in the table, from its example line: the line parses, prints
// back to itself and validates; installed on a cluster (starting at 3s,
// with a leader, data and snapshots on every disk), the fault begins,
// does what its kind is for (a membership change is asked for, durable
// data is damaged), ends at its end unless it is instantaneous, and
// leaves the world healthy once it ended, long before the schedule's
// heal. Nothing here lists kinds: a new entry in the table is covered.
func TestEveryKind(t *testing.T) {
	for _, k := range faults.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			line := k.Example()
			require.NotEmpty(t, line, "every kind has an example")
			f, err := faults.ParseFault(line)
			require.NoError(t, err, line)
			assert.Equal(t, k, f.Kind)
			assert.Equal(t, line, f.String(), "prints back to its line")
			servers := 5
			if f.Validate(servers) != nil {
				servers = 4 // a kind that needs an even count
			}
			require.NoError(t, f.Validate(servers), line)
			assert.NotEqual(t, "other", k.Family())

			length := f.Until - f.At
			f.At, f.Until = faultAt, faultAt+length
			w, err := sim.New(sim.Config{Seed: 7, Nodes: servers + clients, Link: lan, Trace: sim.TraceHashOnly})
			require.NoError(t, err)
			c, err := cluster.New(w, cluster.Config{Servers: servers, Clients: clients, Workload: client.DefaultWorkload(),
				Server: server.Config{SnapshotEntries: 50, SnapshotRatio: -1, TrailingEntries: 10}})
			require.NoError(t, err)
			c.StartLoad()
			kt := &kindTarget{Cluster: c}
			s := faults.Schedule{Faults: []faults.Fault{f}, HealAt: 30 * time.Second, End: 30 * time.Second}
			require.NoError(t, s.Install(kt))
			w.RunUntil(at(f.Until))

			assert.Equal(t, 1, kt.began, "began")
			if f.Until > f.At {
				assert.Equal(t, 1, kt.ended, "ended at its end")
			} else {
				assert.Zero(t, kt.ended, "an instantaneous fault never ends")
			}
			if k.Membership() {
				assert.Equal(t, 1, kt.changes, "asked for a membership change")
			}
			if k.Storage() {
				assert.Equal(t, 1, kt.damaged, "damaged durable data")
			}
			assertHealed(t, w, c)
		})
	}
}

// The generator draws every kind it may (its parameter and targets
// included), each fault valid: on six servers every kind fits.
func TestGenerateDrawsEveryKind(t *testing.T) {
	const n = 6
	for _, k := range faults.Kinds() {
		found := false
		for seed := uint64(1); seed <= 50 && !found; seed++ {
			s := faults.Generate(sim.NewRand(seed, "schedule"), faults.GenOptions{Servers: n, Kinds: []faults.Kind{k}})
			require.NoError(t, s.Validate(n), "%s, seed %d", k, seed)
			for _, f := range s.Faults {
				found = found || f.Kind == k
			}
		}
		assert.True(t, found, "no %s fault drawn in 50 seeds", k)
	}
}

// Every generated fault, of every kind on any cluster size, prints to a
// line ParseFault reads back to the same fault.
func TestGeneratedFaultsRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 9).Draw(t, "servers")
		s := faults.Generate(sim.NewRand(rapid.Uint64().Draw(t, "seed"), "schedule"), faults.GenOptions{Servers: n, Kinds: faults.Kinds()})
		for _, f := range s.Faults {
			g, err := faults.ParseFault(f.String())
			require.NoError(t, err, f.String())
			if !assert.Equal(t, f, g, f.String()) {
				t.FailNow()
			}
		}
	})
}

// ParseFault names what it expected, at the column it expected it.
func TestParseFaultErrors(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"", `column 1: expected "at TIME KIND ..."`},
		{"kill n1", `column 1: expected "at TIME KIND ..."`},
		{"at", "column 4: expected a time after at"},
		{"at 1s", "column 7: expected a fault kind (" + strings.Join(kindNames(), ", ") + ")"},
		{"at 1s loss", "column 12: expected a probability like 0.2 after loss"},
		{"at 1s truncate 12 n1", `column 16: bad parameter "12"; truncate takes a byte count like 4096B`},
		{"at 1s kill n1 | n2", `column 15: unexpected "|"; kill takes one node list like n1,n2`},
		{"at 1s quiet", `column 13: quiet holds from its start to its end; expected "until TIME" or "for DURATION"`},
		{"at 1s clock-jump +1s n1 for 1s", "column 25: clock-jump is instantaneous; expected end of line, not for"},
		{"at 2s kill n1 until 1s", "column 21: until 1s is before at 2s"},
		{"at 2s change +n4,n5", `column 18: bad change "n5" in "+n4,n5"; expected servers to add and remove, like +n4,+n5,-n1`},
	} {
		_, err := faults.ParseFault(tc.line)
		var se *faults.SyntaxError
		if assert.ErrorAs(t, err, &se, "%q", tc.line) {
			assert.Equal(t, tc.want, se.Error(), "%q", tc.line)
		}
	}
}

// Where places what only the server count can tell at the word it is
// about: a node at its column, anything else at the kind.
func TestWhereValidate(t *testing.T) {
	words := []faults.Word{{"at", 1}, {"2s", 4}, {"partition", 7}, {"leader", 17}, {"|", 24}, {"leader+5", 26}, {"until", 35}, {"3s", 41}}
	f, where, err := faults.ParseWords(words, 2, 2*time.Second)
	require.NoError(t, err)
	assert.Equal(t, faults.Where{Kind: 7, Until: 41, Nodes: []faults.NodeWord{{ID: faults.RefLeader, Col: 17}, {ID: faults.LeaderPlus(5), Col: 26}}}, where)
	var se *faults.SyntaxError
	require.ErrorAs(t, where.Validate(f, 5), &se)
	assert.Equal(t, faults.SyntaxError{Col: 26, Msg: "leader+5 out of range; with 5 servers, expected leader+1..leader+4"}, *se)
	assert.NoError(t, where.Validate(f, 7))
	f.Kind = faults.EvenSplit
	require.ErrorAs(t, where.Validate(f, 7), &se)
	assert.Equal(t, faults.SyntaxError{Col: 7, Msg: "even-split needs an even number of servers, have 7"}, *se)
}

func kindNames() []string {
	var out []string
	for _, k := range faults.Kinds() {
		out = append(out, string(k))
	}
	return out
}
