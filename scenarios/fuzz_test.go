package scenarios_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/scenarios"
)

// FuzzParse: Parse never panics; what it rejects is a *ParseError with a
// position inside the input; what it accepts, Script writes back to a
// script that parses to the same scenario, whose options and schedule the
// runner accepts.
func FuzzParse(f *testing.F) {
	for _, e := range scenarios.List() {
		src, err := scenarios.Source(e.Name)
		require.NoError(f, err)
		f.Add(src)
	}
	if src, err := os.ReadFile(filepath.Join("testdata", "everything.scn")); err == nil {
		f.Add(src)
	}
	for _, s := range []string{
		"", "at 2x kill n3", "servers 5\nat 2s kill n9 until 3s", "at 1s loss 1.5 n1 until 2s",
		"every 1ms from 0s to 1s kill n1", "link latency 1ms..5ms loss 0.01 duplicate 0 reorder 0",
		"expect bytes-per-write from 5s to 10s <= 2x from 1s to 3s", "describe \x00\xff # x",
		classic, "\uFEFFclients 2 on n1 until 5s\nexpect ops type=get clients=c1 >= 1 from 1s to 2s",
		"at 1s partition leader | not-leader until 2s\nat 2s kill leader,leader+1", "value-size 10..20\nexpect logs-equal",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := scenarios.Parse("fuzz.scn", src)
		if err != nil {
			var pe *scenarios.ParseError
			require.True(t, errors.As(err, &pe), "not a *ParseError: %v", err)
			require.True(t, errors.Is(err, scenarios.ErrParse))
			lines := 1
			for _, c := range src {
				if c == '\n' {
					lines++
				}
			}
			require.True(t, pe.Line >= 1 && pe.Line <= lines && pe.Col >= 1, "position %d:%d outside the input", pe.Line, pe.Col)
			require.NotEmpty(t, pe.Msg)
			return
		}
		again, err := scenarios.Parse("fuzz.scn", []byte(s.Script()))
		require.NoError(t, err, "Script wrote:\n%s", s.Script())
		require.Equal(t, s, again, "Script wrote:\n%s", s.Script())
		o := s.Options(1)
		o.Defaults()
		require.NoError(t, o.Validate())
		require.NoError(t, o.Schedule.Validate(o.Servers))
	})
}

// drawFault draws a valid fault of any kind for a cluster of n servers,
// keeping to the scenario language's rules on until (required for faults
// that hold a state, optional for kill-shaped ones, never for clock-jump
// and transfer).
func drawFault(t *rapid.T, n int) faults.Fault {
	kind := rapid.SampledFrom(faults.Kinds()).Draw(t, "kind")
	f := faults.Fault{Kind: kind, At: time.Duration(rapid.Int64Range(0, int64(10*time.Second)).Draw(t, "at"))}
	length := time.Duration(rapid.Int64Range(1, int64(5*time.Second)).Draw(t, "length"))
	switch {
	case kind == faults.ClockJump || kind == faults.Transfer || kind.Membership():
	case kind == faults.Kill || kind == faults.TornKill || kind == faults.Truncate || kind == faults.Bitflip:
		if rapid.Bool().Draw(t, "until") {
			f.Until = f.At + length
		}
	default:
		f.Until = f.At + length
	}
	if f.Until == 0 {
		f.Until = f.At
	}
	perm := rapid.Permutation(seq(n)).Draw(t, "perm")
	some := func() []int {
		return perm[:rapid.IntRange(1, n).Draw(t, "some")]
	}
	switch kind {
	case faults.IsolateLeader, faults.Quiet:
	case faults.AddLearner, faults.Promote, faults.Add:
		f.Nodes = perm[:1]
	case faults.Remove:
		if rapid.Bool().Draw(t, "leader") {
			f.Leader = true
		} else {
			f.Nodes = perm[:1]
		}
	case faults.Change:
		cut := rapid.IntRange(0, n-1).Draw(t, "cut")
		end := rapid.IntRange(max(cut, 1), n).Draw(t, "end")
		f.Groups = [][]int{slices.Clone(perm[:cut]), slices.Clone(perm[cut:end])}
		if len(f.Groups[0]) == 0 {
			f.Groups[0] = nil
		}
		if len(f.Groups[1]) == 0 {
			f.Groups[1] = nil
		}
	case faults.Partition:
		cut := rapid.IntRange(1, n-1).Draw(t, "cut")
		f.Groups = [][]int{perm[:cut], perm[cut:]}
	case faults.MajorityMinority:
		if rapid.Bool().Draw(t, "explicit") {
			cut := rapid.IntRange(n/2+1, n-1).Draw(t, "cut")
			f.Groups = [][]int{perm[:cut], perm[cut:]}
		}
	case faults.EvenSplit:
		if rapid.Bool().Draw(t, "explicit") {
			f.Groups = [][]int{perm[:n/2], perm[n/2:]}
		}
	case faults.Bridge:
		if rapid.Bool().Draw(t, "explicit") {
			cut := rapid.IntRange(1, n-2).Draw(t, "cut")
			f.Groups = [][]int{perm[:cut], perm[cut : cut+1], perm[cut+1:]}
		}
	case faults.OneWay:
		if rapid.Bool().Draw(t, "explicit") {
			cut := rapid.IntRange(1, n-1).Draw(t, "cut")
			f.Groups = [][]int{perm[:cut], perm[cut:]}
		}
	default:
		switch rapid.IntRange(0, 2).Draw(t, "target") {
		case 0:
			f.Nodes = some()
			if kind == faults.Transfer {
				f.Nodes = f.Nodes[:1] // one target
			}
		case 1:
			f.Leader = kind != faults.Isolate
		}
	}
	switch kind {
	case faults.Loss, faults.Duplicate, faults.Reorder:
		f.Prob = rapid.Float64Range(0, 1).Draw(t, "prob")
	case faults.Delay, faults.SlowFsync:
		f.Delay = time.Duration(rapid.Int64Range(0, int64(time.Minute)).Draw(t, "delay"))
	case faults.ClockSkew, faults.ClockJump:
		f.Delay = time.Duration(rapid.Int64Range(-int64(time.Minute), int64(time.Minute)).Draw(t, "offset"))
	case faults.ClockDrift:
		f.PPM = rapid.Int64Range(-499_999, 499_999).Draw(t, "ppm")
	case faults.Truncate, faults.FullDisk:
		f.Bytes = rapid.Int64Range(0, 1<<40).Draw(t, "bytes")
	case faults.Bitflip:
		f.Offset = rapid.Int64Range(0, 1<<40).Draw(t, "offset")
		f.Bit = uint8(rapid.IntRange(0, 7).Draw(t, "bit"))
	}
	if err := f.Validate(n); err != nil {
		t.Fatalf("drew an invalid fault: %v", err)
	}
	return f
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

// Fault.String, parsed back, is the same fault, for every kind.
func TestFaultLineRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := 2 * rapid.IntRange(2, 4).Draw(t, "half") // even: even-split needs it
		f := drawFault(t, n)
		line := f.String()
		s, err := scenarios.Parse("t.scn", fmt.Appendf(nil, "servers %d\nno-heal\n%s\n", n, line))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if len(s.Faults) != 1 {
			t.Fatalf("%s: %d faults", line, len(s.Faults))
		}
		if !assert.Equal(t, f, s.Faults[0], line) {
			t.FailNow()
		}
	})
}

// A whole scenario of random faults survives Script and Parse.
func TestScriptRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := 2 * rapid.IntRange(2, 3).Draw(t, "half")
		s := &scenarios.Scenario{Name: "rt", Servers: n, NoHeal: true, Description: "random faults",
			Subject: rapid.SampledFrom([]string{"", "etcd"}).Draw(t, "subject")}
		if rapid.Bool().Draw(t, "requires") {
			s.Requires = []string{"recovery", "plants"}
		}
		for range rapid.IntRange(0, 8).Draw(t, "faults") {
			s.Faults = append(s.Faults, drawFault(t, n))
		}
		slices.SortStableFunc(s.Faults, func(a, b faults.Fault) int { return int(a.At - b.At) })
		again, err := scenarios.Parse("rt.scn", []byte(s.Script()))
		if err != nil {
			t.Fatalf("%v\n%s", err, s.Script())
		}
		if !assert.Equal(t, s, again) {
			t.FailNow()
		}
	})
}
