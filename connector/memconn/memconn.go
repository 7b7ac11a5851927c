// Package memconn is a connector whose managed system is records given in
// Go: for tests, examples, and hosts that already hold the data in memory.
// It passes the connectortest conformance kit.
package memconn

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	gosync "sync"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
)

// Connector holds one table of rows per entity type and association, and
// optionally a table of changes (rows with a command column) for
// incremental exports. It is safe for concurrent use.
type Connector struct {
	model *entitytype.Model

	mu      gosync.Mutex
	tables  map[string]Table
	changes map[string]Table
	version int // bumped by every SetChanges, the incremental cursor
}

// Table is the content of one table: a header and rows of values, one per
// header column. A table of changes names its command column in Command:
// it is then read as a connector.DeltaTable.
type Table struct {
	Header  []string
	Rows    [][]string
	Command string
}

// New returns a connector exporting the entity types and associations of
// model, with no rows yet.
func New(model *entitytype.Model) *Connector {
	return &Connector{model: model, tables: map[string]Table{}, changes: map[string]Table{}}
}

// Model implements connector.Connector.
func (c *Connector) Model() *entitytype.Model { return c.model }

// Set replaces the table of an entity type or association. The rows are
// copied.
func (c *Connector) Set(name string, header []string, rows ...[]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tables[name] = clone(Table{Header: header, Rows: rows})
}

// SetChanges replaces the changes of an entity type or association that
// the next incremental export returns, as a table of changes whose
// commands are in the header's column command.
func (c *Connector) SetChanges(name, command string, header []string, rows ...[]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changes[name] = clone(Table{Header: header, Rows: rows, Command: command})
	c.version++
}

func clone(t Table) Table {
	out := Table{Header: slices.Clone(t.Header), Rows: make([][]string, len(t.Rows)), Command: t.Command}
	for i, r := range t.Rows {
		out.Rows[i] = slices.Clone(r)
	}
	return out
}

// Export implements connector.Connector: the extraction is a *Snapshot, a
// copy of the tables, so later calls to Set do not change it. Its cursor
// is the connector's at the time of the export: the changes given to
// SetChanges before count as part of the snapshot.
func (c *Connector) Export(ctx context.Context, dir string) (connector.Extraction, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ext := Extraction{}
	for name, t := range c.tables {
		ext[name] = clone(t)
	}
	snap := &Snapshot{Extraction: ext}
	if c.version > 0 {
		snap.cursor = strconv.Itoa(c.version)
	}
	return snap, nil
}

// Snapshot is the extraction of a full export: the tables, and the cursor
// from which the changes after it are exported (connector.Cursorer).
type Snapshot struct {
	Extraction
	cursor string
}

// Cursor implements connector.Cursorer.
func (s *Snapshot) Cursor() string { return s.cursor }

// ExportChanges implements connector.ChangeExporter: it returns the
// changes given to SetChanges, or nothing when since is the cursor it
// returned last (every SetChanges bumps it); it returns
// connector.ErrNoChanges if SetChanges was never called. It keeps no
// history: a cursor older than the last one gets the latest changes.
func (c *Connector) ExportChanges(ctx context.Context, dir, since string) (connector.Extraction, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version == 0 {
		return nil, "", connector.ErrNoChanges
	}
	next := strconv.Itoa(c.version)
	ext := Extraction{}
	if since == next {
		for name, t := range c.changes {
			ext[name] = Table{Header: slices.Clone(t.Header), Command: t.Command}
		}
		return ext, next, nil
	}
	for name, t := range c.changes {
		ext[name] = clone(t)
	}
	return ext, next, nil
}

// Extraction is an in-memory extraction: tables by entity type or
// association name. It is usable on its own wherever a
// connector.Extraction is wanted.
type Extraction map[string]Table

// Open implements connector.Extraction.
func (e Extraction) Open(ctx context.Context, name string) (connector.Table, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t, ok := e[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", connector.ErrNotExported, name)
	}
	r := &reader{name: "memconn:" + name, t: t, line: 1}
	if t.Command != "" {
		return connector.Delta(r, t.Command), nil
	}
	return r, nil
}

type reader struct {
	name string
	t    Table
	line int
	row  []string
}

func (r *reader) Name() string     { return r.name }
func (r *reader) Header() []string { return slices.Clone(r.t.Header) }
func (r *reader) Line() int        { return r.line }
func (r *reader) Close() error     { return nil }

func (r *reader) Read() ([]string, error) {
	i := r.line - 1
	if i >= len(r.t.Rows) {
		return nil, io.EOF
	}
	r.line++
	row := r.t.Rows[i]
	if len(row) != len(r.t.Header) {
		return nil, fmt.Errorf("memconn: %s: line %d: %d values for %d columns", r.name, r.line, len(row), len(r.t.Header))
	}
	r.row = append(r.row[:0], row...) // the caller may not corrupt the table
	return r.row, nil
}
