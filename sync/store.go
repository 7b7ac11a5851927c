package sync

import (
	"context"
	"errors"
	"iter"

	"github.com/idsync/idsync/entitytype"
)

// Store is the host's repository of resources and links: the part of an
// identity-management product that idsync synchronizes into. A host
// implements it on its own database; memstore and sqlstore are reference
// implementations, and storetest is the conformance kit every Store runs.
//
// Resources are identified by entity type and key and hold canonical
// property values by property name (see package entitytype). Links are
// (source key, target key) pairs of an association. A Store may hold
// properties that no mapping covers; the engine never reads or changes them.
//
// Optional interfaces add abilities; each is documented with the engine's
// fallback: [SortedScanner] (else the engine sorts what it scans, spilling
// to disk above its memory budget), [Locker] (else a lock per work folder
// within the process), [Identifier] (else a run records no store
// identity, and a plan resumed on another store is refused by the
// fingerprint check alone, with a less precise message).
type Store interface {
	// Resources streams the stored resources of entity type t, in any
	// order. Each Record's Values hold the canonical values of
	// t.Properties, in that order ("" for null or never set).
	Resources(ctx context.Context, t *entitytype.EntityType) iter.Seq2[Record, error]

	// Links streams the stored links of association a, in any order.
	Links(ctx context.Context, a *entitytype.Association) iter.Seq2[Link, error]

	// Fingerprint returns the version of the connector's stored state: it
	// changes with every Apply of that connector, and only then.
	//
	// It includes the store's identity: every store has one, created once
	// with the store and kept inside it (a row of its database, a field
	// set when it is made), so that the store reopened by another process
	// has the same one and no other store ever has it. Two stores never
	// give a connector the same fingerprint, also when neither holds
	// anything of it: a plan made against one store can never apply to
	// another. A fingerprint that is a bare counter ("0" for a connector
	// never applied) breaks this clause.
	Fingerprint(ctx context.Context, connector string) (string, error)

	// Apply applies the whole change set atomically: after it returns, the
	// store holds either all of the changes or none of them, also when it
	// returns an error, when ctx is cancelled, or when the process dies
	// during the call. It applies only if the connector's fingerprint
	// still equals cs.Fingerprint(), checked atomically with the writes,
	// and returns an error matching [ErrStalePlan] otherwise. A successful
	// Apply changes the fingerprint.
	//
	// An update sets only the properties its change lists; an insert of a
	// key already stored, or a delete of a key not stored, is an error
	// (the plan is stale).
	Apply(ctx context.Context, cs *ChangeSet) error
}

// SortedScanner is implemented by stores that can stream their state sorted
// by key, bytewise (an index scan with binary collation, for example). The
// engine then merges the stored state with the prepared data directly;
// without it, the engine sorts what Resources and Links return.
type SortedScanner interface {
	// SortedResources is Resources in ascending bytewise order of Key.
	SortedResources(ctx context.Context, t *entitytype.EntityType) iter.Seq2[Record, error]
	// SortedLinks is Links in ascending bytewise order of (Source, Target).
	SortedLinks(ctx context.Context, a *entitytype.Association) iter.Seq2[Link, error]
}

// Locker is implemented by stores that can hold a per-connector lock across
// processes (an advisory lock, a lock row). The engine holds it for a whole
// run, so that two runs of one connector never overlap. Without it, the
// engine uses a lock per work folder within its own process only: engines
// of one process sharing a work folder exclude each other; other processes,
// or engines with other work folders, are not excluded (the store's
// fingerprint check still refuses a stale apply).
type Locker interface {
	// Lock takes the connector's lock without waiting; it returns an error
	// matching [ErrBusy] if another run holds it.
	Lock(ctx context.Context, connector string) (unlock func(), err error)
}

// Identifier is implemented by stores that can tell their identity apart
// from fingerprints: the engine records it in each run (Run.StoreID), and
// Resume refuses a run planned against another store with a
// *StoreMismatchError naming both stores. Without it, a run records no
// identity, and such a resume is refused by the fingerprint check alone
// (the fingerprint includes the identity), as a plain stale plan.
type Identifier interface {
	// Identity returns the store's identity: the one its fingerprints
	// include, created once with the store and kept inside it, the same
	// for the store reopened, never the same for two stores.
	Identity(ctx context.Context) (string, error)
}

// Record is a stored or prepared resource: its key and its canonical
// property values in the entity type's property order.
type Record struct {
	Key    string
	Values []string
}

// Link is a stored or prepared link of an association.
type Link struct {
	Source, Target string
}

var (
	// ErrStalePlan means the store changed since the change set was
	// planned: nothing was written, and a new plan must be made.
	ErrStalePlan = errors.New("idsync: stale plan: the store changed since it was planned")
	// ErrBusy means another run of the connector is in progress.
	ErrBusy = errors.New("idsync: connector busy: another run is in progress")
	// ErrBlocked means a threshold stopped the run before any write; the
	// error also unwraps to *threshold.ExceededError.
	ErrBlocked = errors.New("idsync: blocked by thresholds")
	// ErrConnectorBlocked refuses an incremental run of a connector that
	// has a blocked run: resume or cancel it, or run in complete mode.
	ErrConnectorBlocked = errors.New("idsync: connector has a blocked run")
	// ErrEmptyExtraction refuses a run with a snapshot table (entity type
	// or association) that has no row, unless RunOptions.AllowEmpty is set:
	// a blank file must not erase a system.
	ErrEmptyExtraction = errors.New("idsync: empty extraction")
	// ErrDeltaInComplete refuses a table of changes (a
	// connector.DeltaTable) in a complete run, which needs the whole truth:
	// a delta would delete, by its absence, all it does not mention.
	ErrDeltaInComplete = errors.New("idsync: a delta cannot be synchronized in complete mode")
	// ErrNoPrevious means an incremental run found no previous prepared
	// snapshot to diff against: run in complete mode first.
	ErrNoPrevious = errors.New("idsync: no previous snapshot: run in complete mode first")
	// ErrStaleSnapshot means an incremental run found a previous snapshot
	// that no longer describes the store (it changed since, outside the
	// engine, or an apply's snapshot was lost): run in complete mode.
	ErrStaleSnapshot = errors.New("idsync: the previous snapshot no longer describes the store: run in complete mode first")
	// ErrRunState means a run is not in a state that allows the operation
	// (resuming a run that is not blocked, for example).
	ErrRunState = errors.New("idsync: run is not in a state that allows this")
	// ErrNotFound means a run ID names no run.
	ErrNotFound = errors.New("idsync: run not found")
)
