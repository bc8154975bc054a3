// Package faults is the nemesis: each fault is a value with a target, a
// start and an end (kill -9 and restart, pause, partitions, link faults,
// clock faults, disk faults, quiet periods), applied through the simulator,
// and a generator that draws a whole swarm-style schedule from a seed.
//
// It never reads the wall clock or draws from anything but the World's
// named random streams.
package faults
