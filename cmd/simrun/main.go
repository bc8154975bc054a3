// Command simrun runs one seeded simulation and reports what happened, as
// `key: value` lines (or one JSON object with --json).
//
// Exit status: 0 the run passed, 1 it found a violation, 2 bad input.
package main

import (
	"os"
	"runtime/debug"
)

func main() {
	tuneGC()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// tuneGC sets the collector for simulation: a world keeps little alive (a
// few MiB for a default seed) and allocates steadily, so the default target
// (a heap twice the live one) collects every few MiB, and collection is a
// fifth of a default seed's CPU. A heap five times the live one costs tens
// of MiB and saves most of that (docs/PERFORMANCE.md); a soft limit keeps a
// very large world from using more than 4 GiB on that account. GOGC and
// GOMEMLIMIT in the environment win. Nothing here changes what a run does:
// the trace is the same under any collector setting.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(4 << 30)
	}
}
