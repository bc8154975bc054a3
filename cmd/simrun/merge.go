package main

import (
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seed4fee1fef/raftsim/reports"
)

func newMergeCmd(stdout io.Writer) *cobra.Command {
	var out, junit string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "merge --out DIR SHARD_DIR...",
		Aliases: []string{"soak-merge"},
		Short:   "Merge the outputs of a soak's shards into one summary, one JUnit file and one soak page",
		Long: `merge reads the soak.json that 'simrun soak --shard i/n' (or --shards n)
wrote into each shard's --out directory and writes, into --out, the soak
as if one machine had run it: soak.html and soak.json (with links to every
shard's reports and shrunk scripts), summary.json (what --json prints) and
a JUnit file (--junit, default DIR/junit.xml), with one test case per
failure group. The shards must be of one soak (the same arguments and
build) and complete (every i of n, once). The last line is "N passed, M
failed"; the exit status is the merged soak's. 'soak-merge' is the same
command.

` + exitStatusHelp,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			if junit == "" {
				junit = filepath.Join(out, "junit.xml")
			}
			return merge(stdout, cmd.ErrOrStderr(), out, junit, asJSON, dirs)
		},
	}
	cmd.Flags().StringVar(&out, "out", "raftsim-reports", "directory for the merged outputs")
	cmd.Flags().StringVar(&junit, "junit", "", "where to write the JUnit file (default DIR/junit.xml)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object instead of key: value lines")
	return cmd
}

var shardArg = regexp.MustCompile(` --shard [0-9]+/[0-9]+`)

func merge(stdout, stderr io.Writer, out, junit string, asJSON bool, dirs []string) error {
	var shards []reports.Soak
	for _, dir := range dirs {
		s, err := reports.ReadSoak(filepath.Join(dir, reports.SoakDataFile))
		if err != nil {
			return badInput("%v", err)
		}
		// Links are relative to the page: rebase them on --out.
		rebase := func(rel string) string {
			if rel == "" {
				return ""
			}
			if r, err := filepath.Rel(out, filepath.Join(dir, rel)); err == nil {
				return r
			}
			return filepath.Join(dir, rel)
		}
		for i := range s.Runs {
			s.Runs[i].Report = rebase(s.Runs[i].Report)
		}
		for i := range s.Groups {
			s.Groups[i].Report = rebase(s.Groups[i].Report)
			s.Groups[i].ScriptFile = rebase(s.Groups[i].ScriptFile)
		}
		shards = append(shards, s)
	}
	if err := sameSoak(dirs, shards); err != nil {
		return err
	}
	merged := reports.MergeSoaks(shards)
	merged.Command = shardArg.ReplaceAllString(shards[0].Command, "")
	return finishSoak(stdout, stderr, merged, out, junit, asJSON, nil, nil)
}

// sameSoak refuses shards of different soaks, and an incomplete set: a
// merge that silently lacked a shard would pass seeds nobody ran.
func sameSoak(dirs []string, shards []reports.Soak) error {
	first := shards[0]
	base := shardArg.ReplaceAllString(first.Command, "")
	have := map[string]string{}
	var n uint64
	for i, s := range shards {
		switch {
		case shardArg.ReplaceAllString(s.Command, "") != base:
			return badInput("%s is another soak (%s), not %s's (%s)", dirs[i], s.Command, dirs[0], first.Command)
		case s.Build != first.Build:
			return badInput("%s ran on build %q, %s on %q: the shards of one soak run one build", dirs[i], s.Build, dirs[0], first.Build)
		}
		for _, sh := range s.Shards {
			si, sn, err := parseShard(sh)
			if err != nil {
				return badInput("%s: shard %q; expected i/n", dirs[i], sh)
			}
			if n == 0 {
				n = sn
			}
			if sn != n {
				return badInput("%s is shard %s, but %s's are of %d", dirs[i], sh, dirs[0], n)
			}
			if prev, dup := have[sh]; dup {
				return badInput("shard %s twice: in %s and %s", sh, prev, dirs[i])
			}
			have[sh] = dirs[i]
			_ = si
		}
	}
	var missing []string
	for i := uint64(0); i < n; i++ {
		if _, ok := have[fmt.Sprintf("%d/%d", i, n)]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", i, n))
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return badInput("shards %s missing: a merge of part of a soak would pass seeds nobody ran", strings.Join(missing, ", "))
	}
	return nil
}
