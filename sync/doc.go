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
// A run goes through the steps of DESIGN.md, each callable alone:
// [connector.Connector.Export], [Prepare], [Diff], threshold evaluation
// ([Policy]) and [Store.Apply]. The "update expressions" step of the
// product is part of Prepare: expression properties are computed from
// each row as it is read, with expressions compiled once per entity type.
// [Engine.Plan] is the dry run; [Engine.RunJob] runs several connectors;
// [DiffExtractions] compares two extractions without a store.
//
// # Guarantees
//
//   - A row that Prepare rejects (null or duplicate key, a value that does
//     not convert, a dangling reference) is reported in the error report and
//     its key is protected: the stored resource and its links are neither
//     updated nor deleted by the run.
//   - A snapshot table (entity type or association) with no row is refused,
//     in complete mode and in incremental mode from the previous snapshot,
//     unless RunOptions.AllowEmpty is set.
//   - A mapped column missing from a header stops that table: the run fails
//     before any write.
//   - Thresholds are evaluated on the whole change set before the first
//     write; a blocked run keeps its change set, hashed, for review.
//   - Apply is atomic (see Store.Apply) and checks the store's fingerprint,
//     so a reviewed plan is applied exactly, or not at all if the store
//     changed since (ErrStalePlan).
//
// # Work folder
//
//	runs/<id>/run.json           the run record
//	runs/<id>/export/            files the connector exported
//	runs/<id>/prepared/          prepared snapshots, errors.csv, errors.jsonl, summary.json
//	runs/<id>/changes/           the change set (changeset.json and one file per table)
//	connectors/<name>/state.json blocked run, incremental cursor, activation
//	connectors/<name>/previous/  prepared snapshots of the last applied run
package sync
