package wal

import (
	"errors"
	"testing"

	"github.com/seed4fee1fef/raftsim/scenarios/diskfs"
	"github.com/seed4fee1fef/raftsim/sim/disk"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestCrashProperty: random writes, a kill -9 at a random point (possibly
// inside a Save, an Open or a rotation), then a crash that keeps a random
// prefix of the page cache, possibly tearing the last write. Open must
// succeed (a torn tail is never an error) and return exactly the state
// after every write that returned nil, or after one more: the write in
// flight, which went out as a single record and so survives whole or not
// at all. Never anything that was not written, never less than was
// synced. Several lives in a row, so recovery is itself crashed.
func TestCrashProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := disk.New()
		opts := Options{SegmentBytes: rapid.SampledFrom([]int64{48, 128, 512, 4096}).Draw(t, "segBytes")}
		maxData := rapid.SampledFrom([]int{0, 8, 64, 300}).Draw(t, "maxData")
		rng := &splitmix64{s: rapid.Uint64().Draw(t, "seed")}
		var m model
		for life := range rapid.IntRange(1, 4).Draw(t, "lives") {
			k := &killFS{FS: diskfs.New(d), budget: rapid.IntRange(0, 300).Draw(t, "budget")}
			candidates := []model{m}
			w, st, err := Open(k, opts)
			if err != nil {
				require.ErrorIs(t, err, errKilled, "life %d: open", life)
			} else {
				requireState(t, m.state(), st, "life %d: open", life)
				for range rapid.IntRange(0, 25).Draw(t, "ops") {
					o := genOp(t, m, maxData)
					next := o.apply(m)
					if err := o.do(w); err != nil {
						require.ErrorIs(t, err, errKilled, "life %d: %v", life, o)
						candidates = append(candidates, next)
						break
					}
					m = next
					candidates = []model{m}
				}
			}
			d.Crash(rng, rapid.Bool().Draw(t, "keepPrefix"))

			w, st, err = Open(diskfs.New(d), opts)
			require.NoError(t, err, "life %d: open after crash", life)
			matched := false
			for _, c := range candidates {
				if stateEqual(c.state(), st) {
					m, matched = c, true
				}
			}
			if !matched {
				requireState(t, candidates[len(candidates)-1].state(), st,
					"life %d: state after the crash is none of the %d possible", life, len(candidates))
			}
			require.NoError(t, w.Close())
		}
	})
}

// TestCrashDuringOpenRecovery: Open writes too (it cuts a torn tail and
// may write a header); a crash during that must leave something the next
// Open recovers just the same.
func TestCrashDuringOpenRecovery(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := disk.New()
		opts := Options{SegmentBytes: 128}
		w, _ := mustOpen(t, diskfs.New(d), opts)
		var m model
		for range rapid.IntRange(1, 20).Draw(t, "saves") {
			o := genOp(t, m, 40)
			require.NoError(t, o.do(w))
			m = o.apply(m)
		}
		// One more save that dies before its sync, torn by the crash.
		k := &killFS{FS: diskfs.New(d), budget: 100}
		w.fs, w.f = k, &killFile{File: w.f, k: k}
		o := genOp(t, m, 40)
		k.budget = rapid.IntRange(0, 3).Draw(t, "budget")
		err := o.do(w)
		if err == nil {
			m = o.apply(m)
		} else if !errors.Is(err, errKilled) {
			require.NoError(t, err)
		}
		rng := &splitmix64{s: rapid.Uint64().Draw(t, "seed")}
		d.Crash(rng, true)
		_, _, err = Open(&killFS{FS: diskfs.New(d), budget: rapid.IntRange(0, 4).Draw(t, "openBudget")}, opts)
		if err != nil {
			require.ErrorIs(t, err, errKilled)
		}
		d.Crash(rng, rapid.Bool().Draw(t, "keepPrefix"))
		_, st2, err := Open(diskfs.New(d), opts)
		require.NoError(t, err)
		if !stateEqual(m.state(), st2) {
			requireState(t, o.apply(m).state(), st2)
		}
	})
}
