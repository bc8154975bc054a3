package reports

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
)

// File names inside a report directory.
const (
	// PageFile is the run's page: open it first.
	PageFile     = "index.html"
	SummaryFile  = "summary.json"
	TraceFile    = "trace.jsonl"
	HistoryFile  = "history.json"
	SamplesFile  = "samples.csv"
	TimelineFile = "timeline.txt"
	// VisualFile is porcupine's view of the failing key around the
	// failure (of the whole history, for a small passing run).
	VisualFile = "linearizability.html"
	ReproFile  = "repro.sh"
)

// Summary is summary.json: what a person or a script needs to know about a
// run without reading its trace, and what `simrun replay` needs to rerun it.
type Summary struct {
	Seed     uint64 `json:"seed"`
	Scenario string `json:"scenario,omitempty"`
	// Subject is the Raft implementation under test and SubjectVersion
	// its version; SubjectLacks the harness mechanisms it does not have,
	// in plain words (subject.Capabilities.Lacks).
	Subject        string   `json:"subject"`
	SubjectVersion string   `json:"subject_version"`
	SubjectLacks   []string `json:"subject_lacks,omitempty"`
	SubjectNotes   []string `json:"subject_notes,omitempty"`
	Servers        int      `json:"servers"`
	Clients        int      `json:"clients"`
	Verdict        string   `json:"verdict"`
	Failures       []string `json:"failures,omitempty"`
	// Signature is how the run failed, in words the same for every seed
	// that fails the same way (runner.Result.Signature).
	Signature string `json:"signature,omitempty"`
	// Explanations tell the failures in a person's terms: the operations,
	// servers, terms and faults involved.
	Explanations  []runner.Explanation `json:"explanations,omitempty"`
	Linearizable  string               `json:"linearizable"`
	Invariants    string               `json:"invariants"`
	Liveness      string               `json:"liveness"`
	TraceHash     string               `json:"trace_hash"`
	Events        uint64               `json:"events"`
	VirtualTimeNS int64                `json:"virtual_time_ns"`
	Build         string               `json:"build"`
	Planted       string               `json:"planted,omitempty"`
	Faults        []string             `json:"faults,omitempty"`
	Metrics       Metrics              `json:"metrics"`
	// Args are simrun's arguments that reproduce the run; Command is
	// them as a shell command.
	Args    []string `json:"args"`
	Command string   `json:"command"`
	// Script is the scenario the run ran, verbatim, so a replay does not
	// depend on a file that may have moved or changed.
	Script string `json:"script,omitempty"`
	// TraceSHA256 is the SHA-256 of trace.jsonl as written (Write sets
	// it; empty when the run did not keep its trace). Events is its
	// number of lines.
	TraceSHA256 string `json:"trace_sha256,omitempty"`
}

// Metrics is the health section of summary.json.
type Metrics struct {
	OpsCompleted  uint64 `json:"ops_completed"`
	OpsUnknown    uint64 `json:"ops_unknown"`
	Elections     int    `json:"elections"`
	LeaderChanges int    `json:"leader_changes"`
	MaxTerm       uint64 `json:"max_term"`
	// ClientLatency is client-observed, of every completed operation;
	// CommitLatency measured on the leader from proposal to commit.
	ClientLatencyP50NS int64 `json:"client_latency_p50_ns"`
	ClientLatencyP99NS int64 `json:"client_latency_p99_ns"`
	CommitLatencyP50NS int64 `json:"commit_latency_p50_ns"`
	CommitLatencyP99NS int64 `json:"commit_latency_p99_ns"`
	// Health: campaigns, the rise of the highest term per hour of virtual
	// time, time with no leader.
	ElectionsStarted   uint64  `json:"elections_started"`
	TermChangesPerHour float64 `json:"term_changes_per_hour"`
	LeaderlessNS       int64   `json:"leaderless_ns"`
	// Reads: the mode, client-observed latency of completed gets, reads
	// confirmed per heartbeat round, reads answered under a lease.
	ReadMode          string   `json:"read_mode,omitempty"`
	ReadLatencyP50NS  int64    `json:"read_latency_p50_ns"`
	ReadLatencyP99NS  int64    `json:"read_latency_p99_ns"`
	ReadsPerRound     float64  `json:"reads_per_round"`
	LeaseReads        uint64   `json:"lease_reads"`
	Transfers         uint64   `json:"transfers"`
	TransfersAborted  uint64   `json:"transfers_aborted"`
	FsyncLatencyP99NS int64    `json:"fsync_latency_p99_ns"`
	LogEntriesMax     uint64   `json:"log_entries_max"`
	LogBytesMax       uint64   `json:"log_bytes_max"`
	CommittedEntries  uint64   `json:"committed_entries"`
	MessagesPerEntry  float64  `json:"messages_per_entry"`
	BytesPerEntry     float64  `json:"bytes_per_entry"`
	LogEntries        []uint64 `json:"log_entries"`
	// MessagesByType is server-to-server traffic by message type.
	MessagesByType runner.Traffic `json:"messages_by_type,omitempty"`
}

// Build identifies the binary: same seed and same build give the same trace.
func Build() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	parts := []string{bi.GoVersion}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
			parts = append(parts, s.Key+"="+s.Value)
		}
	}
	return strings.Join(parts, " ")
}

// Summarize builds the summary of res; args are simrun's arguments that
// reproduce it.
func Summarize(res *runner.Result, scenario string, args []string) Summary {
	m := res.Metrics
	s := Summary{
		Seed: res.Options.Seed, Scenario: scenario, Servers: res.Options.Servers, Clients: res.Options.Clients,
		Verdict: string(res.Verdict), Failures: res.Failures, Signature: res.Signature(), Explanations: res.Explanations,
		Linearizable: res.Linearizability.Verdict.String(), Invariants: "ok", Liveness: res.Liveness.String(),
		TraceHash: res.TraceHash, Events: res.Events, VirtualTimeNS: int64(res.VirtualTime), Build: Build(),
		Metrics: Metrics{OpsCompleted: m.OpsCompleted, OpsUnknown: m.OpsUnknown, Elections: m.Elections,
			LeaderChanges: m.LeaderChanges, MaxTerm: m.MaxTerm, ClientLatencyP50NS: int64(m.ClientLatencyP50),
			ClientLatencyP99NS: int64(m.ClientLatencyP99), CommitLatencyP50NS: int64(m.CommitLatencyP50),
			CommitLatencyP99NS: int64(m.CommitLatencyP99), ElectionsStarted: m.ElectionsStarted,
			TermChangesPerHour: m.TermChangesPerHour, LeaderlessNS: int64(m.LeaderlessTime), ReadMode: m.ReadMode,
			ReadLatencyP50NS: int64(m.ReadLatencyP50), ReadLatencyP99NS: int64(m.ReadLatencyP99),
			ReadsPerRound: m.ReadsPerRound, LeaseReads: m.LeaseReads, Transfers: m.Transfers,
			TransfersAborted: m.TransfersAborted, FsyncLatencyP99NS: int64(m.FsyncLatencyP99),
			LogEntriesMax: m.LogEntriesMax, LogBytesMax: m.LogBytesMax, CommittedEntries: m.CommittedEntries,
			MessagesPerEntry: m.MessagesPerWrite, BytesPerEntry: m.BytesPerWrite, LogEntries: m.LogEntries,
			MessagesByType: m.Traffic},
		Args: args, Command: Command(args),
	}
	if res.Options.Planted != 0 {
		s.Planted = res.Options.Planted.String()
	}
	if sub := res.Options.Server.Subject; sub.Name != "" {
		s.Subject, s.SubjectVersion, s.SubjectLacks = sub.Name, sub.Version, sub.Capabilities.Lacks()
		s.SubjectNotes = res.SubjectNotes
	}
	if v := res.Invariant; v != nil {
		s.Invariants = v.String()
	}
	if res.Schedule != nil {
		for _, f := range res.Schedule.Faults {
			s.Faults = append(s.Faults, f.String())
		}
	}
	return s
}

// CommandPrefix is how a person runs this build of simrun from the source
// tree: with the planted bugs compiled in when this build has them, so a
// report's command reproduces it with the same build.
func CommandPrefix() string {
	if plant.Compiled {
		return "go run -tags " + plant.Tag + " ./cmd/simrun "
	}
	return "go run ./cmd/simrun "
}

// SameCommand reports whether two rendered commands run the same thing,
// whichever build (with planted bugs compiled in or not) rendered them.
func SameCommand(a, b string) bool {
	norm := func(c string) string { return strings.Replace(c, "go run -tags "+plant.Tag+" ", "go run ", 1) }
	return norm(a) == norm(b)
}

// Command renders simrun arguments as a command a person can paste.
func Command(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"$\\|&;<>()*?#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		quoted[i] = a
	}
	return strings.TrimSpace(CommandPrefix() + strings.Join(quoted, " "))
}

// Write writes the report of res into dir: the data files, the page
// (index.html) and summary.json. The report is complete or absent, never
// half-written, whenever simrun dies: it is written into a temporary
// directory beside dir, every file fsynced, and renamed into place (an
// older report in dir is replaced). The trace is exported only if the run
// kept it, and its digest recorded in the summary.
func Write(dir string, res *runner.Result, sum Summary) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer os.RemoveAll(tmp) // gone once renamed
	if err := writeFiles(tmp, res, sum); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return replaceDir(tmp, dir)
}

// replaceDir renames the directory tmp to dir, replacing what dir held,
// and makes the rename durable.
func replaceDir(tmp, dir string) error {
	parent := filepath.Dir(dir)
	if _, err := os.Lstat(dir); err == nil {
		old, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".old")
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if err := os.Rename(dir, filepath.Join(old, "report")); err != nil {
			os.Remove(old)
			return fmt.Errorf("report: %w", err)
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return syncDir(parent)
}

// Leftovers are what a report writer killed mid-way leaves beside the
// reports (a temporary directory, a replaced report not yet removed):
// names starting with ".", containing ".tmp" or ".old". A soak removes
// them when it resumes.
func Leftovers(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") && (strings.Contains(n, ".tmp") || strings.Contains(n, ".old")) {
			out = append(out, filepath.Join(dir, n))
		}
	}
	return out
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("report: sync %s: %w", dir, err)
	}
	return nil
}

// writeFiles writes the report's files into dir, summary.json last.
func writeFiles(dir string, res *runner.Result, sum Summary) error {
	sum.TraceSHA256 = ""
	visual, visualNote := visualization(res)
	files := []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{ReproFile, func(b *bytes.Buffer) error { return writeRepro(b, sum) }},
		{HistoryFile, func(b *bytes.Buffer) error { return writeJSON(b, History(res)) }},
		{SamplesFile, func(b *bytes.Buffer) error { return writeSamples(b, res) }},
		{TimelineFile, func(b *bytes.Buffer) error { return writeTimeline(b, res) }},
	}
	if visual != nil {
		files = append(files, struct {
			name  string
			write func(*bytes.Buffer) error
		}{VisualFile, visual})
	}
	if res.World.Trace().Kept() {
		files = append(files, struct {
			name  string
			write func(*bytes.Buffer) error
		}{TraceFile, func(b *bytes.Buffer) error {
			if err := writeTrace(b, res); err != nil {
				return err
			}
			sum.TraceSHA256 = fmt.Sprintf("%x", sha256.Sum256(b.Bytes()))
			return nil
		}})
	}
	written := []string{SummaryFile}
	for _, f := range files {
		written = append(written, f.name)
	}
	files = append(files, struct {
		name  string
		write func(*bytes.Buffer) error
	}{PageFile, func(b *bytes.Buffer) error { return WritePage(b, res, sum, written, visualNote) }})
	files = append(files, struct {
		name  string
		write func(*bytes.Buffer) error
	}{SummaryFile, func(b *bytes.Buffer) error { return writeJSON(b, sum) }})
	for _, f := range files {
		var b bytes.Buffer
		if err := f.write(&b); err != nil {
			return fmt.Errorf("report %s: %w", f.name, err)
		}
		if err := writeSynced(filepath.Join(dir, f.name), b.Bytes()); err != nil {
			return err
		}
	}
	return syncDir(dir)
}

// writeSynced writes a new file and fsyncs it.
func writeSynced(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if strings.HasSuffix(path, ".sh") {
		mode = 0o755
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("report: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("report: close %s: %w", path, err)
	}
	return nil
}

// writeRepro writes repro.sh: the run's command, run from the module that
// made it (found upward from the working directory when the report was
// written), so it works from any directory; where that is unknown (an
// installed simrun, run outside the source tree), simrun from PATH.
func writeRepro(b *bytes.Buffer, sum Summary) error {
	fmt.Fprintf(b, "#!/bin/sh\n# Reproduces this run exactly (same build): trace hash %s.\n", sum.TraceHash)
	b.WriteString("# Works from any directory.\nset -e\n")
	if root := ModuleRoot(); root != "" {
		fmt.Fprintf(b, "cd %s\nexec %s\n", shellQuote(root), sum.Command)
		return nil
	}
	args := strings.TrimPrefix(strings.TrimPrefix(sum.Command, "go run ./cmd/simrun "), "go run -tags "+plant.Tag+" ./cmd/simrun ")
	fmt.Fprintf(b, "exec simrun %s\n", args)
	return nil
}

// ModuleRoot is the directory of raftsim's go.mod, found upward from the
// working directory ("" if it is not there).
func ModuleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			if strings.HasPrefix(string(data), "module github.com/seed4fee1fef/raftsim\n") {
				return dir
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t'\"$\\|&;<>()*?#~`!{}[]") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func writeJSON(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory, fsynced and renamed over path, then fsyncs the directory.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("report: sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report: close %s: %w", path, err)
	}
	mode := os.FileMode(0o644)
	if strings.HasSuffix(path, ".sh") {
		mode = 0o755
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
