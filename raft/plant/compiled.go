//go:build raftsim_plant

package plant

// Compiled says the planted bugs are compiled in (build tag raftsim_plant).
const Compiled = true

// Has reports whether b is planted.
func (s Set) Has(b Bug) bool { return s&Set(b) != 0 }
