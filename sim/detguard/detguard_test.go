package detguard

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/go/packages"
)

// moduleRoot walks up from the test's working directory to go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			statSources(t, dir)
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above the test's directory")
		dir = parent
	}
}

// statSources stats every Go file of the module from the test process.
// The guard reads the module through the go command (a subprocess),
// which go test's cache cannot see; these stats are what make a cached
// pass invalid once any source file changes.
func statSources(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".go") || d.Name() == "go.mod") {
			_, err = os.Stat(path)
		}
		return err
	})
	require.NoError(t, err)
}

// TestGuardedPackagesAreDeterministic is the guard itself: it fails when
// any package that runs under the simulator breaks a determinism rule (or
// does not compile, so cannot be checked).
func TestGuardedPackagesAreDeterministic(t *testing.T) {
	t.Parallel()
	findings, err := Check(Config{Dir: moduleRoot(t)})
	require.NoError(t, err)
	for _, f := range findings {
		t.Error(f)
	}
}

// TestGuardCatchesInjectedViolations proves the guard is not vacuous: a
// wall-clock read or a go statement added to any guarded package (as an
// overlay file, so nothing on disk changes) is reported, in that file.
func TestGuardCatchesInjectedViolations(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	pkgs, err := packages.Load(&packages.Config{Mode: packages.NeedName | packages.NeedFiles, Dir: root}, DefaultPatterns...)
	require.NoError(t, err)

	type target struct{ name, file string }
	var guarded []target
	var selfFile string // injected into the guard itself, which is skipped
	for _, p := range pkgs {
		if p.Name == "" || p.Dir == "" || len(p.GoFiles) == 0 {
			continue // no non-test code, or a pattern that failed (the test above reports it)
		}
		file := filepath.Join(p.Dir, "zz_injected_detguard.go")
		if p.PkgPath == self {
			selfFile = file
		}
		guarded = append(guarded, target{p.Name, file})
	}
	require.NotEmpty(t, guarded, "no guarded packages found")
	require.NotEmpty(t, selfFile, "the guard package was not among the loaded packages")

	for _, tc := range []struct{ rule, body string }{
		{"wall-clock", "import \"time\"\n\nvar _ = time.Now()\n"},
		{"goroutine", "func zzInjectedDetguard() { go func() {}() }\n"},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			t.Parallel()
			overlay := map[string][]byte{}
			for _, g := range guarded {
				overlay[g.file] = fmt.Appendf(nil, "package %s\n\n%s", g.name, tc.body)
			}
			findings, err := Check(Config{Dir: root, Overlay: overlay})
			require.NoError(t, err)

			byFile := map[string][]string{}
			for _, f := range findings {
				byFile[f.Pos.Filename] = append(byFile[f.Pos.Filename], f.Rule)
			}
			var missed, broken []string
			for _, g := range guarded {
				rel, err := filepath.Rel(root, g.file)
				require.NoError(t, err)
				rel = filepath.ToSlash(rel)
				if g.file == selfFile {
					assert.Empty(t, byFile[rel], "the guard package must be skipped")
					continue
				}
				if !slices.Contains(byFile[rel], tc.rule) {
					missed = append(missed, rel)
				}
				if slices.Contains(byFile[rel], "load") {
					broken = append(broken, rel)
				}
			}
			assert.Empty(t, missed, "injected %s violations not reported; all findings: %v", tc.rule, findings)
			assert.Empty(t, broken, "injected files did not compile")
		})
	}
}

// wantRE matches the expectations written into fixture files:
// `// want rule [rule...]` at the end of the line that must be flagged.
var wantRE = regexp.MustCompile(`// want ([a-z -]+)$`)

// TestRules checks each rule on the fixture module in testdata/fixture:
// every line annotated `// want rule` must get exactly those rules, and
// nothing else in the fixture may be flagged (the neg packages hold the
// allowed forms).
func TestRules(t *testing.T) {
	t.Parallel()
	const fixture = "testdata/fixture"
	findings, err := Check(Config{
		Dir:      fixture,
		Patterns: []string{"./..."},
		Exempt:   []string{"fixture/osaccess/exempt"},
	})
	require.NoError(t, err)

	for _, tc := range []struct{ name, dir string }{
		{"wall-clock flagged", "wallclock/pos"},
		{"durations and time.Time methods allowed", "wallclock/neg"},
		{"go statements flagged", "goroutine/pos"},
		{"select and channel operations flagged", "selectstmt/pos"},
		{"global and crypto rand flagged", "globalrand/pos"},
		{"seeded rand and its methods allowed", "globalrand/neg"},
		{"unordered map ranges flagged", "maprange/pos"},
		{"sorted keys, opt-outs and slices allowed", "maprange/neg"},
		{"os imports flagged", "osaccess/pos"},
		{"os allowed in exempt package", "osaccess/exempt"},
		{"path/filepath allowed", "osaccess/neg"},
		{"load errors reported", "load/pos"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := wants(t, filepath.Join(fixture, tc.dir), tc.dir)
			var got []string
			for _, f := range findings {
				if strings.HasPrefix(f.Pos.Filename, tc.dir+"/") {
					assert.NotEmpty(t, f.Message)
					got = append(got, fmt.Sprintf("%s:%d %s", f.Pos.Filename, f.Pos.Line, f.Rule))
				}
			}
			// Set semantics: the go command and the type checker may both
			// report one load error.
			slices.Sort(got)
			assert.Equal(t, want, slices.Compact(got), "findings: %v", findings)
		})
	}
}

// wants returns the sorted "file:line rule" expectations of the .go files
// in dir, with file names relative to the fixture root.
func wants(t *testing.T, dir, rel string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var out []string
	for _, file := range files {
		src, err := os.ReadFile(file)
		require.NoError(t, err)
		for i, line := range strings.Split(string(src), "\n") {
			if m := wantRE.FindStringSubmatch(line); m != nil {
				for _, rule := range strings.Fields(m[1]) {
					out = append(out, fmt.Sprintf("%s/%s:%d %s", rel, filepath.Base(file), i+1, rule))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestMissingPatternIsALoadFinding(t *testing.T) {
	t.Parallel()
	findings, err := Check(Config{Dir: "testdata/fixture", Patterns: []string{"./nonexistent/..."}})
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Equal(t, "load", findings[0].Rule)
}

// TestLayering holds the import graph to the pipeline: the kernel imports
// nothing of Raft or the harness, Raft nothing of the kernel.
func TestLayering(t *testing.T) {
	t.Parallel()
	findings, err := Layering(moduleRoot(t), DefaultLayers)
	require.NoError(t, err)
	for _, f := range findings {
		t.Error(f)
	}
}

// TestLayeringCatchesABackwardArrow proves the rule is not vacuous: the
// disk adapter depends on the kernel's disk and on Raft's interface, so
// forbidding either arrow out of it is reported with its chain.
func TestLayeringCatchesABackwardArrow(t *testing.T) {
	t.Parallel()
	findings, err := Layering(moduleRoot(t), []Layer{{From: "scenarios/diskfs/", NotOn: []string{"sim/disk/", "raft/vfs/"}, Why: "test"}})
	require.NoError(t, err)
	var msgs []string
	for _, f := range findings {
		msgs = append(msgs, f.Message)
	}
	assert.Contains(t, strings.Join(msgs, "\n"), "scenarios/diskfs depends on sim/disk (scenarios/diskfs -> sim/disk)")
	assert.Contains(t, strings.Join(msgs, "\n"), "scenarios/diskfs depends on raft/vfs (scenarios/diskfs -> raft/vfs)")

	// An outside module, and an exception.
	findings, err = Layering(moduleRoot(t), []Layer{{From: "raft/subject/", Except: []string{"raft/subject/subjects/"}, NotOn: []string{"go.etcd.io/raft/"}, Why: "test"}})
	require.NoError(t, err)
	msgs = msgs[:0]
	for _, f := range findings {
		msgs = append(msgs, f.Message)
	}
	assert.Contains(t, strings.Join(msgs, "\n"), "raft/subject/etcdraft depends on go.etcd.io/raft/v3")
	assert.NotContains(t, strings.Join(msgs, "\n"), "raft/subject/subjects depends")
}
