package faults

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The kinds table agrees with itself: every entry has what the rest of
// the package will ask of it.
func TestKindTableIsConsistent(t *testing.T) {
	seen := map[Kind]bool{}
	for i := range kinds {
		s := &kinds[i]
		t.Run(string(s.kind), func(t *testing.T) {
			assert.False(t, seen[s.kind], "listed twice")
			seen[s.kind] = true
			assert.Same(t, s, spec(s.kind))
			assert.NotEmpty(t, s.family, "a family for the report's colours")
			f, err := ParseFault(s.example)
			require.NoError(t, err, "example %q", s.example)
			assert.Equal(t, s.kind, f.Kind, "example %q", s.example)

			require.NotNil(t, s.apply, "every kind does something")
			assert.Equal(t, s.instant(), s.undo == nil, "an undo exactly when it is not instantaneous")
			assert.Equal(t, s.family == "link", s.link != nil, "a link kind says how it changes a link")
			if s.knobs != nil {
				assert.NotEqual(t, paramNone, s.param, "an intensity is a parameter's")
			}
			if s.param != paramNone {
				assert.NotNil(t, s.draw, "the generator draws its parameter")
			}
			grouped := s.target == targetGroups || s.target == targetOneWay
			if s.drawGroups != nil || s.shape != nil {
				assert.True(t, grouped, "groups drawn or shaped for a kind without groups")
			}
			if s.draw == nil {
				// Targets resolved at start: a fault with none is valid.
				assert.True(t, s.target == targetNone || s.drawGroups != nil, "who does it hit when generated?")
				n := max(s.minServers, 5)
				if s.evenServers {
					n = 6
				}
				bare := Fault{Kind: s.kind, At: 1, Until: 2}
				if s.instant() {
					bare.Until = bare.At
				}
				assert.NoError(t, bare.Validate(n))
			}
			if s.leaderVia != "" {
				assert.False(t, s.leader, "a kind that takes the leader needs no other kind for it")
				assert.NotNil(t, spec(s.leaderVia))
			}
			if s.leaderPicks {
				assert.True(t, s.leader)
			}
			if s.onLeader {
				assert.Equal(t, targetNone, s.target, "its one target is the leader")
			}
			if s.param != paramNone {
				assert.NotEmpty(t, params[s.param].want)
			}
		})
	}
	assert.Len(t, Kinds(), len(kinds))
}

// The package doc and docs/SCENARIOS.md document every kind of the
// table: the doc lists it under Kinds and in the table of what each kind
// takes, SCENARIOS.md names it in backquotes.
func TestKindsAreDocumented(t *testing.T) {
	doc := readDoc(t, "doc.go")
	section := func(from, to string) string {
		i, j := strings.Index(doc, from), strings.Index(doc, to)
		require.True(t, i >= 0 && j > i, "doc.go has %q before %q", from, to)
		return doc[i:j]
	}
	what := section("// # Kinds", "// # How faults compose")
	takes := section("// Which param, targets and end", "// # Adding a kind")
	scenarios := readDoc(t, "../docs/SCENARIOS.md")
	for _, k := range Kinds() {
		first := regexp.MustCompile(`(?m)^//\t(?:[a-z-]+ )*` + regexp.QuoteMeta(string(k)) + `(?: |$)`)
		named := regexp.MustCompile("`" + regexp.QuoteMeta(string(k)) + "[` ]")
		assert.True(t, first.MatchString(what), "doc.go does not say what %s does (under # Kinds)", k)
		assert.True(t, first.MatchString(takes), "doc.go does not say what %s takes", k)
		assert.True(t, named.MatchString(scenarios), "docs/SCENARIOS.md does not name %s", k)
	}
}

func readDoc(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}
