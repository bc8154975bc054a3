package etcdraft

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/tools/go/packages"
)

// TestOnlyTheAdapterImportsEtcd: nothing of raftsim's own Raft or its
// host depends on go.etcd.io/raft; only this adapter and the registry of
// subjects (raft/subject/subjects) do.
func TestOnlyTheAdapterImportsEtcd(t *testing.T) {
	pkgs, err := packages.Load(&packages.Config{Mode: packages.NeedName | packages.NeedImports | packages.NeedDeps, Dir: "../../.."}, "./raft/...")
	require.NoError(t, err)
	const module = "github.com/seed4fee1fef/raftsim/"
	allowed := map[string]bool{module + "raft/subject/etcdraft": true, module + "raft/subject/subjects": true}
	reaches := map[string]bool{} // by package: whether it depends on etcd
	var visit func(p *packages.Package) bool
	visit = func(p *packages.Package) bool {
		if r, ok := reaches[p.PkgPath]; ok {
			return r
		}
		r := strings.HasPrefix(p.PkgPath, "go.etcd.io/raft")
		for _, imp := range p.Imports {
			r = visit(imp) || r
		}
		reaches[p.PkgPath] = r
		return r
	}
	checked := 0
	for _, p := range pkgs {
		if allowed[p.PkgPath] {
			continue
		}
		checked++
		require.False(t, visit(p), "%s depends on go.etcd.io/raft", p.PkgPath)
	}
	require.Greater(t, checked, 10)
}
