package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzReportReader: whatever a report's summary.json and trace.jsonl
// hold, the checks replay makes before it reruns anything never panic,
// and what they reject is bad input (exit 2) naming the file.
//
// The default test run replays the seed corpus (a real report, and
// pieces of it); fuzz for real with
// go test ./cmd/simrun/ -run '^$' -fuzz FuzzReportReader -fuzztime 3m
// (or bash .ci/run --long).
func FuzzReportReader(f *testing.F) {
	out := f.TempDir()
	var stdout, stderr bytes.Buffer
	require.Equal(f, 0, run([]string{"--seed", "2", "--duration", "1s", "--settle", "1s", "--report", "--out", out}, &stdout, &stderr), stderr.String())
	dir := filepath.Join(out, "seed-2")
	sum, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	require.NoError(f, err)
	trace, err := os.ReadFile(filepath.Join(dir, "trace.jsonl"))
	require.NoError(f, err)
	f.Add(sum, trace)
	f.Add(sum, trace[:len(trace)/2])
	f.Add(sum[:len(sum)/2], trace)
	f.Add([]byte(`{"seed": 1, "args": ["--seed", "1"], "command": "go run ./cmd/simrun --seed 1", "trace_hash": "0123456789abcdef", "verdict": "PASS", "events": 1, "trace_sha256": "`+
		"0000000000000000000000000000000000000000000000000000000000000000"+`"}`), []byte("{\"seq\":0,\"t\":0,\"kind\":\"call\"}\n"))
	f.Fuzz(func(t *testing.T, sum, trace []byte) {
		s, err := parseSummary("summary.json", sum)
		if err == nil {
			err = checkArgs("summary.json", sum, s)
		}
		if err == nil && s.TraceSHA256 != "" {
			err = verifyTrace("trace.jsonl", bytes.NewReader(trace), "summary.json", sum, s)
		}
		if err != nil {
			var ue usageError
			require.True(t, errors.As(err, &ue), "not bad input: %v", err)
			msg := err.Error()
			require.True(t, bytes.Contains([]byte(msg), []byte("summary.json")) || bytes.Contains([]byte(msg), []byte("trace.jsonl")), "names no file: %s", msg)
		}
	})
}
