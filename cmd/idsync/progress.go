package main

import (
	"fmt"
	"io"
	gosync "sync"
	"time"

	"github.com/schollz/progressbar/v3"

	idsync "github.com/idsync/idsync/sync"
)

// progress turns the engine's progress events into a spinner on standard
// error with the step, the table, its count and, where the total or the
// file's size is known, a percentage. A nil *progress shows nothing.
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
	desc += describe(e, p.done[e.Name])
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

// describe says how far a table (or the apply) has got: its count, and a
// percentage when the total or the file's size is known.
func describe(e idsync.Progress, done int64) string {
	unit := "rows"
	switch e.Step {
	case "diff":
		unit = "keys"
	case "apply":
		unit = "changes"
	}
	switch {
	case e.Total > 0:
		return fmt.Sprintf("  %s of %s %s (%d %%)", group(done), group(e.Total), unit, done*100/e.Total)
	case e.Size > 0 && done > 0:
		return fmt.Sprintf("  %s %s (%d %%)", group(done), unit, e.Bytes*100/e.Size)
	case done > 0:
		return fmt.Sprintf("  %s %s", group(done), unit)
	}
	return ""
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
