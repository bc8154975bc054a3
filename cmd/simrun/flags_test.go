package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/plant"
)

// observe is everything a run or soak let a user see: its output (wall
// times aside), the files it wrote under dir, and its soak.json's runs.
func observe(t *testing.T, dir, stdout, stderr string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(wallTime.ReplaceAllString(stdout, ""))
	b.WriteString(progressLine.ReplaceAllString(stderr, "soak: PROGRESS"))
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil {
			rel, _ := filepath.Rel(dir, path)
			b.WriteString("\nfile " + rel)
		}
		return nil
	})
	if data, err := os.ReadFile(filepath.Join(dir, "soak.json")); err == nil {
		b.WriteString(wallNS.ReplaceAllString(string(data), ""))
	}
	return b.String()
}

var (
	wallTime     = regexp.MustCompile(`(?m)^wall-time: .*$|"wall-time(-ns)?":[^,}]*`)
	wallNS       = regexp.MustCompile(`"wall_ns": \d+`)
	progressLine = regexp.MustCompile(`soak: \d+/\d+ seeds, [^\n]*`)
)

// flagCase sets one flag (args), maybe with the others it needs, and
// says how to set up the directory first.
type flagCase struct {
	args  []string
	env   map[string]string
	setup func(t *testing.T, dir string)
}

// Every flag a subcommand accepts takes effect (what a user sees
// changes) or is refused with exit 2: none is silently ignored. A new
// flag must join the table.
func TestEveryFlagTakesEffectOrIsRefused(t *testing.T) {
	plant.Skip(t)
	cmds := []struct {
		name  string
		base  []string
		cases map[string]flagCase
	}{
		{"simrun", []string{"--seed", "3", "--duration", "2s", "--out", "DIR"}, map[string]flagCase{
			"seed":          {args: []string{"--seed", "4"}},
			"servers":       {args: []string{"--servers", "3"}},
			"clients":       {args: []string{"--clients", "2"}},
			"duration":      {args: []string{"--duration", "3s"}},
			"settle":        {args: []string{"--settle", "100ms", "--faults", "kill"}},
			"faults":        {args: []string{"--faults", "kill"}},
			"no-faults":     {args: []string{"--no-faults"}},
			"plant":         {args: []string{"--plant", "no-heartbeats"}},
			"reads":         {args: []string{"--reads", "local"}},
			"json":          {args: []string{"--json"}},
			"out":           {args: []string{"--report", "--out", "DIR/elsewhere"}},
			"report":        {args: []string{"--report"}},
			"scenario":      {args: []string{"--scenario", "quiet-leader"}},
			"emit-scenario": {args: []string{"--emit-scenario", "DIR/seed.scn"}},
			"subject":       {args: []string{"--subject", "etcd"}},
		}},
		{"soak", []string{"soak", "--seeds", "1-2", "--duration", "2s", "--shrink-budget", "0", "--progress-every", "0", "--out", "DIR"}, map[string]flagCase{
			"seed":          {args: []string{"--seed", "4"}},
			"servers":       {args: []string{"--servers", "3"}},
			"clients":       {args: []string{"--clients", "2"}},
			"duration":      {args: []string{"--duration", "3s"}},
			"settle":        {args: []string{"--settle", "5s"}},
			"faults":        {args: []string{"--faults", "kill"}},
			"no-faults":     {args: []string{"--no-faults"}},
			"plant":         {args: []string{"--plant", "no-heartbeats"}},
			"reads":         {args: []string{"--reads", "local"}},
			"json":          {args: []string{"--json"}},
			"out":           {args: []string{"--out", "DIR/elsewhere"}},
			"report":        {args: []string{"--report"}},
			"scenario":      {args: []string{"--scenario", "quiet-leader"}},
			"emit-scenario": {args: []string{"--emit-scenario", "DIR/seed.scn"}},
			"seeds":         {args: []string{"--seeds", "1-3"}},
			"subject":       {args: []string{"--subject", "etcd"}},
			"shard":         {args: []string{"--shard", "1/2"}},
			"shards":        {args: []string{"--shards", "2"}, env: map[string]string{JobIndexEnv: "1"}},
			"parallel":      {args: []string{"--parallel", "3"}},
			"junit":         {args: []string{"--junit", "DIR/junit.xml"}},
			"recheck":       {args: []string{"--recheck", "1"}},
			"shrink-budget": {args: []string{"--shrink-budget", "5s", "--plant", "forget-vote-on-restart", "--duration", "5s"}},
			// The soak ran before: it resumes with nothing left to do,
			// unless --fresh.
			"fresh": {args: []string{"--fresh"}, setup: func(t *testing.T, dir string) {
				code, out, errOut := simrun(t, "soak", "--seeds", "1-2", "--duration", "2s", "--shrink-budget", "0", "--progress-every", "0", "--out", dir)
				require.Equal(t, 0, code, out+errOut)
			}},
			"progress-every": {args: []string{"--progress-every", "1ms"}},
		}},
		{"scenarios", []string{"scenarios"}, map[string]flagCase{
			"json": {args: []string{"--json"}},
		}},
		{"merge", []string{"merge", "--out", "DIR/merged", "DIR/shard"}, map[string]flagCase{
			"out":   {args: []string{"--out", "DIR/elsewhere"}, setup: oneShard},
			"junit": {args: []string{"--junit", "DIR/j.xml"}, setup: oneShard},
			"json":  {args: []string{"--json"}, setup: oneShard},
		}},
		{"shrink", []string{"shrink", "DIR/seed-3", "--budget", "10s"}, map[string]flagCase{
			"out":    {args: []string{"--out", "DIR/s.scn"}, setup: failingReport},
			"budget": {args: []string{"--budget", "1ns"}, setup: failingReport},
			"json":   {args: []string{"--json"}, setup: failingReport},
		}},
	}
	for _, c := range cmds {
		t.Run(c.name, func(t *testing.T) {
			cmd := newRootCmd(io.Discard)
			if c.name != "simrun" && c.name != "" {
				cmd, _, _ = cmd.Find([]string{c.name})
			}
			var names []string
			cmd.LocalFlags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
			slices.Sort(names)
			var listed []string
			for name := range c.cases {
				listed = append(listed, name)
			}
			slices.Sort(listed)
			require.Equal(t, names, listed, "every flag of %s has a case", c.name)

			runIn := func(t *testing.T, fc flagCase, extra bool) (int, string) {
				dir := t.TempDir()
				if fc.setup != nil {
					fc.setup(t, dir)
				}
				for k, v := range fc.env {
					t.Setenv(k, v)
				}
				args := slices.Clone(c.base)
				if extra {
					args = append(args, fc.args...)
				}
				for i := range args {
					args[i] = strings.ReplaceAll(args[i], "DIR", dir)
				}
				code, stdout, stderr := simrun(t, args...)
				return code, observe(t, dir, strings.ReplaceAll(stdout, dir, "DIR"), strings.ReplaceAll(stderr, dir, "DIR"))
			}
			for _, name := range names {
				fc := c.cases[name]
				t.Run(name, func(t *testing.T) {
					code, seen := runIn(t, fc, true)
					if code == exitBadInput {
						return // refused
					}
					_, baseline := runIn(t, flagCase{setup: fc.setup}, false)
					assert.NotEqual(t, baseline, seen, "%s %v changed nothing a user sees", c.name, fc.args)
				})
			}
		})
	}
}

func oneShard(t *testing.T, dir string) {
	code, out, errOut := simrun(t, "soak", "--seeds", "1-2", "--duration", "2s", "--progress-every", "0", "--out", filepath.Join(dir, "shard"))
	require.Equal(t, 0, code, out+errOut)
}

func failingReport(t *testing.T, dir string) {
	code, out, errOut := simrun(t, "--seed", "3", "--duration", "5s", "--plant", "forget-vote-on-restart", "--out", dir)
	require.Equal(t, 1, code, out+errOut)
}
