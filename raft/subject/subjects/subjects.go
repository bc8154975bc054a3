// Package subjects names the Raft implementations the harness can run:
// raftsim's own (the default) and go.etcd.io/raft/v3. Its one job is the
// lookup by name for the command line and the scenario language; it
// holds no state.
package subjects

import (
	"fmt"
	"strings"

	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/subject/etcdraft"
	"github.com/seed4fee1fef/raftsim/raft/subject/native"
)

// Default is the subject a run uses unless told otherwise.
const Default = native.Name

// All lists every subject, the default first. etcd-literal is etcd with
// Ready.MustSync exactly as etcd-io/raft sets it, which reproduces
// finding 1 of docs/SUBJECTS.md.
func All() []subject.Subject {
	return []subject.Subject{native.Subject(), etcdraft.Subject(), etcdraft.Literal()}
}

// Names lists their names, in All's order.
func Names() []string {
	var out []string
	for _, s := range All() {
		out = append(out, s.Name)
	}
	return out
}

// ByName returns the subject called name ("" is the default).
func ByName(name string) (subject.Subject, error) {
	if name == "" {
		name = Default
	}
	for _, s := range All() {
		if s.Name == name {
			return s, nil
		}
	}
	return subject.Subject{}, fmt.Errorf("unknown subject %q (want %s)", name, strings.Join(Names(), ", "))
}
