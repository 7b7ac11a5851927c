package sync

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/internal/flock"
	"github.com/idsync/idsync/internal/rec"
	"github.com/idsync/idsync/threshold"
)

// State is the state of a run.
type State string

// The states of a run. Running is the state of a run from its start until
// it ends (a run whose process died shows as Failed, interrupted, once
// the engine sees that no process holds its connector); Planned and
// Blocked are waiting states; the others are final.
const (
	Running   State = "running"
	Planned   State = "planned"
	Succeeded State = "succeeded"
	Blocked   State = "blocked"
	Failed    State = "failed"
	Cancelled State = "cancelled"
)

// Options configure an [Engine]. A nil *Options means the defaults.
type Options struct {
	// WorkDir holds the runs' files (exports, prepared data, change sets,
	// error reports), the previous prepared snapshots, the lock files and,
	// for a store that is no StateStore, the engine's state;
	// "./idsync-work" when empty.
	WorkDir string
	// MemoryBudget bounds the memory of the sorts that run at once, in
	// Prepare and in Diff; DefaultMemoryBudget when 0.
	MemoryBudget int64
	// Logger receives structured logs: INFO lines as runs start and end,
	// WARN lines for what a person should know (a run blocked or
	// interrupted, a previous snapshot dropped). When nil, the engine is
	// quiet: only warnings and errors go to slog.Default().
	Logger *slog.Logger
	// Progress, when set, receives progress events of every run.
	Progress func(Progress)
	// Artifacts, when set, keeps the runs' prepared data, error reports
	// and change sets, and the connectors' previous snapshots, in an
	// artifact store (a folder, or a bucket: see package blobartifacts)
	// that engines of other work folders share: the work folder is then
	// scratch, safe to clear between runs. When nil, they stay in the
	// work folder only.
	Artifacts Artifacts
	// KeepRuns is how many runs of a connector the engine keeps when one
	// of its runs ends (see Engine.Prune): DefaultKeepRuns when 0, all of
	// them when negative.
	KeepRuns int
	// StateInWorkDir keeps the engine's state (run records, connector
	// states) in WorkDir even if the store is a StateStore, whose state
	// the engine then leaves alone: for a store that does not outlive
	// the process (memstore) while the work folder must.
	StateInWorkDir bool
	// Now returns the current time; time.Now when nil (tests set it).
	Now func() time.Time
	// StoreName names the store for people: it is recorded in every run
	// (Run.StoreName) and in the messages that refuse a run planned
	// against another store. A host passes the store's URL with any
	// password redacted, for example; it must hold no secret.
	StoreName string
	// WaitLock makes a run, resume or cancel of a connector that another
	// run holds wait until its lock is free (or ctx is done) instead of
	// failing with ErrBusy at once.
	WaitLock bool
}

// RunOptions configure one run. A nil *RunOptions means a complete run
// that exports through the connector.
type RunOptions struct {
	// Mode is Complete when empty.
	Mode Mode
	// Extraction, when set, is used instead of exporting: the run reads
	// these tables (files already exported, for debugging or tests).
	Extraction connector.Extraction
	// AllowEmpty lets a run synchronize a snapshot table (entity type or
	// association) that has no row, which deletes all it holds.
	AllowEmpty bool
}

// Engine synchronizes connectors into a Store: it plans runs, applies them
// when no threshold is exceeded, and keeps blocked runs for review,
// resume or cancel. Its state (run records, connector states) lives in the
// store if the store is a [StateStore], shared by every engine on it and
// committed with each run's changes, or else in the work folder, shared
// by the processes that use it; a run's files (prepared data, change set,
// error report) live in the work folder. An Engine is safe for concurrent use;
// runs of one connector never overlap: the engine holds a lock file of
// the connector in the work folder (flock(2), released by the kernel if
// the process dies) and, if the store is a [Locker], the store's lock.
type Engine struct {
	store Store
	state StateKeeper // the store, if it is a StateStore, or the work folder
	opts  Options
	log   *slog.Logger
}

// New returns an Engine synchronizing into store.
func New(store Store, opts *Options) *Engine {
	e := &Engine{store: store}
	if opts != nil {
		e.opts = *opts
	}
	if e.opts.WorkDir == "" {
		e.opts.WorkDir = "idsync-work"
	}
	if abs, err := filepath.Abs(e.opts.WorkDir); err == nil {
		e.opts.WorkDir = abs
	}
	if e.opts.MemoryBudget <= 0 {
		e.opts.MemoryBudget = DefaultMemoryBudget
	}
	if e.opts.Now == nil {
		e.opts.Now = time.Now
	}
	e.log = e.opts.Logger
	if e.log == nil {
		e.log = slog.New(warnings{slog.Default().Handler()})
	}
	e.state = folderState{e.opts.WorkDir}
	if ss, ok := store.(StateStore); ok && !e.opts.StateInWorkDir {
		e.state = ss
	}
	return e
}

// Store returns the engine's store.
func (e *Engine) Store() Store { return e.store }

// Run is the record of one synchronization run, kept by the engine's
// StateKeeper (the store, if it is a StateStore, or run.json in the run's
// folder of the work directory).
type Run struct {
	ID        string    `json:"id"`
	Connector string    `json:"connector"`
	Mode      Mode      `json:"mode"`
	State     State     `json:"state"`
	Started   time.Time `json:"started"`
	Ended     time.Time `json:"ended,omitzero"`
	// EntityTypes and Associations are the change set's counts.
	EntityTypes  []EntityTypeChanges  `json:"entityTypes,omitempty"`
	Associations []AssociationChanges `json:"associations,omitempty"`
	// Verdicts are the thresholds' verdicts; Warnings name the kinds of
	// change that no threshold guards.
	Verdicts []threshold.Verdict `json:"verdicts,omitempty"`
	Warnings []string            `json:"warnings,omitempty"`
	// ErrorReport is the path of the prepare error report (CSV).
	ErrorReport string `json:"errorReport,omitempty"`
	// ChangeSetHash identifies the planned change set; Fingerprint is the
	// store's fingerprint it was planned against.
	ChangeSetHash string `json:"changeSetHash,omitempty"`
	Fingerprint   string `json:"fingerprint,omitempty"`
	// Error is the error that failed the run.
	Error string `json:"error,omitempty"`
	// Cursor is the incremental export cursor to keep if the run succeeds:
	// the one ExportChanges returned, or a full export's
	// (connector.Cursorer). A complete run that succeeds keeps its Cursor
	// even when empty: the store then holds its snapshot, and the changes
	// before it must not be exported again.
	Cursor string `json:"cursor,omitempty"`
	// StoreName is Options.StoreName of the engine that planned the run,
	// and StoreID the identity of its store if the store is an
	// [Identifier]: the store that the run's plan applies to, and only it.
	StoreName string `json:"storeName,omitempty"`
	StoreID   string `json:"storeID,omitempty"`
	// Review says who resumed or cancelled the run, why and when.
	Review *Review `json:"review,omitempty"`
	// PreparedRef and ChangesRef name the run's prepared data (with its
	// error report) and its change set in the artifact store
	// (Options.Artifacts), or are empty without one.
	PreparedRef string `json:"preparedRef,omitempty"`
	ChangesRef  string `json:"changesRef,omitempty"`

	dir string
}

// Review is the audit of a person's decision on a run.
type Review struct {
	Action  string    `json:"action"` // "resume" or "cancel"
	Actor   string    `json:"actor"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

// ReviewOptions say who resumes or cancels a run, and why, for the run's
// audit (Run.Review). A nil *ReviewOptions records no one.
type ReviewOptions struct {
	Actor   string
	Comment string
}

// Dir returns the run's folder.
func (r *Run) Dir() string { return r.dir }

// ChangeSet opens the run's change set.
func (r *Run) ChangeSet() (*ChangeSet, error) { return OpenChangeSet(filepath.Join(r.dir, "changes")) }

// Counters returns the counts that thresholds evaluate.
func (r *Run) Counters() *threshold.Counters {
	return counters(r.Connector, r.EntityTypes, r.Associations)
}

func (e *Engine) connDir(name string) string {
	return filepath.Join(e.opts.WorkDir, "connectors", name)
}

// runDir is the folder of a run's files.
func (e *Engine) runDir(id string) string { return filepath.Join(e.opts.WorkDir, "runs", id) }

// snapshotDir is the folder of a connector's previous prepared snapshots
// named name (a run ID, or their artifact's ref).
func (e *Engine) snapshotDir(connector, name string) string {
	return filepath.Join(e.connDir(connector), "snapshots", name)
}

// checkName refuses a connector name that is not a plain file name: the
// engine keeps the connector's state in a folder of that name.
func checkName(name string) error {
	if !filepath.IsLocal(name) || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("idsync: connector name %q must be a plain name (no path separators, not . or ..)", name)
	}
	return nil
}

// lock takes the connector's lock (see tryLock); with Options.WaitLock, it
// tries again, less and less often, while another run holds it.
func (e *Engine) lock(ctx context.Context, name string) (func(), error) {
	wait := 20 * time.Millisecond
	for {
		unlock, err := e.tryLock(ctx, name)
		if err == nil || !e.opts.WaitLock || !errors.Is(err, ErrBusy) {
			return unlock, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w; stopped waiting for it: %w", err, context.Cause(ctx))
		case <-t.C:
		}
		wait = min(2*wait, time.Second)
	}
}

// tryLock takes the connector's lock without waiting: always its lock
// file in the work folder, and the store's lock if the store is a Locker.
func (e *Engine) tryLock(ctx context.Context, name string) (func(), error) {
	release, err := e.lockWork(name)
	if err != nil {
		return nil, err
	}
	if l, ok := e.store.(Locker); ok {
		unlock, err := l.Lock(ctx, name)
		if err != nil {
			release()
			return nil, err
		}
		return func() { unlock(); release() }, nil
	}
	return release, nil
}

// lockWork takes the connector's lock file in the work folder, without
// waiting.
func (e *Engine) lockWork(name string) (func(), error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	unlock, err := flock.TryLock(filepath.Join(e.connDir(name), "run.lock"), name)
	if errors.Is(err, flock.ErrLocked) {
		return nil, fmt.Errorf("%w: %s (another run holds its lock in %s)", ErrBusy, name, e.opts.WorkDir)
	}
	if err != nil {
		return nil, fmt.Errorf("idsync: %w", err)
	}
	return unlock, nil
}

func (e *Engine) newRun(ctx context.Context, conn string, mode Mode) (*Run, error) {
	storeID, err := e.storeIdentity(ctx)
	if err != nil {
		return nil, err
	}
	var b [4]byte
	rand.Read(b[:])
	now := e.opts.Now().UTC()
	r := &Run{
		ID:        now.Format("20060102T150405Z") + "-" + conn + "-" + hex.EncodeToString(b[:]),
		Connector: conn, Mode: mode, State: Running, Started: now,
		StoreName: e.opts.StoreName, StoreID: storeID,
	}
	r.dir = e.runDir(r.ID)
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return nil, fmt.Errorf("idsync: %w", err)
	}
	// Visible from its start: a run whose process dies is found running
	// with its connector unlocked, and shown as interrupted.
	if err := e.state.SaveRun(ctx, r); err != nil {
		os.RemoveAll(r.dir)
		return nil, err
	}
	return r, nil
}

// interrupted is the error of a run whose process ended before the run did.
const interrupted = "interrupted: the process running it ended before the run did (killed, or the machine stopped)"

// reap marks run, found Running, as Failed and interrupted if no process
// holds its connector's lock any longer (held says the caller holds it),
// and removes its files but run.json. It reports whether it did. With a
// store that keeps the state but is no Locker, a run of an engine with
// another work folder cannot be told from a dead one: such a store should
// be a Locker too (memstore and sqlstore are).
func (e *Engine) reap(ctx context.Context, run *Run, held bool) bool {
	if run.State != Running {
		return false
	}
	if !held {
		// The connector's lock, the store's too: a run of another
		// instance, with another work folder, holds the store's.
		unlock, err := e.tryLock(ctx, run.Connector)
		if err != nil {
			return false // running, or no telling
		}
		defer unlock()
		if r, err := e.loadRun(ctx, run.ID); err != nil || r.State != Running {
			return false // it ended meanwhile
		}
	}
	run.State, run.Error = Failed, interrupted
	run.Ended = e.opts.Now().UTC()
	run.ErrorReport = ""
	if e.state.SaveRun(ctx, run) != nil {
		return false
	}
	ents, _ := os.ReadDir(run.dir)
	for _, d := range ents {
		if d.Name() != "run.json" {
			os.RemoveAll(filepath.Join(run.dir, d.Name()))
		}
	}
	e.log.Warn("run interrupted", "connector", run.Connector, "run", run.ID)
	return true
}

// LoadRun returns the record of a run. A run found Running whose process
// has died is marked Failed (interrupted) first.
func (e *Engine) LoadRun(ctx context.Context, id string) (*Run, error) {
	r, err := e.loadRun(ctx, id)
	if err == nil {
		e.reap(ctx, r, false)
	}
	return r, err
}

func (e *Engine) loadRun(ctx context.Context, id string) (*Run, error) {
	r, err := e.state.LoadRun(ctx, id)
	if err != nil {
		return nil, err
	}
	r.dir = e.runDir(r.ID)
	return r, nil
}

// Runs returns the records of the runs that q selects (all when q is
// nil), newest first; runs whose process died are shown as interrupted.
func (e *Engine) Runs(ctx context.Context, q *RunQuery) ([]*Run, error) {
	if q == nil {
		q = &RunQuery{}
	}
	runs, err := e.state.Runs(ctx, *q)
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		r.dir = e.runDir(r.ID)
		e.reap(ctx, r, false)
	}
	return runs, nil
}

// Plan exports (unless opts gives an extraction), prepares, diffs and
// evaluates thresholds, without writing to the store: a dry run. The
// returned run is Planned, and its change set can be reviewed; it is
// never applied (call Run to apply).
func (e *Engine) Plan(ctx context.Context, conn connector.Connector, opts *RunOptions) (*Run, error) {
	return e.run(ctx, conn, opts, false)
}

// Run plans and, if no threshold is exceeded, applies the change set. If
// a threshold is exceeded, the run is Blocked: its change set is kept for
// review, and Run returns the run with an error matching ErrBlocked that
// unwraps to *threshold.ExceededError; Resume applies it later. Any other
// failure leaves the store as it was and the run Failed.
func (e *Engine) Run(ctx context.Context, conn connector.Connector, opts *RunOptions) (*Run, error) {
	return e.run(ctx, conn, opts, true)
}

// BlockedError is returned by Run when thresholds block it.
type BlockedError struct {
	RunID string
	Err   *threshold.ExceededError
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("idsync: run %s blocked: %v", e.RunID, e.Err)
}

// Unwrap returns ErrBlocked and the thresholds' error.
func (e *BlockedError) Unwrap() []error { return []error{ErrBlocked, e.Err} }

func (e *Engine) run(ctx context.Context, conn connector.Connector, opts *RunOptions, apply bool) (run *Run, err error) {
	if opts == nil {
		opts = &RunOptions{}
	}
	mode := opts.Mode
	if mode == "" {
		mode = Complete
	}
	if mode != Complete && mode != Incremental {
		return nil, fmt.Errorf("idsync: unknown mode %q", mode)
	}
	model := conn.Model()
	if err := model.Validate(); err != nil {
		return nil, err
	}
	unlock, err := e.lock(ctx, model.Name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	state, err := e.state.ConnectorState(ctx, model.Name)
	if err != nil {
		return nil, err
	}
	if blocked := e.blockedRun(ctx, state); apply && mode == Incremental && blocked != "" {
		return nil, fmt.Errorf("%w: %s has blocked run %s: resume or cancel it, or run in complete mode", ErrConnectorBlocked, model.Name, blocked)
	}
	if state.Running != "" {
		if dead, err := e.loadRun(ctx, state.Running); err == nil {
			e.reap(ctx, dead, true) // this engine holds the lock: its process died
		}
	}
	run, err = e.newRun(ctx, model.Name, mode)
	if err != nil {
		return nil, err
	}
	if err := e.state.UpdateConnectorState(ctx, model.Name, func(s *ConnectorState) { s.Running = run.ID }); err != nil {
		return nil, err
	}
	log := e.log.With("connector", model.Name, "run", run.ID, "mode", mode)
	log.Info("run started", "apply", apply)
	defer func() {
		var blocked *BlockedError
		if err != nil && run.State != Blocked && run.State != Succeeded && !errors.As(err, &blocked) {
			run.State, run.Error = Failed, err.Error()
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				run.State = Cancelled
			}
		}
		if run.State == Running {
			run.State = Planned
		}
		if run.State != Planned && run.State != Blocked {
			run.Ended = e.opts.Now().UTC()
		}
		wctx := context.WithoutCancel(ctx) // the run's end is recorded, cancelled or not
		if serr := e.state.SaveRun(wctx, run); err == nil && serr != nil {
			err = serr
		}
		if serr := e.state.UpdateConnectorState(wctx, model.Name, func(s *ConnectorState) {
			if s.Running == run.ID {
				s.Running = ""
			}
		}); err == nil && serr != nil {
			err = serr
		}
		log.Info("run ended", "state", run.State, "error", run.Error)
		e.ended(wctx, run)
	}()

	// Export.
	ext := opts.Extraction
	if ext == nil {
		e.progress(model.Name, "export", "", 0)
		dir := filepath.Join(run.dir, "export")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return run, fmt.Errorf("idsync: %w", err)
		}
		err = connector.ErrNoChanges
		if ce, ok := conn.(connector.ChangeExporter); ok && mode == Incremental {
			ext, run.Cursor, err = ce.ExportChanges(ctx, dir, state.Cursor)
		}
		if errors.Is(err, connector.ErrNoChanges) {
			// Export is given an empty folder, whatever ExportChanges
			// left in it.
			if err := emptyDir(dir); err != nil {
				return run, err
			}
			ext, err = conn.Export(ctx, dir)
			run.Cursor = snapshotCursor(ext)
		}
		if err != nil {
			return run, fmt.Errorf("idsync: export %s: %w", model.Name, err)
		}
	} else if mode == Complete {
		run.Cursor = snapshotCursor(ext)
	}

	// Prepare; a complete run reads the previous snapshot only for the
	// header comparison, and does without it if it is not at hand.
	prev, err := e.previousDir(ctx, model.Name, state)
	if err != nil && mode == Incremental {
		return run, err
	}
	p, err := Prepare(ctx, model, ext, &PrepareOptions{
		Dir: filepath.Join(run.dir, "prepared"), Mode: mode, Store: e.store, Previous: prev,
		MemoryBudget: e.opts.MemoryBudget, Progress: e.opts.Progress,
	})
	if p != nil && p.Report != nil {
		run.ErrorReport = p.Report.CSV
	}
	if err != nil {
		return run, err
	}
	if !opts.AllowEmpty {
		// A blank snapshot would delete everything, in complete mode and
		// in incremental mode from the previous snapshot alike.
		for _, t := range slices.Concat(p.EntityTypes, p.Associations) {
			if t.Read == 0 && !t.Skipped && !t.Delta && t.Header != nil { // a table of its own

				return run, fmt.Errorf("%w: %s.%s (%s) has no row; set AllowEmpty to delete all it holds", ErrEmptyExtraction, model.Name, t.Name, t.Source)
			}
		}
	}
	if mode == Incremental {
		if err := deltaFromPrevious(ctx, p, prev); err != nil {
			return run, err
		}
	}

	// Diff against the store, with its fingerprint read first.
	fp, err := e.store.Fingerprint(ctx, model.Name)
	if err != nil {
		return run, fmt.Errorf("idsync: fingerprint: %w", err)
	}
	if mode == Incremental && state.Previous != "" && state.Previous != fp && hasSnapshotDelta(p) {
		return run, fmt.Errorf("%w: the store of %s changed since its previous snapshot was kept (fingerprint %s then, %s now)", ErrStaleSnapshot, model.Name, state.Previous, fp)
	}
	cs, err := Diff(ctx, p, e.store, &DiffOptions{
		Dir: filepath.Join(run.dir, "changes"), MemoryBudget: e.opts.MemoryBudget,
		Fingerprint: fp, Progress: e.opts.Progress,
	})
	if err != nil {
		return run, err
	}
	run.EntityTypes, run.Associations = cs.EntityTypes(), cs.Associations()
	run.ChangeSetHash, run.Fingerprint = cs.Hash(), fp
	if err := e.putRunFiles(ctx, run); err != nil {
		return run, err
	}

	// Thresholds, on the whole change set, before any write.
	res, terr := Policy(model).Evaluate(cs.Counters())
	if res != nil {
		run.Verdicts, run.Warnings = res.Verdicts, res.Warnings
	}
	for _, w := range run.Warnings {
		log.Warn("threshold warning", "warning", w)
	}
	var exceeded *threshold.ExceededError
	if terr != nil && !errors.As(terr, &exceeded) {
		return run, terr
	}
	if !apply {
		if exceeded != nil {
			return run, &BlockedError{RunID: run.ID, Err: exceeded}
		}
		return run, nil
	}
	if exceeded != nil {
		run.State = Blocked
		// In an order that leaves no state to trust wrongly if it stops
		// midway: the run's record, blocked; the run it supersedes,
		// cancelled; then the connector's pointer to its blocked run.
		// A failure on the way fails this run; the blocked run before
		// it, if any, stays the connector's.
		if err := e.state.SaveRun(ctx, run); err != nil {
			run.State = Failed
			return run, err
		}
		if r := e.superseded(ctx, state.BlockedRun, run.ID); r != nil {
			if err := e.state.SaveRun(ctx, r); err != nil {
				run.State = Failed
				return run, err
			}
			e.dropChanges(r)
		}
		if err := e.state.UpdateConnectorState(ctx, model.Name, func(s *ConnectorState) { s.BlockedRun = run.ID }); err != nil {
			run.State = Failed
			return run, err
		}
		log.Warn("run blocked by thresholds", "reason", exceeded.Error())
		return run, &BlockedError{RunID: run.ID, Err: exceeded}
	}
	if err := e.apply(ctx, run, cs, p); err != nil {
		return run, err
	}
	return run, nil
}

// hasSnapshotDelta reports whether a table's delta was computed from the
// previous snapshot.
func hasSnapshotDelta(p *Prepared) bool {
	return slices.ContainsFunc(slices.Concat(p.EntityTypes, p.Associations), func(t *PreparedTable) bool { return t.Snapshot != "" })
}

// superseded returns the blocked run old as cancelled, since the run by
// now replaces it (a person reviews the newer plan, and the older one
// must not be resumed), or nil if old is no blocked run. The caller saves
// it.
func (e *Engine) superseded(ctx context.Context, old, by string) *Run {
	if old == "" || old == by {
		return nil
	}
	r, err := e.loadRun(ctx, old)
	if err != nil || r.State != Blocked {
		return nil
	}
	r.State, r.Ended, r.Error = Cancelled, e.opts.Now().UTC(), "superseded by run "+by
	return r
}

// dropChanges removes the change set of a run that can no longer apply.
func (e *Engine) dropChanges(r *Run) { os.RemoveAll(filepath.Join(r.dir, "changes")) }

// previousDir is the folder of the connector's previous prepared
// snapshots, which state points to, fetched from the artifacts if need be.
func (e *Engine) previousDir(ctx context.Context, name string, state ConnectorState) (string, error) {
	switch {
	case state.Previous == "":
		return "", nil // no snapshot describes the store: none kept, or it could not be trusted
	case state.PreviousSnapshot == "":
		return filepath.Join(e.connDir(name), "previous"), nil // a work folder of an earlier version
	}
	dir := e.snapshotDir(name, state.PreviousSnapshot)
	return dir, e.fetch(ctx, name, state.PreviousSnapshot, dir)
}

// snapshotCursor returns the cursor of a full export: where the changes
// after its snapshot begin (connector.Cursorer), or "" for none.
func snapshotCursor(ext connector.Extraction) string {
	if c, ok := ext.(connector.Cursorer); ok {
		return c.Cursor()
	}
	return ""
}

// apply applies a change set and, on success, records the run as
// succeeded, makes its prepared snapshots the previous ones, and clears
// the connector's blocked run (cancelling a blocked run that the run
// supersedes) and its running run. The snapshots are staged first, in a
// folder of their own, and the state points to them once the run has
// succeeded: with a StateStore, all of this commits in the transaction of
// the changes. If staging the snapshots fails, the run goes on without
// them (the next incremental run then asks for a complete one), with a
// warning.
func (e *Engine) apply(ctx context.Context, run *Run, cs *ChangeSet, p *Prepared) error {
	state, err := e.state.ConnectorState(ctx, run.Connector)
	if err != nil {
		return err
	}
	staged := e.snapshotDir(run.Connector, run.ID)
	prev, err := e.previousDir(ctx, run.Connector, state)
	if err == nil {
		err = promote(ctx, filepath.Join(run.dir, preparedDir), prev, staged, p)
	}
	snapshot := ""
	if err == nil {
		snapshot, err = e.keepSnapshot(ctx, run.Connector, staged)
	}
	if err != nil {
		e.log.Warn("previous snapshot dropped: the next incremental run needs a complete one", "connector", run.Connector, "run", run.ID, "error", err)
		os.RemoveAll(staged)
		snapshot = ""
	}
	// The connector's lock is held: its blocked run stays as read.
	var old *Run
	if run.Mode == Complete || state.BlockedRun == run.ID {
		old = e.superseded(ctx, state.BlockedRun, run.ID)
	}
	success := func(s *ConnectorState, fingerprint string) {
		if run.Mode == Complete || s.BlockedRun == run.ID {
			s.BlockedRun = ""
		}
		if s.Running == run.ID {
			// The run ends here: a process killed once this commits must
			// not leave it named as running.
			s.Running = ""
		}
		if run.Mode == Complete || run.Cursor != "" {
			// A complete run's store holds its snapshot: changes are
			// exported from the snapshot's cursor, or from none.
			s.Cursor = run.Cursor
		}
		s.LastRun, s.Previous, s.PreviousSnapshot = run.ID, fingerprint, snapshot
		if snapshot == "" {
			s.Previous = ""
		}
	}
	total := cs.Len()
	report := func(done int64) {
		if e.opts.Progress != nil {
			e.opts.Progress(Progress{Connector: run.Connector, Step: "apply", Done: done, Total: total})
		}
	}
	report(0)
	cs.read = &readCounter{total: total, report: report} // the store reads the changes as it applies them
	defer func() { cs.read = nil }()
	ended := *run
	ended.State, ended.Ended = Succeeded, e.opts.Now().UTC()
	c := &Commit{Runs: []*Run{&ended}, State: success}
	if old != nil {
		c.Runs = append(c.Runs, old)
	}
	if ss, ok := e.state.(StateStore); ok {
		err = ss.ApplyRun(ctx, cs, c)
	} else {
		err = e.applyThenRecord(ctx, cs, c)
	}
	var unrecorded *UnrecordedError
	if errors.As(err, &unrecorded) {
		run.State, run.Ended = ended.State, ended.Ended
		return err
	}
	if err != nil {
		os.RemoveAll(staged)
		return fmt.Errorf("idsync: apply: %w", err)
	}
	report(total)
	run.State, run.Ended = ended.State, ended.Ended
	if old != nil {
		e.dropChanges(old)
	}
	e.pruneSnapshots(run.Connector, snapshot)
	return nil
}

// A Commit is what a run's success records with its changes: the run
// records to save (the run, succeeded, and a blocked run it supersedes,
// cancelled), and the change of the connector's state, which is given the
// store's fingerprint once the changes are written.
type Commit struct {
	Runs  []*Run
	State func(s *ConnectorState, fingerprint string)
}

// Connector returns the connector whose state the commit changes.
func (c *Commit) Connector() string { return c.Runs[0].Connector }

// applyThenRecord is the success of a run whose state the work folder
// keeps: the changes first, then the state, not atomically. Once the
// changes are in, the run has succeeded: an error recording it is an
// *UnrecordedError.
func (e *Engine) applyThenRecord(ctx context.Context, cs *ChangeSet, c *Commit) error {
	if err := e.store.Apply(ctx, cs); err != nil {
		return err
	}
	wctx := context.WithoutCancel(ctx) // the changes are in: record them
	fp, err := e.store.Fingerprint(wctx, c.Connector())
	if err != nil {
		fp = "" // the previous snapshot cannot be trusted: a complete run is needed
	}
	if err := e.state.UpdateConnectorState(wctx, c.Connector(), func(s *ConnectorState) { c.State(s, fp) }); err != nil {
		return &UnrecordedError{RunID: c.Runs[0].ID, Err: err}
	}
	for _, r := range c.Runs {
		if err := e.state.SaveRun(wctx, r); err != nil {
			return &UnrecordedError{RunID: c.Runs[0].ID, Err: err}
		}
	}
	return nil
}

// UnrecordedError is returned by a run or a resume whose changes were
// applied but whose success could not be recorded in the work folder
// (a full disk, say): the run has succeeded, and its record may still
// say otherwise. The next run of the connector diffs against the store,
// as it stands, and corrects nothing but the record.
type UnrecordedError struct {
	RunID string
	Err   error
}

func (e *UnrecordedError) Error() string {
	return fmt.Sprintf("idsync: run %s applied its changes, but recording its success failed: %v", e.RunID, e.Err)
}

func (e *UnrecordedError) Unwrap() error { return e.Err }

// pruneSnapshots removes the connector's snapshot folders but keep.
func (e *Engine) pruneSnapshots(name, keep string) {
	ents, _ := os.ReadDir(e.snapshotDir(name, ""))
	for _, d := range ents {
		if d.Name() != keep {
			os.RemoveAll(e.snapshotDir(name, d.Name()))
		}
	}
	if keep != "" {
		os.RemoveAll(filepath.Join(e.connDir(name), "previous"))
	}
}

// lockRun takes the lock of a run's connector and reads the run's record
// under it.
func (e *Engine) lockRun(ctx context.Context, runID string) (*Run, func(), error) {
	run, err := e.LoadRun(ctx, runID)
	if err != nil {
		return nil, nil, err
	}
	unlock, err := e.lock(ctx, run.Connector)
	if err != nil {
		return nil, nil, err
	}
	if run, err = e.loadRun(ctx, runID); err != nil { // it may have changed meanwhile
		unlock()
		return nil, nil, err
	}
	return run, unlock, nil
}

// review returns the audit of a person's decision on a run.
func (e *Engine) review(action string, opts *ReviewOptions) *Review {
	r := &Review{Action: action, At: e.opts.Now().UTC()}
	if opts != nil {
		r.Actor, r.Comment = opts.Actor, opts.Comment
	}
	return r
}

// Resume applies a blocked run's change set exactly as it was reviewed,
// if the store has not changed since it was planned; otherwise it returns
// an error matching ErrStalePlan and writes nothing. opts, which may be
// nil, names who resumes it and why, for the run's Review.
func (e *Engine) Resume(ctx context.Context, runID string, opts *ReviewOptions) (*Run, error) {
	run, unlock, err := e.lockRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if run.State != Blocked {
		return run, fmt.Errorf("%w: run %s is %s, only a blocked run can be resumed", ErrRunState, runID, run.State)
	}
	if st, err := e.state.ConnectorState(ctx, run.Connector); err != nil {
		return run, err
	} else if st.BlockedRun != runID {
		// A newer run replaced it, but stopped before it recorded this
		// one as superseded: do so now.
		by := cmp.Or(st.BlockedRun, st.LastRun, "a later run")
		if r := e.superseded(ctx, runID, by); r != nil {
			e.state.SaveRun(ctx, r)
			e.dropChanges(r)
			run = r
		}
		return run, fmt.Errorf("%w: run %s is no longer the blocked run of %s: superseded by run %s", ErrRunState, runID, run.Connector, by)
	}
	cs, err := e.ChangeSet(ctx, run)
	if err != nil {
		return run, err
	}
	if cs.Hash() != run.ChangeSetHash {
		return run, fmt.Errorf("idsync: run %s: change set hash %s differs from the reviewed %s", runID, cs.Hash(), run.ChangeSetHash)
	}
	if err := e.checkStore(ctx, run); err != nil {
		return run, err
	}
	fp, err := e.store.Fingerprint(ctx, run.Connector)
	if err != nil {
		return run, err
	}
	if fp != run.Fingerprint {
		return run, fmt.Errorf("%w (run %s)", ErrStalePlan, runID)
	}
	prepared, err := e.runFiles(ctx, run, preparedDir)
	if err != nil {
		return run, err
	}
	p, err := loadPrepared(prepared, cs.Model())
	if err != nil {
		return run, err
	}
	run.Review = e.review("resume", opts)
	if err := e.apply(ctx, run, cs, p); err != nil {
		var unrecorded *UnrecordedError
		if errors.As(err, &unrecorded) {
			return run, err // applied: the record is what could not be written
		}
		failed := *run
		failed.Review = nil // nothing was applied: the run still waits
		if !errors.Is(err, ErrStalePlan) {
			failed.Error = err.Error()
		}
		e.state.SaveRun(context.WithoutCancel(ctx), &failed)
		return &failed, err
	}
	e.log.Info("run resumed", "connector", run.Connector, "run", run.ID, "actor", run.Review.Actor)
	e.ended(ctx, run)
	return run, nil
}

// Cancel discards a blocked or planned run: its change set is removed and
// the connector is no longer blocked by it. opts, which may be nil, names
// who cancels it and why, for the run's Review.
func (e *Engine) Cancel(ctx context.Context, runID string, opts *ReviewOptions) (*Run, error) {
	run, unlock, err := e.lockRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if run.State != Blocked && run.State != Planned {
		return run, fmt.Errorf("%w: run %s is %s, only a blocked or planned run can be cancelled", ErrRunState, runID, run.State)
	}
	run.State, run.Ended, run.Review = Cancelled, e.opts.Now().UTC(), e.review("cancel", opts)
	if err := e.state.SaveRun(ctx, run); err != nil {
		return run, err
	}
	e.dropChanges(run)
	var keep string
	err = e.state.UpdateConnectorState(context.WithoutCancel(ctx), run.Connector, func(s *ConnectorState) {
		if s.BlockedRun == runID {
			s.BlockedRun = ""
		}
		keep = s.PreviousSnapshot
	})
	if err == nil {
		e.pruneSnapshots(run.Connector, keep) // a snapshot staged by a resume that died
	}
	return run, err
}

// BlockedRun returns the ID of the connector's blocked run, or "".
func (e *Engine) BlockedRun(ctx context.Context, connector string) (string, error) {
	s, err := e.state.ConnectorState(ctx, connector)
	return e.blockedRun(ctx, s), err
}

// ConnectorState returns what the engine keeps of a connector: its
// blocked run, run in progress, cursor, last run, activation.
func (e *Engine) ConnectorState(ctx context.Context, connector string) (ConnectorState, error) {
	return e.state.ConnectorState(ctx, connector)
}

// SetActive activates or deactivates a connector: a deactivated connector
// is skipped by jobs until it is activated again.
func (e *Engine) SetActive(ctx context.Context, connector string, active bool) error {
	return e.state.UpdateConnectorState(ctx, connector, func(s *ConnectorState) { s.Disabled = !active })
}

// Active reports whether a connector is active (not deactivated).
func (e *Engine) Active(ctx context.Context, connector string) (bool, error) {
	s, err := e.state.ConnectorState(ctx, connector)
	return !s.Disabled, err
}

func (e *Engine) progress(conn, step, name string, done int64) {
	if e.opts.Progress != nil {
		e.opts.Progress(Progress{Connector: conn, Step: step, Name: name, Done: done, Total: -1})
	}
}

// Policy returns the threshold policy that a connector's model declares.
func Policy(m *entitytype.Model) *threshold.Policy {
	p := &threshold.Policy{Connector: m.Thresholds, EntityTypes: map[string]threshold.Limits{}, Associations: map[string]threshold.Limits{}}
	for _, t := range m.EntityTypes {
		p.EntityTypes[t.Name] = t.Thresholds
	}
	for _, a := range m.Associations {
		p.Associations[a.Name] = a.Thresholds
	}
	return p
}

// promote writes into the folder to the connector's next previous
// snapshots: a run's prepared snapshots (in from) and, for a key that the
// run protected, its previous record (in prev), as the store keeps its
// resource: a later incremental run then still sees it, and deletes it if
// it disappears. The folder is staged and renamed, so that it is whole or
// absent.
func promote(ctx context.Context, from, prev, to string, p *Prepared) error {
	stage := to + ".new"
	os.RemoveAll(stage)
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return fmt.Errorf("idsync: %w", err)
	}
	for i, t := range slices.Concat(p.EntityTypes, p.Associations) {
		prevFile := previousFile(prev, t.Name)
		out := filepath.Join(stage, t.Name+".prepared")
		if t.Delta && t.Snapshot == "" {
			// A delta the connector exported: the store no longer holds
			// what the previous snapshot of the table says, and this
			// run has no snapshot of it. The table has none until a
			// complete run (an incremental run from a snapshot of it
			// then asks for one, ErrNoPrevious).
			continue
		}
		if snapshotFile(t) == "" {
			// Nothing prepared (the table was left out): the store
			// still holds what the previous snapshot says.
			if prevFile == "" || !fileExists(prevFile) {
				continue
			}
			if err := linkFile(prevFile, out); err != nil {
				return err
			}
			continue
		}
		newFile := filepath.Join(from, snapshotFile(t))
		keep := func(key []byte) bool { return t.protected.has(string(key)) }
		protected := t.protected.len() > 0
		if i >= len(p.EntityTypes) {
			a := p.Model.Associations[i-len(p.EntityTypes)]
			src, tgt := p.table(a.Source.EntityType), p.table(a.Target.EntityType)
			keep = func(pair []byte) bool {
				s, g, _ := bytes.Cut(pair, []byte{0})
				return linkKept(t, src, tgt, string(s), string(g))
			}
			protected = protected || (src != nil && src.protected.len() > 0) || (tgt != nil && tgt.protected.len() > 0)
		}
		var err error
		if protected {
			err = keepProtected(ctx, newFile, prevFile, out, t, keep)
		} else {
			err = linkFile(newFile, out) // nothing to keep: the new snapshot as is
		}
		if err != nil {
			return err
		}
	}
	if err := linkFile(filepath.Join(from, preparedIndex), filepath.Join(stage, preparedIndex)); err != nil {
		return err
	}
	os.RemoveAll(to)
	if err := os.Rename(stage, to); err != nil {
		return fmt.Errorf("idsync: %w", err)
	}
	return nil
}

// keepProtected writes the new snapshot, plus the previous records of the
// keys that keep says are protected and that the new snapshot lacks.
func keepProtected(ctx context.Context, newFile, prevFile, out string, t *PreparedTable, keep func([]byte) bool) error {
	if prevFile == "" || !fileExists(prevFile) {
		return linkFile(newFile, out)
	}
	nw, err := preparedCursor(newFile)
	if err != nil {
		return err
	}
	defer nw.close()
	old, err := preparedCursor(prevFile)
	if err != nil {
		return err
	}
	defer old.close()
	w, err := newPreparedWriter(out, &PreparedTable{Name: t.Name})
	if err != nil {
		return err
	}
	defer w.abort()
	err = merge(ctx, nw, old, nil, func(n, c []byte) error {
		switch {
		case n != nil:
			return w.write(n)
		case keep(rec.Key(c)):
			return w.write(c)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return w.close()
}

// linkFile makes to name the file from: a hard link, since prepared files
// are never written again once complete, or a copy where the file system
// cannot link.
func linkFile(from, to string) error {
	os.Remove(to)
	if os.Link(from, to) == nil {
		return nil
	}
	return copyFile(from, to)
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("idsync: %w", err)
	}
	defer src.Close()
	dst, err := os.Create(to + ".tmp")
	if err != nil {
		return fmt.Errorf("idsync: %w", err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return fmt.Errorf("idsync: %w", err)
	}
	if err := dst.Close(); err != nil {
		return fmt.Errorf("idsync: %w", err)
	}
	return os.Rename(to+".tmp", to)
}

// emptyDir removes what dir holds, leaving it empty.
func emptyDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("idsync: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("idsync: %w", err)
	}
	return nil
}

// warnings passes on the records of WARN level and above only.
type warnings struct{ slog.Handler }

func (w warnings) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.Handler.Enabled(ctx, l)
}

func (w warnings) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnings{w.Handler.WithAttrs(attrs)}
}

func (w warnings) WithGroup(name string) slog.Handler { return warnings{w.Handler.WithGroup(name)} }

// blockedRun returns the connector's blocked run: the one its state names,
// if that run's record says it is blocked (a run stopped midway may have
// left the state naming one that is not), or "".
func (e *Engine) blockedRun(ctx context.Context, state ConnectorState) string {
	if state.BlockedRun == "" {
		return ""
	}
	if r, err := e.loadRun(ctx, state.BlockedRun); err == nil && r.State != Blocked {
		return ""
	}
	return state.BlockedRun
}
