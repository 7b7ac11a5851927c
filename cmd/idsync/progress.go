package main

import (
	"fmt"
	"io"
	gosync "sync"
	"time"

	"github.com/schollz/progressbar/v3"

	idsync "github.com/idsync/idsync/sync"
)

// progress turns the engine's progress events into a spinner with a row
// count on standard error. The engine reports no totals, so the bar is
// indeterminate. A nil *progress shows nothing.
type progress struct {
	w io.Writer

	mu    gosync.Mutex
	bar   *progressbar.ProgressBar
	step  string           // connector and step shown
	done  map[string]int64 // rows done per table of the step
	total int64
}

// newProgress returns a progress display on w, or nil when w is not a
// terminal, with --json, or with -v (logs would interleave with it).
func (c *cli) newProgress(o *opts) *progress {
	if o.json || o.verbose || !c.stderrTTY() {
		return nil
	}
	return &progress{w: c.stderr, done: map[string]int64{}}
}

// event is an idsync.Options.Progress callback; the engine may call it
// from several goroutines.
func (p *progress) event(e idsync.Progress) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	step := e.Connector + ": " + e.Step
	if step != p.step {
		p.step, p.done, p.total = step, map[string]int64{}, 0
	}
	if e.Done > p.done[e.Name] {
		p.total += e.Done - p.done[e.Name]
		p.done[e.Name] = e.Done
	}
	desc := step
	if e.Name != "" {
		desc += " " + e.Name
	}
	if n := p.done[e.Name]; n > 0 {
		desc += fmt.Sprintf("  %s rows", group(n))
	}
	if p.bar == nil {
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetElapsedTime(true),
		)
	} else {
		p.bar.Describe(desc)
	}
	p.bar.Set64(p.total)
}

// stop clears the bar, before the results are printed.
func (p *progress) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Finish()
		p.bar.Clear()
		fmt.Fprint(p.w, "\r")
		p.bar = nil
	}
}

// callback returns the function to set as idsync.Options.Progress.
func (p *progress) callback() func(idsync.Progress) {
	if p == nil {
		return nil
	}
	return p.event
}
