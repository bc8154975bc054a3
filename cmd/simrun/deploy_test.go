package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/reports"
)

const deployDir = "../../deploy"

// k8sObject is the part of a Kubernetes object the test reads.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		CompletionMode string `yaml:"completionMode"`
		Completions    int    `yaml:"completions"`
		Parallelism    int    `yaml:"parallelism"`
		Template       struct {
			Spec struct {
				RestartPolicy string `yaml:"restartPolicy"`
				Containers    []struct {
					Name  string   `yaml:"name"`
					Image string   `yaml:"image"`
					Args  []string `yaml:"args"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// readK8s reads every object of a multi-document manifest, strictly.
func readK8s(t *testing.T, name string) []k8sObject {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, "kubernetes", name))
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []k8sObject
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if err == io.EOF {
			break
		}
		require.NoError(t, err, name)
		out = append(out, o)
	}
	return out
}

func onlyJob(t *testing.T, objs []k8sObject) k8sObject {
	t.Helper()
	var jobs []k8sObject
	for _, o := range objs {
		if o.Kind == "Job" {
			jobs = append(jobs, o)
		}
	}
	require.Len(t, jobs, 1)
	require.Len(t, jobs[0].Spec.Template.Spec.Containers, 1)
	return jobs[0]
}

// workflow is the part of the GitHub Actions workflow the test reads.
type workflow struct {
	Name        string            `yaml:"name"`
	On          map[string]any    `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]struct {
		Needs          any    `yaml:"needs"`
		If             string `yaml:"if"`
		RunsOn         string `yaml:"runs-on"`
		TimeoutMinutes int    `yaml:"timeout-minutes"`
		Strategy       struct {
			FailFast bool `yaml:"fail-fast"`
			Matrix   struct {
				Shard []int `yaml:"shard"`
			} `yaml:"matrix"`
		} `yaml:"strategy"`
		Steps []struct {
			Name string            `yaml:"name"`
			ID   string            `yaml:"id"`
			If   string            `yaml:"if"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

// parsesAs checks that simrun accepts args as a command line.
func parsesAs(t *testing.T, args []string) {
	t.Helper()
	root := newRootCmd(io.Discard)
	cmd, rest, err := root.Find(args)
	require.NoError(t, err, "%v", args)
	require.NoError(t, cmd.ParseFlags(rest), "%v", args)
}

var shardsIn = regexp.MustCompile(`--shard \$\{\{ matrix\.shard \}\}/(\d+)`)

// The deployment files parse, agree with each other on the shard count,
// and hold commands simrun accepts.
func TestDeployManifestsParse(t *testing.T) {
	job := onlyJob(t, readK8s(t, "soak-job.yaml"))
	assert.Equal(t, "Indexed", job.Spec.CompletionMode)
	n := job.Spec.Completions
	require.Greater(t, n, 1)
	assert.Equal(t, n, job.Spec.Parallelism)
	assert.Equal(t, "Never", job.Spec.Template.Spec.RestartPolicy)
	args := job.Spec.Template.Spec.Containers[0].Args
	require.Equal(t, "soak", args[0])
	parsesAs(t, args)
	assert.Equal(t, strconv.Itoa(n), argAfter(args, "--shards"), "--shards is the Job's completions")
	assert.Contains(t, argAfter(args, "--out"), "$(JOB_COMPLETION_INDEX)", "each index writes its own directory")

	merge := onlyJob(t, readK8s(t, "merge-job.yaml"))
	margs := merge.Spec.Template.Spec.Containers[0].Args
	require.Equal(t, "merge", margs[0])
	parsesAs(t, margs)
	var want []string
	for i := 0; i < n; i++ {
		want = append(want, strings.ReplaceAll(argAfter(args, "--out"), "$(JOB_COMPLETION_INDEX)", strconv.Itoa(i)))
	}
	assert.Equal(t, want, positional(margs[1:]), "the merge reads every shard's directory")

	b, err := os.ReadFile(filepath.Join(deployDir, "github", "nightly-soak.yml"))
	require.NoError(t, err)
	var wf workflow
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&wf))
	assert.Contains(t, wf.On, "schedule")
	soak, ok := wf.Jobs["soak"]
	require.True(t, ok)
	shards := soak.Strategy.Matrix.Shard
	require.NotEmpty(t, shards)
	for i, s := range shards {
		assert.Equal(t, i, s)
	}
	var soakRun, mergeRun string
	for _, st := range soak.Steps {
		if strings.Contains(st.Run, "simrun soak") {
			soakRun = st.Run
		}
		if strings.Contains(st.Uses, "upload-artifact") {
			assert.Equal(t, "always()", st.If, "a failing shard's outputs are uploaded too")
		}
	}
	m := shardsIn.FindStringSubmatch(soakRun)
	require.NotNil(t, m, soakRun)
	assert.Equal(t, strconv.Itoa(len(shards)), m[1], "--shard i/N with N the matrix's size")
	parsesAs(t, strings.Fields(strings.ReplaceAll(soakRun[strings.Index(soakRun, "soak"):], "${{ matrix.shard }}", "0")))

	mj, ok := wf.Jobs["merge"]
	require.True(t, ok)
	assert.Equal(t, "soak", mj.Needs)
	assert.Equal(t, "always()", mj.If, "the merge runs when a shard failed")
	uploadsFailures := false
	for _, st := range mj.Steps {
		if strings.Contains(st.Run, "simrun merge") {
			mergeRun = st.Run
		}
		if strings.Contains(st.Uses, "upload-artifact") && st.If == "failure()" && strings.Contains(st.With["path"], "seed-") {
			uploadsFailures = true
		}
	}
	assert.True(t, uploadsFailures, "the merge job uploads failing reports")
	mfields := strings.Fields(mergeRun[strings.Index(mergeRun, "merge"):])
	parsesAs(t, mfields)
	assert.Len(t, positional(mfields[1:]), len(shards), "the merge reads every shard")
}

// argAfter is the value of flag in args.
func argAfter(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// positional drops flags and their values (every flag here takes one).
func positional(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if strings.HasPrefix(args[i], "--") {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// The Kubernetes Job's shards, run as the Job would run them (each with
// its JOB_COMPLETION_INDEX) over a small range and merged by the merge
// Job's command, give the same soak as one machine running the range.
func TestShardsMergedEqualOneSoak(t *testing.T) {
	plant.Skip(t)
	job := onlyJob(t, readK8s(t, "soak-job.yaml"))
	n := job.Spec.Completions
	root := t.TempDir()
	small := func(args []string, out string) []string {
		a := slices.Clone(args)
		for i := range a {
			switch a[i] {
			case "--seeds":
				a[i+1] = "1-12"
			case "--parallel":
				a[i+1] = "1"
			}
			a[i] = strings.ReplaceAll(a[i], "/reports", out)
		}
		// A planted bug, so there are failures to group.
		return append(a, "--duration", "5s", "--plant", "snapshot-off-by-one", "--shrink-budget", "0", "--progress-every", "0")
	}
	shardArgs := small(job.Spec.Template.Spec.Containers[0].Args, root)
	for i := 0; i < n; i++ {
		t.Setenv(JobIndexEnv, strconv.Itoa(i))
		args := slices.Clone(shardArgs)
		for j := range args {
			args[j] = strings.ReplaceAll(args[j], "$(JOB_COMPLETION_INDEX)", strconv.Itoa(i))
		}
		code, out, errOut := simrun(t, args...)
		require.Contains(t, []int{0, 1}, code, out+errOut)
	}
	os.Unsetenv(JobIndexEnv)

	merge := onlyJob(t, readK8s(t, "merge-job.yaml")).Spec.Template.Spec.Containers[0].Args
	margs := slices.Clone(merge)
	for i := range margs {
		margs[i] = strings.ReplaceAll(margs[i], "/reports", root)
	}
	mcode, mout, merr := simrun(t, margs...)
	require.Contains(t, []int{0, 1}, mcode, mout+merr)

	// One machine: the same arguments without --shards.
	one := filepath.Join(root, "one")
	var oneArgs []string
	for i := 0; i < len(shardArgs); i++ {
		switch shardArgs[i] {
		case "--shards":
			i++
		case "--out", "--junit":
			oneArgs = append(oneArgs, shardArgs[i], filepath.Join(one, filepath.Base(shardArgs[i+1])))
			i++
		default:
			oneArgs = append(oneArgs, shardArgs[i])
		}
	}
	oneArgs[slices.Index(oneArgs, "--out")+1] = one
	ocode, oout, oerr := simrun(t, oneArgs...)
	require.Contains(t, []int{0, 1}, ocode, oout+oerr)
	assert.Equal(t, ocode, mcode, "the same exit status")
	assert.Equal(t, lastLine(oout), lastLine(mout), "the same count")

	merged, err := reports.ReadSoak(filepath.Join(root, "merged", reports.SoakDataFile))
	require.NoError(t, err)
	single, err := reports.ReadSoak(filepath.Join(one, reports.SoakDataFile))
	require.NoError(t, err)
	require.Len(t, merged.Runs, 12)
	require.Len(t, merged.Shards, n)
	for i := range single.Runs {
		a, b := single.Runs[i], merged.Runs[i]
		assert.Equal(t, filepath.Base(a.Report), filepath.Base(b.Report), "seed %d", a.Seed)
		a.Report, b.Report = "", ""
		assert.Equal(t, a, b)
	}
	require.NotEmpty(t, single.Groups, "the planted bug fails some seeds")
	assert.Equal(t, single.Groups, withReports(merged.Groups, single.Groups))

	// The summaries and the JUnit files say the same, shard lists and
	// paths aside.
	norm := func(path, dir string) map[string]any {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(bytes.ReplaceAll(b, []byte(dir), []byte("DIR")), &m))
		for _, k := range []string{"shards", "wall-time", "wall-time-ns", "soak-report", "summary", "junit", "failure"} {
			delete(m, k)
		}
		for _, g := range m["group"].([]any) {
			delete(g.(map[string]any), "report")
		}
		return m
	}
	assert.Equal(t, norm(filepath.Join(one, SoakSummaryFile), one), norm(filepath.Join(root, "merged", SoakSummaryFile), filepath.Join(root, "merged")))
	junitCases := func(path string) []string {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		return regexp.MustCompile(`<testcase name="([^"]*)"`).FindAllString(string(b), -1)
	}
	assert.Equal(t, junitCases(filepath.Join(one, "junit.xml")), junitCases(filepath.Join(root, "merged", "junit.xml")))
}

// withReports gives merged groups the report paths of the single soak's
// (a shard's report lives in its own directory).
func withReports(merged, single []reports.FailureGroup) []reports.FailureGroup {
	out := slices.Clone(merged)
	for i := range out {
		if i < len(single) && filepath.Base(out[i].Report) == filepath.Base(single[i].Report) {
			out[i].Report = single[i].Report
		}
	}
	return out
}
