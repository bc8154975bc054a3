package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows a soak going: a progress bar on a terminal (seeds done,
// seeds per second, failures so far, time left), plain lines every so
// often otherwise (a CI log is not a terminal). It writes to stderr, so
// stdout stays the soak's summary.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	bar     *progressbar.ProgressBar
	total   uint64
	done    uint64 // this session's seeds, plus those the journal had
	resumed uint64
	failed  uint64
	started time.Time
	every   time.Duration
	stop    chan struct{}
	stopped sync.WaitGroup
}

// newProgress starts showing a soak of total seeds of which resumed were
// done before. every is the plain lines' period (0: none).
func newProgress(w io.Writer, total, resumed, failed uint64, every time.Duration) *progress {
	p := &progress{w: w, total: total, done: resumed, resumed: resumed, failed: failed, started: time.Now(), every: every}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(int64(total),
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(p.description()),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("seeds"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionFullWidth(),
		)
		_ = p.bar.Set64(int64(resumed))
		return p
	}
	if every > 0 {
		p.stop = make(chan struct{})
		p.stopped.Add(1)
		go p.lines()
	}
	return p
}

func (p *progress) description() string { return fmt.Sprintf("soak (%d failed)", p.failed) }

// seedDone counts one finished seed.
func (p *progress) seedDone(failed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if failed {
		p.failed++
	}
	if p.bar != nil {
		if failed {
			p.bar.Describe(p.description())
		}
		_ = p.bar.Add(1)
	}
}

// note prints a line without tearing the bar.
func (p *progress) note(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

func (p *progress) lines() {
	defer p.stopped.Done()
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			fmt.Fprintln(p.w, p.line())
			p.mu.Unlock()
		}
	}
}

// line is one plain progress line.
func (p *progress) line() string {
	elapsed := time.Since(p.started)
	ran := p.done - p.resumed
	rate := float64(ran) / max(elapsed.Seconds(), 1e-9)
	s := fmt.Sprintf("soak: %d/%d seeds, %.1f seeds/s, %d failed", p.done, p.total, rate, p.failed)
	if rate > 0 && p.done < p.total {
		left := time.Duration(float64(p.total-p.done) / rate * float64(time.Second))
		s += ", about " + left.Round(time.Second).String() + " left"
	}
	return s
}

// finish stops the display.
func (p *progress) finish() {
	if p.stop != nil {
		close(p.stop)
		p.stopped.Wait()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
