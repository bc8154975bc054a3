package detguard

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"
)

// Layer is a rule of the import graph: no package under From, except
// those under Except, may depend, directly or not, on a package under any
// of NotOn. Paths inside the module are relative to it ("sim/"); others
// are import paths ("go.etcd.io/").
type Layer struct {
	From   string
	Except []string
	NotOn  []string
	Why    string
}

// DefaultLayers are the arrows the pipeline allows: the kernel knows no
// Raft, Raft knows no kernel, and neither knows the harness above them.
var DefaultLayers = []Layer{
	{From: "sim/", NotOn: []string{"raft/", "linearizability/", "faults/", "scenarios/", "reports/", "cmd/"},
		Why: "the simulation kernel runs any process; the harness (scenarios/) assembles Raft servers on it"},
	{From: "raft/", NotOn: []string{"sim/", "linearizability/", "faults/", "scenarios/", "reports/", "cmd/"},
		Why: "Raft and its host run on any world: a real disk and network, or the simulator through the harness's adapters"},
	{From: "raft/", Except: []string{"raft/subject/etcdraft/", "raft/subject/subjects/"}, NotOn: []string{"go.etcd.io/"},
		Why: "raftsim's own Raft and its host depend on no other Raft: only the etcd adapter (and the registry naming it) import it"},
}

// Layering loads the module's packages (tests excluded) and reports every
// dependency a layer forbids, one finding per package and forbidden
// dependency, with the import chain that brings it in.
func Layering(dir string, layers []Layer) ([]Finding, error) {
	pkgs, err := packages.Load(&packages.Config{
		Mode: packages.NeedName | packages.NeedImports | packages.NeedDeps,
		Dir:  dir,
	}, "./...")
	if err != nil {
		return nil, fmt.Errorf("detguard: loading ./...: %w", err)
	}
	var out []Finding
	for _, pkg := range pkgs {
		rel, ok := strings.CutPrefix(pkg.PkgPath, Module+"/")
		if !ok {
			continue
		}
		for _, l := range layers {
			if !strings.HasPrefix(rel+"/", l.From) || slices.ContainsFunc(l.Except, func(e string) bool { return strings.HasPrefix(rel+"/", e) }) {
				continue
			}
			for _, chain := range forbidden(pkg, l.NotOn) {
				out = append(out, Finding{
					Rule:    "layering",
					Message: fmt.Sprintf("%s depends on %s (%s): %s", rel, chain[len(chain)-1], strings.Join(chain, " -> "), l.Why),
				})
			}
		}
	}
	slices.SortFunc(out, func(a, b Finding) int { return cmp.Compare(a.Message, b.Message) })
	return out, nil
}

// forbidden returns, for each forbidden package pkg reaches, the shortest
// import chain to it (module-relative paths), in a deterministic order.
func forbidden(pkg *packages.Package, notOn []string) [][]string {
	short := func(p string) string { return strings.TrimPrefix(p, Module+"/") }
	isForbidden := func(p string) bool {
		rel, ok := strings.CutPrefix(p, Module+"/")
		if !ok {
			rel = p
		}
		return slices.ContainsFunc(notOn, func(prefix string) bool { return strings.HasPrefix(rel+"/", prefix) })
	}
	prev := map[string]string{pkg.PkgPath: ""}
	queue := []*packages.Package{pkg}
	var hits []string
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, path := range slices.Sorted(maps.Keys(p.Imports)) {
			if _, seen := prev[path]; seen {
				continue
			}
			prev[path] = p.PkgPath
			if isForbidden(path) {
				hits = append(hits, path)
				continue
			}
			queue = append(queue, p.Imports[path])
		}
	}
	var out [][]string
	for _, h := range hits {
		var chain []string
		for p := h; p != ""; p = prev[p] {
			chain = append(chain, short(p))
		}
		slices.Reverse(chain)
		out = append(out, chain)
	}
	return out
}
