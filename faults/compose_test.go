package faults_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/sim"
)

func sec(x float64) time.Duration { return time.Duration(x * float64(time.Second)) }

// install starts a 5-server cluster, installs fs (healing at 20s) and
// returns it; steps are then checked at chosen times.
func install(t *testing.T, fs ...faults.Fault) (*sim.World, func(at float64)) {
	t.Helper()
	w, c := newCluster(t, 3, 5)
	s := faults.Schedule{Faults: fs, HealAt: 20 * time.Second, End: 30 * time.Second}
	require.NoError(t, s.Install(c))
	return w, func(x float64) { w.RunUntil(sim.Time(sec(x))) }
}

func TestOverlappingKillsHoldTheNodeDownUntilTheLastEnds(t *testing.T) {
	w, runTo := install(t,
		faults.Fault{Kind: faults.Kill, At: sec(3), Until: sec(6), Nodes: []int{2}},
		faults.Fault{Kind: faults.TornKill, At: sec(4), Until: sec(5), Nodes: []int{2}},
	)
	runTo(3)
	assert.False(t, w.Up(2))
	runTo(5.5)
	assert.False(t, w.Up(2), "the inner kill ended but the outer still holds")
	assert.Equal(t, int64(1), w.Disk(2).Stats().Crashes, "a kill of a down node only takes a hold")
	runTo(6)
	assert.True(t, w.Up(2))
}

func TestRestartOfANodeThatIsUpIsSkipped(t *testing.T) {
	w, runTo := install(t,
		faults.Fault{Kind: faults.Kill, At: sec(3), Until: sec(5), Nodes: []int{2}},
	)
	runTo(4)
	require.False(t, w.Up(2))
	require.NoError(t, w.Restart(2)) // someone else brings it back early
	runTo(5)
	assert.True(t, w.Up(2))
	assert.Equal(t, int64(1), w.Disk(2).Stats().Crashes)
}

func TestKillDuringPauseRestartsPaused(t *testing.T) {
	w, runTo := install(t,
		faults.Fault{Kind: faults.Pause, At: sec(3), Until: sec(6), Nodes: []int{2}},
		faults.Fault{Kind: faults.Kill, At: sec(4), Until: sec(5), Nodes: []int{2}},
	)
	runTo(3.5)
	assert.True(t, w.Paused(2))
	runTo(4.5)
	assert.False(t, w.Up(2))
	runTo(5)
	assert.True(t, w.Up(2))
	assert.True(t, w.Paused(2), "restarted while a pause still holds it")
	runTo(6)
	assert.False(t, w.Paused(2))
}

func TestPauseDoesNotResumeWhatItDidNotPause(t *testing.T) {
	w, runTo := install(t,
		faults.Fault{Kind: faults.Pause, At: sec(3), Until: sec(5), Nodes: []int{2}},
	)
	runTo(2)
	require.NoError(t, w.Pause(2))
	runTo(5.5)
	assert.True(t, w.Paused(2), "paused by someone else before the fault")
	runTo(20)
	assert.False(t, w.Paused(2), "heal-all resumes everything")
}

func TestOverlappingCutsHealOnlyWhatNoOtherFaultHolds(t *testing.T) {
	w, runTo := install(t,
		faults.Fault{Kind: faults.Partition, At: sec(3), Until: sec(6), Groups: [][]int{{1, 2}, {3, 4, 5}}},
		faults.Fault{Kind: faults.Isolate, At: sec(4), Until: sec(5), Nodes: []int{1}},
	)
	runTo(4.5)
	assert.True(t, cutBothWays(w, 1, 2))
	assert.True(t, cutBothWays(w, 1, 6))
	runTo(5.5)
	assert.True(t, connectedBothWays(w, 1, 2), "the isolate cut it; the partition never did")
	assert.True(t, connectedBothWays(w, 1, 6))
	assert.True(t, cutBothWays(w, 1, 3), "the partition still holds n1-n3")
	runTo(6)
	assertNetworkHealed(t, w)
}

func TestACutMadeOutsideTheNemesisSurvivesItsFaults(t *testing.T) {
	w, runTo := install(t,
		faults.Fault{Kind: faults.Partition, At: sec(3), Until: sec(5), Groups: [][]int{{1, 2, 3}, {4, 5}}},
	)
	runTo(2)
	require.NoError(t, w.Net().Cut(3, 4))
	runTo(5)
	assert.False(t, w.Net().Connected(3, 4), "cut by the test, not the fault")
	assert.True(t, w.Net().Connected(4, 3))
	runTo(20)
	assertNetworkHealed(t, w)
}

func TestOverlappingLinkFaultsCompose(t *testing.T) {
	w, runTo := install(t,
		faults.Fault{Kind: faults.Loss, At: sec(3), Until: sec(6), Prob: 0.2, Nodes: []int{1}},
		faults.Fault{Kind: faults.Loss, At: sec(4), Until: sec(5), Prob: 0.5, Nodes: []int{2}},
		faults.Fault{Kind: faults.Delay, At: sec(4), Until: sec(7), Delay: 10 * time.Millisecond, Nodes: []int{2}},
	)
	link := func(a, b sim.NodeID) sim.LinkConfig { return w.Net().Link(a, b) }
	runTo(4.5)
	assert.InDelta(t, 0.6, link(1, 2).Loss, 1e-12, "independent drops: 1-0.8*0.5")
	assert.Equal(t, 0.2, link(1, 3).Loss)
	assert.Equal(t, 11*time.Millisecond, link(2, 1).MinLatency)
	runTo(5.5)
	assert.Equal(t, 0.2, link(1, 2).Loss)
	assert.Zero(t, link(2, 3).Loss)
	assert.Equal(t, 11*time.Millisecond, link(2, 3).MinLatency)
	runTo(6.5)
	assert.Equal(t, sim.LinkConfig{MinLatency: 11 * time.Millisecond, MaxLatency: 15 * time.Millisecond}, link(1, 2))
	runTo(7)
	assertNetworkHealed(t, w)
}

func TestOverlappingClockFaultsAdd(t *testing.T) {
	w, runTo := install(t,
		faults.Fault{Kind: faults.ClockSkew, At: sec(3), Until: sec(6), Delay: time.Second, Nodes: []int{2}},
		faults.Fault{Kind: faults.ClockSkew, At: sec(4), Until: sec(5), Delay: -3 * time.Second, Nodes: []int{2}},
		faults.Fault{Kind: faults.ClockDrift, At: sec(7), Until: sec(9), PPM: 1000, Nodes: []int{3}},
		faults.Fault{Kind: faults.ClockDrift, At: sec(8), Until: sec(10), PPM: 2000, Nodes: []int{3}},
	)
	runTo(4.5)
	assert.Equal(t, -2*time.Second, offset(w, 2))
	runTo(5.5)
	assert.Equal(t, time.Second, offset(w, 2))
	runTo(6)
	assert.Zero(t, offset(w, 2))
	runTo(10)
	// 1s at 1000ppm, 1s at 3000ppm, 1s at 2000ppm.
	assert.Equal(t, 6*time.Millisecond, offset(w, 3))
	runTo(11)
	assert.Equal(t, 6*time.Millisecond, offset(w, 3))
}

func TestOverlappingDiskFaultsTakeTheStrictest(t *testing.T) {
	w, runTo := install(t,
		faults.Fault{Kind: faults.SlowFsync, At: sec(3), Until: sec(6), Delay: 10 * time.Millisecond, Nodes: []int{2}},
		faults.Fault{Kind: faults.SlowFsync, At: sec(4), Until: sec(5), Delay: 30 * time.Millisecond, Nodes: []int{2}},
	)
	probe := func() time.Duration {
		lat, err := probeSync(t, w, 2)
		require.NoError(t, err)
		return lat
	}
	runTo(3.5)
	assert.Equal(t, 10*time.Millisecond, probe())
	runTo(4.5)
	assert.Equal(t, 30*time.Millisecond, probe())
	runTo(5.5)
	assert.Equal(t, 10*time.Millisecond, probe())
	runTo(6)
	assert.Zero(t, probe())
}

func TestLeaderFaultWithNoLeaderIsSkipped(t *testing.T) {
	// At 0s nobody has been elected yet.
	w, c := newCluster(t, 3, 5)
	s := faults.Schedule{Faults: []faults.Fault{
		{Kind: faults.IsolateLeader, At: 0, Until: sec(2)},
		{Kind: faults.Kill, Leader: true, At: 0, Until: sec(2)},
	}, End: sec(10)}
	require.NoError(t, s.Install(c))
	w.RunUntil(0)
	for id := sim.NodeID(1); id <= 5; id++ {
		assert.True(t, w.Up(id))
	}
	assertNetworkHealed(t, w)
}

// Every fault held through HealAt, plus damage done outside the nemesis:
// afterwards the world is whole.
func TestHealAtHealsEverything(t *testing.T) {
	w, c := newCluster(t, 5, 5)
	heal := sec(8)
	s := faults.Schedule{HealAt: heal, End: sec(15), Faults: []faults.Fault{
		{Kind: faults.Kill, At: sec(2), Until: heal, Nodes: []int{1}},
		{Kind: faults.Pause, At: sec(2), Until: heal, Nodes: []int{2}},
		{Kind: faults.Isolate, At: sec(3), Until: heal, Nodes: []int{3}},
		{Kind: faults.OneWay, At: sec(3), Until: heal},
		{Kind: faults.Loss, At: sec(3), Until: heal, Prob: 0.3, Nodes: []int{4, 5}},
		{Kind: faults.Delay, At: sec(3), Until: heal, Delay: time.Millisecond, Nodes: []int{4}},
		{Kind: faults.ClockSkew, At: sec(3), Until: heal, Delay: time.Second, Nodes: []int{4}},
		{Kind: faults.ClockDrift, At: sec(3), Until: heal, PPM: -40_000, Nodes: []int{4, 5}},
		{Kind: faults.SlowFsync, At: sec(3), Until: heal, Delay: 5 * time.Millisecond, Nodes: []int{5}},
		{Kind: faults.FullDisk, At: sec(3), Until: heal, Bytes: 100, Nodes: []int{4}},
		{Kind: faults.FailFsync, At: sec(3), Until: heal, Nodes: []int{5}},
		{Kind: faults.Quiet, At: sec(3), Until: heal},
		{Kind: faults.Bitflip, At: sec(4), Until: heal, Offset: 77, Nodes: []int{3}},
	}}
	require.NoError(t, s.Install(c))
	w.RunUntil(sim.Time(sec(5)))
	require.NoError(t, w.Net().Cut(6, 1)) // the test's own damage
	w.RunUntil(sim.Time(heal))
	assertHealed(t, w, c)
	w.RunFor(3 * time.Second)
	id, _ := c.Leader()
	assert.NotZero(t, id, "a leader after healing")
}

func TestValidationNamesTheFault(t *testing.T) {
	ok := faults.Fault{Kind: faults.Kill, At: sec(1), Until: sec(2), Nodes: []int{1}}
	cases := []struct {
		name  string
		bad   faults.Fault
		index int // where the bad fault goes; -1: the schedule itself is bad
		want  string
		sched func(*faults.Schedule)
	}{
		{"unknown kind", faults.Fault{Kind: "meteor", At: sec(1), Until: sec(2)}, 1, `unknown kind "meteor"`, nil},
		{"negative start", faults.Fault{Kind: faults.Kill, At: -1, Until: sec(2)}, 1, "before the run began", nil},
		{"ends before it starts", faults.Fault{Kind: faults.Kill, At: sec(2), Until: sec(1)}, 2, "before it starts", nil},
		{"node out of range", faults.Fault{Kind: faults.Kill, At: sec(1), Until: sec(2), Nodes: []int{6}}, 1, "n6 out of range n1..n5", nil},
		{"client node", faults.Fault{Kind: faults.Pause, At: sec(1), Until: sec(2), Nodes: []int{7}}, 1, "n7 out of range", nil},
		{"node twice", faults.Fault{Kind: faults.Kill, At: sec(1), Until: sec(2), Nodes: []int{2, 2}}, 1, "n2 named twice", nil},
		{"probability", faults.Fault{Kind: faults.Loss, At: sec(1), Until: sec(2), Prob: 1.5}, 1, "probability 1.5 outside [0, 1]", nil},
		{"overlapping groups", faults.Fault{Kind: faults.Partition, At: sec(1), Until: sec(2), Groups: [][]int{{1, 2}, {2, 3}}}, 1, "n2 named twice", nil},
		{"empty group", faults.Fault{Kind: faults.Partition, At: sec(1), Until: sec(2), Groups: [][]int{{1}, {}}}, 1, "group 2 is empty", nil},
		{"partition without groups", faults.Fault{Kind: faults.Partition, At: sec(1), Until: sec(2)}, 1, "needs explicit groups", nil},
		{"even split of five", faults.Fault{Kind: faults.EvenSplit, At: sec(1), Until: sec(2)}, 1, "even number of servers", nil},
		{"no majority", faults.Fault{Kind: faults.MajorityMinority, At: sec(1), Until: sec(2), Groups: [][]int{{1, 2}, {3, 4}}}, 1, "one of them a majority", nil},
		{"bridge of two", faults.Fault{Kind: faults.Bridge, At: sec(1), Until: sec(2), Groups: [][]int{{1, 2}, {3, 4, 5}}}, 1, "side | bridge node | side", nil},
		{"jump with an end", faults.Fault{Kind: faults.ClockJump, At: sec(1), Until: sec(2), Delay: time.Second}, 1, "instantaneous", nil},
		{"drift too fast", faults.Fault{Kind: faults.ClockDrift, At: sec(1), Until: sec(2), PPM: 600_000}, 1, "drift 600000ppm", nil},
		{"leader and nodes", faults.Fault{Kind: faults.Kill, At: sec(1), Until: sec(2), Leader: true, Nodes: []int{1}}, 1, "both leader and explicit nodes", nil},
		{"isolate leader flag", faults.Fault{Kind: faults.Isolate, At: sec(1), Until: sec(2), Leader: true}, 1, "use isolate-leader", nil},
		{"stray parameter", faults.Fault{Kind: faults.Loss, At: sec(1), Until: sec(2), Delay: time.Second}, 1, "loss takes no duration", nil},
		{"groups on a node kind", faults.Fault{Kind: faults.Kill, At: sec(1), Until: sec(2), Groups: [][]int{{1}}}, 1, "kill takes no groups", nil},
		{"bit out of range", faults.Fault{Kind: faults.Bitflip, At: sec(1), Until: sec(2), Bit: 8}, 1, "bit 8 outside 0..7", nil},
		{"ends after heal", faults.Fault{Kind: faults.Kill, At: sec(1), Until: sec(11)}, 1, "after the schedule heals everything at 10s", nil},
		{"starts in the past", faults.Fault{Kind: faults.Kill, At: sec(0.5), Until: sec(2)}, 1, "the world is already at 1s", nil},
		{"heal after end", ok, -1, "heals at 10s, after the run ends at 5s", func(s *faults.Schedule) { s.End = sec(5) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, c := newCluster(t, 1, 5)
			w.RunUntil(sim.Time(time.Second))
			s := faults.Schedule{HealAt: sec(10), End: sec(20), Faults: []faults.Fault{ok, ok, ok}}
			if tc.index >= 0 {
				s.Faults[tc.index] = tc.bad
			}
			if tc.sched != nil {
				tc.sched(&s)
			}
			pending := w.Pending()
			err := s.Install(c)
			require.Error(t, err)
			assert.ErrorIs(t, err, faults.ErrInvalid)
			var ve *faults.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.index, ve.Index)
			assert.Contains(t, err.Error(), tc.want)
			if tc.index >= 0 {
				assert.Contains(t, err.Error(), fmt.Sprintf("fault %d (", tc.index))
			}
			assert.Equal(t, pending, w.Pending(), "an invalid schedule installs nothing")
		})
	}
}

func TestInstallRejectsABadTarget(t *testing.T) {
	assert.ErrorIs(t, faults.Schedule{}.Install(nil), faults.ErrInvalid)
}

func TestStringRendersScenarioLines(t *testing.T) {
	cases := []struct {
		f    faults.Fault
		want string
	}{
		{faults.Fault{Kind: faults.Partition, At: sec(2), Until: sec(5), Groups: [][]int{{1, 2}, {3, 4, 5}}}, "at 2s partition n1,n2 | n3,n4,n5 until 5s"},
		{faults.Fault{Kind: faults.Kill, At: sec(1.5), Until: sec(3), Nodes: []int{3}}, "at 1.5s kill n3 until 3s"},
		{faults.Fault{Kind: faults.IsolateLeader, At: sec(4), Until: sec(6)}, "at 4s isolate-leader until 6s"},
		{faults.Fault{Kind: faults.Loss, At: sec(2), Until: sec(4), Prob: 0.2, Nodes: []int{1, 2}}, "at 2s loss 0.2 n1,n2 until 4s"},
		{faults.Fault{Kind: faults.ClockDrift, At: sec(3), Until: sec(9), PPM: 500, Nodes: []int{2}}, "at 3s clock-drift +500ppm n2 until 9s"},
		{faults.Fault{Kind: faults.ClockDrift, At: sec(3), Until: sec(9), PPM: -20}, "at 3s clock-drift -20ppm until 9s"},
		{faults.Fault{Kind: faults.ClockJump, At: sec(7), Until: sec(7), Delay: -2 * time.Second, Nodes: []int{4}}, "at 7s clock-jump -2s n4"},
		{faults.Fault{Kind: faults.ClockSkew, At: 0, Until: sec(90), Delay: 1500 * time.Millisecond, Leader: true}, "at 0s clock-skew +1.5s leader until 1m30s"},
		{faults.Fault{Kind: faults.OneWay, At: sec(1), Until: sec(2), Groups: [][]int{{1}, {2, 3}}}, "at 1s one-way n1 -> n2,n3 until 2s"},
		{faults.Fault{Kind: faults.Bridge, At: sec(1), Until: sec(2), Groups: [][]int{{1, 2}, {3}, {4, 5}}}, "at 1s bridge n1,n2 | n3 | n4,n5 until 2s"},
		{faults.Fault{Kind: faults.Bitflip, At: sec(5), Until: sec(6), Offset: 8812, Bit: 3, Nodes: []int{4}}, "at 5s bitflip @8812:3 n4 until 6s"},
		{faults.Fault{Kind: faults.Truncate, At: sec(5), Until: sec(6), Bytes: 100, Nodes: []int{4}}, "at 5s truncate 100B n4 until 6s"},
		{faults.Fault{Kind: faults.SlowFsync, At: sec(1), Until: sec(2), Delay: 50 * time.Millisecond}, "at 1s slow-fsync 50ms until 2s"},
		{faults.Fault{Kind: faults.Kill, At: sec(1), Until: sec(1), Nodes: []int{2}}, "at 1s kill n2"},
		{faults.Fault{Kind: faults.Quiet, At: 250 * time.Millisecond, Until: sec(1)}, "at 250ms quiet until 1s"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, tc.f.String())
	}
}

func TestFaultValidateAlone(t *testing.T) {
	err := faults.Fault{Kind: faults.Loss, At: sec(1), Until: sec(2), Prob: -0.5}.Validate(5)
	require.Error(t, err)
	assert.Equal(t, "faults: fault (at 1s loss -0.5 until 2s): probability -0.5 outside [0, 1]", err.Error())
	assert.NoError(t, faults.Fault{Kind: faults.Loss, At: sec(1), Until: sec(2), Prob: 0.5}.Validate(5))
}

// The same seed and schedule give the same run, event for event.
func TestRunsAreDeterministic(t *testing.T) {
	hash := func() string {
		w, c := newCluster(t, 42, 5)
		s := faults.Generate(w.Rand("schedule"), faults.GenOptions{Servers: 5, Duration: 5 * time.Second})
		require.NotEmpty(t, s.Faults)
		require.NoError(t, s.Install(c))
		w.RunUntil(sim.Time(s.End))
		return w.Trace().Hash()
	}
	assert.Equal(t, hash(), hash())
}

func TestEveryBeginAndEndIsTraced(t *testing.T) {
	w, err := sim.New(sim.Config{Seed: 1, Nodes: 7, Link: lan, Trace: sim.TraceFull})
	require.NoError(t, err)
	c, err := newClusterOn(w)
	require.NoError(t, err)
	s := faults.Schedule{End: sec(5), Faults: []faults.Fault{
		{Kind: faults.Kill, At: sec(1), Until: sec(2), Nodes: []int{3}},
		{Kind: faults.MajorityMinority, At: sec(2), Until: sec(3)},
		{Kind: faults.IsolateLeader, At: 0, Until: sec(1)}, // no leader yet
	}}
	require.NoError(t, s.Install(c))
	w.RunUntil(sim.Time(s.End))
	var lines []string
	w.Trace().Each(func(_ uint64, e *sim.Event) bool {
		if (e.Kind == sim.KindFault || e.Kind == sim.KindNote) && strings.HasPrefix(e.Note, "fault ") || e.Note == "heal-all" {
			lines = append(lines, e.Note)
		}
		return true
	})
	require.Len(t, lines, 6, "%q", lines)
	assert.Equal(t, "fault 2 skipped: at 0s isolate-leader until 1s: no leader", lines[0])
	assert.Equal(t, "fault 0 begin: at 1s kill n3 until 2s", lines[1])
	assert.Equal(t, "fault 0 end: at 1s kill n3 until 2s", lines[2])
	assert.Regexp(t, `^fault 1 begin: at 2s majority-minority n\d,n\d,n\d \| n\d,n\d until 3s$`, lines[3])
	assert.Regexp(t, `^fault 1 end: `, lines[4])
	assert.Equal(t, "heal-all", lines[5])
}
