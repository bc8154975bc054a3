package runner

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// A dist's percentiles are exact while it holds few values, and beyond
// that the lower bound of the exact value's bucket: never above it, less
// than 1/64 below.
func TestDistPercentiles(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 3*distExact).Draw(t, "n")
		scale := rapid.Int64Range(1, 1e9).Draw(t, "scale")
		var d dist
		var all []time.Duration
		for i := 0; i < n; i++ {
			v := time.Duration(rapid.Int64Range(0, scale).Draw(t, "v"))
			d.add(v)
			all = append(all, v)
		}
		slices.Sort(all)
		want50, want99 := all[len(all)*50/100], all[min(len(all)-1, len(all)*99/100)]
		got50, got99 := d.percentiles()
		if n <= distExact {
			require.Equal(t, want50, got50)
			require.Equal(t, want99, got99)
			return
		}
		for _, c := range [][2]time.Duration{{want50, got50}, {want99, got99}} {
			require.LessOrEqual(t, c[1], c[0])
			require.GreaterOrEqual(t, float64(c[1]), float64(c[0])*(1-1.0/distSub)-1)
		}
	})
}

func TestDistBuckets(t *testing.T) {
	for v := uint64(0); v < 1<<14; v++ {
		i := bucketOf(v)
		require.LessOrEqual(t, bucketLow(i), v, "v=%d", v)
		require.Greater(t, bucketLow(i+1), v, "v=%d", v)
	}
	assert.Equal(t, uint64(1)<<40, bucketLow(bucketOf(1<<40)))
	var d dist
	assert.Equal(t, [2]time.Duration{}, func() [2]time.Duration { a, b := d.percentiles(); return [2]time.Duration{a, b} }())
}

func TestDistBeyondExact(t *testing.T) {
	var d dist
	for i := 1; i <= 3*distExact; i++ {
		d.add(time.Duration(i) * time.Microsecond)
	}
	require.Nil(t, d.exact, "bucketed")
	p50, p99 := d.percentiles()
	for _, c := range []struct{ got, want time.Duration }{{p50, 6145 * time.Microsecond}, {p99, 12166 * time.Microsecond}} {
		assert.LessOrEqual(t, c.got, c.want)
		assert.Greater(t, float64(c.got), float64(c.want)*(1-1.0/distSub))
	}
}
