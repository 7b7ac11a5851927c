package connectortest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/connectortest"
	"github.com/idsync/idsync/connector/memconn"
	"github.com/idsync/idsync/entitytype"
)

// memHarness keeps tables in a memconn.Connector, wrapped by wrap.
type memHarness struct {
	wrap func(*memconn.Connector) connector.Connector
}

func (h memHarness) NewConnector(t *testing.T, m *entitytype.Model, tables map[string]connectortest.Table) connector.Connector {
	c := memconn.New(m)
	for name, tb := range tables {
		c.Set(name, tb.Header, tb.Rows...)
	}
	return h.wrap(c)
}

func (h memHarness) Mutate(t *testing.T, conn connector.Connector, tables map[string]connectortest.Table) {
	c := conn.(*broken).mem
	for name, tb := range tables {
		c.Set(name, tb.Header, tb.Rows...)
	}
}

// broken is a connector over a memconn.Connector whose extraction breaks
// one clause of the contract.
type broken struct {
	mem *memconn.Connector
	// live makes Export return a view of the connector, not a snapshot.
	live bool
	// open replaces the extraction's Open.
	open func(ctx context.Context, ext connector.Extraction, name string) (connector.Table, error)
}

func (b *broken) Model() *entitytype.Model { return b.mem.Model() }

func (b *broken) Export(ctx context.Context, dir string) (connector.Extraction, error) {
	ext, err := b.mem.Export(ctx, dir)
	if err != nil {
		return nil, err
	}
	return extraction{b: b, ext: ext}, nil
}

type extraction struct {
	b   *broken
	ext connector.Extraction
}

func (e extraction) Open(ctx context.Context, name string) (connector.Table, error) {
	ext := e.ext
	if e.b.live {
		ext, _ = e.b.mem.Export(context.Background(), "")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if e.b.open != nil {
		return e.b.open(ctx, ext, name)
	}
	return ext.Open(ctx, name)
}

// table changes what a table reads.
type table struct {
	connector.Table
	read func(connector.Table) ([]string, error)
	line func(connector.Table) int
}

func (t table) Read() ([]string, error) { return t.read(t.Table) }

func (t table) Line() int {
	if t.line != nil {
		return t.line(t.Table)
	}
	return t.Table.Line()
}

func wrapTables(f func(name string, tbl connector.Table) connector.Table) func(*memconn.Connector) connector.Connector {
	return func(c *memconn.Connector) connector.Connector {
		return &broken{mem: c, open: func(ctx context.Context, ext connector.Extraction, name string) (connector.Table, error) {
			tbl, err := ext.Open(ctx, name)
			if err != nil {
				return nil, err
			}
			return f(name, tbl), nil
		}}
	}
}

// trimmingBytes is a connector.BytesTable whose ReadBytes trims values,
// unlike its Read.
type trimmingBytes struct{ connector.Table }

func (t trimmingBytes) ReadBytes() ([][]byte, error) {
	row, err := t.Read()
	var out [][]byte
	for _, v := range row {
		out = append(out, []byte(strings.TrimSpace(v)))
	}
	return out, err
}

// changesHarness keeps tables in a memconn.Connector whose change exports
// hide that their tables are deltas.
type changesHarness struct{}

func (changesHarness) NewConnector(t *testing.T, m *entitytype.Model, tables map[string]connectortest.Table) connector.Connector {
	c := memconn.New(m)
	for name, tb := range tables {
		c.Set(name, tb.Header, tb.Rows...)
	}
	return hiddenDeltas{c}
}

func (changesHarness) SetChanges(t *testing.T, conn connector.Connector, changes map[string]connectortest.Table) {
	for name, tb := range changes {
		conn.(hiddenDeltas).SetChanges(name, connectortest.CommandColumn, tb.Header, tb.Rows...)
	}
}

// hiddenDeltas is a connector whose ExportChanges returns tables that are
// not connector.DeltaTables: the engine reads them as snapshots.
type hiddenDeltas struct{ *memconn.Connector }

func (h hiddenDeltas) ExportChanges(ctx context.Context, dir, since string) (connector.Extraction, string, error) {
	ext, next, err := h.Connector.ExportChanges(ctx, dir, since)
	if err != nil {
		return nil, "", err
	}
	return plainTables{ext}, next, nil
}

type plainTables struct{ ext connector.Extraction }

func (p plainTables) Open(ctx context.Context, name string) (connector.Table, error) {
	tbl, err := p.ext.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	return struct{ connector.Table }{tbl}, nil
}

// brokenHarnesses each break a clause, which the kit must report with the
// message given.
var brokenHarnesses = map[string]struct {
	h      connectortest.Harness
	clause string
	msg    string
}{
	"TrimsValues": {
		memHarness{wrapTables(func(name string, tbl connector.Table) connector.Table {
			return table{Table: tbl, read: func(t connector.Table) ([]string, error) {
				row, err := t.Read()
				out := make([]string, len(row))
				for i, v := range row {
					out[i] = strings.TrimSpace(v)
				}
				return out, err
			}}
		})},
		"ExportsEveryTable", `Kit_User (memconn:Kit_User): row ID="U03" (line 4), column "Display Name": got "padded both", want "  padded both  "`,
	},
	"LosesLastRow": {
		memHarness{wrapTables(func(name string, tbl connector.Table) connector.Table {
			n := 0
			return table{Table: tbl, read: func(t connector.Table) ([]string, error) {
				row, err := t.Read()
				if n++; name == "Kit_Group" && n == 4 {
					return nil, errors.New("lost")
				}
				return row, err
			}}
		})},
		"ExportsEveryTable", `Kit_Group (memconn:Kit_Group): Read after 3 rows: lost`,
	},
	"CutsLongValues": {
		memHarness{wrapTables(func(name string, tbl connector.Table) connector.Table {
			return table{Table: tbl, read: func(t connector.Table) ([]string, error) {
				row, err := t.Read()
				out := make([]string, len(row))
				for i, v := range row {
					out[i] = v[:min(len(v), 65535)]
				}
				return out, err
			}}
		})},
		"ExportsEveryTable", `(102400 bytes) (first difference at byte 65535: got "", want `,
	},
	"LinesDecrease": {
		memHarness{wrapTables(func(name string, tbl connector.Table) connector.Table {
			return table{Table: tbl, read: connector.Table.Read, line: func(t connector.Table) int { return 100 - t.Line() }}
		})},
		"LinesIncrease", `Kit_User (memconn:Kit_User): row 2 (ID="U02") is on line 97, after line 98`,
	},
	"SharedReader": {
		memHarness{func(c *memconn.Connector) connector.Connector {
			var mu sync.Mutex
			readers := map[string]connector.Table{}
			return &broken{mem: c, open: func(ctx context.Context, ext connector.Extraction, name string) (connector.Table, error) {
				mu.Lock()
				defer mu.Unlock()
				if readers[name] == nil {
					tbl, err := ext.Open(ctx, name)
					if err != nil {
						return nil, err
					}
					readers[name] = tbl
				}
				return readers[name], nil
			}}
		}},
		"OpenTwiceIndependent", `Kit_User (memconn:Kit_User), second reader: row ID="U01" not read`,
	},
	"NotASnapshot": {
		memHarness{func(c *memconn.Connector) connector.Connector { return &broken{mem: c, live: true} }},
		"ExportIsSnapshot/ExportedBefore", `Kit_User (memconn:Kit_User): row ID="U01" (line 2), column "Display Name": got "Ann Smith-Jones", want "Ann Smith"`,
	},
	"ReadBytesTrims": {
		memHarness{wrapTables(func(name string, tbl connector.Table) connector.Table { return trimmingBytes{tbl} })},
		"ReadBytesAsRead", `ReadBytes and Read: row ID="U03" (line 4), column "Display Name": got "padded both", want "  padded both  "`,
	},
	"ChangesAsSnapshots": {
		changesHarness{},
		"BothModesOneModel", `store: Kit_User "U04" missing`,
	},
	"ChangesNotDeltas": {
		changesHarness{},
		"ChangesExportCommands/Export", `Kit_User of ExportChanges: not a connector.DeltaTable`,
	},
	"WrongNotExportedError": {
		memHarness{func(c *memconn.Connector) connector.Connector {
			return &broken{mem: c, open: func(ctx context.Context, ext connector.Extraction, name string) (connector.Table, error) {
				tbl, err := ext.Open(ctx, name)
				if err != nil {
					return nil, errors.New("no such table")
				}
				return tbl, nil
			}}
		}},
		"UnknownTableNotExported", `Open("Kit_Unknown"): no such table, want an error matching connector.ErrNotExported`,
	},
}

// TestBrokenHarness runs the kit on the broken harness named by
// $CONNECTORTEST_BROKEN, for TestKitCatchesBrokenConnectors.
func TestBrokenHarness(t *testing.T) {
	name := os.Getenv("CONNECTORTEST_BROKEN")
	if name == "" {
		t.Skip("run by TestKitCatchesBrokenConnectors")
	}
	connectortest.Run(t, brokenHarnesses[name].h)
}

func TestKitCatchesBrokenConnectors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the kit in subprocesses")
	}
	for name, c := range brokenHarnesses {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenHarness$", "-test.v")
			cmd.Env = append(os.Environ(), "CONNECTORTEST_BROKEN="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the kit passed a connector that breaks %s:\n%s", c.clause, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestBrokenHarness/"+c.clause) {
				t.Errorf("clause %s did not fail:\n%s", c.clause, out)
			}
			if !strings.Contains(string(out), c.msg) {
				t.Errorf("output lacks %q:\n%s", c.msg, out)
			}
		})
	}
}
