package plant

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNamesRoundTrip(t *testing.T) {
	require.Len(t, All(), len(names), "every bug has a name")
	for _, b := range All() {
		got, err := Parse(b.String())
		require.NoError(t, err)
		assert.Equal(t, b, got)
	}
	_, err := Parse("no-such-bug")
	assert.ErrorContains(t, err, `unknown bug "no-such-bug"`)
}

func TestSet(t *testing.T) {
	s := Of(NoHeartbeats, CommitPriorTerm)
	assert.True(t, s.Contains(NoHeartbeats))
	assert.Equal(t, Compiled, s.Has(NoHeartbeats), "Has plants only in a build with the tag")
	assert.False(t, s.Contains(BlankRestart))
	assert.False(t, s.Has(BlankRestart))
	assert.Equal(t, 2, s.Len())
	assert.Equal(t, "no-heartbeats,commit-prior-term", s.String())
	assert.Equal(t, "none", Set(0).String())
}

// TestInRaftIsWhereTheCheckIs: a bug is "in Raft" exactly when raft/'s own
// code (not the host's) checks for it, so a subject without planted bugs
// is refused only the ones it would have to carry out.
func TestInRaftIsWhereTheCheckIs(t *testing.T) {
	host := map[string]bool{}
	raftCode := map[string]bool{}
	for _, dir := range []string{"..", "../server"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		require.NoError(t, err)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			for _, bug := range All() {
				if strings.Contains(string(b), "plant."+constName(bug)) {
					if dir == ".." {
						raftCode[bug.String()] = true
					} else {
						host[bug.String()] = true
					}
				}
			}
		}
	}
	for _, bug := range All() {
		assert.Equal(t, raftCode[bug.String()], bug.InRaft(), "%s: checked in raft/ %t, in the host %t", bug, raftCode[bug.String()], host[bug.String()])
		assert.True(t, raftCode[bug.String()] || host[bug.String()], "%s is checked nowhere", bug)
	}
	assert.Equal(t, Of(LooseQuorum), Of(LooseQuorum, BlankRestart).InRaft())
}

// constName is the Go name of a bug's constant ("loose-quorum" ->
// "LooseQuorum"), with the spellings the names do not follow.
func constName(b Bug) string {
	var out strings.Builder
	for _, part := range strings.Split(b.String(), "-") {
		switch part {
		case "checkquorum":
			out.WriteString("CheckQuorum")
			continue
		}
		out.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return out.String()
}
