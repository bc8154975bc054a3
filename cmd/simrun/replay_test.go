package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/reports"
)

// report writes the report of a short passing run and returns its directory.
func report(t *testing.T, seed string) string {
	t.Helper()
	out := t.TempDir()
	code, stdout, stderr := simrun(t, "--seed", seed, "--duration", "2s", "--settle", "2s", "--report", "--out", out)
	require.Equal(t, 0, code, stdout+stderr)
	return field(t, stdout, "report")
}

// copyReport copies a report directory, so a test can damage the copy.
func copyReport(t *testing.T, dir string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
	return dst
}

func editFile(t *testing.T, path string, edit func(string) string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte(edit(string(b))), 0o644))
}

// Replay checks the report's trace against the rerun's, not only its
// summary, and rejects a report that contradicts itself.
func TestReplayVerifiesTheTrace(t *testing.T) {
	dir := report(t, "3")
	code, out, errOut := simrun(t, "replay", dir)
	require.Equal(t, 0, code, out+errOut)
	assert.Equal(t, "REPRODUCED", field(t, out, "result"))
	assert.Equal(t, field(t, out, "recorded-trace-events"), field(t, out, "trace-events"))
	assert.Equal(t, field(t, out, "recorded-trace-sha256"), field(t, out, "trace-sha256"))
	assert.Len(t, field(t, out, "trace-sha256"), 64)
	assert.Equal(t, reports.CommandPrefix()+"--seed 3 --servers 5 --duration 2s --settle 2s", field(t, out, "command"))

	other := report(t, "4")
	otherTrace, err := os.ReadFile(filepath.Join(other, "trace.jsonl"))
	require.NoError(t, err)

	tests := []struct {
		name   string
		damage func(dir string)
		want   string
	}{
		{"trace missing", func(d string) { require.NoError(t, os.Remove(filepath.Join(d, "trace.jsonl"))) },
			"trace.jsonl: open"},
		{"trace truncated", func(d string) {
			editFile(t, filepath.Join(d, "trace.jsonl"), func(s string) string {
				lines := strings.SplitAfter(s, "\n")
				return strings.Join(lines[:len(lines)/2], "")
			})
		}, "events; summary.json says"},
		{"trace garbage", func(d string) {
			editFile(t, filepath.Join(d, "trace.jsonl"), func(s string) string {
				lines := strings.SplitAfter(s, "\n")
				lines[4] = "{\"seq\": 4, garbage\n"
				return strings.Join(lines, "")
			})
		}, "trace.jsonl:5:"},
		{"trace out of order", func(d string) {
			editFile(t, filepath.Join(d, "trace.jsonl"), func(s string) string {
				lines := strings.SplitAfter(s, "\n")
				lines[6], lines[7] = lines[7], lines[6]
				return strings.Join(lines, "")
			})
		}, "trace.jsonl:7: event seq 7; expected 6"},
		{"trace from another run", func(d string) {
			require.NoError(t, os.WriteFile(filepath.Join(d, "trace.jsonl"), otherTrace, 0o644))
		}, "events; summary.json says"},
		{"trace edited", func(d string) {
			editFile(t, filepath.Join(d, "trace.jsonl"), func(s string) string {
				return strings.Replace(s, `"kind":"timer"`, `"kind":"call"`, 1)
			})
		}, "trace.jsonl does not match"},
		{"seed disagrees with args", func(d string) {
			editFile(t, filepath.Join(d, "summary.json"), func(s string) string {
				return strings.Replace(s, `"seed": 3,`, `"seed": 99,`, 1)
			})
		}, `summary.json:2: seed 99, but its args run seed 3`},
		{"command disagrees with args", func(d string) {
			editFile(t, filepath.Join(d, "summary.json"), func(s string) string {
				return strings.Replace(s, "--seed 3 ", "--seed 7 ", 1)
			})
		}, `summary.json:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := copyReport(t, dir)
			tt.damage(d)
			code, out, errOut := simrun(t, "replay", d)
			assert.Equal(t, 2, code, out+errOut)
			assert.Empty(t, out)
			assert.Contains(t, errOut, tt.want)
		})
	}
}

// A report that is consistent but records another run (its trace and
// digest both swapped) is DIFFERENT, not reproduced.
func TestReplayFindsADifferentTrace(t *testing.T) {
	dir, other := copyReport(t, report(t, "3")), report(t, "4")
	for _, name := range []string{"trace.jsonl"} {
		b, err := os.ReadFile(filepath.Join(other, name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	ob, err := os.ReadFile(filepath.Join(other, "summary.json"))
	require.NoError(t, err)
	sha := fieldJSON(t, ob, "trace_sha256")
	events := fieldJSON(t, ob, "events")
	editFile(t, filepath.Join(dir, "summary.json"), func(s string) string {
		s = replaceJSON(t, s, "trace_sha256", sha)
		return replaceJSON(t, s, "events", events)
	})
	code, out, errOut := simrun(t, "replay", dir)
	assert.Equal(t, 1, code, out+errOut)
	assert.Equal(t, "DIFFERENT", field(t, out, "result"))
}

// A scenario file's report carries the script: replay needs neither the
// file nor the directory the run was started in, and an edited file does
// not change what it replays.
func TestReplayOfAScenarioFileNeedsNoFile(t *testing.T) {
	src := t.TempDir()
	file := filepath.Join(src, "mine.scn")
	require.NoError(t, os.WriteFile(file, []byte("faults-until 2s\nsettle 2s\nat 500ms kill n2 until 1s\nexpect progress within 1s after 1s\n"), 0o644))
	code, stdout, stderr := simrun(t, "--scenario", file, "--seed", "2", "--report", "--out", t.TempDir())
	require.Equal(t, 0, code, stdout+stderr)
	dir := field(t, stdout, "report")
	sum, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	require.NoError(t, err)
	assert.Contains(t, string(sum), `"script": "faults-until 2s\nsettle 2s\nat 500ms kill n2 until 1s`)

	require.NoError(t, os.WriteFile(file, []byte("servers 3\n"), 0o644))
	code, out, errOut := simrun(t, "replay", dir)
	require.Equal(t, 0, code, out+errOut)
	assert.Equal(t, "REPRODUCED", field(t, out, "result"))
	assert.Contains(t, field(t, out, "command"), "mine.scn --seed 2")
	assert.Contains(t, field(t, out, "script"), "summary.json")
}

func fieldJSON(t *testing.T, b []byte, key string) string {
	t.Helper()
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte(`"`+key+`": `)); ok {
			return strings.TrimSuffix(string(v), ",")
		}
	}
	t.Fatalf("no %s in %s", key, b)
	return ""
}

func replaceJSON(t *testing.T, s, key, val string) string {
	t.Helper()
	old := fieldJSON(t, []byte(s), key)
	return strings.Replace(s, `"`+key+`": `+old, `"`+key+`": `+val, 1)
}
