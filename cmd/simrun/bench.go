package main

import (
	"fmt"
	"io"
	"runtime"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

type benchOptions struct {
	runs     int
	first    uint64
	servers  int
	clients  int
	duration time.Duration
	noFaults bool
	json     bool
}

func newBenchCmd(stdout io.Writer) *cobra.Command {
	o := &benchOptions{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the simulator's cost: seeds per core-hour, simulated seconds per CPU-second, memory per world",
		Long: `bench runs seeds one after another, exactly as 'simrun --seed N' would
(every check on, swarm faults unless --no-faults; trace kept as its hash
only, as a soak does), and reports what they cost in CPU time: the
operating system's user+system time of this process, garbage collection
included. CPU time, not wall time, so other work on a shared machine does
not distort the figures (it still shares caches and memory bandwidth; quote
the median of several calls). The runs themselves stay deterministic.

memory-per-world is the live heap of one finished run (its world, cluster,
history and checks), measured after the timed runs by running again the
seed that had the most events.`,
		Args: cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error { return o.bench(stdout) },
	}
	f := cmd.Flags()
	f.IntVar(&o.runs, "runs", 20, "number of runs (seeds first..first+runs-1)")
	f.Uint64Var(&o.first, "first-seed", 1, "seed of the first run")
	f.IntVar(&o.servers, "servers", 5, "Raft servers")
	f.IntVar(&o.clients, "clients", 3, "clients")
	f.DurationVar(&o.duration, "duration", 20*time.Second, "virtual time of each run's fault phase (then settle and drain, as in a run)")
	f.BoolVar(&o.noFaults, "no-faults", false, "run without faults (the steady-state workload)")
	f.BoolVar(&o.json, "json", false, "print one JSON object")
	return cmd
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (o *benchOptions) options(seed uint64) runner.Options {
	return runner.Options{Seed: seed, Servers: o.servers, Clients: o.clients,
		FaultTime: o.duration, NoFaults: o.noFaults, Trace: sim.TraceHashOnly}
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
	var writes, msgs, bytes, events, maxEvents uint64
	var simTime, cpu time.Duration
	failed, heaviest := 0, o.first
	start := time.Now()
	for i := 0; i < o.runs; i++ {
		seed := o.first + uint64(i)
		before := cpuTime()
		res, err := runner.Run(o.options(seed))
		cpu += cpuTime() - before
		if err != nil {
			return badInput("%v", err)
		}
		if !res.Pass {
			failed++ // still measured: it cost what it cost; `simrun --seed N` shows why
		}
		writes += res.Metrics.OpsCompleted
		msgs += res.Metrics.RaftMessages
		bytes += res.Metrics.RaftBytes
		events += res.Events
		if res.Events > maxEvents {
			maxEvents, heaviest = res.Events, seed
		}
		simTime += res.VirtualTime.Duration()
	}
	wall := time.Since(start)
	mem, err := o.worldMemory(heaviest)
	if err != nil {
		return err
	}

	cpuSec := cpu.Seconds()
	perCPU := func(x float64) float64 {
		if cpuSec <= 0 {
			return 0
		}
		return x / cpuSec
	}
	out := &summary{}
	out.add("runs", o.runs)
	out.add("seeds", fmt.Sprintf("%d-%d", o.first, o.first+uint64(o.runs)-1))
	out.add("servers", o.servers)
	out.add("clients", o.clients)
	out.add("duration", o.duration.String())
	out.add("faults", !o.noFaults)
	out.add("failed", failed)
	out.add("cpu-seconds", fmt.Sprintf("%.3f", cpuSec))
	out.add("wall-seconds", fmt.Sprintf("%.3f", wall.Seconds()))
	out.add("cpu-per-run", (cpu / time.Duration(o.runs)).Round(10*time.Microsecond).String())
	out.add("seeds-per-core-hour", fmt.Sprintf("%.0f", perCPU(3600*float64(o.runs))))
	out.add("sim-speedup", fmt.Sprintf("%.0f", perCPU(simTime.Seconds())))
	out.add("cpu-per-simulated-second", (time.Duration(float64(cpu) / max(simTime.Seconds(), 1e-9))).Round(time.Microsecond).String())
	out.add("events-per-second", fmt.Sprintf("%.0f", perCPU(float64(events))))
	out.add("memory-per-world", fmt.Sprintf("%.1f MiB (seed %d)", float64(mem)/(1<<20), heaviest))
	out.add("committed-writes", writes)
	out.add("writes-per-second", fmt.Sprintf("%.0f", perCPU(float64(writes))))
	out.add("raft-messages-per-write", fmt.Sprintf("%.2f", float64(msgs)/float64(max(writes, 1))))
	out.add("raft-bytes-per-write", fmt.Sprintf("%.0f", float64(bytes)/float64(max(writes, 1))))
	return out.print(stdout, o.json)
}

// worldMemory runs seed again and returns the live heap its finished run
// holds: the heap after a collection with the result still referenced,
// less the heap before it.
func (o *benchOptions) worldMemory(seed uint64) (uint64, error) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	res, err := runner.Run(o.options(seed))
	if err != nil {
		return 0, badInput("%v", err)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	runtime.KeepAlive(res)
	if ms.HeapAlloc < base {
		return 0, nil
	}
	return ms.HeapAlloc - base, nil
}
