package sync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// DefaultKeepRuns is how many runs of each connector the engine keeps
// when a run ends (Options.KeepRuns).
const DefaultKeepRuns = 10

// PruneOptions say which runs [Engine.Prune] deletes. A nil *PruneOptions
// means: keep the DefaultKeepRuns newest runs of each connector.
type PruneOptions struct {
	// Connector, when set, prunes the runs of that connector only.
	Connector string
	// Keep is how many of each connector's newest runs are kept whatever
	// their age; DefaultKeepRuns when 0, none kept for their rank when
	// negative (OlderThan alone decides).
	Keep int
	// OlderThan, when above 0, deletes only the runs, beyond Keep, that
	// started longer ago than this.
	OlderThan time.Duration
}

// PruneResult counts what Prune deleted.
type PruneResult struct {
	// Runs are the IDs of the runs deleted, record and files.
	Runs []string
}

// Prune deletes old runs, their records and their files, connector by
// connector, newest first: it keeps the Keep newest, and beyond them
// deletes those older than OlderThan (all of them when OlderThan is 0). It
// never deletes a blocked or running run, nor the previous snapshots of a
// connector (kept apart from the runs). With Options.Artifacts, it then
// deletes the artifacts that no run record or connector state refers to
// any longer, for each connector whose lock it can take (a connector with
// a run in progress is left for later). The engine prunes each connector,
// with the default options (or Options.KeepRuns), when one of its runs
// ends.
func (e *Engine) Prune(ctx context.Context, opts *PruneOptions) (*PruneResult, error) {
	return e.prune(ctx, opts, false)
}

// prune is Prune; held says that the caller holds the lock of
// opts.Connector.
func (e *Engine) prune(ctx context.Context, opts *PruneOptions, held bool) (*PruneResult, error) {
	o := PruneOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Keep == 0 {
		o.Keep = DefaultKeepRuns
	}
	runs, err := e.Runs(ctx, &RunQuery{Connector: o.Connector})
	if err != nil {
		return nil, err
	}
	res := &PruneResult{}
	kept := map[string]int{}
	now := e.opts.Now()
	for _, r := range runs { // newest first
		if kept[r.Connector] < o.Keep {
			kept[r.Connector]++
			continue
		}
		if r.State == Blocked || r.State == Running || (o.OlderThan > 0 && now.Sub(r.Started) < o.OlderThan) {
			continue
		}
		if err := e.deleteRun(ctx, r); err != nil {
			return res, err
		}
		res.Runs = append(res.Runs, r.ID)
	}
	if e.opts.Artifacts == nil {
		return res, nil
	}
	for conn := range kept {
		if held && conn == o.Connector {
			if err := e.pruneArtifacts(ctx, conn); err != nil {
				return res, err
			}
			continue
		}
		unlock, err := e.tryLock(ctx, conn)
		if err != nil {
			continue // busy: its artifacts are pruned when its run ends
		}
		err = e.pruneArtifacts(ctx, conn)
		unlock()
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// deleteRun deletes a run's files, then its record.
func (e *Engine) deleteRun(ctx context.Context, r *Run) error {
	if err := os.RemoveAll(r.dir); err != nil {
		return fmt.Errorf("idsync: prune run %s: %w", r.ID, err)
	}
	if err := e.state.DeleteRun(ctx, r.ID); err != nil {
		return fmt.Errorf("idsync: prune run %s: %w", r.ID, err)
	}
	return nil
}

// ended tidies up after a run: its export copies go (the prepared data
// and the change set hold what a review and a resume need), and the
// connector's old runs are pruned. Neither is an error of the run: a
// failure is logged.
func (e *Engine) ended(ctx context.Context, run *Run) {
	if err := os.RemoveAll(filepath.Join(run.dir, "export")); err != nil {
		e.log.Warn("export copies not removed", "run", run.ID, "error", err)
	}
	keep := e.opts.KeepRuns
	if keep < 0 {
		return
	}
	if _, err := e.prune(ctx, &PruneOptions{Connector: run.Connector, Keep: keep}, true); err != nil && !errors.Is(err, context.Canceled) {
		e.log.Warn("runs not pruned", "connector", run.Connector, "error", err)
	}
}
