package raft_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/rafttest"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/*.txt scripts")

// TestScripts runs the protocol scripts in testdata/. Each block is a
// command, a line "----", and the output it must produce, ending at a blank
// line; '#' lines are comments. Run with -rewrite to regenerate the output
// and review it as a diff. The scripts double as documentation of what the
// protocol sends when.
//
// Commands (IDs are node numbers; flags are key=value):
//
//	cluster n=3 [prevote] [checkquorum] [max-size=N] [max-inflight=N] [election=N] [heartbeat=N]
//	campaign ID | propose ID DATA | tick ID... [times=N] | tick-all [times=N]
//	stabilize        process and deliver until quiet, printing every Ready
//	process ID...    handle the nodes' Readies without delivering
//	deliver [from=ID] [to=ID]   deliver queued messages (printing nothing)
//	drop [from=ID] [to=ID]      lose queued messages
//	isolate ID | heal | crash ID | restart ID
//	status [ID...]   one line per node
//	log ID           the node's persisted entries
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) { runScript(t, file) })
	}
}

type scriptBlock struct {
	comments []string
	cmd      string
	want     string
	line     int
}

func parseScript(t *testing.T, file string) []scriptBlock {
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var blocks []scriptBlock
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		var blk scriptBlock
		for ; i < len(lines) && (lines[i] == "" || strings.HasPrefix(lines[i], "#")); i++ {
			if lines[i] != "" {
				blk.comments = append(blk.comments, lines[i])
			}
		}
		if i == len(lines) {
			break
		}
		blk.cmd, blk.line = lines[i], i+1
		i++
		require.True(t, i < len(lines) && lines[i] == "----", "%s:%d: want ---- after command %q", file, i+1, blk.cmd)
		var out []string
		for i++; i < len(lines) && lines[i] != ""; i++ {
			out = append(out, lines[i])
		}
		blk.want = strings.Join(out, "\n")
		blocks = append(blocks, blk)
	}
	return blocks
}

func runScript(t *testing.T, file string) {
	blocks := parseScript(t, file)
	s := &scriptRunner{t: t}
	var rewritten strings.Builder
	for i, blk := range blocks {
		s.out.Reset()
		if err := s.run(blk.cmd); err != nil {
			fmt.Fprintf(&s.out, "error: %v\n", err)
		}
		got := strings.TrimRight(s.out.String(), "\n")
		if got == "" {
			got = "ok"
		}
		if !*rewrite {
			assert.Equal(t, blk.want, got, "%s:%d: %s", file, blk.line, blk.cmd)
		}
		if i > 0 {
			rewritten.WriteString("\n")
		}
		for _, c := range blk.comments {
			rewritten.WriteString(c + "\n")
		}
		fmt.Fprintf(&rewritten, "%s\n----\n%s\n", blk.cmd, got)
	}
	if *rewrite {
		require.NoError(t, os.WriteFile(file, []byte(rewritten.String()), 0o644))
	}
}

type scriptRunner struct {
	t   *testing.T
	c   *rafttest.Cluster
	out strings.Builder
}

func (s *scriptRunner) run(line string) error {
	fields := strings.Fields(line)
	cmd, args := fields[0], fields[1:]
	flags := map[string]string{}
	var ids []uint64
	var words []string
	for _, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok {
			flags[k] = v
		} else if id, err := strconv.ParseUint(a, 10, 64); err == nil {
			ids = append(ids, id)
		} else {
			flags[a] = "true"
			words = append(words, a)
		}
	}
	num := func(k string, def int) int {
		if v, ok := flags[k]; ok {
			n, err := strconv.Atoi(v)
			require.NoError(s.t, err, "%s=%s", k, v)
			return n
		}
		return def
	}
	id := func(k string) uint64 { return uint64(num(k, 0)) }
	if cmd != "cluster" && s.c == nil {
		return fmt.Errorf("no cluster yet")
	}
	switch cmd {
	case "cluster":
		c, err := rafttest.New(rafttest.Config{N: num("n", 3), PreVote: flags["prevote"] == "true",
			CheckQuorum: flags["checkquorum"] == "true", MaxSizePerMsg: uint64(num("max-size", 0)),
			MaxInflightMsgs: num("max-inflight", 0), ElectionTick: num("election", 10),
			HeartbeatTick: num("heartbeat", 1), Seed: uint64(num("seed", 1))})
		if err != nil {
			return err
		}
		s.c = c
		// The bootstrap Readies are the same every time; keep them out
		// of the scripts.
		c.OnReady = nil
		if err := c.ProcessAll(); err != nil {
			return err
		}
		c.OnReady = s.printReady
	case "campaign":
		s.c.Campaign(ids[0])
	case "propose":
		if err := s.c.Propose(ids[0], []byte(words[0])); err != nil {
			return err
		}
	case "tick", "tick-all":
		if cmd == "tick-all" {
			ids = s.c.IDs()
		}
		for range num("times", 1) {
			for _, id := range ids {
				s.c.Tick(id)
			}
		}
	case "stabilize":
		return s.c.Stabilize()
	case "process":
		if len(ids) == 0 {
			return s.c.ProcessAll()
		}
		for _, id := range ids {
			if err := s.c.Process(id); err != nil {
				return err
			}
		}
	case "deliver", "drop":
		from, to := id("from"), id("to")
		match := func(p rafttest.Packet) bool {
			return (from == 0 || p.From == from) && (to == 0 || p.To == to)
		}
		if cmd == "deliver" {
			s.c.DeliverWhere(match)
		} else {
			fmt.Fprintf(&s.out, "dropped %d\n", s.c.DropWhere(match))
		}
	case "isolate":
		s.c.Isolate(ids[0])
	case "heal":
		s.c.Heal()
	case "crash":
		s.c.Crash(ids[0])
	case "restart":
		return s.c.Restart(ids[0])
	case "status":
		if len(ids) == 0 {
			ids = s.c.IDs()
		}
		for _, id := range ids {
			n := s.c.Node(id)
			if n == nil {
				fmt.Fprintf(&s.out, "%d: down\n", id)
				continue
			}
			st := n.Status()
			fmt.Fprintf(&s.out, "%d: %s term=%d vote=%d lead=%d commit=%d applied=%d last=%d/%d\n",
				id, st.Role, st.Term, st.Vote, st.Lead, st.Commit, st.Applied, st.LastIndex, st.LastTerm)
			for _, pr := range st.Progress {
				fmt.Fprintf(&s.out, "  %d: %s match=%d next=%d inflight=%d\n", pr.ID, pr.State, pr.Match, pr.Next, pr.Inflight)
			}
		}
	case "log":
		for _, e := range s.c.Disk(ids[0]).Entries {
			fmt.Fprintf(&s.out, "%s\n", fmtEntry(e))
		}
	default:
		return fmt.Errorf("unknown command %q", cmd)
	}
	return nil
}

func fmtEntry(e raftpb.Entry) string {
	s := fmt.Sprintf("%d/%d", e.Index, e.Term)
	switch {
	case e.Type == raftpb.EntryConfChange:
		s += " conf"
	case len(e.Data) > 0:
		s += " " + string(e.Data)
	}
	return s
}

func fmtEntries(ents []raftpb.Entry) string {
	parts := make([]string, len(ents))
	for i, e := range ents {
		parts[i] = fmtEntry(e)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func fmtMsg(m raftpb.Message) string {
	s := fmt.Sprintf("%d->%d %s term=%d", m.From, m.To, m.Type, m.Term)
	switch m.Type {
	case raftpb.MsgApp:
		s += fmt.Sprintf(" prev=%d/%d commit=%d", m.Index, m.LogTerm, m.Commit)
		if len(m.Entries) > 0 {
			s += " " + fmtEntries(m.Entries)
		}
	case raftpb.MsgAppResp:
		if m.Reject {
			s += fmt.Sprintf(" reject=%d hint=%d/%d", m.Index, m.RejectHint, m.LogTerm)
		} else {
			s += fmt.Sprintf(" index=%d", m.Index)
		}
	case raftpb.MsgVote, raftpb.MsgPreVote:
		s += fmt.Sprintf(" last=%d/%d", m.Index, m.LogTerm)
	case raftpb.MsgVoteResp, raftpb.MsgPreVoteResp:
		if m.Reject {
			s += " rejected"
		} else {
			s += " granted"
		}
	case raftpb.MsgHeartbeat:
		s += fmt.Sprintf(" commit=%d", m.Commit)
	}
	return s
}

func (s *scriptRunner) printReady(id uint64, rd raft.Ready) {
	var parts []string
	if rd.SoftState != nil {
		parts = append(parts, fmt.Sprintf("%s lead=%d", rd.SoftState.Role, rd.SoftState.Lead))
	}
	if !rd.HardState.IsEmpty() {
		hs := rd.HardState
		parts = append(parts, fmt.Sprintf("hs term=%d vote=%d commit=%d", hs.Term, hs.Vote, hs.Commit))
	}
	if len(rd.Entries) > 0 {
		parts = append(parts, "persist "+fmtEntries(rd.Entries))
	}
	if len(rd.CommittedEntries) > 0 {
		parts = append(parts, "apply "+fmtEntries(rd.CommittedEntries))
	}
	fmt.Fprintf(&s.out, "%s\n", strings.TrimSpace(fmt.Sprintf("%d: %s", id, strings.Join(parts, " | "))))
	for _, m := range rd.Messages {
		fmt.Fprintf(&s.out, "  %s\n", fmtMsg(m))
	}
}
