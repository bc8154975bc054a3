package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/seed4fee1fef/raftsim/sim"
	"github.com/seed4fee1fef/raftsim/sim/chatter"
)

type runOptions struct {
	seed     uint64
	nodes    int
	duration time.Duration
	json     bool
}

func (o *runOptions) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.Uint64Var(&o.seed, "seed", 1, "seed of the run: the same seed reproduces the same run")
	f.IntVar(&o.nodes, "nodes", 5, "number of nodes")
	f.DurationVar(&o.duration, "duration", 10*time.Second, "virtual time to run")
	f.BoolVar(&o.json, "json", false, "print one JSON object instead of key: value lines")
}

func (o *runOptions) validate() error {
	if o.nodes < 1 {
		return badInput("--nodes %d: want at least 1", o.nodes)
	}
	if o.duration <= 0 {
		return badInput("--duration %v: want a positive virtual time such as 10s", o.duration)
	}
	return nil
}

func (o *runOptions) run(stdout io.Writer) error {
	if err := o.validate(); err != nil {
		return err
	}
	w, err := chatter.Run(chatter.RunConfig{
		Seed: o.seed, Nodes: o.nodes, Duration: o.duration,
		Trace: sim.TraceHashOnly, RandomLink: true,
	})
	if err != nil {
		return badInput("%v", err)
	}
	tot := w.Net().Total()
	out := &summary{}
	out.add("seed", o.seed)
	out.add("workload", "chatter")
	out.add("nodes", o.nodes)
	out.add("events", w.Trace().Len())
	out.add("virtual-time", w.Now().Duration().String())
	out.add("messages-sent", tot.Sent)
	out.add("messages-delivered", tot.Delivered)
	out.add("messages-dropped", tot.Dropped)
	out.add("trace-hash", w.Trace().Hash())
	out.add("result", "PASS")
	return out.print(stdout, o.json)
}

// summary is an ordered list of key/value pairs: the same facts for people
// (key: value lines) and for scripts (--json).
type summary struct {
	keys []string
	vals []any
}

func (s *summary) add(k string, v any) {
	s.keys = append(s.keys, k)
	s.vals = append(s.vals, v)
}

func (s *summary) print(w io.Writer, asJSON bool) error {
	if asJSON {
		return writeOrderedJSON(w, s.keys, s.vals)
	}
	for i, k := range s.keys {
		if _, err := fmt.Fprintf(w, "%s: %v\n", k, s.vals[i]); err != nil {
			return err
		}
	}
	return nil
}
