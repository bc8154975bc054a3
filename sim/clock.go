package sim

import "time"

// Clock maps world time to a process's local time: an offset that can jump
// and a drift in parts per million. Integer arithmetic only, so that local
// time is the same on every machine (Go may fuse floating-point operations
// differently per architecture).
type Clock struct {
	anchorWorld Time
	anchorLocal Time
	// anchorMono is the monotonic reading at anchorWorld: it drifts with
	// the clock but never jumps.
	anchorMono Time
	ppm        int64 // local time runs (1e6+ppm)/1e6 as fast as world time
}

const million = 1_000_000

// MaxDriftPPM bounds drift so local time always moves forward.
const MaxDriftPPM = 500_000

// scalePPM returns d*(1e6+ppm)/1e6 without overflow for any run length.
func scalePPM(d time.Duration, ppm int64) time.Duration {
	q, r := int64(d)/million, int64(d)%million
	return d + time.Duration(q*ppm+r*ppm/million)
}

// Local returns the local time at world time t.
func (c *Clock) Local(t Time) Time {
	return c.anchorLocal + Time(scalePPM(t.Sub(c.anchorWorld), c.ppm))
}

// Monotonic returns the monotonic clock's reading at world time t: it
// runs at the clock's drifting rate and ignores jumps and skews, as a
// process's monotonic clock (CLOCK_MONOTONIC) does.
func (c *Clock) Monotonic(t Time) Time {
	return c.anchorMono + Time(scalePPM(t.Sub(c.anchorWorld), c.ppm))
}

// ToWorld converts a local duration to the world duration it takes to pass.
func (c *Clock) ToWorld(d time.Duration) time.Duration {
	if c.ppm == 0 || d <= 0 {
		return d
	}
	// d*1e6/(1e6+ppm), split so the product cannot overflow.
	den := million + c.ppm
	q, r := int64(d)/den, int64(d)%den
	w := time.Duration(q*million + r*million/den)
	if w <= 0 {
		w = 1
	}
	return w
}

// jump moves local time by d at world time now.
func (c *Clock) jump(now Time, d time.Duration) {
	c.anchorMono = c.Monotonic(now)
	c.anchorLocal = c.Local(now).Add(d)
	c.anchorWorld = now
}

// setDrift changes the drift from world time now on, keeping local time continuous.
func (c *Clock) setDrift(now Time, ppm int64) {
	c.anchorMono = c.Monotonic(now)
	c.anchorLocal = c.Local(now)
	c.anchorWorld = now
	c.ppm = ppm
}

func newClock() Clock { return Clock{} }
