package sync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// A run's files: its prepared data with the error report ("prepared") and
// its change set ("changes"), in the run's folder of the work directory.
// With Options.Artifacts, each is also kept as a content-addressed folder
// of the artifact store (PutDir), named in the run's record by PreparedRef
// and ChangesRef, before the record refers to it; an engine that lacks
// the local copy (another instance, a work folder cleared) fetches it,
// checking every hash, into its own run folder. The previous snapshots of
// a connector are kept so too, their ref in ConnectorState.PreviousSnapshot.

const (
	preparedDir = "prepared"
	changesDir  = "changes"
)

// artifactPrefix is the prefix of a connector's artifacts.
func artifactPrefix(connector string) string { return "connectors/" + connector }

// putRunFiles stores a run's prepared data and change set as artifacts.
func (e *Engine) putRunFiles(ctx context.Context, run *Run) error {
	if e.opts.Artifacts == nil {
		return nil
	}
	var err error
	if run.PreparedRef, err = PutDir(ctx, e.opts.Artifacts, artifactPrefix(run.Connector), filepath.Join(run.dir, preparedDir)); err != nil {
		return fmt.Errorf("idsync: keep the prepared data of run %s: %w", run.ID, err)
	}
	if run.ChangesRef, err = PutDir(ctx, e.opts.Artifacts, artifactPrefix(run.Connector), filepath.Join(run.dir, changesDir)); err != nil {
		return fmt.Errorf("idsync: keep the change set of run %s: %w", run.ID, err)
	}
	return nil
}

// runFiles returns the folder of one of a run's files (preparedDir or
// changesDir), fetching it from the artifacts if the run's folder lacks
// it.
func (e *Engine) runFiles(ctx context.Context, run *Run, name string) (string, error) {
	dir := filepath.Join(run.dir, name)
	ref := run.PreparedRef
	if name == changesDir {
		ref = run.ChangesRef
	}
	if err := e.fetch(ctx, run.Connector, ref, dir); err != nil {
		return dir, err
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) && ref == "" {
		what := map[string]string{preparedDir: "prepared data and error report", changesDir: "change set"}[name]
		return dir, fmt.Errorf("idsync: run %s: its %s is not in %s: it was planned in another work folder, and no artifact store (Options.Artifacts) keeps it", run.ID, what, run.dir)
	} else if errors.Is(err, os.ErrNotExist) && e.opts.Artifacts == nil {
		what := map[string]string{preparedDir: "prepared data and error report", changesDir: "change set"}[name]
		return dir, fmt.Errorf("idsync: run %s: its %s is not in %s: it is in the artifact store where it was planned (give that one: Options.Artifacts)", run.ID, what, run.dir)
	}
	return dir, nil
}

// fetch makes dir hold the artifact folder ref of a connector, unless it
// exists already (or there is no artifact to fetch).
func (e *Engine) fetch(ctx context.Context, connector, ref, dir string) error {
	if _, err := os.Stat(dir); err == nil || e.opts.Artifacts == nil || ref == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("idsync: %w", err)
	}
	if err := GetDir(ctx, e.opts.Artifacts, artifactPrefix(connector), ref, dir); err != nil {
		return fmt.Errorf("idsync: fetch %s of %s: %w", ref, connector, err)
	}
	return nil
}

// ChangeSet opens a run's change set, from the run's folder or, with
// Options.Artifacts, from the artifact store (into the run's folder).
func (e *Engine) ChangeSet(ctx context.Context, run *Run) (*ChangeSet, error) {
	dir, err := e.runFiles(ctx, run, changesDir)
	if err != nil {
		return nil, err
	}
	return OpenChangeSet(dir)
}

// ErrorReport returns the folder of a run's error report (ReportCSV,
// ReportJSONL and ReportSummary), from the run's folder or, with
// Options.Artifacts, fetched from the artifact store.
func (e *Engine) ErrorReport(ctx context.Context, run *Run) (string, error) {
	return e.runFiles(ctx, run, preparedDir)
}

// keepSnapshot stores the staged previous snapshots of a connector as an
// artifact and names the local copy after it: it returns the name that
// ConnectorState.PreviousSnapshot records (the staged folder's name
// without artifacts).
func (e *Engine) keepSnapshot(ctx context.Context, connector, staged string) (string, error) {
	if e.opts.Artifacts == nil {
		return filepath.Base(staged), nil
	}
	ref, err := PutDir(ctx, e.opts.Artifacts, artifactPrefix(connector), staged)
	if err != nil {
		return "", err
	}
	named := filepath.Join(filepath.Dir(staged), ref)
	os.RemoveAll(named)
	if err := os.Rename(staged, named); err != nil {
		return "", fmt.Errorf("idsync: %w", err)
	}
	return ref, nil
}

// pruneArtifacts deletes the artifacts of a connector that neither a run
// record nor its state refers to any longer. The caller holds the
// connector's lock, so that no PutDir of the connector is under way.
//
// Only an engine whose store keeps the state prunes them: an engine that
// keeps its state in its work folder knows the runs of that folder only,
// while other engines may share the artifact store.
func (e *Engine) pruneArtifacts(ctx context.Context, connector string) error {
	if _, shared := e.state.(StateStore); e.opts.Artifacts == nil || !shared {
		return nil
	}
	runs, err := e.state.Runs(ctx, RunQuery{Connector: connector})
	if err != nil {
		return err
	}
	state, err := e.state.ConnectorState(ctx, connector)
	if err != nil {
		return err
	}
	var keep []string
	for _, r := range runs {
		for _, ref := range []string{r.PreparedRef, r.ChangesRef} {
			if ref != "" {
				keep = append(keep, ref)
			}
		}
	}
	if state.PreviousSnapshot != "" && state.Previous != "" {
		keep = append(keep, state.PreviousSnapshot)
	}
	_, err = PruneDirs(ctx, e.opts.Artifacts, artifactPrefix(connector), keep)
	if errors.Is(err, ErrArtifactNotFound) || errors.Is(err, ErrArtifactCorrupt) {
		e.log.Warn("artifacts not pruned: a kept one is missing or corrupt", "connector", connector, "error", err)
		return nil
	}
	return err
}
