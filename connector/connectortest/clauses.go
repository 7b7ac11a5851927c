package connectortest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/idsync/idsync/connector"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
)

func testExportsEveryTable(t *testing.T, h Harness) {
	d := baseData(maxValueLen(h))
	ext := export(t, newConnector(t, h, d))
	want := d.tables()
	for _, name := range tableNames {
		checkOpen(t.Context(), t, ext, name, want[name])
	}
}

func testLinesIncrease(t *testing.T, h Harness) {
	d := baseData(maxValueLen(h))
	ext := export(t, newConnector(t, h, d))
	want := d.tables()
	for _, name := range tableNames {
		tbl := open(t, ext, name)
		rows, lines, err := readAll(tbl)
		tbl.Close()
		if err != nil {
			t.Errorf("%s: Read after %d rows: %v", where(name, tbl), len(rows), err)
			continue
		}
		if !slices.ContainsFunc(lines, func(l int) bool { return l != 0 }) {
			t.Logf("%s: Line() is always 0: its rows have no line number", where(name, tbl))
			continue
		}
		cols, err := locate(tbl.Header(), want[name].Header)
		if err != nil {
			t.Errorf("%s: %v", where(name, tbl), err)
			continue
		}
		keyOf := rowKey(name, want[name].Header)
		prev := 1 // the header's line
		for i, l := range lines {
			if l <= prev {
				t.Errorf("%s: row %d (%s) is on line %d, after line %d: want lines after the header's (1), strictly increasing, or always 0",
					where(name, tbl), i+1, keyOf(project(rows[i], cols)), l, prev)
			}
			prev = l
		}
	}
}

// testReadBytesAsRead checks a connector.BytesTable: ReadBytes, mixed with
// Read, returns the rows that Read returns.
func testReadBytesAsRead(t *testing.T, h Harness) {
	d := baseData(maxValueLen(h))
	ext := export(t, newConnector(t, h, d))
	want := d.tables()
	checked := false
	for _, name := range tableNames {
		tbl := open(t, ext, name)
		bt, ok := tbl.(connector.BytesTable)
		if !ok {
			closeTable(tbl)
			continue
		}
		checked = true
		var rows [][]string
		var lines []int
		for i := 0; ; i++ {
			var row []string
			var err error
			if i%2 == 0 {
				var fields [][]byte
				fields, err = bt.ReadBytes()
				for _, f := range fields {
					row = append(row, string(f))
				}
			} else {
				row, err = bt.Read()
				row = slices.Clone(row)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Errorf("%s: row %d: %v", where(name, tbl), i+1, err)
				break
			}
			rows, lines = append(rows, row), append(lines, bt.Line())
		}
		compareRows(t, where(name, tbl)+", ReadBytes and Read", name, tbl.Header(), rows, lines, want[name])
		closeTable(tbl)
	}
	if !checked {
		t.Skip("the connector's tables do not implement connector.BytesTable")
	}
}

func testUnknownTableNotExported(t *testing.T, h Harness) {
	ext := export(t, newConnector(t, h, baseData(maxValueLen(h))))
	for _, name := range []string{"Kit_Unknown", "../" + userType, userType + ".csv", ""} {
		tbl, err := ext.Open(t.Context(), name)
		switch {
		case err == nil:
			closeTable(tbl)
			t.Errorf("Open(%q) returned a table, want an error matching connector.ErrNotExported", name)
		case !errors.Is(err, connector.ErrNotExported):
			t.Errorf("Open(%q): %v, want an error matching connector.ErrNotExported", name, err)
		case name != "" && !strings.Contains(err.Error(), name):
			t.Errorf("Open(%q): error %q does not name the table", name, err)
		}
	}
}

func testOpenTwiceIndependent(t *testing.T, h Harness) {
	d := baseData(maxValueLen(h))
	ext := export(t, newConnector(t, h, d))
	want := d.tables()
	for _, name := range tableNames {
		if len(want[name].Rows) == 0 {
			continue // nothing to interleave
		}
		a, b := open(t, ext, name), open(t, ext, name)
		first, err := a.Read()
		if err != nil {
			t.Fatalf("%s: first Read: %v", where(name, a), err)
		}
		firstCopy, firstLine := slices.Clone(first), a.Line()

		// Read all of b while a is on its first row.
		rows, lines, err := readAll(b)
		if err != nil {
			t.Errorf("%s: second reader: Read after %d rows: %v", where(name, b), len(rows), err)
		}
		compareRows(t, where(name, b)+", second reader", name, b.Header(), rows, lines, want[name])
		if err := b.Close(); err != nil {
			t.Errorf("%s: second reader: Close: %v", where(name, b), err)
		}
		if !slices.Equal(first, firstCopy) {
			t.Errorf("%s: reading another reader changed the row that the first one returned: got %s, want %s",
				where(name, a), showRow(first), showRow(firstCopy))
		}

		// a goes on where it was, unaffected by b.
		rows, lines, err = readAll(a)
		if err != nil {
			t.Errorf("%s: first reader: Read after %d rows: %v", where(name, a), len(rows)+1, err)
		}
		rows, lines = append([][]string{firstCopy}, rows...), append([]int{firstLine}, lines...)
		compareRows(t, where(name, a)+", first reader", name, a.Header(), rows, lines, want[name])
		if err := a.Close(); err != nil {
			t.Errorf("%s: first reader: Close: %v", where(name, a), err)
		}
	}
}

func testConcurrentOpens(t *testing.T, h Harness) {
	d := baseData(maxValueLen(h))
	ext := export(t, newConnector(t, h, d))
	want := d.tables()
	var wg gosync.WaitGroup
	for range 3 {
		for _, name := range tableNames {
			wg.Go(func() { checkOpen(t.Context(), t, ext, name, want[name]) })
		}
	}
	wg.Wait()
}

func testExportIsSnapshot(t *testing.T, h Harness) {
	m, ok := h.(Mutator)
	if !ok {
		t.Skip("the harness does not implement connectortest.Mutator")
	}
	d := baseData(maxValueLen(h))
	before, after := d.tables(), changedData(d).tables()
	conn := newConnector(t, h, d)
	ext := export(t, conn)
	early := open(t, ext, userType)
	first, err := early.Read()
	if err != nil {
		t.Fatalf("%s: first Read: %v", where(userType, early), err)
	}
	first, firstLine := slices.Clone(first), early.Line()

	m.Mutate(t, conn, cloneTables(after))

	t.Run("ReaderOpenedBefore", func(t *testing.T) {
		rows, lines, err := readAll(early)
		if err != nil {
			t.Errorf("%s: Read after %d rows: %v", where(userType, early), len(rows)+1, err)
		}
		rows, lines = append([][]string{first}, rows...), append([]int{firstLine}, lines...)
		compareRows(t, where(userType, early), userType, early.Header(), rows, lines, before[userType])
		if err := early.Close(); err != nil {
			t.Errorf("%s: Close: %v", where(userType, early), err)
		}
	})
	t.Run("ExportedBefore", func(t *testing.T) {
		for _, name := range tableNames {
			checkOpen(t.Context(), t, ext, name, before[name])
		}
	})
	t.Run("ExportedAfter", func(t *testing.T) {
		ext := export(t, conn)
		for _, name := range tableNames {
			checkOpen(t.Context(), t, ext, name, after[name])
		}
		if t.Failed() {
			t.Log("an export made after Mutate does not read the new data: is Mutate right?")
		}
	})
}

func testExportIntoEmptyDir(t *testing.T, h Harness) {
	d := baseData(maxValueLen(h))
	want := d.tables()
	conn := newConnector(t, h, d)
	check := func(ext connector.Extraction) {
		t.Helper()
		for _, name := range tableNames {
			checkOpen(t.Context(), t, ext, name, want[name])
		}
	}
	first := export(t, conn)
	check(first)

	// Exporting and reading left the managed system as it was.
	dir := t.TempDir()
	second, err := conn.Export(t.Context(), dir)
	if err != nil {
		t.Fatalf("second Export: %v", err)
	}
	check(second)

	// An extraction needs no other export's folder.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	check(first)
}

func testCancelledContext(t *testing.T, h Harness) {
	d := baseData(maxValueLen(h))
	want := d.tables()
	conn := newConnector(t, h, d)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()

	switch _, err := conn.Export(cancelled, t.TempDir()); {
	case err == nil:
		t.Log("Export with a cancelled context succeeded, which the contract allows")
	case !errors.Is(err, context.Canceled):
		t.Errorf("Export with a cancelled context: %v, want nil or an error matching context.Canceled", err)
	}

	// An extraction does not keep its Export's context.
	ctx, cancel := context.WithCancel(t.Context())
	ext, err := conn.Export(ctx, t.TempDir())
	cancel()
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	for _, name := range tableNames {
		for _, c := range []struct {
			what string
			ctx  context.Context
			want error
		}{{"a cancelled", cancelled, context.Canceled}, {"an expired", expired, context.DeadlineExceeded}} {
			tbl, err := ext.Open(c.ctx, name)
			switch {
			case err == nil:
				closeTable(tbl)
				t.Errorf("Open(%q) with %s context succeeded, want an error matching %v", name, c.what, c.want)
			case !errors.Is(err, c.want):
				t.Errorf("Open(%q) with %s context: %v, want an error matching %v", name, c.what, err, c.want)
			}
		}
		checkOpen(t.Context(), t, ext, name, want[name])
	}
}

func testCloseIdempotent(t *testing.T, h Harness) {
	d := baseData(maxValueLen(h))
	want := d.tables()
	ext := export(t, newConnector(t, h, d))
	var secondErr error
	closeTwice := func(name, when string, tbl connector.Table) {
		t.Helper()
		if err := tbl.Close(); err != nil {
			t.Errorf("%s: Close %s: %v", where(name, tbl), when, err)
		}
		defer func() {
			if p := recover(); p != nil {
				t.Errorf("%s: second Close %s panicked: %v", where(name, tbl), when, p)
			}
		}()
		if err := tbl.Close(); err != nil && secondErr == nil {
			secondErr = fmt.Errorf("%s: second Close %s: %w", where(name, tbl), when, err)
		}
	}
	for _, name := range tableNames {
		closeTwice(name, "before reading", open(t, ext, name))

		tbl := open(t, ext, name)
		if _, err := tbl.Read(); err != nil && (err != io.EOF || len(want[name].Rows) > 0) {
			t.Errorf("%s: first Read: %v", where(name, tbl), err)
		}
		closeTwice(name, "after one row", tbl)

		tbl = open(t, ext, name)
		if _, _, err := readAll(tbl); err != nil {
			t.Errorf("%s: Read: %v", where(name, tbl), err)
		}
		closeTwice(name, "after io.EOF", tbl)

		checkOpen(t.Context(), t, ext, name, want[name])
	}
	if secondErr != nil {
		t.Logf("a second Close may return an error: %v", secondErr)
	}
}

func testSyncEndToEnd(t *testing.T, h Harness) {
	d := baseData(maxValueLen(h))
	conn := newConnector(t, h, d)
	store := memstore.New()
	eng := newEngine(t, store)

	run, err := eng.Run(t.Context(), conn, allowEmpty)
	checkRun(t, "first run", run, err)
	checkCounts(t, "first run", run, map[string][2]int64{
		userType:  {int64(len(d.users)), 0},
		groupType: {int64(len(d.groups)), 0},
		members:   {int64(len(d.links)), 0},
	}, 0)
	checkStore(t, store, d)

	run, err = eng.Run(t.Context(), conn, allowEmpty)
	checkRun(t, "second run of the same data", run, err)
	checkCounts(t, "second run of the same data", run, nil, 0)
	checkStore(t, store, d)
}

func testChangesExportCommands(t *testing.T, h Harness) {
	base := baseData(maxValueLen(h))
	conn := newConnector(t, h, base)
	ce, ok := conn.(connector.ChangeExporter)
	if !ok {
		t.Skip("the connector does not implement connector.ChangeExporter")
	}
	setter, ok := h.(ChangeSetter)
	if !ok {
		t.Skip("the harness does not implement connectortest.ChangeSetter")
	}
	ctx := t.Context()

	switch _, _, err := ce.ExportChanges(ctx, t.TempDir(), ""); {
	case errors.Is(err, connector.ErrNoChanges):
		t.Log("before any change, ExportChanges returns connector.ErrNoChanges")
	case err != nil:
		t.Errorf("ExportChanges before any change: %v, want nil or an error matching connector.ErrNoChanges", err)
	}

	changed, after := changes(base)
	setter.SetChanges(t, conn, cloneTables(changed))
	var next string
	t.Run("Export", func(t *testing.T) {
		ext, cursor, err := ce.ExportChanges(ctx, t.TempDir(), "")
		if err != nil {
			t.Fatalf("ExportChanges: %v", err)
		}
		if next = cursor; next == "" {
			t.Error("ExportChanges returned an empty cursor: the next run could not tell what was exported")
		}
		for _, name := range tableNames {
			checkChanges(ctx, t, ext, name, changed[name])
		}
	})
	t.Run("ExportSinceCursor", func(t *testing.T) {
		ext, _, err := ce.ExportChanges(ctx, t.TempDir(), next)
		if errors.Is(err, connector.ErrNoChanges) {
			t.Log("since the last cursor, ExportChanges returns connector.ErrNoChanges: the engine exports a full snapshot")
			return
		}
		if err != nil {
			t.Fatalf("ExportChanges(since %q): %v", next, err)
		}
		for _, name := range tableNames {
			checkChanges(ctx, t, ext, name, Table{Header: changed[name].Header})
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := ce.ExportChanges(cancelled, t.TempDir(), ""); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("ExportChanges with a cancelled context: %v, want nil or an error matching context.Canceled", err)
		}
	})
	t.Run("SyncEndToEnd", func(t *testing.T) {
		store := memstore.New()
		eng := newEngine(t, store)
		full := newConnector(t, h, base)
		run, err := eng.Run(ctx, full, allowEmpty)
		checkRun(t, "complete run", run, err)
		checkStore(t, store, base)

		incremental := &idsync.RunOptions{Mode: idsync.Incremental}
		run, err = eng.Run(ctx, conn, incremental)
		checkRun(t, "incremental run", run, err)
		checkCounts(t, "incremental run", run, map[string][2]int64{
			userType:  {1, 1}, // U08 inserted, U02 deleted
			groupType: {1, 0},
			members:   {2, 1},
		}, 2) // U01 updated, U03 merged
		checkStore(t, store, after)

		run, err = eng.Run(ctx, conn, incremental)
		checkRun(t, "incremental run with no new change", run, err)
		checkCounts(t, "incremental run with no new change", run, nil, 0)
		checkStore(t, store, after)
	})
}

// closeTable closes tbl if it is not nil.
func closeTable(tbl connector.Table) {
	if tbl != nil {
		tbl.Close()
	}
}

// newEngine returns an engine synchronizing into store, logging nothing.
func newEngine(t *testing.T, store idsync.Store) *idsync.Engine {
	return idsync.New(store, &idsync.Options{WorkDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
}

// checkRun checks that a run succeeded and rejected no row.
func checkRun(t *testing.T, what string, run *idsync.Run, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if run.State != idsync.Succeeded {
		t.Fatalf("%s: state %s, want %s", what, run.State, idsync.Succeeded)
	}
	rejected := int64(0)
	for _, e := range run.EntityTypes {
		rejected += e.Rejected
	}
	for _, a := range run.Associations {
		rejected += a.Rejected
	}
	if rejected == 0 {
		return
	}
	t.Errorf("%s: %d rows rejected", what, rejected)
	rej, err := idsync.ReadReport(filepath.Join(run.Dir(), "prepared", "errors.jsonl"))
	if err != nil {
		t.Errorf("%s: error report: %v", what, err)
	}
	for _, r := range rej {
		t.Errorf("%s: rejected: %s (%s) line %d, key %q, column %q: %s: %s (raw %s)",
			what, r.Name, r.File, r.Line, r.Key, r.Column, r.Code, r.Message, show(r.Raw))
	}
}

// checkCounts checks a run's counters: inserted and deleted resources (or
// links) per table, and updated resources in all. A table missing from
// want has no change.
func checkCounts(t *testing.T, what string, run *idsync.Run, want map[string][2]int64, updated int64) {
	t.Helper()
	var gotUpdated int64
	for _, e := range run.EntityTypes {
		if got := [2]int64{e.Inserted, e.Deleted}; got != want[e.Name] {
			t.Errorf("%s: %s: %d inserted, %d deleted; want %d, %d", what, e.Name, got[0], got[1], want[e.Name][0], want[e.Name][1])
		}
		gotUpdated += e.Updated
	}
	if gotUpdated != updated {
		t.Errorf("%s: %d resources updated, want %d", what, gotUpdated, updated)
	}
	for _, a := range run.Associations {
		if got := [2]int64{a.Inserted, a.Deleted}; got != want[a.Name] {
			t.Errorf("%s: %s: %d links inserted, %d deleted; want %d, %d", what, a.Name, got[0], got[1], want[a.Name][0], want[a.Name][1])
		}
	}
}

// checkStore checks that store holds exactly d, as canonical values.
func checkStore(t *testing.T, store *memstore.Store, d dataset) {
	t.Helper()
	check := func(typ, key string, want map[string]string) {
		t.Helper()
		got := store.Get(typ, key)
		if got == nil {
			t.Errorf("store: %s %q missing", typ, key)
			return
		}
		for _, p := range sortedKeys(got, want) {
			g, gok := got[p]
			w, wok := want[p]
			switch {
			case !gok:
				t.Errorf("store: %s %q, property %q: null, want %s", typ, key, p, show(w))
			case !wok:
				t.Errorf("store: %s %q, property %q: got %s, want null", typ, key, p, show(g))
			case g != w:
				t.Errorf("store: %s %q, property %q: got %s, want %s%s", typ, key, p, show(g), show(w), diffAt(g, w))
			}
		}
	}
	for _, u := range d.users {
		check(userType, u.id, u.canonical())
	}
	for _, g := range d.groups {
		check(groupType, g[0], map[string]string{"id": g[0], "name": g[1]})
	}
	if n := store.Count(userType); n != len(d.users) {
		t.Errorf("store: %d %s, want %d", n, userType, len(d.users))
	}
	if n := store.Count(groupType); n != len(d.groups) {
		t.Errorf("store: %d %s, want %d", n, groupType, len(d.groups))
	}
	for _, l := range d.links {
		if !store.HasLink(members, l.group, l.user) {
			t.Errorf("store: %s link %q → %q missing", members, l.group, l.user)
		}
	}
	if n := store.LinkCount(members); n != len(d.links) {
		t.Errorf("store: %d %s links, want %d", n, members, len(d.links))
	}
	for _, m := range d.managers {
		if !store.HasLink(managers, m[0], m[1]) {
			t.Errorf("store: %s link %q → %q missing", managers, m[0], m[1])
		}
	}
	if n := store.LinkCount(managers); n != len(d.managers) {
		t.Errorf("store: %d %s links, want %d", n, managers, len(d.managers))
	}
}

func sortedKeys(ms ...map[string]string) []string {
	var keys []string
	for _, m := range ms {
		for k := range m {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// allowEmpty lets the kit's runs synchronize tables that have no row: the
// kit checks connectors, not the engine's guard against blank files.
var allowEmpty = &idsync.RunOptions{AllowEmpty: true}

// checkChanges checks that the table name of a change export is a
// connector.DeltaTable and reads want, whose command column, the kit's,
// may have another name in the connector's export.
func checkChanges(ctx context.Context, t *testing.T, ext connector.Extraction, name string, want Table) {
	t.Helper()
	tbl, err := ext.Open(ctx, name)
	if err != nil {
		t.Errorf("Open(%s): %v", name, err)
		return
	}
	command := connector.CommandColumn(tbl)
	tbl.Close()
	if command == "" {
		t.Errorf("%s of ExportChanges: not a connector.DeltaTable: a table of changes must say so (connector.Delta marks one), or the engine reads it as a snapshot and deletes by absence", name)
		return
	}
	want.Header = slices.Clone(want.Header)
	want.Header[slices.Index(want.Header, opColumn)] = command
	checkOpen(ctx, t, ext, name, want)
}

func testBothModesOneModel(t *testing.T, h Harness) {
	base := baseData(maxValueLen(h))
	conn := newConnector(t, h, base)
	if _, ok := conn.(connector.ChangeExporter); !ok {
		t.Skip("the connector does not implement connector.ChangeExporter")
	}
	setter, ok := h.(ChangeSetter)
	if !ok {
		t.Skip("the harness does not implement connectortest.ChangeSetter")
	}
	ctx := t.Context()
	store := memstore.New()
	eng := newEngine(t, store)
	incremental := &idsync.RunOptions{Mode: idsync.Incremental, AllowEmpty: true}

	run, err := eng.Run(ctx, conn, allowEmpty)
	checkRun(t, "complete run", run, err)
	checkStore(t, store, base)
	// Before any change: no changes, or connector.ErrNoChanges and a full
	// export diffed against the previous snapshot, with the same model.
	run, err = eng.Run(ctx, conn, incremental)
	checkRun(t, "incremental run before any change", run, err)
	checkCounts(t, "incremental run before any change", run, nil, 0)
	checkStore(t, store, base)

	changed, after := changes(base)
	setter.SetChanges(t, conn, cloneTables(changed))
	run, err = eng.Run(ctx, conn, incremental)
	checkRun(t, "incremental run of the changes", run, err)
	checkStore(t, store, after)

	m, ok := h.(Mutator)
	if !ok {
		t.Log("the harness does not implement connectortest.Mutator: the complete run after the changes is not checked")
		return
	}
	m.Mutate(t, conn, after.tables())
	run, err = eng.Run(ctx, conn, allowEmpty)
	checkRun(t, "complete run after the changes", run, err)
	checkCounts(t, "complete run after the changes", run, nil, 0)
	checkStore(t, store, after)
	// The complete run set the cursor from its snapshot: the changes it
	// holds are not exported again.
	run, err = eng.Run(ctx, conn, incremental)
	checkRun(t, "incremental run after the complete one", run, err)
	checkCounts(t, "incremental run after the complete one", run, nil, 0)
	checkStore(t, store, after)
}
