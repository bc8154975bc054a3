package sim

import (
	"math/bits"
	"math/rand/v2"
)

// Rand is a deterministic PRNG stream. Its derived draws (Uint64N, Float64,
// ...) are implemented here rather than borrowed from math/rand/v2 so that
// their values are fixed by this code alone, not by a Go release.
type Rand struct {
	src *rand.PCG
}

// NewRand returns the stream that the name derives from seed. Streams with
// different names are independent: drawing from one never changes another.
func NewRand(seed uint64, name string) *Rand {
	h := seed ^ fnv64a(name)
	a := splitmix64(&h)
	b := splitmix64(&h)
	return &Rand{src: rand.NewPCG(a, b)}
}

// Uint64 returns a uniformly distributed 64-bit value.
func (r *Rand) Uint64() uint64 { return r.src.Uint64() }

// Uint64N returns a uniform value in [0, n); n must be > 0.
func (r *Rand) Uint64N(n uint64) uint64 {
	// Lemire's multiply-shift with rejection: unbiased and division-light.
	hi, lo := bits.Mul64(r.src.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(r.src.Uint64(), n)
		}
	}
	return hi
}

// IntN returns a uniform value in [0, n); n must be > 0.
func (r *Rand) IntN(n int) int { return int(r.Uint64N(uint64(n))) }

// Int64Range returns a uniform value in [lo, hi]; lo must be <= hi.
func (r *Rand) Int64Range(lo, hi int64) int64 {
	span := uint64(hi - lo)
	if span == ^uint64(0) {
		return int64(r.Uint64())
	}
	return lo + int64(r.Uint64N(span+1))
}

// Float64 returns a uniform value in [0, 1).
func (r *Rand) Float64() float64 { return float64(r.src.Uint64()>>11) * 0x1p-53 }

// Chance reports true with probability p (p <= 0 never draws).
func (r *Rand) Chance(p float64) bool {
	if p <= 0 {
		return false
	}
	return r.Float64() < p
}

func splitmix64(x *uint64) uint64 {
	*x += 0x9e3779b97f4a7c15
	z := *x
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func fnv64a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
