package chatter

import (
	"fmt"
	"time"

	"github.com/seed4fee1fef/raftsim/sim"
)

// RunConfig describes one chatter run under random faults.
type RunConfig struct {
	Seed     uint64
	Nodes    int
	Link     sim.LinkConfig
	Duration time.Duration
	Trace    sim.TraceMode
	// RandomLink draws the link settings from the seed instead of using Link.
	RandomLink bool
}

// Run builds a world of chatter nodes and runs it for cfg.Duration while a
// chaos schedule drawn from the seed kills, restarts, pauses and partitions
// nodes. It returns the world for inspection.
func Run(cfg RunConfig) (*sim.World, error) {
	if cfg.Duration <= 0 {
		return nil, fmt.Errorf("chatter: duration %v must be positive", cfg.Duration)
	}
	w, err := sim.New(sim.Config{Seed: cfg.Seed, Nodes: cfg.Nodes, Link: cfg.Link, Trace: cfg.Trace})
	if err != nil {
		return nil, err
	}
	if cfg.RandomLink {
		r := w.Rand("link")
		minLat := time.Duration(r.IntN(5_000)) * time.Microsecond
		link := sim.LinkConfig{
			MinLatency: minLat,
			MaxLatency: minLat + time.Duration(r.IntN(20_000))*time.Microsecond,
			Loss:       float64(r.IntN(30)) / 100,
			Duplicate:  float64(r.IntN(20)) / 100,
			Reorder:    float64(r.IntN(40)) / 100,
		}
		if err := w.Net().SetAllLinks(link); err != nil {
			return nil, err
		}
	}
	for i := 1; i <= cfg.Nodes; i++ {
		if err := w.Start(sim.NodeID(i), Factory(cfg.Nodes)); err != nil {
			return nil, err
		}
	}
	chaos := w.Rand("chaos")
	var step func()
	step = func() {
		id := sim.NodeID(1 + chaos.IntN(cfg.Nodes))
		switch chaos.IntN(4) {
		case 0:
			if w.Up(id) {
				_ = w.Kill(id, chaos.Chance(0.5))
			} else {
				_ = w.Restart(id)
			}
		case 1:
			_ = w.Net().Partition([]sim.NodeID{id}, others(cfg.Nodes, id))
		case 2:
			w.Net().Heal()
		case 3:
			if w.Up(id) && !w.Paused(id) {
				_ = w.Pause(id)
				w.After(time.Duration(chaos.IntN(100))*time.Millisecond, func() {
					if w.Paused(id) {
						_ = w.Resume(id)
					}
				})
			}
		}
		w.After(time.Duration(1+chaos.IntN(200))*time.Millisecond, step)
	}
	w.After(0, step)
	w.RunFor(cfg.Duration)
	return w, nil
}

func others(n int, id sim.NodeID) []sim.NodeID {
	var out []sim.NodeID
	for i := 1; i <= n; i++ {
		if sim.NodeID(i) != id {
			out = append(out, sim.NodeID(i))
		}
	}
	return out
}
