package reports

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/jstemmer/go-junit-report/v2/junit"
)

// JUnit is a soak as JUnit XML, so CI dashboards show its failures as
// tests: one test suite, one test case per failure group (failed, or in
// error when the check could not decide), named by the group's
// signature, and one passing test case for the seeds that passed.
func JUnit(s Soak) junit.Testsuites {
	groups := s.Groups
	if groups == nil {
		groups = GroupFailures(s.Runs)
	}
	suite := junit.Testsuite{Name: "raftsim soak " + s.Seeds, Time: seconds(s.WallNS)}
	if len(s.Shards) > 0 {
		suite.Name += " (shard " + strings.Join(s.Shards, ", ") + ")"
	}
	suite.AddProperty("command", s.Command)
	suite.AddProperty("build", s.Build)
	var passed uint64
	for _, r := range s.Runs {
		if r.Verdict == "PASS" {
			passed++
		}
	}
	passed += s.MorePassed
	for _, g := range groups {
		tc := junit.Testcase{Name: g.Signature, Classname: "raftsim.soak"}
		res := &junit.Result{Message: fmt.Sprintf("%s (%s)", g.Signature, plural(len(g.Seeds), "seed")),
			Type: "violation", Data: groupText(g)}
		if strings.HasPrefix(g.Signature, "unknown:") {
			res.Type = "unknown"
			tc.Error = res
		} else {
			tc.Failure = res
		}
		suite.AddTestcase(tc)
	}
	suite.AddTestcase(junit.Testcase{Name: fmt.Sprintf("%d seeds passed", passed), Classname: "raftsim.soak"})
	var out junit.Testsuites
	out.AddSuite(suite)
	return out
}

// groupText is a failure group in words: what, how often, how to see it.
func groupText(g FailureGroup) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nseeds: %s\nshortest reproduction: seed %d\n  %s\n", g.Signature, seedList(g.Seeds, 50), g.Shortest, g.Command)
	if g.Report != "" {
		fmt.Fprintf(&b, "report: %s\n", g.Report)
	}
	if g.Script != "" {
		if g.ScriptFile != "" {
			fmt.Fprintf(&b, "shrunk script: %s\n", g.ScriptFile)
		}
		if g.Shrunk != nil {
			fmt.Fprintf(&b, "shrunk from %s\n  to %s\n", g.Shrunk.Before, g.Shrunk.After)
		}
		b.WriteString("\n" + g.Script)
	}
	return b.String()
}

// seedList is the first n seeds, comma-separated.
func seedList(seeds []uint64, n int) string {
	parts := make([]string, 0, min(len(seeds), n)+1)
	for i, s := range seeds {
		if i == n {
			parts = append(parts, fmt.Sprintf("… (%d in all)", len(seeds)))
			break
		}
		parts = append(parts, fmt.Sprint(s))
	}
	return strings.Join(parts, ", ")
}

func seconds(ns int64) string {
	return fmt.Sprintf("%.3f", time.Duration(ns).Seconds())
}

// WriteJUnit writes JUnit(s) to path, atomically.
func WriteJUnit(path string, s Soak) error {
	var b bytes.Buffer
	ts := JUnit(s)
	if err := ts.WriteXML(&b); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	return WriteFileAtomic(path, b.Bytes())
}
