package cluster_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// T is what the checks below need from a test: *testing.T, or a probe
// that records failures instead of failing, to run a check on a build with
// a planted bug and require that it fails.
type T interface {
	require.TestingT
	Helper()
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
}

type probe struct {
	t        *testing.T
	failures []string
}

type probeStop struct{}

func (p *probe) Errorf(format string, args ...any) {
	p.failures = append(p.failures, fmt.Sprintf(format, args...))
}
func (p *probe) FailNow()                          { panic(probeStop{}) }
func (p *probe) Helper()                           {}
func (p *probe) Logf(format string, args ...any)   { p.t.Logf(format, args...) }
func (p *probe) Fatalf(format string, args ...any) { p.Errorf(format, args...); p.FailNow() }

// mustCatch runs check against a probe and fails t unless the check failed.
func mustCatch(t *testing.T, what string, check func(T)) {
	t.Helper()
	p := &probe{t: t}
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(probeStop); !ok {
					panic(r)
				}
			}
		}()
		check(p)
	}()
	if len(p.failures) == 0 {
		t.Fatalf("the check passed with %s planted: the harness would miss it", what)
	}
	t.Logf("caught %s: %s", what, p.failures[0])
}
