package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/idsync/idsync/internal/flock"
)

// ConnectorState is what the engine keeps of a connector between runs.
type ConnectorState struct {
	// BlockedRun is the run that waits for review, or "".
	BlockedRun string `json:"blockedRun,omitempty"`
	// Running is the run in progress. Found set by the next run, which
	// holds the connector's lock, it names a run whose process died.
	Running string `json:"running,omitempty"`
	// Cursor is the incremental export cursor of the last successful run.
	Cursor string `json:"cursor,omitempty"`
	// LastRun is the last run that succeeded.
	LastRun string `json:"lastRun,omitempty"`
	// PreviousSnapshot names the folder of the previous prepared
	// snapshots (the ID of the run that made them), and Previous is the
	// store's fingerprint they describe: if the store has another, they
	// no longer describe it.
	PreviousSnapshot string `json:"previousSnapshot,omitempty"`
	Previous         string `json:"previous,omitempty"`
	// Disabled leaves the connector out of jobs (Engine.SetActive).
	Disabled bool `json:"disabled,omitempty"`
}

// RunQuery selects run records for [StateKeeper.Runs]; its zero value
// selects every run.
type RunQuery struct {
	// Connector, when set, selects the runs of that connector.
	Connector string
	// States, when not empty, selects the runs in one of these states.
	States []State
	// Since and Until, when set, select the runs started at or after
	// Since and before Until.
	Since, Until time.Time
	// Before, when set, selects the runs that come after the run with
	// this ID in the newest-first order: the next page after it.
	Before string
	// Limit, when above 0, is the most runs returned.
	Limit int
}

// Matches reports whether r is selected by q's connector, states and
// times (Before and Limit aside).
func (q *RunQuery) Matches(r *Run) bool {
	return (q.Connector == "" || r.Connector == q.Connector) &&
		(len(q.States) == 0 || slices.Contains(q.States, r.State)) &&
		(q.Since.IsZero() || !r.Started.Before(q.Since)) &&
		(q.Until.IsZero() || r.Started.Before(q.Until))
}

// newestFirst orders runs newest first: by start time, then by ID.
func newestFirst(a, b *Run) int {
	if c := b.Started.Compare(a.Started); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

// Select returns the runs that q selects, newest first (by start time,
// then by ID), for a StateKeeper that filters in memory.
func (q *RunQuery) Select(runs []*Run) []*Run {
	runs = slices.Clone(runs)
	slices.SortFunc(runs, newestFirst)
	return q.page(runs)
}

// page returns the runs of a newest-first list that q selects.
func (q *RunQuery) page(runs []*Run) []*Run {
	out := runs[:0:0]
	skipping := q.Before != ""
	for _, r := range runs {
		if skipping {
			skipping = r.ID != q.Before
			continue
		}
		if q.Matches(r) {
			out = append(out, r)
			if q.Limit > 0 && len(out) == q.Limit {
				break
			}
		}
	}
	return out
}

// A StateKeeper keeps the engine's state: run records and the state of
// each connector. Its methods are safe for concurrent use, also by several
// processes sharing it.
type StateKeeper interface {
	// SaveRun creates or replaces the record of a run.
	SaveRun(ctx context.Context, r *Run) error
	// LoadRun returns the record of a run, or an error matching
	// ErrNotFound.
	LoadRun(ctx context.Context, id string) (*Run, error)
	// Runs returns the records that q selects, newest first.
	Runs(ctx context.Context, q RunQuery) ([]*Run, error)
	// DeleteRun deletes the record of a run; deleting a run that has no
	// record is not an error.
	DeleteRun(ctx context.Context, id string) error
	// ConnectorState returns a connector's state, zero for a connector
	// the engine never ran.
	ConnectorState(ctx context.Context, name string) (ConnectorState, error)
	// UpdateConnectorState changes a connector's state atomically: it
	// reads it, lets change modify it, and writes it back, so that a
	// change made meanwhile by another engine is not lost.
	UpdateConnectorState(ctx context.Context, name string, change func(*ConnectorState)) error
}

// A StateStore is a Store that keeps the engine's state itself, in its own
// database: every engine on the store shares the run records and the
// connectors' states, whatever its work folder, and a run's success
// commits in the same transaction as its changes. Without it, the engine
// keeps its state in its work folder (see [Options.WorkDir]), and writes a
// run's success just after Apply returns.
type StateStore interface {
	Store
	StateKeeper
	// ApplyRun applies cs as Apply does and, in the same transaction,
	// saves c's run records and changes the connector's state with
	// c.State, given the fingerprint the store has once the changes are
	// written: after it returns, the store holds all of that or none of
	// it, also if the process dies meanwhile.
	ApplyRun(ctx context.Context, cs *ChangeSet, c *Commit) error
}

// folderState keeps the engine's state in a work folder: a run.json per
// run, a state.json per connector, each changed under a lock file.
type folderState struct{ dir string }

func (f folderState) runDir(id string) string { return filepath.Join(f.dir, "runs", id) }

func (f folderState) connDir(name string) string { return filepath.Join(f.dir, "connectors", name) }

func (f folderState) SaveRun(ctx context.Context, r *Run) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("idsync: %w", err)
	}
	if err := os.MkdirAll(f.runDir(r.ID), 0o755); err != nil {
		return fmt.Errorf("idsync: %w", err)
	}
	return writeFileAtomic(filepath.Join(f.runDir(r.ID), "run.json"), b)
}

func (f folderState) LoadRun(ctx context.Context, id string) (*Run, error) {
	if id == "" || strings.ContainsAny(id, `/\`) || id == "." || id == ".." {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	b, err := os.ReadFile(filepath.Join(f.runDir(id), "run.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s (no run.json in %s)", ErrNotFound, id, f.runDir(id))
	}
	if err != nil {
		return nil, fmt.Errorf("idsync: %w", err)
	}
	r := &Run{}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("idsync: run %s: %w", id, err)
	}
	return r, nil
}

func (f folderState) Runs(ctx context.Context, q RunQuery) ([]*Run, error) {
	ents, err := os.ReadDir(filepath.Join(f.dir, "runs"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("idsync: %w", err)
	}
	var runs []*Run
	for _, d := range ents {
		if r, err := f.LoadRun(ctx, d.Name()); err == nil {
			runs = append(runs, r)
		}
	}
	return q.Select(runs), nil
}

func (f folderState) ConnectorState(ctx context.Context, name string) (ConnectorState, error) {
	var s ConnectorState
	if err := checkName(name); err != nil {
		return s, err
	}
	b, err := os.ReadFile(filepath.Join(f.connDir(name), "state.json"))
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("idsync: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("idsync: %s state: %w", name, err)
	}
	return s, nil
}

func (f folderState) UpdateConnectorState(ctx context.Context, name string, change func(*ConnectorState)) error {
	if err := checkName(name); err != nil {
		return err
	}
	unlock, err := flock.Lock(filepath.Join(f.connDir(name), "state.lock"), "")
	if err != nil {
		return fmt.Errorf("idsync: %w", err)
	}
	defer unlock()
	s, err := f.ConnectorState(ctx, name)
	if err != nil {
		return err
	}
	change(&s)
	b, _ := json.MarshalIndent(s, "", "  ")
	return writeFileAtomic(filepath.Join(f.connDir(name), "state.json"), b)
}

func (f folderState) DeleteRun(ctx context.Context, id string) error {
	if _, err := f.LoadRun(ctx, id); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	if err := os.RemoveAll(f.runDir(id)); err != nil {
		return fmt.Errorf("idsync: %w", err)
	}
	return nil
}
