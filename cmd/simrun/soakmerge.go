package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/seed4fee1fef/raftsim/reports"
)

func newSoakMergeCmd(stdout io.Writer) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "soak-merge --out DIR SHARD_DIR...",
		Short: "Merge the soak.json of several shards into one soak page",
		Long: `soak-merge reads the soak.json that 'simrun soak --shard i/n' wrote into
each shard's --out directory and writes one soak.html and soak.json for
all of them into --out, with links to every shard's reports.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, dirs []string) error { return soakMerge(stdout, out, dirs) },
	}
	cmd.Flags().StringVar(&out, "out", "raftsim-reports", "directory for the merged soak.html and soak.json")
	return cmd
}

func soakMerge(stdout io.Writer, out string, dirs []string) error {
	var shards []reports.Soak
	for _, dir := range dirs {
		s, err := reports.ReadSoak(filepath.Join(dir, reports.SoakDataFile))
		if err != nil {
			return badInput("%v", err)
		}
		// Report links are relative to the page: rebase them on --out.
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
		}
		shards = append(shards, s)
	}
	merged := reports.MergeSoaks(shards)
	if err := reports.WriteSoak(out, merged); err != nil {
		return err
	}
	failed := 0
	for _, r := range merged.Runs {
		if r.Verdict != "PASS" {
			failed++
		}
	}
	o := &summary{}
	o.add("shards", fmt.Sprint(merged.Shards))
	o.add("runs", len(merged.Runs))
	o.add("failed", failed)
	o.add("soak-report", filepath.Join(out, reports.SoakPageFile))
	return o.print(stdout, false)
}
