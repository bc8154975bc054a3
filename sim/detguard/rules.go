package detguard

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/tools/go/packages"
)

// wallClock are the functions that read or wait on the real clock (the
// context ones arm a real timer). Types and constants (time.Duration,
// time.Second) stay allowed: they are just numbers.
var wallClock = map[string]bool{
	"time.Now": true, "time.Since": true, "time.Until": true, "time.Sleep": true,
	"time.After": true, "time.AfterFunc": true, "time.NewTimer": true,
	"time.NewTicker": true, "time.Tick": true,
	"context.WithTimeout": true, "context.WithDeadline": true,
	"context.WithTimeoutCause": true, "context.WithDeadlineCause": true,
}

// randConstructors build a source from an explicit seed, which is the one
// deterministic way to use math/rand.
var randConstructors = map[string]bool{
	"New": true, "NewSource": true, "NewPCG": true, "NewChaCha8": true, "NewZipf": true,
}

// sorters are the sort functions that make the sort-keys idiom ordered.
// (sort.Search* and friends read a slice without ordering it.)
var sorters = map[string]bool{
	"Sort": true, "Stable": true, "Slice": true, "SliceStable": true,
	"Strings": true, "Ints": true, "Float64s": true,
}

const optOutPrefix = "//detguard:unordered"

// checker applies every rule to the files of one package.
type checker struct {
	pkg       *packages.Package
	osAllowed bool
	found     []Finding

	// Per file: opt-out directives by line, and which of those follow
	// code on their line (so they belong to that line, not the next).
	optOut   map[int]string
	trailing map[int]bool
	// Nodes already known to be ordered: range loops of the sort-keys
	// idiom and maps.Keys/Values/All calls fed straight to slices.Sorted*.
	ordered map[ast.Node]bool
}

func (c *checker) report(pos token.Pos, rule, format string, args ...any) {
	c.found = append(c.found, Finding{
		Pos:     c.pkg.Fset.Position(pos),
		Rule:    rule,
		Message: fmt.Sprintf(format, args...),
	})
}

func (c *checker) file(f *ast.File) {
	c.optOut, c.trailing, c.ordered = map[int]string{}, map[int]bool{}, map[ast.Node]bool{}
	for _, g := range f.Comments {
		for _, cm := range g.List {
			rest, ok := strings.CutPrefix(cm.Text, optOutPrefix)
			if r, _ := utf8.DecodeRuneInString(rest); ok && (rest == "" || unicode.IsSpace(r)) {
				c.optOut[c.line(cm.Pos())] = strings.TrimSpace(rest)
			}
		}
	}
	if len(c.optOut) > 0 {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n.(type) {
			case nil, *ast.Comment, *ast.CommentGroup:
				return false
			}
			if _, ok := c.optOut[c.line(n.Pos())]; ok {
				c.trailing[c.line(n.Pos())] = true
			}
			return true
		})
	}

	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		switch {
		case path == "crypto/rand" || path == "hash/maphash":
			c.report(imp.Pos(), "global-rand", "import of %s: it draws randomness no seed can replay; draw from a stream derived from the world's seed (sim.Rand), or use a fixed hash such as hash/fnv", path)
		case (path == "os" || strings.HasPrefix(path, "os/") || path == "io/ioutil") && !c.osAllowed:
			c.report(imp.Pos(), "os-access", "import of %q: simulated code must reach storage only through raft/vfs (backed by the sim disk); only the os-backed file system (Config.Exempt) may use the real OS", path)
		}
	}

	ast.Inspect(f, c.visit)
}

func (c *checker) visit(n ast.Node) bool {
	info := c.pkg.TypesInfo
	switch n := n.(type) {
	case *ast.BlockStmt:
		c.markSortIdioms(n.List)
	case *ast.CaseClause:
		c.markSortIdioms(n.Body)
	case *ast.CommClause:
		c.markSortIdioms(n.Body)

	case *ast.GoStmt:
		c.report(n.Pos(), "goroutine", "go statement: simulated code runs on the simulator's single event loop, and goroutine interleaving is chosen by the Go runtime, not the seed; schedule an event or timer on the world instead")
	case *ast.SelectStmt:
		c.report(n.Pos(), "select", "select statement: which ready case wins is chosen at random by the Go runtime; model waiting as events on the world's queue")
	case *ast.SendStmt:
		c.report(n.Pos(), "select", "channel send: channels hand scheduling to the Go runtime; deliver work as events on the world's queue (or use a plain slice as a FIFO)")
	case *ast.UnaryExpr:
		if n.Op == token.ARROW {
			c.report(n.Pos(), "select", "channel receive: channels hand scheduling to the Go runtime; deliver work as events on the world's queue (or use a plain slice as a FIFO)")
		}

	case *ast.RangeStmt:
		t := info.TypeOf(n.X)
		if mayBe[*types.Chan](t) {
			c.report(n.Pos(), "select", "range over a channel: channels hand scheduling to the Go runtime; deliver work as events on the world's queue")
		}
		if mayBe[*types.Map](t) && !c.ordered[n] {
			c.mapOrder(n.Pos(), fmt.Sprintf("range over map %s", types.ExprString(n.X)))
		}

	case *ast.CallExpr:
		if id, ok := ast.Unparen(n.Fun).(*ast.Ident); ok && len(n.Args) > 0 {
			if b, ok := info.Uses[id].(*types.Builtin); ok && b.Name() == "make" && mayBe[*types.Chan](info.TypeOf(n.Args[0])) {
				c.report(n.Pos(), "select", "make(chan ...): channels hand scheduling to the Go runtime; deliver work as events on the world's queue (or use a plain slice as a FIFO)")
			}
		}
		fn := c.callee(n.Fun)
		switch {
		case fn == nil:
		case fn.Pkg().Path() == "slices" && strings.HasPrefix(fn.Name(), "Sorted") && len(n.Args) > 0:
			// slices.Sorted(maps.Keys(m)) is the one-line sort-keys idiom.
			c.ordered[ast.Unparen(n.Args[0])] = true
		case fn.Pkg().Path() == "maps" && (fn.Name() == "Keys" || fn.Name() == "Values" || fn.Name() == "All") && !c.ordered[n]:
			c.mapOrder(n.Pos(), fmt.Sprintf("maps.%s yields in random map order", fn.Name()))
		}

	case *ast.Ident:
		fn, ok := info.Uses[n].(*types.Func)
		if !ok || fn.Pkg() == nil || fn.Signature().Recv() != nil {
			break // methods (t.After, r.IntN) are fine: the receiver decides
		}
		switch path := fn.Pkg().Path(); {
		case wallClock[path+"."+fn.Name()]:
			c.report(n.Pos(), "wall-clock", "%s.%s uses the real clock; use the world's virtual clock and timers (time.Duration values are fine)", path, fn.Name())
		case (path == "math/rand" || path == "math/rand/v2") && !randConstructors[fn.Name()]:
			c.report(n.Pos(), "global-rand", "%s.%s draws from the global, unseeded source; draw from a *rand.Rand built from the world's seed (sim.Rand stream) instead", path, fn.Name())
		}
	}
	return true
}

// mapOrder reports a map-order dependence at pos unless a
// //detguard:unordered comment with a reason sits at the end of pos's line
// or alone on the line before.
func (c *checker) mapOrder(pos token.Pos, what string) {
	line := c.line(pos)
	reason, ok := c.optOut[line]
	if !ok && !c.trailing[line-1] {
		reason, ok = c.optOut[line-1]
	}
	switch {
	case ok && reason == "":
		c.report(pos, "map-range", "%s: %s needs a reason saying why order cannot matter here", what, optOutPrefix)
	case !ok:
		c.report(pos, "map-range", "%s: Go randomises map order, so anything order-dependent differs between runs of one seed; iterate slices.Sorted(maps.Keys(m)) (or append the keys and sort them), or if order truly cannot matter add %s <reason>", what, optOutPrefix)
	}
}

// markSortIdioms marks the range loops in list that are the sort-keys
// idiom: `for k := range m { xs = append(xs, k) }` followed, later in the
// same block, by a sort of xs. The loop's order then cannot leak out.
func (c *checker) markSortIdioms(list []ast.Stmt) {
	for i, s := range list {
		if l, ok := s.(*ast.LabeledStmt); ok {
			s = l.Stmt
		}
		rs, ok := s.(*ast.RangeStmt)
		if !ok {
			continue
		}
		xs := c.appendedKeys(rs)
		if xs == nil {
			continue
		}
		for _, later := range list[i+1:] {
			if c.sorts(later, xs) {
				c.ordered[rs] = true
				break
			}
		}
	}
}

// appendedKeys returns xs if rs's body is exactly `xs = append(xs, k)`
// with k its key variable (and no value variable), else nil.
func (c *checker) appendedKeys(rs *ast.RangeStmt) ast.Expr {
	k, ok := rs.Key.(*ast.Ident)
	if !ok || k.Name == "_" || (rs.Value != nil && !isBlank(rs.Value)) || len(rs.Body.List) != 1 {
		return nil
	}
	as, ok := rs.Body.List[0].(*ast.AssignStmt)
	if !ok || as.Tok != token.ASSIGN || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
		return nil
	}
	call, ok := as.Rhs[0].(*ast.CallExpr)
	if !ok || len(call.Args) != 2 || call.Ellipsis.IsValid() {
		return nil
	}
	id, ok := ast.Unparen(call.Fun).(*ast.Ident)
	if b, isB := c.pkg.TypesInfo.Uses[id].(*types.Builtin); !ok || !isB || b.Name() != "append" {
		return nil
	}
	if !c.same(call.Args[0], as.Lhs[0]) || !c.same(call.Args[1], k) {
		return nil
	}
	return as.Lhs[0]
}

// sorts reports whether stmt contains a call sort.X(xs, ...) or
// slices.Sort*(xs, ...), looking through conversions like sort.Sort(byT(xs)).
func (c *checker) sorts(stmt ast.Stmt, xs ast.Expr) bool {
	found := false
	ast.Inspect(stmt, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if ok && len(call.Args) > 0 {
			if fn := c.callee(call.Fun); fn != nil &&
				(fn.Pkg().Path() == "sort" && sorters[fn.Name()] ||
					fn.Pkg().Path() == "slices" && strings.HasPrefix(fn.Name(), "Sort")) {
				found = found || c.same(c.unconvert(call.Args[0]), xs)
			}
		}
		return !found
	})
	return found
}

// callee returns the package-level function a call's Fun names, or nil.
func (c *checker) callee(fun ast.Expr) *types.Func {
	fun = ast.Unparen(fun)
	if ix, ok := fun.(*ast.IndexExpr); ok { // explicit instantiation f[T]
		fun = ix.X
	}
	if sel, ok := fun.(*ast.SelectorExpr); ok {
		fun = sel.Sel
	}
	id, ok := fun.(*ast.Ident)
	if !ok {
		return nil
	}
	fn, ok := c.pkg.TypesInfo.Uses[id].(*types.Func)
	if !ok || fn.Pkg() == nil || fn.Signature().Recv() != nil {
		return nil
	}
	return fn
}

// unconvert strips type conversions: T(x) -> x.
func (c *checker) unconvert(e ast.Expr) ast.Expr {
	e = ast.Unparen(e)
	if call, ok := e.(*ast.CallExpr); ok && len(call.Args) == 1 {
		if tv, ok := c.pkg.TypesInfo.Types[call.Fun]; ok && tv.IsType() {
			return c.unconvert(call.Args[0])
		}
	}
	return e
}

// same reports whether a and b denote the same variable (x, or x.f.g).
func (c *checker) same(a, b ast.Expr) bool {
	info := c.pkg.TypesInfo
	obj := func(id *ast.Ident) types.Object {
		if o := info.Uses[id]; o != nil {
			return o
		}
		return info.Defs[id]
	}
	switch a := ast.Unparen(a).(type) {
	case *ast.Ident:
		b, ok := ast.Unparen(b).(*ast.Ident)
		return ok && obj(a) != nil && obj(a) == obj(b)
	case *ast.SelectorExpr:
		b, ok := ast.Unparen(b).(*ast.SelectorExpr)
		return ok && obj(a.Sel) != nil && obj(a.Sel) == obj(b.Sel) && c.same(a.X, b.X)
	}
	return false
}

func (c *checker) line(pos token.Pos) int { return c.pkg.Fset.Position(pos).Line }

func isBlank(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "_"
}

// mayBe reports whether t is, or (for a type parameter) may be, a T by
// its underlying type.
func mayBe[T types.Type](t types.Type) bool {
	if t == nil {
		return false
	}
	if tp, ok := types.Unalias(t).(*types.TypeParam); ok {
		iface, _ := tp.Constraint().Underlying().(*types.Interface)
		for i := range iface.NumEmbeddeds() {
			e := iface.EmbeddedType(i)
			if u, ok := e.(*types.Union); ok {
				for j := range u.Len() {
					if mayBe[T](u.Term(j).Type()) {
						return true
					}
				}
			} else if mayBe[T](e) {
				return true
			}
		}
		return false
	}
	_, ok := t.Underlying().(T)
	return ok
}
