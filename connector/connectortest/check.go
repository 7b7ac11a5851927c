package connectortest

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
)

// newConnector returns a connector from h over d, and checks its model.
func newConnector(t *testing.T, h Harness, d dataset) connector.Connector {
	t.Helper()
	conn := h.NewConnector(t, newModel(), d.tables())
	if conn == nil {
		t.Fatal("harness: NewConnector returned nil")
	}
	checkModel(t, conn.Model())
	return conn
}

// checkModel checks that the connector's model still holds the kit's
// tables.
func checkModel(t *testing.T, m *entitytype.Model) {
	t.Helper()
	if m == nil {
		t.Fatal("Model() returned nil")
	}
	ok := m.Name == kitName
	for _, name := range tableNames {
		ok = ok && (m.EntityType(name) != nil ||
			slices.ContainsFunc(m.Associations, func(a entitytype.Association) bool { return a.Name == name }))
	}
	if !ok {
		t.Fatalf("Model() is not the model given to NewConnector: connector %q, want %q with tables %s",
			m.Name, kitName, strings.Join(tableNames, ", "))
	}
}

// maxValueLen returns the length of the kit's longest value for h.
func maxValueLen(h Harness) int {
	if l, ok := h.(ValueLimiter); ok {
		return l.MaxValueLen()
	}
	return 0
}

// export exports conn into a new empty folder.
func export(t *testing.T, conn connector.Connector) connector.Extraction {
	t.Helper()
	ext, err := conn.Export(t.Context(), t.TempDir())
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	if ext == nil {
		t.Fatal("Export returned a nil Extraction and no error")
	}
	return ext
}

// open opens the table name of ext, failing the test if it cannot.
func open(t *testing.T, ext connector.Extraction, name string) connector.Table {
	t.Helper()
	tbl, err := ext.Open(t.Context(), name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	if tbl == nil {
		t.Fatalf("Open(%q) returned a nil Table and no error", name)
	}
	return tbl
}

// checkOpen opens the table name of ext, checks that it reads want and
// closes it. It reports problems with t.Errorf only, so it may run in any
// goroutine.
func checkOpen(ctx context.Context, t *testing.T, ext connector.Extraction, name string, want Table) {
	t.Helper()
	tbl, err := ext.Open(ctx, name)
	if err != nil {
		t.Errorf("Open(%q): %v", name, err)
		return
	}
	if tbl == nil {
		t.Errorf("Open(%q) returned a nil Table and no error", name)
		return
	}
	checkTable(t, name, tbl, want)
	if err := tbl.Close(); err != nil {
		t.Errorf("%s: Close: %v", where(name, tbl), err)
	}
}

// checkTable reads tbl to its end and reports every difference with want.
func checkTable(t *testing.T, name string, tbl connector.Table, want Table) {
	t.Helper()
	if tbl.Name() == "" {
		t.Errorf("%s: Name() is empty: it names the table in errors", name)
	}
	header := slices.Clone(tbl.Header())
	rows, lines, err := readAll(tbl)
	if err != nil {
		t.Errorf("%s: Read after %d rows: %v", where(name, tbl), len(rows), err)
		return
	}
	if _, err := tbl.Read(); err != io.EOF {
		t.Errorf("%s: Read after io.EOF returned %v, want io.EOF again", where(name, tbl), err)
	}
	if h := tbl.Header(); !slices.Equal(h, header) {
		t.Errorf("%s: Header() changed while reading: %s, then %s", where(name, tbl), showRow(header), showRow(h))
	}
	compareRows(t, where(name, tbl), name, header, rows, lines, want)
}

// where names a table in messages: its entity type or association name,
// and its own name if it tells more.
func where(name string, tbl connector.Table) string {
	if n := tbl.Name(); n != "" && n != name {
		return fmt.Sprintf("%s (%s)", name, n)
	}
	return name
}

// readAll reads tbl to its end: copies of its rows and the line of each.
// Each row must hold one value per header column.
func readAll(tbl connector.Table) (rows [][]string, lines []int, err error) {
	n := len(tbl.Header())
	for {
		row, err := tbl.Read()
		if err == io.EOF {
			return rows, lines, nil
		}
		if err != nil {
			return rows, lines, err
		}
		if len(row) != n {
			return rows, lines, fmt.Errorf("row %d (line %d) has %d values for %d header columns", len(rows)+1, tbl.Line(), len(row), n)
		}
		rows = append(rows, slices.Clone(row))
		lines = append(lines, tbl.Line())
	}
}

// compareRows reports every difference between the rows read from a table
// with header, and want. Rows are matched by key: the kit does not require
// an order, as the engine sorts.
func compareRows(t *testing.T, where, name string, header []string, rows [][]string, lines []int, want Table) {
	t.Helper()
	cols, err := locate(header, want.Header)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	keyOf := rowKey(name, want.Header)
	got := make(map[string]int, len(rows)) // key → index in rows
	for i, r := range rows {
		p := project(r, cols)
		k := keyOf(p)
		if j, dup := got[k]; dup {
			t.Errorf("%s: row %s read twice (lines %d and %d)", where, k, lines[j], lines[i])
			continue
		}
		got[k] = i
	}
	for _, w := range want.Rows {
		k := keyOf(w)
		i, ok := got[k]
		if !ok {
			t.Errorf("%s: row %s not read", where, k)
			continue
		}
		delete(got, k)
		p := project(rows[i], cols)
		for c, col := range want.Header {
			if p[c] != w[c] {
				t.Errorf("%s: row %s (line %d), column %q: got %s, want %s%s", where, k, lines[i], col, show(p[c]), show(w[c]), diffAt(p[c], w[c]))
			}
		}
	}
	for k, i := range got {
		t.Errorf("%s: unexpected row %s (line %d): %s", where, k, lines[i], showRow(project(rows[i], cols)))
	}
}

// locate returns the position in header of each column of want, which
// must each be there once, in the same order.
func locate(header, want []string) ([]int, error) {
	cols := make([]int, len(want))
	var problems []string
	for i, w := range want {
		switch n := count(header, w); {
		case n == 0:
			problems = append(problems, fmt.Sprintf("column %q missing", w))
		case n > 1:
			problems = append(problems, fmt.Sprintf("column %q appears %d times", w, n))
		default:
			cols[i] = slices.Index(header, w)
			if i > 0 && cols[i-1] > cols[i] && count(header, want[i-1]) == 1 {
				problems = append(problems, fmt.Sprintf("column %q comes before %q", w, want[i-1]))
			}
		}
	}
	if problems != nil {
		return nil, fmt.Errorf("header %s, want columns %s in this order: %s", showRow(header), showRow(want), strings.Join(problems, "; "))
	}
	return cols, nil
}

func count(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// project returns the values of row at cols.
func project(row []string, cols []int) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = row[c]
	}
	return out
}

// rowKey returns a function naming a row of table name with header by its
// key columns, as in ID="U03".
func rowKey(name string, header []string) func(row []string) string {
	var idx []int
	for _, k := range keyColumns[name] {
		idx = append(idx, slices.Index(header, k))
	}
	return func(row []string) string {
		parts := make([]string, len(idx))
		for i, c := range idx {
			parts[i] = header[c] + "=" + strconv.Quote(row[c])
		}
		return strings.Join(parts, " ")
	}
}

// show quotes a value for a message, eliding the middle of a long one.
func show(s string) string {
	if len(s) <= 80 {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s…%s (%d bytes)", strconv.Quote(s[:40]), strconv.Quote(s[len(s)-20:]), len(s))
}

func showRow(row []string) string {
	parts := make([]string, len(row))
	for i, v := range row {
		parts[i] = show(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// diffAt tells where two long values start to differ.
func diffAt(got, want string) string {
	if len(got) <= 80 && len(want) <= 80 {
		return ""
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf(" (first difference at byte %d: got %s, want %s)", i, show(got[i:min(len(got), i+20)]), show(want[i:min(len(want), i+20)]))
}
