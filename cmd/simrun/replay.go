package main

import (
	"bytes"
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
		Short: "Rerun a report directory's run and confirm the same trace hash and verdict",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return replay(args[0], stdout)
		},
	}
}

// replay reruns the run recorded in dir/summary.json. It fails (exit 1)
// if the trace hash or verdict differ: the run did not reproduce.
func replay(dir string, stdout io.Writer) error {
	want, err := readSummary(filepath.Join(dir, reports.SummaryFile))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	root := newRootCmd(&buf)
	root.SetArgs(append(append([]string(nil), want.Args...), "--json", "--out", filepath.Join(os.TempDir(), "raftsim-replay")))
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	if err := root.Execute(); err != nil && !errors.Is(err, errFailed) {
		return badInput("%s: args %q do not run: %v", filepath.Join(dir, reports.SummaryFile), want.Args, err)
	}
	var got struct {
		Hash   string `json:"trace-hash"`
		Result string `json:"result"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		return fmt.Errorf("replay: reading the rerun's output: %w", err)
	}
	out := &summary{}
	out.add("replay", dir)
	out.add("command", want.Command)
	out.add("trace-hash", got.Hash)
	out.add("recorded-trace-hash", want.TraceHash)
	out.add("verdict", got.Result)
	out.add("recorded-verdict", want.Verdict)
	same := got.Hash == want.TraceHash && got.Result == want.Verdict
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

// readSummary reads and validates a summary.json, naming the file, line and
// column of anything wrong with it.
func readSummary(path string) (reports.Summary, error) {
	var s reports.Summary
	data, err := os.ReadFile(path)
	if err != nil {
		return s, badInput("%v (want a report directory written by simrun)", err)
	}
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
		return s, badInput("%s: trace_hash %q; expected 16 hex digits", path, s.TraceHash)
	case s.Verdict == "":
		return s, badInput("%s: no \"verdict\"; expected PASS, FAIL or UNKNOWN", path)
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
