//go:build !raftsim_plant

package plant

// Compiled says the planted bugs are compiled in (build tag raftsim_plant).
const Compiled = false

// Has reports whether b is planted: never, in a build without the tag, so
// every planted branch is dead code.
func (Set) Has(Bug) bool { return false }
