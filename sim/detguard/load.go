// Package detguard enforces the design's determinism rules (DESIGN.md) on the
// packages that run under the simulator. A run is reproducible from its seed
// only if nothing inside the simulator reads the wall clock, schedules work
// on the Go runtime (goroutines, channels, select), draws from a random
// source the world did not seed, iterates a map in Go's randomised order, or
// touches the real file system. Those are exactly the mistakes that compile,
// pass tests most of the time and then make a failing seed unreplayable, so
// they are caught by reading the code rather than by running it.
//
// The guard is a library plus a test (detguard_test.go); the test is what
// makes `go test ./...` fail when such code is added.
package detguard

import (
	"cmp"
	"fmt"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/packages"
)

// Module is the import path of this repository's module.
const Module = "github.com/seed4fee1fef/raftsim"

// self is skipped entirely: the guard is a build-time tool, not simulated
// code, and has to use go/packages (which runs the go command).
const self = Module + "/sim/detguard"

// DefaultPatterns are the package trees that run under the simulator.
var DefaultPatterns = []string{
	"./sim/...",
	"./raft/...",
	"./faults/...",
	"./linearizability/...",
	"./scenarios/...",
}

// DefaultExempt are the packages allowed to import "os": the os-backed file
// system, which by construction never runs under the simulator.
var DefaultExempt = []string{Module + "/raft/vfs/osfs"}

// Config says what to check.
type Config struct {
	// Dir is the module root; patterns and finding positions are relative
	// to it. Empty means the current directory.
	Dir string
	// Patterns are go package patterns; nil means DefaultPatterns.
	Patterns []string
	// Exempt lists import paths allowed to import "os" and friends; nil
	// means DefaultExempt. All other rules still apply to them.
	Exempt []string
	// Overlay maps absolute file paths to contents that replace (or add to)
	// what is on disk; it is passed to packages.Config.Overlay.
	Overlay map[string][]byte
}

// Finding is one violation.
type Finding struct {
	Pos     token.Position // Filename is relative to Config.Dir
	Rule    string         // short id: wall-clock, goroutine, select, global-rand, map-range, os-access, load
	Message string         // what is wrong and what to do instead
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: %s: %s", f.Pos, f.Rule, f.Message)
}

// Check loads the packages and returns every finding, sorted by position.
// The error is for failures to run the go command at all; problems inside
// the packages (syntax, type errors, patterns matching a missing
// directory) are findings with Rule "load", so a broken package can never
// pass the guard by not being checked.
func Check(cfg Config) ([]Finding, error) {
	dir, err := filepath.Abs(cmp.Or(cfg.Dir, "."))
	if err != nil {
		return nil, err
	}
	patterns := cfg.Patterns
	if patterns == nil {
		patterns = DefaultPatterns
	}
	exempt := cfg.Exempt
	if exempt == nil {
		exempt = DefaultExempt
	}
	pkgs, err := packages.Load(&packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax |
			packages.NeedTypes | packages.NeedTypesInfo,
		Dir:     dir,
		Tests:   false,
		Overlay: cfg.Overlay,
	}, patterns...)
	if err != nil {
		return nil, fmt.Errorf("detguard: loading %v: %w", patterns, err)
	}

	var out []Finding
	for _, pkg := range pkgs {
		if pkg.PkgPath == self {
			continue
		}
		typeErrs := slices.ContainsFunc(pkg.Errors, func(e packages.Error) bool { return e.Kind != packages.ListError })
		for _, e := range pkg.Errors {
			if typeErrs && e.Kind == packages.ListError && strings.HasPrefix(e.Msg, "# ") {
				continue // the compiler's output, repeating the positioned errors
			}
			out = append(out, Finding{
				Pos:     parsePos(e.Pos, dir),
				Rule:    "load",
				Message: fmt.Sprintf("package %s does not load (%s); it cannot be checked until it compiles", pkg.PkgPath, e.Msg),
			})
		}
		if pkg.TypesInfo == nil {
			continue
		}
		c := &checker{pkg: pkg, osAllowed: slices.Contains(exempt, pkg.PkgPath)}
		for _, f := range pkg.Syntax {
			c.file(f)
		}
		for _, f := range c.found {
			f.Pos.Filename = rel(dir, f.Pos.Filename)
			out = append(out, f)
		}
	}

	slices.SortFunc(out, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.Pos.Filename, b.Pos.Filename),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Message, b.Message),
		)
	})
	// A package error can be reported once per importer; say it once.
	return slices.Compact(out), nil
}

// parsePos turns a packages.Error position ("file:line:col", "file:line",
// "file", "" or "-") into a token.Position relative to dir.
func parsePos(s, dir string) token.Position {
	var p token.Position
	if s == "" || s == "-" {
		return p
	}
	var nums []int
	for range 2 {
		i := strings.LastIndexByte(s, ':')
		if i < 0 {
			break
		}
		n, err := strconv.Atoi(s[i+1:])
		if err != nil {
			break
		}
		nums = append([]int{n}, nums...)
		s = s[:i]
	}
	p.Filename = rel(dir, s)
	if len(nums) > 0 {
		p.Line = nums[0]
	}
	if len(nums) > 1 {
		p.Column = nums[1]
	}
	return p
}

func rel(dir, file string) string {
	if r, err := filepath.Rel(dir, file); err == nil && filepath.IsAbs(file) && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return file
}
