package reports

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "embed"

	"github.com/seed4fee1fef/raftsim/scenarios/runner"
)

// Files a soak writes into its output directory.
const (
	SoakPageFile = "soak.html"
	SoakDataFile = "soak.json"
)

// Soak is what one soak (or a merged set of shards) ran: the soak page's
// input, and soak.json. A later soak may add groups with shrunk scripts;
// a soak with no Groups is grouped by GroupFailures.
type Soak struct {
	// Command is the soak's own command line; Seeds and Shards what it
	// covered ("1-500", "0/4").
	Command string   `json:"command"`
	Seeds   string   `json:"seeds"`
	Shards  []string `json:"shards"`
	Build   string   `json:"build"`
	// Subject is the Raft implementation the seeds ran ("etcd (go.etcd.io/raft/v3 v3.7.0)").
	Subject string `json:"subject,omitempty"`
	// Runs are every seed's result, in seed order; a long soak lists its
	// passing runs only up to a bound and counts the rest in MorePassed.
	Runs       []SeedRun `json:"runs"`
	MorePassed uint64    `json:"more_passed,omitempty"`
	// Groups are the failures grouped by what went wrong (nil: group
	// with GroupFailures when drawing).
	Groups []FailureGroup `json:"groups,omitempty"`
	// WallNS is how long the soak took on the wall clock (for merged
	// shards, the longest shard's); Parallel how many runs it ran at once.
	WallNS   int64 `json:"wall_ns"`
	Parallel int   `json:"parallel"`
}

// SeedRun is one seed of a soak.
type SeedRun struct {
	Seed     uint64   `json:"seed"`
	Verdict  string   `json:"verdict"`
	Failures []string `json:"failures,omitempty"`
	// Signature is how it failed, the same for every seed that failed
	// the same way (runner.Result.Signature, prefixed with the scenario);
	// runs that predate it are grouped by their first failure line.
	Signature string `json:"signature,omitempty"`
	// Rechecked: the soak ran it twice and compared the traces.
	Rechecked bool `json:"rechecked,omitempty"`
	// Why is the failure in a sentence (the first explanation's first line).
	Why string `json:"why,omitempty"`
	// Report is its report directory, relative to the soak page.
	Report        string  `json:"report,omitempty"`
	Command       string  `json:"command"`
	VirtualTimeNS int64   `json:"virtual_time_ns"`
	Events        uint64  `json:"events"`
	Metrics       Metrics `json:"metrics"`
}

// FailureGroup is the seeds that failed the same way, with the shortest
// reproduction among them.
type FailureGroup struct {
	// Signature is what their failures share.
	Signature string   `json:"signature"`
	Seeds     []uint64 `json:"seeds"`
	// Shortest is the seed with the shortest run (virtual time, then
	// events), whose report and command reproduce the group.
	Shortest uint64 `json:"shortest"`
	Report   string `json:"report,omitempty"`
	Command  string `json:"command"`
	// Script is a shrunk scenario script reproducing the group, where a
	// shrinker made one: `simrun --scenario FILE --seed Shortest` fails
	// with Signature. ScriptFile is where it was written, relative to
	// the soak page; Shrunk says how much smaller it is.
	Script     string       `json:"script,omitempty"`
	ScriptFile string       `json:"script_file,omitempty"`
	Shrunk     *ShrinkStats `json:"shrunk,omitempty"`
}

// ShrinkStats is what a shrinker did to one failing run.
type ShrinkStats struct {
	Before RunSize `json:"before"`
	After  RunSize `json:"after"`
	// Runs is how many candidates it ran; Done says it reached a script
	// no step could shrink further (not: it ran out of time).
	Runs   int   `json:"runs"`
	Done   bool  `json:"done"`
	WallNS int64 `json:"wall_ns"`
}

// RunSize is how big a failing run is.
type RunSize struct {
	Faults int `json:"faults"`
	// FaultLines are the script's fault lines (an every line is one).
	FaultLines    int    `json:"fault_lines"`
	Operations    uint64 `json:"operations"`
	VirtualTimeNS int64  `json:"virtual_time_ns"`
	Servers       int    `json:"servers"`
	Clients       int    `json:"clients"`
	Keys          int    `json:"keys"`
}

func (s RunSize) String() string {
	return fmt.Sprintf("%s (%s), %s, %v of virtual time, %d servers, %s, %s",
		plural(s.Faults, "fault"), plural(s.FaultLines, "line"), plural(int(s.Operations), "operation"),
		time.Duration(s.VirtualTimeNS).Round(time.Millisecond), s.Servers, plural(s.Clients, "client"), plural(s.Keys, "key"))
}

// SeedRunOf summarizes one run's summary for a soak; report is its
// directory relative to the soak page ("" if none was written).
func SeedRunOf(sum Summary, report string) SeedRun {
	r := SeedRun{Seed: sum.Seed, Verdict: sum.Verdict, Failures: sum.Failures, Report: report, Command: sum.Command,
		VirtualTimeNS: sum.VirtualTimeNS, Events: sum.Events, Metrics: sum.Metrics}
	if sum.Verdict != "PASS" {
		r.Signature = sum.Signature
		if sum.Scenario != "" && r.Signature != "" {
			r.Signature = sum.Scenario + ": " + r.Signature
		}
	}
	if len(sum.Explanations) > 0 && len(sum.Explanations[0].Text) > 0 {
		r.Why = sum.Explanations[0].Text[0]
	}
	return r
}

// Signature is what a failure line says without its numbers, names and
// keys (runner.FailureSignature): for runs whose SeedRun has no
// Signature of its own.
func Signature(failure string) string { return runner.FailureSignature(failure) }

// signatureOf is how a failed run is grouped.
func signatureOf(r SeedRun) string {
	switch {
	case r.Signature != "":
		return r.Signature
	case len(r.Failures) > 0:
		return Signature(r.Failures[0])
	}
	return "did not finish the check"
}

// GroupFailures groups the failed runs by the signature of their first
// failure, most frequent first; each group's shortest run reproduces it.
func GroupFailures(runs []SeedRun) []FailureGroup {
	var groups []FailureGroup
	index := map[string]int{}
	short := map[string]SeedRun{}
	for _, r := range runs {
		if r.Verdict == "PASS" {
			continue
		}
		sig := signatureOf(r)
		i, ok := index[sig]
		if !ok {
			i = len(groups)
			index[sig] = i
			groups = append(groups, FailureGroup{Signature: sig})
		}
		groups[i].Seeds = append(groups[i].Seeds, r.Seed)
		if s, ok := short[sig]; !ok || r.VirtualTimeNS < s.VirtualTimeNS ||
			(r.VirtualTimeNS == s.VirtualTimeNS && r.Events < s.Events) {
			short[sig] = r
		}
	}
	for i := range groups {
		s := short[groups[i].Signature]
		groups[i].Shortest, groups[i].Report, groups[i].Command = s.Seed, s.Report, s.Command
		slices.Sort(groups[i].Seeds)
	}
	slices.SortStableFunc(groups, func(a, b FailureGroup) int { return cmp.Compare(len(b.Seeds), len(a.Seeds)) })
	return groups
}

// MergeSoaks merges shards of one soak into one, runs in seed order. A
// seed run by two shards keeps its first result. Failures are grouped
// again over all the runs (so each group's shortest reproduction is the
// shortest of all), and a shard's shrunk script joins its group: the one
// shrunk from that shortest reproduction if a shard made it, else another
// shard's (its header names its own seed).
func MergeSoaks(shards []Soak) Soak {
	var out Soak
	seen := map[uint64]bool{}
	var shardGroups []FailureGroup
	for i, s := range shards {
		if i == 0 {
			out.Command, out.Seeds, out.Build, out.Parallel, out.Subject = s.Command, s.Seeds, s.Build, s.Parallel, s.Subject
		}
		out.Shards = append(out.Shards, s.Shards...)
		out.WallNS = max(out.WallNS, s.WallNS)
		out.MorePassed += s.MorePassed
		shardGroups = append(shardGroups, s.Groups...)
		for _, r := range s.Runs {
			if !seen[r.Seed] {
				seen[r.Seed] = true
				out.Runs = append(out.Runs, r)
			}
		}
	}
	slices.SortFunc(out.Runs, func(a, b SeedRun) int { return cmp.Compare(a.Seed, b.Seed) })
	slices.Sort(out.Shards)
	out.Groups = GroupFailures(out.Runs)
	for i := range out.Groups {
		g := &out.Groups[i]
		for _, sg := range shardGroups {
			if sg.Signature != g.Signature || sg.Script == "" {
				continue
			}
			if g.Script == "" || sg.Shortest == g.Shortest {
				g.Script, g.ScriptFile, g.Shrunk = sg.Script, sg.ScriptFile, sg.Shrunk
			}
		}
	}
	if len(out.Groups) == 0 {
		out.Groups = []FailureGroup{}
	}
	return out
}

// ReadSoak reads a soak.json, naming the file and what is wrong with it.
func ReadSoak(path string) (Soak, error) {
	var s Soak
	data, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("%w (want a soak.json written by simrun soak)", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("%s: %w; expected a soak.json written by simrun soak", path, err)
	}
	if s.Command == "" || s.Seeds == "" {
		return s, fmt.Errorf("%s: no command or seeds; expected a soak.json written by simrun soak", path)
	}
	return s, nil
}

// WriteSoak writes soak.json and the soak page into dir.
func WriteSoak(dir string, s Soak) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("soak report: %w", err)
	}
	var data, page bytes.Buffer
	if err := writeJSON(&data, s); err != nil {
		return fmt.Errorf("soak report: %w", err)
	}
	if err := WriteSoakPage(&page, s); err != nil {
		return fmt.Errorf("soak report: %w", err)
	}
	if err := WriteFileAtomic(filepath.Join(dir, SoakDataFile), data.Bytes()); err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, SoakPageFile), page.Bytes())
}

//go:embed soak.html
var soakHTML string

var soakTmpl = template.Must(template.Must(pageTmpl.Clone()).New("soak").Parse(soakHTML))

type soakView struct {
	Title, Verdict, Class, Headline string
	Soak                            Soak
	Groups                          []FailureGroup
	Failed                          []SeedRun
	Runs, Passed                    uint64
	FailedCount                     int
	Throughput                      []fact
	Charts                          []*chart
}

// WriteSoakPage writes the soak's page: seeds run, pass and fail counts,
// the failure groups with their shortest reproductions, how key metrics
// were distributed across seeds, and the soak's own throughput. Its size
// grows with the failures, not with the seeds that passed.
func WriteSoakPage(b *bytes.Buffer, s Soak) error {
	v := soakView{Soak: s, Runs: uint64(len(s.Runs)) + s.MorePassed, Passed: s.MorePassed, Groups: s.Groups}
	if v.Groups == nil {
		v.Groups = GroupFailures(s.Runs)
	}
	for _, r := range s.Runs {
		if r.Verdict == "PASS" {
			v.Passed++
		} else {
			v.Failed = append(v.Failed, r)
		}
	}
	v.FailedCount = len(v.Failed)
	v.Title = "raftsim soak, seeds " + s.Seeds
	if len(s.Shards) > 0 {
		v.Title += " (shard " + strings.Join(s.Shards, ", ") + ")"
	}
	if v.FailedCount == 0 {
		v.Verdict, v.Class = "PASS", "pass"
		v.Headline = fmt.Sprintf("All %d runs passed.", v.Runs)
	} else {
		v.Verdict, v.Class = "FAIL", "fail"
		v.Headline = fmt.Sprintf("%d of %d runs failed, in %s.", v.FailedCount, v.Runs, plural(len(v.Groups), "way"))
	}
	var virt time.Duration
	var events uint64
	for _, r := range s.Runs {
		virt += time.Duration(r.VirtualTimeNS)
		events += r.Events
	}
	wall := time.Duration(s.WallNS)
	v.Throughput = []fact{{"wall time", wall.Round(time.Millisecond).String()}, {"runs at once", strconv.Itoa(s.Parallel)}}
	if wall > 0 {
		sec := wall.Seconds()
		v.Throughput = append(v.Throughput, fact{"runs per second", strconv.FormatFloat(float64(v.Runs)/sec, 'f', 2, 64)})
		if s.MorePassed == 0 { // else the unlisted runs' time and events are unknown
			v.Throughput = append(v.Throughput,
				fact{"simulated seconds per second", strconv.FormatFloat(virt.Seconds()/sec, 'f', 1, 64)},
				fact{"events per second", strconv.FormatFloat(float64(events)/sec, 'f', 0, 64)})
		}
	}
	listed := "simulated time in all"
	if s.MorePassed > 0 {
		listed = fmt.Sprintf("simulated time of the %d runs listed", len(s.Runs))
	}
	v.Throughput = append(v.Throughput, fact{listed, virt.Round(time.Millisecond).String()},
		fact{"build", s.Build})
	if s.Subject != "" {
		v.Throughput = append(v.Throughput, fact{"subject", s.Subject})
	}
	metric := func(f func(SeedRun) float64) []float64 {
		out := make([]float64, len(s.Runs))
		for i, r := range s.Runs {
			out[i] = f(r)
		}
		return out
	}
	v.Charts = []*chart{
		histogram("Operations completed", "per run", metric(func(r SeedRun) float64 { return float64(r.Metrics.OpsCompleted) }), ""),
		histogram("Client latency p99", "per run", metric(func(r SeedRun) float64 { return float64(r.Metrics.ClientLatencyP99NS) / 1e6 }), "ms"),
		histogram("Elections", "leaders elected per run", metric(func(r SeedRun) float64 { return float64(r.Metrics.Elections) }), ""),
		histogram("Operations with unknown outcome", "per run", metric(func(r SeedRun) float64 { return float64(r.Metrics.OpsUnknown) }), ""),
		histogram("Raft messages per entry", "per run", metric(func(r SeedRun) float64 { return r.Metrics.MessagesPerEntry }), ""),
		histogram("Highest term", "per run", metric(func(r SeedRun) float64 { return float64(r.Metrics.MaxTerm) }), ""),
	}
	return soakTmpl.ExecuteTemplate(b, "soak", v)
}

// histogram draws how values spread across runs, in at most 20 bins.
func histogram(title, caption string, values []float64, unit string) *chart {
	c := newChart(title, caption, 0)
	if len(values) == 0 {
		c.Empty = "no runs"
		return c
	}
	lo, hi := slices.Min(values), slices.Max(values)
	bins := min(20, len(values))
	width := (hi - lo) / float64(bins)
	if width == 0 {
		width, bins = 1, 1
	}
	counts := make([]float64, bins)
	for _, v := range values {
		counts[min(int((v-lo)/width), bins-1)]++
	}
	top := roundUp(slices.Max(counts))
	for _, v := range []float64{0, top / 2, top} {
		c.YTicks = append(c.YTicks, ytick{Y: c.y(v, top), Label: number(v)})
	}
	bw := c.PlotW / float64(bins)
	for i, n := range counts {
		from, to := lo+float64(i)*width, lo+float64(i+1)*width
		x := c.Left + bw*float64(i)
		if n > 0 {
			c.Bars = append(c.Bars, shape{X: x, Y: c.y(n, top), W: max(bw-1, 0.5), H: c.Top + c.PlotH - c.y(n, top),
				Class: "bar-ops", Title: fmt.Sprintf("%s runs with %s to %s%s", number(n), short(from), short(to), unit)})
		}
	}
	for i := 0; i <= bins; i += max(1, bins/5) {
		c.XTicks = append(c.XTicks, tick{X: c.Left + bw*float64(i), Label: short(lo+float64(i)*width) + unit})
	}
	return c
}

// short renders a metric compactly: 3 significant figures.
func short(v float64) string {
	if v == math.Trunc(v) || math.Abs(v) >= 100 {
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
