// Package connectortest is the conformance kit of [connector.Connector]:
// every connector runs it, as every gocloud.dev/blob driver runs
// drivertest. The kit brings its own data model (users, groups, a members
// association and a managers association with no rows at first) and data
// full of values that break naive code: commas, quotes, newlines and tabs
// inside fields, leading and trailing spaces, unicode, empty cells, a
// 100 KiB value, text that looks like a number or a formula. A [Harness] stores that data in the connector's
// managed system (files in a folder, a workbook, a fake API) and returns a
// connector over it; the kit exports it and checks each clause of the
// contract in a subtest named after it:
//
//   - ExportsEveryTable: Open of every entity type and association
//     returns a table whose Header holds the given columns, in their
//     order (other columns may come between); its rows read back exactly,
//     in any order, with one value per header column; then Read returns
//     io.EOF, and io.EOF again.
//   - LinesIncrease: Line is greater than the header's line (1) and
//     strictly increasing over the rows (a CSV field holding newlines makes
//     the next row's line jump), or always 0 for tables without lines.
//   - UnknownTableNotExported: Open of a name that is neither an entity
//     type nor an association fails with an error matching
//     [connector.ErrNotExported] and naming it.
//   - OpenTwiceIndependent: two readers of one table read independently,
//     interleaved; a row returned by one is not overwritten by the other;
//     closing one leaves the other and the extraction usable.
//   - ConcurrentOpens: tables are opened and read from several goroutines
//     at once, as the engine does (run the kit with -race).
//   - ExportIsSnapshot (harnesses implementing [Mutator]): after the
//     managed system changes, an extraction exported before, and a reader
//     opened before, still read the old data; a new export reads the new.
//   - ExportIntoEmptyDir: Export is given a new empty folder; exporting
//     and reading do not change the managed system (a second export into
//     another folder reads the same data), and an extraction does not
//     depend on another export's folder.
//   - CancelledContext: Export with a cancelled context either fails with
//     an error matching context.Canceled or succeeds; Open with a
//     cancelled context, or one past its deadline, fails with an error
//     matching context.Canceled (context.DeadlineExceeded).
//   - CloseIdempotent: Close succeeds before, during and after reading;
//     a second Close does not panic; closing leaves the extraction usable.
//   - ReadBytesAsRead (tables implementing [connector.BytesTable]):
//     ReadBytes, called in turn with Read, returns the rows and lines that
//     Read returns.
//   - SyncEndToEnd: the real engine synchronizes the connector into a
//     memstore, with thresholds off: the run succeeds, rejects no row, and
//     the store then holds exactly the canonical data, which a second run
//     leaves unchanged.
//   - ChangesExportCommands (connectors implementing
//     [connector.ChangeExporter], harnesses implementing [ChangeSetter]):
//     ExportChanges returns the changes as connector.DeltaTables, with
//     their command column (of any name), and a cursor; called with that cursor, it
//     returns no change; through the engine, an incremental run after a
//     complete one applies exactly the changes.
//   - BothModesOneModel (the same connectors and harnesses): one
//     connector with one model serves complete and incremental runs: a
//     complete run, an incremental run before any change (no change, or
//     connector.ErrNoChanges and the fallback to a full export), an
//     incremental run of the changes; with a [Mutator], a complete run of
//     the changed system finds nothing to do, and the incremental run
//     after it exports nothing again (the complete run set the cursor).
//
// A connector author runs the kit from a test of the connector's package,
// with a harness that stores the kit's tables in the managed system (here
// a fake of the system's API; examples/customconnector has a complete one):
//
//	type harness struct{}
//
//	func (harness) NewConnector(t *testing.T, m *entitytype.Model, tables map[string]connectortest.Table) connector.Connector {
//		srv := httptest.NewServer(fakeAPI(tables)) // serves tables
//		t.Cleanup(srv.Close)
//		return myconn.New(m, srv.URL)
//	}
//
//	func TestConformance(t *testing.T) {
//		connectortest.Run(t, harness{})
//	}
//
// A harness without optional abilities can be a [HarnessFunc]. Optional
// interfaces unlock clauses or adapt the data: [Mutator], [ChangeSetter],
// [ValueLimiter]. Messages name the table, the row (by key) and the column
// that differ. Run the kit with -race.
package connectortest

import (
	"testing"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
)

// Table is the content of one table of a managed system: a header and
// rows holding one value per header column. An empty value is an empty
// cell.
type Table struct {
	Header []string
	Rows   [][]string
}

// Harness creates the connectors that the kit checks.
type Harness interface {
	// NewConnector returns a connector for model whose managed system
	// holds exactly tables, by entity type or association name, and
	// nothing else. The kit calls it once or twice per subtest with a new
	// model, which NewConnector may adjust for its connector as a user
	// would (File, Sheet, Separator), without renaming anything; the kit
	// then uses the connector's Model.
	NewConnector(t *testing.T, model *entitytype.Model, tables map[string]Table) connector.Connector
}

// HarnessFunc is a Harness made of its NewConnector function.
type HarnessFunc func(t *testing.T, model *entitytype.Model, tables map[string]Table) connector.Connector

// NewConnector implements Harness by calling f.
func (f HarnessFunc) NewConnector(t *testing.T, model *entitytype.Model, tables map[string]Table) connector.Connector {
	return f(t, model, tables)
}

// Mutator is implemented by harnesses that can change a managed system
// after its connector was created, to check that exports are snapshots.
// Without it, the kit skips ExportIsSnapshot.
type Mutator interface {
	// Mutate makes the managed system of conn, a connector returned by
	// NewConnector, hold exactly tables, in place: files are rewritten
	// where they are, an API serves the new data.
	Mutate(t *testing.T, conn connector.Connector, tables map[string]Table)
}

// ChangeSetter is implemented by harnesses whose connectors implement
// connector.ChangeExporter, to check incremental exports. Without it, the
// kit skips ChangesExportCommands.
type ChangeSetter interface {
	// SetChanges records changes in the managed system of conn, a
	// connector returned by NewConnector, so that its next ExportChanges
	// returns them: one table per entity type and association, whose
	// header holds the command column [CommandColumn]. Its export of
	// changes must return each table as a connector.DeltaTable.
	SetChanges(t *testing.T, conn connector.Connector, changes map[string]Table)
}

// ValueLimiter is implemented by harnesses whose managed system cannot
// hold the kit's longest value (100 KiB): an XLSX cell holds at most
// 32,767 characters. The kit then shortens that value to MaxValueLen
// bytes; 0 means no limit.
type ValueLimiter interface {
	MaxValueLen() int
}

// clauses are the kit's clauses, in the order Run runs them.
var clauses = []struct {
	name string
	fn   func(*testing.T, Harness)
}{
	{"ExportsEveryTable", testExportsEveryTable},
	{"LinesIncrease", testLinesIncrease},
	{"UnknownTableNotExported", testUnknownTableNotExported},
	{"OpenTwiceIndependent", testOpenTwiceIndependent},
	{"ConcurrentOpens", testConcurrentOpens},
	{"ExportIsSnapshot", testExportIsSnapshot},
	{"ExportIntoEmptyDir", testExportIntoEmptyDir},
	{"CancelledContext", testCancelledContext},
	{"CloseIdempotent", testCloseIdempotent},
	{"ReadBytesAsRead", testReadBytesAsRead},
	{"SyncEndToEnd", testSyncEndToEnd},
	{"ChangesExportCommands", testChangesExportCommands},
	{"BothModesOneModel", testBothModesOneModel},
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

// Run runs every clause of the Connector contract as a subtest of t, each on
// a connector of its own from h.NewConnector.
func Run(t *testing.T, h Harness) {
	t.Helper()
	for _, c := range clauses {
		t.Run(c.name, func(t *testing.T) { c.fn(t, h) })
	}
}
