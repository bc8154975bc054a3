package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

type benchOptions struct {
	runs     int
	servers  int
	clients  int
	duration time.Duration
	faults   bool
	json     bool
}

func newBenchCmd(stdout io.Writer) *cobra.Command {
	o := &benchOptions{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure simulator throughput: committed writes and simulated seconds per wall-second",
		Long: `bench runs the cluster (no faults unless --faults) for a number of seeds
and reports throughput. Wall-clock time is measured here, outside the
simulator; the runs themselves stay deterministic.`,
		Args: cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error { return o.bench(stdout) },
	}
	f := cmd.Flags()
	f.IntVar(&o.runs, "runs", 20, "runs (seeds 1..runs)")
	f.IntVar(&o.servers, "servers", 5, "Raft servers")
	f.IntVar(&o.clients, "clients", 3, "clients")
	f.DurationVar(&o.duration, "duration", 10*time.Second, "virtual time of each run's load phase")
	f.BoolVar(&o.faults, "faults", false, "draw a fault schedule from each seed")
	f.BoolVar(&o.json, "json", false, "print one JSON object")
	return cmd
}

func (o *benchOptions) bench(stdout io.Writer) error {
	switch {
	case o.runs < 1:
		return badInput("--runs %d: want at least 1", o.runs)
	case o.servers < 1 || o.clients < 1:
		return badInput("--servers %d --clients %d: want at least 1 of each", o.servers, o.clients)
	case o.duration <= 0:
		return badInput("--duration %v: want a positive virtual time", o.duration)
	}
	var writes, msgs, bytes, events uint64
	var simTime time.Duration
	start := time.Now()
	for i := 1; i <= o.runs; i++ {
		res, err := runner.Run(runner.Options{Seed: uint64(i), Servers: o.servers, Clients: o.clients,
			FaultTime: o.duration, NoFaults: !o.faults, Trace: sim.TraceHashOnly})
		if err != nil {
			return badInput("%v", err)
		}
		if !res.Pass {
			return fmt.Errorf("seed %d did not pass (%v): a benchmark of a failing run means nothing", i, res.Failures)
		}
		writes += res.Metrics.OpsCompleted
		msgs += res.Metrics.RaftMessages
		bytes += res.Metrics.RaftBytes
		events += res.Events
		simTime += res.VirtualTime.Duration()
	}
	wall := time.Since(start).Seconds()
	out := &summary{}
	out.add("runs", o.runs)
	out.add("servers", o.servers)
	out.add("clients", o.clients)
	out.add("faults", o.faults)
	out.add("wall-seconds", fmt.Sprintf("%.3f", wall))
	out.add("committed-writes", writes)
	out.add("writes-per-wall-second", fmt.Sprintf("%.0f", float64(writes)/wall))
	out.add("simulated-seconds-per-wall-second", fmt.Sprintf("%.1f", simTime.Seconds()/wall))
	out.add("events-per-wall-second", fmt.Sprintf("%.0f", float64(events)/wall))
	out.add("raft-messages-per-write", fmt.Sprintf("%.2f", float64(msgs)/float64(max(writes, 1))))
	out.add("raft-bytes-per-write", fmt.Sprintf("%.0f", float64(bytes)/float64(max(writes, 1))))
	return out.print(stdout, o.json)
}
