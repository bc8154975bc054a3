package sim_test

import (
	"math/bits"
	"slices"
	"testing"
	"time"

	"github.com/seed4fee1fef/raftsim/sim"
)

// refLoop is the yardstick for the World's event loop: the tightest
// discrete-event loop we could write in Go for the same job (callbacks
// ordered by virtual time, ties by insertion order, each callback free to
// schedule more). Pointer-free slots carrying their own sort key, a
// branch-free 4-ary heap, an arena of callbacks with a free list; nothing
// else (no trace, no cancellation, no processes).
type refLoop struct {
	h    []refSlot
	fns  []func()
	free []uint32
	now  uint64
	seq  uint64
}

// refSlot packs the tie-breaking sequence number above the arena index, so
// a slot is 16 bytes and four siblings share a cache line.
type refSlot struct {
	at     uint64
	seqIdx uint64
}

// lt is 1 if a sorts before b, comparing (at, seqIdx) as one 128-bit
// number: no branch.
func lt(a, b refSlot) int {
	_, borrow := bits.Sub64(a.seqIdx, b.seqIdx, 0)
	_, borrow = bits.Sub64(a.at, b.at, borrow)
	return int(borrow)
}

func (l *refLoop) after(d uint64, fn func()) {
	var idx uint32
	if n := len(l.free); n > 0 {
		idx = l.free[n-1]
		l.free = l.free[:n-1]
		l.fns[idx] = fn
	} else {
		idx = uint32(len(l.fns))
		l.fns = append(l.fns, fn)
	}
	l.seq++
	s := refSlot{at: l.now + d, seqIdx: l.seq<<24 | uint64(idx)}
	l.h = append(l.h, s)
	h := l.h
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) >> 2
		if lt(s, h[p]) == 0 {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = s
}

func (l *refLoop) step() {
	h := l.h
	n := len(h) - 1
	top, last := h[0], h[n]
	h = h[:n]
	l.h = h
	// Floyd's bottom-up sift: walk the hole down to a leaf along the least
	// children (chosen without branches), then bring last up from there.
	i := 0
	for {
		c := 4*i + 1
		if c+3 >= n {
			break
		}
		m01 := c + lt(h[c+1], h[c])
		m23 := c + 2 + lt(h[c+3], h[c+2])
		m := m01 ^ ((m01 ^ m23) & -lt(h[m23], h[m01]))
		h[i] = h[m]
		i = m
	}
	if c := 4*i + 1; c < n {
		m := c
		for j := c + 1; j < n; j++ {
			if lt(h[j], h[m]) != 0 {
				m = j
			}
		}
		h[i] = h[m]
		i = m
	}
	for i > 0 {
		p := (i - 1) >> 2
		if lt(last, h[p]) == 0 {
			break
		}
		h[i] = h[p]
		i = p
	}
	if n > 0 {
		h[i] = last
	}
	l.now = top.at
	idx := uint32(top.seqIdx & (1<<24 - 1))
	fn := l.fns[idx]
	l.fns[idx] = nil
	l.free = append(l.free, idx)
	fn()
}

// BenchmarkEventLoop shows the World's loop next to the yardstick on the
// same job: 1024 events pending, each one that fires schedules another at a
// pseudo-random time up to 1µs later. The World also hashes every event
// into its trace (hash-only mode) and checks each event's owner and
// cancellation; the target is to stay within 1.5× of the yardstick. The two
// run interleaved in blocks of 4096 events and each reports the median
// block, so a machine whose speed drifts (other work on a shared core)
// moves both alike and the ratio stays meaningful.
func BenchmarkEventLoop(b *testing.B) {
	ref := &refLoop{}
	x := uint64(88172645463325252)
	var refFire func()
	refFire = func() {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		ref.after(x%1000, refFire)
	}
	w, err := sim.New(sim.Config{Seed: 1, Nodes: 1, Trace: sim.TraceHashOnly})
	if err != nil {
		b.Fatal(err)
	}
	y := uint64(88172645463325252)
	var worldFire func()
	worldFire = func() {
		y ^= y << 13
		y ^= y >> 7
		y ^= y << 17
		w.After(time.Duration(y%1000), worldFire)
	}
	for i := 0; i < 1024; i++ {
		ref.after(uint64(i), refFire)
		w.After(time.Duration(i), worldFire)
	}
	const block = 4096
	var refNs, worldNs []float64
	b.ResetTimer()
	for done := 0; done < b.N; done += block {
		t0 := time.Now()
		for i := 0; i < block; i++ {
			ref.step()
		}
		t1 := time.Now()
		for i := 0; i < block; i++ {
			w.Step()
		}
		t2 := time.Now()
		refNs = append(refNs, float64(t1.Sub(t0).Nanoseconds())/block)
		worldNs = append(worldNs, float64(t2.Sub(t1).Nanoseconds())/block)
	}
	r, v := median(refNs), median(worldNs)
	b.ReportMetric(r, "yardstick-ns/event")
	b.ReportMetric(v, "world-ns/event")
	b.ReportMetric(v/r, "world/yardstick")
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	slices.Sort(s)
	return s[len(s)/2]
}
