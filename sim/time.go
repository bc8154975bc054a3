package sim

import (
	"strconv"
	"time"
)

// Time is virtual time: nanoseconds since the world began. It is never
// related to the wall clock.
type Time int64

// Add returns t+d.
func (t Time) Add(d time.Duration) Time { return t + Time(d) }

// Sub returns t-u as a duration.
func (t Time) Sub(u Time) time.Duration { return time.Duration(t - u) }

// Duration returns t as the time elapsed since the world began.
func (t Time) Duration() time.Duration { return time.Duration(t) }

// String prints t as a duration since the start, e.g. "1.5s".
func (t Time) String() string { return time.Duration(t).String() }

// Nanos returns t as a plain integer for encodings.
func (t Time) Nanos() string { return strconv.FormatInt(int64(t), 10) }
