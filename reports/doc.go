// Package reports writes what a failing (or --report) run leaves behind:
// summary.json, trace.jsonl, the history, porcupine's visualization, a
// human timeline and the exact command that reproduces the run. Files are
// written atomically (temp file, fsync, rename) as soon as a failure is
// found, so a run never loses one.
package reports
