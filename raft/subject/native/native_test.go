package native_test

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject/native"
	"github.com/seed4fee1fef/raftsim/raft/subject/subjecttest"
)

// TestConformance: raftsim's own Raft passes the subject suite.
func TestConformance(t *testing.T) { subjecttest.Run(t, native.Subject()) }

// TestEntrySizeIsTheEncodedSize: EntrySize is what raftpb.AppendEntry
// writes.
func TestEntrySizeIsTheEncodedSize(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		e := raftpb.Entry{Term: rapid.Uint64().Draw(rt, "term"), Index: rapid.Uint64().Draw(rt, "index"),
			Type: raftpb.EntryType(rapid.IntRange(0, 1).Draw(rt, "type")), Data: rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(rt, "data")}
		if got, want := native.EntrySize(&e), len(raftpb.AppendEntry(nil, &e)); got != want {
			rt.Fatalf("EntrySize %d, encoded %d", got, want)
		}
	})
}
