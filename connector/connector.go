// Package connector defines how idsync reads a managed system: a
// [Connector] exports a snapshot of the system as an [Extraction], one
// [Table] per entity type and per association, which the sync engine then
// prepares and diffs.
//
// A connector needs two methods. Optional interfaces add abilities, each
// documented with the engine's fallback when a connector lacks it:
//
//   - [ChangeExporter]: export only what changed since the last successful
//     run (incremental mode with a command column). Without it, incremental
//     runs diff a full export against the previous prepared snapshot.
//
// Reference connectors: csvconn (a folder of CSV files), xlsxconn (XLSX
// workbooks), memconn (records given in Go, for tests). Package
// connectortest is the conformance kit every connector runs.
package connector

import (
	"context"
	"errors"

	"github.com/idsync/idsync/entitytype"
)

// ErrNoChanges is returned by [ChangeExporter.ExportChanges] when the
// connector cannot export changes this time (no change tracking yet, a
// cursor too old); the engine then exports a full snapshot and diffs it
// against the previous prepared snapshot.
var ErrNoChanges = errors.New("connector: changes cannot be exported")

// ErrNotExported is returned by [Extraction.Open] for a name that the
// extraction holds no table for.
var ErrNotExported = errors.New("connector: not exported")

// Connector exports the data of one managed system.
type Connector interface {
	// Model returns the connector's data model: its name, entity types,
	// associations and thresholds. The engine does not modify it.
	Model() *entitytype.Model

	// Export takes a snapshot of the managed system. A connector that
	// writes files writes them into dir, the run's export folder, which
	// exists and is empty; a connector that streams records may ignore it.
	// Every table of the returned extraction reflects the same snapshot:
	// the managed system changing afterwards must not change what the
	// extraction reads.
	Export(ctx context.Context, dir string) (Extraction, error)
}

// ChangeExporter is implemented by connectors that can export only the
// changes since a previous export. Each table then carries the entity type's
// (association's) CommandColumn with insert, update, delete or merge.
//
// since is the cursor returned by the last export whose run was applied
// successfully, or "" for none; next is the cursor to pass after this run is
// applied. The engine keeps the cursor and advances it only when the run
// succeeds, so a blocked or failed run is exported again.
type ChangeExporter interface {
	Connector
	ExportChanges(ctx context.Context, dir, since string) (ext Extraction, next string, err error)
}

// Extraction is one export's tables, opened by entity type or association
// name.
type Extraction interface {
	// Open returns a reader over the table of the entity type or
	// association named name, or an error matching [ErrNotExported].
	// Each call returns a new reader positioned before the first row.
	Open(ctx context.Context, name string) (Table, error)
}

// Table reads the rows of one extraction table, such as a CSV file.
// *extract.Reader implements it.
type Table interface {
	// Name names the table in errors: a file name, or an API resource.
	Name() string
	// Header returns the column names, in the table's order.
	Header() []string
	// Read returns the next row, holding one value per header column, or
	// io.EOF after the last one. The slice may be reused by the next call.
	Read() ([]string, error)
	// Line returns the 1-based line (row) number of the row last read,
	// the header being line 1, or 0 when it has no meaning.
	Line() int
	// Close releases the table's resources.
	Close() error
}

// A BytesTable is a Table that can also return a row without copying it:
// the byte slices that ReadBytes returns may point into the table's
// buffer, are only valid until the next call to Read or ReadBytes, and
// must not be modified. Prepare and the keyed diff of snapshots read such
// tables without allocating a row at a time. *extract.Reader implements
// it; a Table without it is read with Read. connectortest checks that
// ReadBytes returns the rows Read returns.
type BytesTable interface {
	Table
	ReadBytes() ([][]byte, error)
}
