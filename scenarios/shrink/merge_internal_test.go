package shrink

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/seed4fee1fef/raftsim/faults"
)

// Two faults of one kind may be written as one: starting together on
// other servers, as one on all of them; on the same servers (or sides, or
// the leader), as one spanning both, with the delay of either. Faults
// that differ in anything else are not.
func TestMerged(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	pause := func(at, until int, nodes ...int) faults.Fault {
		return faults.Fault{Kind: faults.Pause, At: ms(at), Until: ms(until), Nodes: nodes}
	}
	slow := func(at, until, delay int, nodes ...int) faults.Fault {
		return faults.Fault{Kind: faults.SlowFsync, At: ms(at), Until: ms(until), Delay: ms(delay), Nodes: nodes}
	}
	iso := func(at, until int) faults.Fault {
		return faults.Fault{Kind: faults.IsolateLeader, At: ms(at), Until: ms(until)}
	}
	for _, tt := range []struct {
		name string
		a, b faults.Fault
		want []faults.Fault
	}{
		{"together, other servers", pause(0, 350, 2), pause(0, 416, 3, 4), []faults.Fault{pause(0, 416, 2, 3, 4)}},
		{"same servers, one after the other", pause(100, 200, 1), pause(300, 400, 1), []faults.Fault{pause(100, 400, 1)}},
		{"same servers, either delay", slow(100, 200, 26, 3, 4), slow(300, 400, 58, 3, 4), []faults.Fault{slow(100, 400, 26, 3, 4), slow(100, 400, 58, 3, 4)}},
		{"the leader twice", iso(1018, 1029), iso(1033, 2409), []faults.Fault{iso(1018, 2409)}},
		{"together, other delays", slow(0, 100, 5, 1), slow(0, 100, 9, 2), nil},
		{"other kinds", pause(0, 100, 1), faults.Fault{Kind: faults.Kill, At: 0, Until: ms(100), Nodes: []int{1}}, nil},
		{"other servers, other starts", pause(0, 100, 1), pause(50, 100, 2), nil},
		{"other drifts", faults.Fault{Kind: faults.ClockDrift, Until: ms(100), PPM: 10, Nodes: []int{1}},
			faults.Fault{Kind: faults.ClockDrift, Until: ms(100), PPM: 20, Nodes: []int{1}}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, merged(tt.a, tt.b))
		})
	}
}
