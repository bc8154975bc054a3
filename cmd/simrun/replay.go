package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seed4fee1fef/raftsim/reports"
)

func newReplayCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "replay DIR",
		Short: "Rerun a report directory's run and confirm the same trace and verdict",
		Long: `replay reruns the run a report directory records (its summary.json args, and
the scenario script the summary embeds) and compares the rerun with the
report: trace hash, number of events, the SHA-256 of trace.jsonl, and the
verdict. A report that contradicts itself (a trace that is missing, cut
short, garbled, or not the one its summary describes; a seed its args do
not run) is bad input, exit 2, naming the file and line.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return replay(args[0], stdout)
		},
	}
}

// replay reruns the run recorded in dir. It fails (exit 1) if the trace or
// the verdict differ: the run did not reproduce.
func replay(dir string, stdout io.Writer) error {
	sumPath := filepath.Join(dir, reports.SummaryFile)
	want, data, err := readSummary(sumPath)
	if err != nil {
		return err
	}
	if err := checkArgs(sumPath, data, want); err != nil {
		return err
	}
	if want.TraceSHA256 != "" {
		if err := checkTrace(filepath.Join(dir, reports.TraceFile), sumPath, data, want); err != nil {
			return err
		}
	}

	tmp, err := os.MkdirTemp("", "raftsim-replay-")
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer os.RemoveAll(tmp)
	args := append([]string(nil), want.Args...)
	scriptFile := ""
	if want.Script != "" {
		name := want.Scenario
		if name == "" || strings.ContainsAny(name, `/\`) {
			name = "scenario"
		}
		scriptFile = filepath.Join(tmp, name+".scn")
		if err := os.WriteFile(scriptFile, []byte(want.Script), 0o644); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		if !setFlag(args, "--scenario", scriptFile) {
			return badInput("%s:%d: a script but no --scenario in its args", sumPath, keyLine(data, "args"))
		}
	}
	outDir := filepath.Join(tmp, "report")
	var buf bytes.Buffer
	root := newRootCmd(&buf)
	root.SetArgs(append(append([]string(nil), args...), "--report", "--out", outDir))
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	if err := root.Execute(); err != nil && !errors.Is(err, errFailed) {
		return badInput("%s:%d: args %q do not run: %v", sumPath, keyLine(data, "args"), want.Args, err)
	}
	got, err := rerunSummary(outDir)
	if err != nil {
		return err
	}

	out := &summary{}
	out.add("replay", dir)
	out.add("command", reports.Command(args))
	if scriptFile != "" {
		out.add("script", "from "+sumPath+", written to "+scriptFile)
	}
	out.add("trace-hash", got.TraceHash)
	out.add("recorded-trace-hash", want.TraceHash)
	out.add("trace-events", got.Events)
	out.add("recorded-trace-events", want.Events)
	if want.TraceSHA256 != "" {
		out.add("trace-sha256", got.TraceSHA256)
		out.add("recorded-trace-sha256", want.TraceSHA256)
	} else {
		out.add("recorded-trace-sha256", "none (the report kept no trace)")
	}
	out.add("verdict", got.Verdict)
	out.add("recorded-verdict", want.Verdict)
	same := got.TraceHash == want.TraceHash && got.Events == want.Events && got.Verdict == want.Verdict &&
		(want.TraceSHA256 == "" || got.TraceSHA256 == want.TraceSHA256)
	if same {
		out.add("result", "REPRODUCED")
	} else {
		out.add("result", "DIFFERENT")
	}
	if err := out.print(stdout, false); err != nil {
		return err
	}
	if !same {
		return errFailed
	}
	return nil
}

// rerunSummary reads the summary the rerun wrote: the one report
// directory under out.
func rerunSummary(out string) (reports.Summary, error) {
	ents, err := os.ReadDir(out)
	if err != nil || len(ents) != 1 {
		return reports.Summary{}, fmt.Errorf("replay: the rerun wrote no report under %s (%v)", out, err)
	}
	s, _, err := readSummary(filepath.Join(out, ents[0].Name(), reports.SummaryFile))
	if err != nil {
		return s, fmt.Errorf("replay: reading the rerun's report: %w", err)
	}
	return s, nil
}

// setFlag sets the value of flag in args ("--flag v" or "--flag=v"); it
// reports false if args do not set it.
func setFlag(args []string, flag, v string) bool {
	for i, a := range args {
		switch {
		case a == flag && i+1 < len(args):
			args[i+1] = v
			return true
		case strings.HasPrefix(a, flag+"="):
			args[i] = flag + "=" + v
			return true
		}
	}
	return false
}

// checkArgs rejects a summary whose args do not run the run it describes:
// another seed, or a command that is not its args.
func checkArgs(path string, data []byte, s reports.Summary) error {
	opts := &runOptions{}
	root := newRootCmdWith(io.Discard, opts)
	if err := root.ParseFlags(s.Args); err != nil {
		return badInput("%s:%d: args %q: %v", path, keyLine(data, "args"), s.Args, err)
	}
	if opts.seed != s.Seed {
		return badInput("%s:%d: seed %d, but its args run seed %d", path, keyLine(data, "seed"), s.Seed, opts.seed)
	}
	if cmd := reports.Command(s.Args); !reports.SameCommand(s.Command, cmd) {
		return badInput("%s:%d: command %q is not its args (%q)", path, keyLine(data, "command"), s.Command, cmd)
	}
	return nil
}

// checkTrace verifies that trace.jsonl is the trace the summary describes:
// one well-formed event per line, numbered from 0, as many as the summary
// counts, with the digest it records.
func checkTrace(path, sumPath string, sumData []byte, s reports.Summary) error {
	f, err := os.Open(path)
	if err != nil {
		return badInput("%s: %v; %s:%d records a trace", path, err, sumPath, keyLine(sumData, "trace_sha256"))
	}
	defer f.Close()
	return verifyTrace(path, f, sumPath, sumData, s)
}

// verifyTrace is checkTrace on the trace's bytes, read from src.
func verifyTrace(path string, src io.Reader, sumPath string, sumData []byte, s reports.Summary) error {
	h := sha256.New()
	r := bufio.NewReader(io.TeeReader(src, h))
	var n uint64
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			if line[len(line)-1] != '\n' {
				return badInput("%s:%d: the last line has no newline: the file was cut short", path, n+1)
			}
			var je reports.TraceEvent
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&je); err != nil {
				return badInput("%s:%d: %v; expected one JSON event per line", path, n+1, err)
			}
			if je.Seq != n {
				return badInput("%s:%d: event seq %d; expected %d", path, n+1, je.Seq, n)
			}
			n++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return badInput("%s: %v", path, err)
		}
	}
	if n != s.Events {
		return badInput("%s: %d events; summary.json says %d (%s:%d)", path, n, s.Events, sumPath, keyLine(sumData, "events"))
	}
	if sum := fmt.Sprintf("%x", h.Sum(nil)); sum != s.TraceSHA256 {
		return badInput("%s does not match %s:%d (trace_sha256 %s, the file's is %s): edited, or from another run",
			path, sumPath, keyLine(sumData, "trace_sha256"), s.TraceSHA256, sum)
	}
	return nil
}

// keyLine is the line of data on which the top-level key of a summary
// (written indented by two spaces) is, or 1.
func keyLine(data []byte, key string) int {
	prefix := []byte("\n  \"" + key + "\":")
	if i := bytes.Index(data, prefix); i >= 0 {
		return bytes.Count(data[:i+1], []byte("\n")) + 1
	}
	return 1
}

// readSummary reads and validates a summary.json, naming the file, line and
// column of anything wrong with it.
func readSummary(path string) (reports.Summary, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return reports.Summary{}, nil, badInput("%v (want a report directory written by simrun)", err)
	}
	s, err := parseSummary(path, data)
	return s, data, err
}

// parseSummary is readSummary on the file's bytes.
func parseSummary(path string, data []byte) (reports.Summary, error) {
	var s reports.Summary
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			line, col := lineCol(data, syn.Offset)
			return s, badInput("%s:%d:%d: %v; expected a JSON summary written by simrun", path, line, col, syn)
		case errors.As(err, &typ):
			line, col := lineCol(data, typ.Offset)
			return s, badInput("%s:%d:%d: field %q holds %s; expected %s", path, line, col, typ.Field, typ.Value, typ.Type)
		default:
			return s, badInput("%s: %v; expected a JSON summary written by simrun", path, err)
		}
	}
	switch {
	case len(s.Args) == 0:
		return s, badInput("%s: no \"args\" to rerun; expected simrun's arguments", path)
	case len(s.TraceHash) != 16 || strings.Trim(s.TraceHash, "0123456789abcdef") != "":
		return s, badInput("%s:%d: trace_hash %q; expected 16 hex digits", path, keyLine(data, "trace_hash"), s.TraceHash)
	case s.Verdict == "":
		return s, badInput("%s: no \"verdict\"; expected PASS, FAIL or UNKNOWN", path)
	case s.TraceSHA256 != "" && (len(s.TraceSHA256) != 64 || strings.Trim(s.TraceSHA256, "0123456789abcdef") != ""):
		return s, badInput("%s:%d: trace_sha256 %q; expected 64 hex digits", path, keyLine(data, "trace_sha256"), s.TraceSHA256)
	}
	return s, nil
}

// lineCol converts a byte offset into a 1-based line and column.
func lineCol(data []byte, off int64) (int, int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}
