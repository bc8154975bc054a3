package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/seed4fee1fef/raftsim/reports"
)

// JournalFile is the soak's journal in its --out directory.
const JournalFile = "soak.journal"

// journal is a soak's record of every seed it finished, one JSON line
// each, appended and fsynced before the seed counts as done: a soak killed
// with kill -9 at any moment and started again with the same arguments
// reads it back, runs only the seeds it lacks, and loses no failure (a
// failure's report is written before its line). The first line says which
// soak it belongs to; a line cut short by the kill is dropped on reading.
type journal struct {
	path string
	f    *os.File
}

// journalLine is one line: exactly one field is set.
type journalLine struct {
	Header *journalHeader `json:"header,omitempty"`
	// Run is a finished seed, listed on the soak page.
	Run *reports.SeedRun `json:"run,omitempty"`
	// Passed is a passing seed past the listed bound: counted only.
	Passed *uint64 `json:"passed,omitempty"`
	// Shrunk is a failure group's shrunk script.
	Shrunk *reports.FailureGroup `json:"shrunk,omitempty"`
	// Complete: every seed ran and the outputs were written.
	Complete bool `json:"complete,omitempty"`
}

// journalHeader identifies the soak: the arguments that decide its results
// and the build that ran it.
type journalHeader struct {
	Soak  string `json:"soak"`
	Build string `json:"build"`
}

// journaled is what an earlier run of the same soak finished.
type journaled struct {
	runs     []reports.SeedRun
	unlisted uint64
	done     map[uint64]bool
	shrunk   map[string]reports.FailureGroup // by signature
	complete bool
	// replaced is the header of a finished soak of other arguments that
	// this one replaces.
	replaced *journalHeader
}

// openJournal opens (or creates) the journal in dir for the soak head
// describes and reads back what it holds. The journal of an unfinished
// soak of other arguments is bad input (it would be lost), unless fresh,
// which starts over; a finished one is replaced.
func openJournal(dir string, head journalHeader, fresh bool) (*journal, *journaled, error) {
	j, prior, err := openJournalOnce(dir, head, fresh)
	var other *otherSoak
	if errors.As(err, &other) && other.complete {
		j, prior, err = openJournalOnce(dir, head, true)
		if prior != nil {
			prior.replaced = &other.head
		}
	}
	if other != nil && err != nil && !other.complete {
		err = badInput("%s holds an unfinished soak of other arguments (%s, build %s), not this one (%s, build %s): run that again to finish it, or use another --out, or --fresh to start over",
			other.path, other.head.Soak, other.head.Build, head.Soak, head.Build)
	}
	return j, prior, err
}

// otherSoak is a journal that belongs to another soak.
type otherSoak struct {
	path     string
	head     journalHeader
	complete bool
}

func (e *otherSoak) Error() string { return e.path + " holds another soak: " + e.head.Soak }

func openJournalOnce(dir string, head journalHeader, fresh bool) (*journal, *journaled, error) {
	path := filepath.Join(dir, JournalFile)
	prior := &journaled{done: map[uint64]bool{}, shrunk: map[string]reports.FailureGroup{}}
	if fresh {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, badInput("--fresh: %v", err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, badInput("--out %s: %v", dir, err)
	}
	j := &journal{path: path, f: f}
	good, err := j.read(head, prior)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	// Drop a line the kill cut short, so the next append starts clean.
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, nil, internal("journal %s: %v", path, err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, internal("journal %s: %v", path, err)
	}
	if good == 0 {
		if err := j.append(journalLine{Header: &head}); err != nil {
			f.Close()
			return nil, nil, err
		}
		if d, err := os.Open(dir); err == nil {
			_ = d.Sync() // the journal's directory entry
			d.Close()
		}
	}
	return j, prior, nil
}

// read reads the journal into prior and returns the length of its
// well-formed prefix.
func (j *journal) read(head journalHeader, prior *journaled) (int64, error) {
	r := bufio.NewReader(j.f)
	var off int64
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] != '\n' {
			return off, nil // cut short by a kill: dropped
		}
		if err == io.EOF {
			return off, nil
		}
		if err != nil {
			return 0, internal("journal %s: %v", j.path, err)
		}
		var l journalLine
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			if _, rerr := r.Peek(1); rerr == io.EOF {
				return off, nil // the last line, garbled by a kill mid-write: dropped
			}
			return 0, badInput("%s:%d: %v; expected a soak journal line (remove the file, or pass --fresh, to start over)", j.path, n, err)
		}
		switch {
		case n == 1 && l.Header == nil:
			return 0, badInput("%s:1: no header; expected a soak journal (pass --fresh to start over)", j.path)
		case l.Header != nil:
			if n != 1 {
				return 0, badInput("%s:%d: a second header; expected one soak per journal", j.path, n)
			}
			if l.Header.Build != head.Build || !reports.SameCommand(l.Header.Soak, head.Soak) {
				other := &otherSoak{path: j.path, head: *l.Header}
				other.complete = j.finished(r)
				return 0, other
			}
		case l.Run != nil:
			if !prior.done[l.Run.Seed] {
				prior.done[l.Run.Seed] = true
				prior.runs = append(prior.runs, *l.Run)
			}
		case l.Passed != nil:
			if !prior.done[*l.Passed] {
				prior.done[*l.Passed] = true
				prior.unlisted++
			}
		case l.Shrunk != nil:
			prior.shrunk[l.Shrunk.Signature] = *l.Shrunk
		case l.Complete:
			prior.complete = true
		default:
			return 0, badInput("%s:%d: an empty line; expected a soak journal line", j.path, n)
		}
		off += int64(len(line))
	}
}

// finished reads the rest of a journal for its complete line.
func (j *journal) finished(r *bufio.Reader) bool {
	for {
		line, err := r.ReadBytes('\n')
		var l journalLine
		if json.Unmarshal(line, &l) == nil && l.Complete {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// append writes one line and fsyncs it: once it returns, the line
// survives a kill -9 or a power cut.
func (j *journal) append(l journalLine) error {
	b, err := json.Marshal(l)
	if err != nil {
		return internal("journal: %v", err)
	}
	b = append(b, '\n')
	if _, err := j.f.Write(b); err != nil {
		return internal("journal %s: %v", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return internal("journal %s: sync: %v", j.path, err)
	}
	return nil
}

func (j *journal) close() error {
	if err := j.f.Close(); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	return nil
}
