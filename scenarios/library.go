package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"

	"github.com/seed4fee1fef/raftsim/raft/plant"
)

// library holds the built-in scenarios, one file per failure mode.
//
//go:embed library/*.scn
var library embed.FS

// Entry is one built-in scenario, as List shows it.
type Entry struct {
	Name        string
	Description string
	// Catches are the planted bugs the scenario exists to catch.
	Catches []plant.Bug
}

// List returns the built-in scenarios sorted by name. A library file that
// does not parse (a bug the tests catch) is listed with its error as the
// description.
func List() []Entry {
	names := libraryNames()
	out := make([]Entry, 0, len(names))
	for _, name := range names {
		s, err := Load(name)
		if err != nil {
			out = append(out, Entry{Name: name, Description: err.Error()})
			continue
		}
		out = append(out, Entry{Name: name, Description: s.Description, Catches: s.Catches})
	}
	return out
}

// libraryNames are the library's scenario names, sorted (fs.ReadDir
// sorts by file name).
func libraryNames() []string {
	ents, err := fs.ReadDir(library, "library")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".scn"); ok && !e.IsDir() {
			names = append(names, name)
		}
	}
	return names
}

// Load parses the built-in scenario called name.
func Load(name string) (*Scenario, error) {
	src, err := Source(name)
	if err != nil {
		return nil, err
	}
	return Parse(name+".scn", src)
}

// Source returns the text of the built-in scenario called name.
func Source(name string) ([]byte, error) {
	if name == "" || strings.ContainsAny(name, `/\`) {
		return nil, fmt.Errorf("unknown scenario %q (library: %s)", name, strings.Join(libraryNames(), ", "))
	}
	src, err := fs.ReadFile(library, "library/"+name+".scn")
	if err != nil {
		return nil, fmt.Errorf("unknown scenario %q (library: %s)", name, strings.Join(libraryNames(), ", "))
	}
	return src, nil
}
