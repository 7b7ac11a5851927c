// Package connector defines how idsync reads a managed system: a
// [Connector] exports a snapshot of the system as an [Extraction], one
// [Table] per entity type and per association, which the sync engine then
// prepares and diffs.
//
// A connector needs two methods. Optional interfaces add abilities, each
// documented with the engine's fallback when a connector lacks it:
//
//   - [ChangeExporter]: export only what changed since the last successful
//     run, as tables of changes ([DeltaTable]). Without it, incremental
//     runs diff a full export against the previous prepared snapshot.
//   - [Cursorer], on the extraction that Export returns: the cursor from
//     which the changes after this snapshot are exported. Without it, a
//     complete run clears the connector's cursor, and the next incremental
//     run passes "" to ExportChanges.
//   - [DeltaTable], on a table: the table holds changes, each row with its
//     command, not a snapshot. Without it, a table is a snapshot. Whether a
//     table is a delta is a property of the extraction, never of the
//     model: one connector with one model serves complete and incremental
//     runs, and a delta never deletes anything by its absence.
//   - [BytesTable], on a table: rows returned without copying. Without it,
//     the engine reads rows with Read.
//   - [Rereader], on a table: a row read again at its offset. Without it,
//     the keyed diff of two snapshots reads a table through once more to
//     fetch the rows it compares exactly.
//   - [Sizer], on a table: its size in bytes, which with a Rereader's
//     Offset tells how much of it was read, for progress. Without it,
//     progress counts rows with no total.
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
// changes since a previous export. Each table of such an extraction is a
// [DeltaTable] (use [Delta] to mark one): its rows carry a command, insert,
// update, delete or merge, and a key absent from it is unchanged. A table
// that is not a DeltaTable is read as a snapshot of its entity type and
// diffed against the previous prepared snapshot.
//
// since is the cursor returned by the last export whose run was applied
// successfully (by ExportChanges, or by the [Cursorer] of a complete
// export), or "" for none; next is the cursor to pass after this run is
// applied. The engine keeps the cursor and advances it only when the run
// succeeds, so a blocked or failed run is exported again. A complete run
// that succeeds replaces the cursor with its extraction's (or clears it),
// since the store then holds that snapshot.
type ChangeExporter interface {
	Connector
	ExportChanges(ctx context.Context, dir, since string) (ext Extraction, next string, err error)
}

// Cursorer is implemented by extractions of a full export (Export) that
// know where the changes after their snapshot begin: after a complete run
// of such an extraction succeeds, the engine keeps Cursor as the cursor of
// the next ExportChanges. Without it, a complete run clears the cursor, and
// the next incremental run passes "" (the connector then exports all it
// can, or returns ErrNoChanges).
type Cursorer interface {
	Cursor() string
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

// A DeltaTable is a Table of changes rather than a snapshot: each row holds
// a command (insert, update, delete or merge; an association's rows insert,
// delete or merge) in the column that CommandColumn names, and a key the
// table does not mention is unchanged. A Table without this method, or
// whose CommandColumn returns "", is a snapshot. The engine reads deltas in
// incremental runs only (a complete run of one fails, naming the table) and
// never deletes by absence from one. [Delta] marks any Table as a delta.
type DeltaTable interface {
	Table
	CommandColumn() string
}

// CommandColumn returns the command column of t if it is a [DeltaTable],
// or "" if t is a snapshot.
func CommandColumn(t Table) string {
	if d, ok := t.(DeltaTable); ok {
		return d.CommandColumn()
	}
	return ""
}

// Delta returns t as a [DeltaTable] whose commands are in column. The
// result keeps t's optional abilities: it is a [BytesTable] if t is one,
// and its Offset, ReadAt and Size are t's (-1, "cannot tell", where t
// lacks them).
func Delta(t Table, column string) Table {
	d := delta{t, column}
	if bt, ok := t.(BytesTable); ok {
		return bytesDelta{d, bt}
	}
	return d
}

type delta struct {
	Table
	column string
}

func (d delta) CommandColumn() string { return d.column }

func (d delta) Offset() int64 {
	if r, ok := d.Table.(Rereader); ok {
		return r.Offset()
	}
	return -1
}

func (d delta) ReadAt(offset int64) ([]string, error) {
	if r, ok := d.Table.(Rereader); ok {
		return r.ReadAt(offset)
	}
	return nil, errors.New("connector: the table cannot read a row again")
}

func (d delta) Size() int64 {
	if s, ok := d.Table.(Sizer); ok {
		return s.Size()
	}
	return -1
}

type bytesDelta struct {
	delta
	bt BytesTable
}

func (d bytesDelta) ReadBytes() ([][]byte, error) { return d.bt.ReadBytes() }

// fileCommandColumn returns the CommandColumn that the configuration gives
// the file of an entity type or association: like File and Separator, it
// describes the file, which is then a delta.
func fileCommandColumn(m *entitytype.Model, name string) string {
	if t := m.EntityType(name); t != nil {
		return t.CommandColumn
	}
	for _, a := range m.Associations {
		if a.Name == name {
			return a.CommandColumn
		}
	}
	return ""
}

// A Rereader is a Table that can read a row again: Offset returns the byte
// offset where the row last read begins (-1 when it cannot tell, for
// example in an XLSX sheet), and ReadAt returns the row that begins at such
// an offset, as a new slice, without moving the table. The keyed diff of
// two snapshots re-reads only the rows whose hashes differ this way; for a
// table without it (or whose Offset is -1) it reads the table through
// again. *extract.Reader implements it for CSV files.
type Rereader interface {
	Table
	Offset() int64
	ReadAt(offset int64) ([]string, error)
}

// A Sizer is a Table that knows its size in bytes (-1 when it does not).
// With a Rereader's Offset, the engine reports how much of the table was
// read (Progress.Bytes of Progress.Size); without it, progress counts rows
// only. *extract.Reader implements it for files.
type Sizer interface {
	Table
	Size() int64
}
