// Package sync is idsync's synchronization engine: it prepares the
// extraction files that connectors export, diffs them by key against what
// the host's [Store] holds, guards the change with thresholds, and applies
// it atomically, or blocks it for a person to review and resume.
//
// The package's name clashes with the standard library's; import it as
// idsync:
//
//	import idsync "github.com/idsync/idsync/sync"
//
//	engine := idsync.New(store, &idsync.Options{WorkDir: "work"})
//	run, err := engine.Run(ctx, conn, nil)
//	if errors.Is(err, idsync.ErrBlocked) {
//		// review run.EntityTypes, run.Verdicts, run.ChangeSet() ...
//		run, err = engine.Resume(ctx, run.ID)
//	}
//
// A run goes through these steps, each callable alone:
//
//  1. Export: the connector takes a snapshot of its managed system, or of
//     its changes ([connector.Connector.Export],
//     [connector.ChangeExporter.ExportChanges]).
//  2. Prepare ([Prepare]): map columns by header name, convert values to
//     their canonical form, compute expression properties (the product's
//     "update expressions" step: expressions are compiled once per entity
//     type and computed as each row is read), reject null and duplicate
//     keys, unconvertible values and dangling references into the error
//     report, and sort by key.
//  3. Diff ([Diff]): compare the prepared data with what the store holds,
//     by key, into a [ChangeSet] of inserts, updates (property by
//     property, old → new) and deletes of resources, and inserts and
//     deletes of links.
//  4. Thresholds ([Policy] and threshold.Policy.Evaluate), on the whole
//     change set.
//  5. Apply ([Store.Apply]), all or nothing; or block, for [Engine.Resume]
//     or [Engine.Cancel].
//
// [Engine.Plan] is the dry run; [Engine.RunJob] runs several connectors;
// [DiffExtractions] compares two extractions without a store. Progress
// events ([Progress]) and logs (Options.Logger; quiet by default) let a
// host show what a run does.
//
// # Guarantees
//
//   - A row that Prepare rejects for any reason but a null key (duplicate
//     key, a value that does not convert, a dangling reference, an unknown
//     command) is reported in the error report with its key, and that key
//     is protected: the stored resource and its links are neither updated
//     nor deleted by the run.
//   - Whether a table is a delta is said by the extraction
//     ([connector.DeltaTable]), never by the model. A complete run refuses
//     a delta ([ErrDeltaInComplete]); a delta never deletes by absence. An
//     incremental run of a snapshot, diffed against the previous prepared
//     snapshot, leaves the store as a complete run of it would.
//   - A snapshot table (entity type or association) with no row is refused,
//     in complete mode and in incremental mode from the previous snapshot,
//     unless RunOptions.AllowEmpty is set.
//   - A mapped column missing from a header stops that table: the run fails
//     before any write.
//   - Thresholds are evaluated on the whole change set before the first
//     write; a blocked run keeps its change set, hashed, for review.
//   - Apply is atomic (see Store.Apply) and checks the store's fingerprint,
//     which includes the store's identity, so a reviewed plan is applied
//     exactly, into the store it was planned against, or not at all if
//     that store changed since (ErrStalePlan).
//   - Runs of one connector never overlap, across processes ([ErrBusy]);
//     a run is recorded from its start, and one whose process died is
//     shown as failed (interrupted).
//
// # Where the state lives
//
// Run records and connector states live in the store if it is a
// [StateStore] (memstore and sqlstore are): every engine on that store
// shares them, whatever its work folder, and a run's success (its record,
// the cursor, the previous-snapshot pointer, the blocked state cleared, a
// superseded run cancelled) commits in the transaction of its changes.
// Otherwise, or with Options.StateInWorkDir, they live in the work folder
// (run.json, state.json below), written just after Apply. Runs are pruned
// as they end ([Engine.Prune]).
//
// # Work folder
//
//	runs/<id>/run.json           the run record, written when the run starts (work-folder state)
//	runs/<id>/export/            files the connector exported
//	runs/<id>/prepared/          prepared snapshots, errors.csv, errors.jsonl, summary.json
//	runs/<id>/changes/           the change set (changeset.json and one file per table)
//	connectors/<name>/state.json blocked run, run in progress, incremental cursor, activation
//	connectors/<name>/run.lock   held by the run in progress (flock)
//	connectors/<name>/snapshots/<run>/  prepared snapshots of the last applied run
package sync
