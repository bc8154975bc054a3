// Command simrun runs one seeded simulation and reports what happened, as
// `key: value` lines (or one JSON object with --json).
//
// Exit status: 0 the run passed, 1 it found a violation, 2 bad input.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
