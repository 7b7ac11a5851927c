// Package storetest is the conformance kit of [idsync.Store]: every host
// store runs it, as every gocloud.dev/blob driver runs drivertest. The kit
// drives the store the real way, through an [idsync.Engine] synchronizing
// in-memory connectors (memconn), and checks each clause of the contract
// in a subtest named after it:
//
//   - ApplyInsertsUpdatesDeletes: resources and links round-trip through
//     runs that insert, update and delete them; values come back in the
//     property order of the EntityType given to Resources; composite keys,
//     unicode, nulls, long values, quotes, commas and newlines survive.
//   - UnmappedPropertiesSurvive: a mapping that covers fewer properties
//     reads and writes only those; the store keeps the others. Resources
//     returns the properties of the EntityType it is given, in its order,
//     also none for an EntityType holding only a name.
//   - ApplyIsAtomic: a failure injected after the first write, in the
//     middle or on the last write (InjectedFailure), a change set that
//     cannot be read to its end (UnreadableChangeSet), a context cancelled
//     before Apply (CancelledContext), at each point where Apply looks at
//     it (CancelledMidApply), or by a deadline (Deadline) each make Apply
//     fail and leave the whole store and its fingerprint as they were (or,
//     for a cancellation, make it succeed and apply everything); a normal
//     run then applies everything.
//   - FingerprintChangesOnEveryWriteOnly: reads, scans and plans leave the
//     fingerprint alone; every successful Apply of the connector changes
//     it to a value never seen before; a failed or stale Apply does not.
//   - FingerprintIsPerStore: two fresh stores never give a connector the
//     same fingerprint (it includes the store's identity), and a plan
//     made against one is refused by the other with an error matching
//     [idsync.ErrStalePlan], through Store.Apply and Engine.Resume (a
//     [*idsync.StoreMismatchError] for an [idsync.Identifier]); with a
//     [Reopener] harness, a reopened store gives the same fingerprints and
//     identity, and applies the plans made before it was reopened.
//   - StalePlanIsRefused: a plan made before the store changed is refused
//     with an error matching [idsync.ErrStalePlan], through Engine.Resume
//     and through Store.Apply, and writes nothing; of concurrent Applies of
//     one plan exactly one succeeds.
//   - ConflictingChangeIsRefused: an insert of a stored key, an update or a
//     delete of a key not stored (written by another connector that
//     shares the entity type) fails the whole Apply with an error
//     matching [idsync.ErrStalePlan], and writes nothing.
//   - SortedScansAreSorted (stores implementing [idsync.SortedScanner]):
//     keys ascend bytewise, not by a collation, and links by (source,
//     target).
//   - CountsOrderIndependent: Resources and Links return every resource
//     and link exactly once, whatever their order.
//   - ScansCanStopEarly: a consumer that stops a scan early leaves the
//     store usable.
//   - ConcurrentRunOfConnectorRefused: two runs of one connector never
//     overlap; with an [idsync.Locker], not even across engines.
//   - ParallelConnectors: runs of different connectors proceed in parallel.
//   - StateIsKept (stores implementing [idsync.StateStore]): run records
//     round-trip and list newest first, by connector, state, time range
//     and page; concurrent changes of a connector's state are all kept;
//     a run's success commits with its changes (the record succeeded,
//     the state's LastRun and Previous set), seen by engines of other
//     work folders; an Apply that fails records no success.
//
// A host runs the kit from a test of its own package:
//
//	type harness struct{ db *sql.DB }
//
//	func (h harness) NewStore(t *testing.T) idsync.Store {
//		return mystore.New(h.db, mystore.Schema(t.Name())) // new and empty
//	}
//
//	func (harness) FailAfter(s idsync.Store, n int) bool { return false }
//
//	func TestMyStore(t *testing.T) {
//		storetest.Run(t, harness{db: openTestDB(t)})
//	}
//
// A harness that can reopen a store (close it and open it again on the
// same data) implements [Reopener] too.
//
// The kit synchronizes the connectors and entity types of [Models]; a host
// whose store needs its schema declared in advance creates it from them.
// Run it with -race: several clauses are concurrent.
package storetest

import (
	"testing"

	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
)

// Harness creates the stores that the kit checks.
type Harness interface {
	// NewStore returns a new, empty store: a store of its own, not
	// another handle on one returned before. The kit calls it once per
	// subtest, twice in FingerprintIsPerStore; a store holding anything
	// at first fails the kit.
	NewStore(t *testing.T) idsync.Store

	// FailAfter arms s, a store that NewStore returned, so that its Apply
	// fails once it has made n writes (n >= 1), before its (n+1)th; a
	// write is one change of a resource or of a link, so the change set's
	// Len() writes in all. FailAfter(s, 0) disarms it. The kit disarms
	// every store it armed before it applies anything else, so a
	// harness may arm the next Apply only, or every Apply until disarmed.
	//
	// A harness whose store cannot inject faults returns false: the kit
	// then checks atomicity with unreadable change sets and context
	// cancellation only, and says so with t.Log.
	FailAfter(s idsync.Store, n int) bool
}

// clauses are the kit's clauses, in the order Run runs them.
var clauses = []struct {
	name string
	fn   func(*testing.T, Harness)
}{
	{"ApplyInsertsUpdatesDeletes", testApplyInsertsUpdatesDeletes},
	{"UnmappedPropertiesSurvive", testUnmappedPropertiesSurvive},
	{"ApplyIsAtomic", testApplyIsAtomic},
	{"FingerprintChangesOnEveryWriteOnly", testFingerprintChangesOnEveryWriteOnly},
	{"FingerprintIsPerStore", testFingerprintIsPerStore},
	{"StalePlanIsRefused", testStalePlanIsRefused},
	{"ConflictingChangeIsRefused", testConflictingChangeIsRefused},
	{"SortedScansAreSorted", testSortedScansAreSorted},
	{"CountsOrderIndependent", testCountsOrderIndependent},
	{"ScansCanStopEarly", testScansCanStopEarly},
	{"ConcurrentRunOfConnectorRefused", testConcurrentRunOfConnectorRefused},
	{"ParallelConnectors", testParallelConnectors},
	{"StateIsKept", testStateIsKept},
}

// Clauses returns the names of the kit's clauses, in the order Run runs
// them: each is the name of a subtest, and of an item of the package doc.
func Clauses() []string {
	names := make([]string, len(clauses))
	for i, c := range clauses {
		names[i] = c.name
	}
	return names
}

// Run runs every clause of the Store contract as a subtest of t, each on
// a store of its own from h.NewStore.
func Run(t *testing.T, h Harness) {
	t.Helper()
	for _, c := range clauses {
		t.Run(c.name, func(t *testing.T) { c.fn(t, h) })
	}
}

// Models returns the models of the connectors that the kit synchronizes,
// with all thresholds off. Their entity type and association names begin
// with the connector's name ("KitA_User"), except that connector KitX
// writes KitS_Key too. Some clauses also use models that map a subset of a
// model's properties, or that turn a threshold on.
func Models() []*entitytype.Model {
	return []*entitytype.Model{modelA(), modelB(), modelS(), modelX()}
}
