package scenarios_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/scenarios"
)

// Scripts that would parse and then effectively never finish are refused
// with the limit they pass, at the line that passes it.
func TestParseRefusesRunsThatNeverFinish(t *testing.T) {
	thousandEvery := strings.Repeat("every 1ms from 0s to 999ms kill n1\n", 1000)
	for _, tt := range []struct{ src, want string }{
		{"faults-until 1000h", `t.scn:1:14: the run would last 1000h0m13s (faults-until 1000h0m0s + settle 10s + drain 3s); expected at most 1h0m0s of virtual time`},
		{"settle 59m\nfaults-until 2m", `t.scn:1:8: the run would last 1h1m3s (faults-until 2m0s + settle 59m0s + drain 3s); expected at most 1h0m0s of virtual time`},
		{"server tick 1ns", `t.scn:1:13: tick 1ns below the limit of 1ms`},
		{"faults-until 1h\n" + thousandEvery, `t.scn:12:1: more than 10000 faults; expected at most 10000 in one script`},
		{"expect no-commit from 1s to 1010ms", `t.scn:1:29: interval of 10ms is shorter than the 50ms sampling period; expected at least 50ms`},
		{"expect progress within 10ms after 1s", `t.scn:1:24: 10ms is shorter than the 50ms sampling period; expected at least 50ms`},
	} {
		_, err := scenarios.Parse("t.scn", []byte(tt.src))
		if assert.Error(t, err, "%.60q", tt.src) {
			assert.Equal(t, tt.want, err.Error(), "%.60q", tt.src)
		}
	}
	// At the limits, a script is fine.
	_, err := scenarios.Parse("t.scn", []byte("faults-until 59m47s\nserver tick 1ms\nexpect no-commit from 1s to 1050ms\n"))
	assert.NoError(t, err)
}

// A UTF-8 byte-order mark is not a command; a long bad token is echoed
// cut to a readable length.
func TestParseBOMAndLongTokens(t *testing.T) {
	s, err := scenarios.Parse("t.scn", []byte("\uFEFFservers 3\nat 1s kill n1 until 2s\n"))
	require.NoError(t, err)
	assert.Equal(t, 3, s.Servers)

	long := strings.Repeat("x", 5000)
	for _, src := range []string{"servers " + long, long, "at 1s " + long, "expect " + long, "at 1s kill n1 until " + long} {
		_, err := scenarios.Parse("t.scn", []byte(src))
		require.Error(t, err)
		assert.Less(t, len(err.Error()), 600, "%.80s", err)
		assert.Contains(t, err.Error(), `xxx…" (5000 bytes)`)
	}
}
