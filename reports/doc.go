// Package reports writes what a failing (or --report) run leaves behind,
// for a person first: index.html, one self-contained page that says what
// went wrong in words and draws the run (servers' lanes, faults, client
// operations, a zoom on the failure, health charts); and the data behind
// it: summary.json, history.json, samples.csv, timeline.txt, trace.jsonl,
// porcupine's view of the failure and the command that reproduces the
// run. For a soak it writes soak.html and soak.json. Servers are n1..nN
// and clients c1..cM in every file.
//
// Files are written atomically (temp file, fsync, rename) as soon as a
// failure is found, so a run never loses one. It never draws with
// anything but the run's own data: no script, no network, no clock, so
// the same run gives the same page.
package reports
