package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/linearizability/model"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/reports"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// TestMain lets a test run simrun as a process of its own (to kill it).
func TestMain(m *testing.M) {
	if os.Getenv("SIMRUN_TEST_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// soakJSON runs a soak with --json and decodes its summary.
func soakJSON(t *testing.T, args ...string) (int, map[string]any, string) {
	t.Helper()
	code, out, errOut := simrun(t, append([]string{"soak", "--json", "--progress-every", "0"}, args...)...)
	var sum map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &sum), "%s\n%s", out, errOut)
	return code, sum, errOut
}

func failedSeeds(sum map[string]any) []uint64 {
	var out []uint64
	for _, f := range sum["failure"].([]any) {
		out = append(out, uint64(f.(map[string]any)["seed"].(float64)))
	}
	slices.Sort(out)
	return out
}

// A soak of a scenario runs the scenario: it fails on exactly the seeds
// that fail one at a time, and its reports replay.
func TestSoakRunsTheScenarioItIsGiven(t *testing.T) {
	plant.Skip(t)
	seeds := 10
	if testing.Short() {
		seeds = 4
	}
	out := t.TempDir()
	code, sum, errOut := soakJSON(t, "--scenario", "minority-partition", "--plant", "stale-leader-reads",
		"--seeds", fmt.Sprintf("1-%d", seeds), "--shrink-budget", "0", "--out", out)
	var alone []uint64
	for seed := 1; seed <= seeds; seed++ {
		c, o, e := simrun(t, "--scenario", "minority-partition", "--plant", "stale-leader-reads", "--seed", fmt.Sprint(seed), "--out", t.TempDir())
		require.Contains(t, []int{0, 1}, c, o+e)
		if c == 1 {
			alone = append(alone, uint64(seed))
		}
	}
	require.NotEmpty(t, alone, "the planted bug fails some seed of minority-partition")
	assert.Equal(t, alone, failedSeeds(sum), errOut)
	assert.Equal(t, 1, code)
	for _, g := range sum["group"].([]any) {
		assert.True(t, strings.HasPrefix(g.(map[string]any)["signature"].(string), "minority-partition: "), g)
	}
	dir := filepath.Join(out, fmt.Sprintf("minority-partition-seed-%d", alone[0]))
	c, replayOut, e := simrun(t, "replay", dir)
	require.Equal(t, 0, c, replayOut+e)
	assert.Equal(t, "REPRODUCED", field(t, replayOut, "result"))

	code, _, errOut = simrun(t, "soak", "--scenario", "no-such-scenario", "--seeds", "1-2", "--out", t.TempDir())
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "no-such-scenario")
}

// A soak killed with kill -9 and started again with the same arguments
// runs only the seeds it had not finished, and keeps every failure.
func TestSoakResumesAfterKill9(t *testing.T) {
	plant.Skip(t)
	if testing.Short() {
		t.Skip("runs simrun as a process")
	}
	out := t.TempDir()
	args := []string{"soak", "--seeds", "1-40", "--plant", "snapshot-off-by-one", "--duration", "8s", "--parallel", "2",
		"--shrink-budget", "0", "--progress-every", "0", "--out", out}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SIMRUN_TEST_AS_MAIN=1")
	require.NoError(t, cmd.Start())
	journalPath := filepath.Join(out, JournalFile)
	before := waitForRuns(t, journalPath, 8)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	// What the journal held when the process died: the seeds finished
	// (a last line cut short is not one), and their failures.
	done, failedBefore := journalRuns(t, journalPath)
	require.GreaterOrEqual(t, len(done), 8, "%d lines seen before the kill", before)
	require.Less(t, len(done), 40, "the kill came before the end")

	code, stdout, errOut := simrun(t, args...)
	require.Equal(t, 1, code, stdout+errOut)
	assert.Contains(t, errOut, fmt.Sprintf("resuming from %s: %d of 40 seeds already done", journalPath, len(done)))
	all, failedAll := journalRuns(t, journalPath)
	assert.Len(t, all, 40, "every seed, once: none repeated")
	for _, s := range failedBefore {
		assert.Contains(t, failedAll, s, "a failure found before the kill is kept")
		assert.Contains(t, stdout, fmt.Sprintf("failure: seed %d FAIL", s))
		_, err := os.Stat(filepath.Join(out, fmt.Sprintf("seed-%d", s), reports.SummaryFile))
		assert.NoError(t, err, "its report is complete")
	}
	assert.True(t, strings.HasSuffix(stdout, fmt.Sprintf("%d passed, %d failed\n", 40-len(failedAll), len(failedAll))), stdout)
	for _, l := range reports.Leftovers(out) {
		t.Errorf("left over: %s", l)
	}

	// Done: the same command again runs nothing and says the same.
	code, again, errOut := simrun(t, args...)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "40 of 40 seeds already done")
	n, _ := journalRuns(t, journalPath)
	assert.Len(t, n, 40)
	assert.Equal(t, lastLine(stdout), lastLine(again))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// waitForRuns waits until the journal holds n finished seeds.
func waitForRuns(t *testing.T, path string, n int) int {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(path)
		if c := strings.Count(string(b), `{"run":`); c >= n {
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the journal never held %d seeds", n)
	return 0
}

// journalRuns reads the seeds a journal holds (each must appear once)
// and the failed ones.
func journalRuns(t *testing.T, path string) (seeds, failed []uint64) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		var l journalLine
		if json.Unmarshal([]byte(line), &l) != nil || l.Run == nil {
			continue
		}
		require.NotContains(t, seeds, l.Run.Seed, "seed %d journaled twice", l.Run.Seed)
		seeds = append(seeds, l.Run.Seed)
		if l.Run.Verdict != "PASS" {
			failed = append(failed, l.Run.Seed)
		}
	}
	return seeds, failed
}

// --json has one shape, whatever the run: the same keys, each always of
// the same JSON type; lists are lists (empty ones too), numbers numbers,
// durations nanoseconds beside their text.
func TestJSONHasOneShape(t *testing.T) {
	plant.Skip(t)
	shape := func(args ...string) map[string]string {
		_, out, errOut := simrun(t, append(args, "--json")...)
		var obj map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &obj), out+errOut)
		s := map[string]string{}
		for k, v := range obj {
			s[k] = fmt.Sprintf("%T", v)
		}
		return s
	}
	pass := shape("--seed", "3", "--duration", "2s")
	fail := shape("--seed", "3", "--duration", "10s", "--plant", "forget-vote-on-restart", "--out", t.TempDir())
	scenario := shape("--scenario", "quiet-leader", "--seed", "1", "--plant", "no-heartbeats", "--out", t.TempDir())
	assert.Equal(t, pass, fail)
	assert.Equal(t, pass, scenario)
	for k, typ := range map[string]string{"seed": "float64", "events": "float64", "virtual-time": "string", "virtual-time-ns": "float64",
		"client-latency-p99-ns": "float64", "messages-per-entry": "float64", "failure": "[]interface {}", "explain": "[]interface {}",
		"check": "[]interface {}", "halted": "[]interface {}", "messages-by-type": "[]interface {}", "planted": "string"} {
		assert.Equal(t, typ, pass[k], k)
	}

	soakShape := func(args ...string) map[string]string {
		_, sum, _ := soakJSON(t, append(args, "--seeds", "1-3", "--duration", "5s", "--shrink-budget", "0", "--out", t.TempDir())...)
		s := map[string]string{}
		for k, v := range sum {
			s[k] = fmt.Sprintf("%T", v)
		}
		return s
	}
	assert.Equal(t, soakShape(), soakShape("--plant", "forget-vote-on-restart"))
}

// UNKNOWN (the checker could not decide) has an exit status of its own.
func TestUnknownExitsThree(t *testing.T) {
	optionsHook = func(_ int, o *runner.Options) { o.CheckBudget = model.Budget{Base: 1} }
	defer func() { optionsHook = nil }()
	code, out, _ := simrun(t, "--seed", "3", "--duration", "2s", "--out", t.TempDir())
	assert.Equal(t, 3, code, out)
	assert.Equal(t, "UNKNOWN", field(t, out, "result"))
	code, out, _ = simrun(t, "soak", "--seeds", "1-2", "--duration", "2s", "--out", t.TempDir())
	assert.Equal(t, 3, code, out)
	assert.Equal(t, "UNKNOWN", field(t, out, "result"))
	assert.Equal(t, "2", field(t, out, "unknown"))
}

// A seed that does not repeat is a failure of its own kind: both traces
// kept, and the first event where they part named.
func TestSoakRechecksDeterminism(t *testing.T) {
	optionsHook = func(attempt int, o *runner.Options) {
		if attempt == 1 {
			o.Link = sim.LinkConfig{MinLatency: 2 * time.Millisecond, MaxLatency: 6 * time.Millisecond}
		}
	}
	defer func() { optionsHook = nil }()
	out := t.TempDir()
	code, sum, _ := soakJSON(t, "--seeds", "1-2", "--duration", "2s", "--recheck", "1", "--shrink-budget", "0", "--out", out)
	assert.Equal(t, 1, code)
	assert.Equal(t, float64(2), sum["rechecked"])
	groups := sum["group"].([]any)
	require.Len(t, groups, 1)
	assert.Equal(t, "nondeterministic: the same seed ran twice gave different traces", groups[0].(map[string]any)["signature"])
	f := sum["failure"].([]any)[0].(map[string]any)
	assert.Regexp(t, `^nondeterministic: the same seed ran twice gave trace hashes [0-9a-f]{16} and [0-9a-f]{16}; the traces part at event \d+: `, f["failures"].([]any)[0])
	for _, name := range []string{"trace.jsonl", "trace-rerun.jsonl"} {
		_, err := os.Stat(filepath.Join(out, "seed-1", name))
		assert.NoError(t, err, name)
	}

	optionsHook = nil
	code, sum, _ = soakJSON(t, "--seeds", "1-2", "--duration", "2s", "--recheck", "1", "--out", t.TempDir())
	assert.Equal(t, 0, code)
	assert.Equal(t, float64(2), sum["rechecked"])
}

// --junit writes one test case per failure group, and one for the passes.
func TestSoakWritesJUnit(t *testing.T) {
	plant.Skip(t)
	out := t.TempDir()
	file := filepath.Join(out, "soak.xml")
	code, _, _ := soakJSON(t, "--seeds", "1-6", "--plant", "forget-vote-on-restart", "--duration", "5s",
		"--shrink-budget", "0", "--junit", file, "--out", out)
	require.Equal(t, 1, code)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var doc struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Body    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(b, &doc))
	require.Len(t, doc.Suites, 1)
	s := doc.Suites[0]
	soak, err := reports.ReadSoak(filepath.Join(out, reports.SoakDataFile))
	require.NoError(t, err)
	require.NotEmpty(t, soak.Groups)
	assert.Equal(t, len(soak.Groups), s.Failures)
	assert.Equal(t, len(soak.Groups)+1, s.Tests)
	for i, g := range soak.Groups {
		assert.Equal(t, g.Signature, s.Cases[i].Name)
		require.NotNil(t, s.Cases[i].Failure)
		assert.Contains(t, s.Cases[i].Failure.Body, g.Command)
	}
	assert.Nil(t, s.Cases[len(s.Cases)-1].Failure)
	assert.Regexp(t, `^\d+ seeds passed$`, s.Cases[len(s.Cases)-1].Name)
}

// repro.sh reproduces the run from any directory.
func TestReproScriptRunsFromAnywhere(t *testing.T) {
	if testing.Short() {
		t.Skip("builds simrun with go run")
	}
	out := t.TempDir()
	code, stdout, _ := simrun(t, "--seed", "3", "--duration", "2s", "--report", "--out", out)
	require.Equal(t, 0, code, stdout)
	script := filepath.Join(field(t, stdout, "report"), reports.ReproFile)
	cmd := exec.Command("sh", script)
	cmd.Dir = t.TempDir()
	got, err := cmd.CombinedOutput()
	require.NoError(t, err, string(got))
	assert.Equal(t, field(t, stdout, "trace-hash"), field(t, string(got), "trace-hash"))
}
