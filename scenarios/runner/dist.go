package runner

import (
	"math/bits"
	"slices"
	"time"
)

// dist collects durations for their percentiles in memory that does not
// grow with the run: exactly while it holds at most distExact of them
// (every run of the default length), then in log-linear buckets, 64 per
// power of two, so a percentile of a long run is the lower bound of its
// bucket, within 1.6% below the exact value. Deterministic: the same adds
// give the same answers.
type dist struct {
	exact   []time.Duration // nil once bucketed
	buckets []uint64        // counts, by bucket index (see bucket)
	n       uint64
}

// distExact is how many durations a dist keeps exactly.
const distExact = 4096

// distSub is the number of buckets per power of two (a power of two).
const distSub = 64

func (d *dist) add(v time.Duration) {
	v = max(v, 0)
	d.n++
	if d.buckets == nil {
		if len(d.exact) < distExact {
			d.exact = append(d.exact, v)
			return
		}
		for _, x := range d.exact {
			d.bucket(x)
		}
		d.exact = nil
	}
	d.bucket(v)
}

func (d *dist) bucket(v time.Duration) {
	i := bucketOf(uint64(v))
	if i >= len(d.buckets) {
		d.buckets = append(d.buckets, make([]uint64, i+1-len(d.buckets))...)
	}
	d.buckets[i]++
}

// bucketOf is v's bucket: values below distSub have one each; above, the
// power of two and the next log2(distSub) bits below the leading one.
func bucketOf(v uint64) int {
	if v < distSub {
		return int(v)
	}
	shift := bits.Len64(v) - 1 - bits.TrailingZeros64(distSub) // keep log2(distSub) bits after the leading one
	return int(shift+1)*distSub + int(v>>uint(shift)) - distSub
}

// bucketLow is the least value in bucket i.
func bucketLow(i int) uint64 {
	if i < distSub {
		return uint64(i)
	}
	shift := i/distSub - 1
	return uint64(i%distSub+distSub) << uint(shift)
}

// at returns the value of rank r (0-based) in ascending order, r < n.
func (d *dist) at(r uint64) time.Duration {
	if d.buckets == nil {
		slices.Sort(d.exact)
		return d.exact[r]
	}
	for i, c := range d.buckets {
		if r < c {
			return time.Duration(bucketLow(i))
		}
		r -= c
	}
	return 0
}

// percentiles returns the p50 and p99 (zero if empty).
func (d *dist) percentiles() (p50, p99 time.Duration) {
	if d.n == 0 {
		return 0, 0
	}
	return d.at(d.n * 50 / 100), d.at(min(d.n-1, d.n*99/100))
}
