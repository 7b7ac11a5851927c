package xlsxconn_test

import (
	"context"
	"errors"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/connectortest"
	"github.com/idsync/idsync/connector/xlsxconn"
	"github.com/idsync/idsync/entitytype"
)

// workbook is a harness whose managed system is one workbook holding a
// sheet per table. extract.XLSXWriter writes one sheet per file, so the
// workbook is written with excelize.
type workbook struct {
	// sheet returns the sheet name of a table, "" for the default (the
	// table's name).
	sheet func(name string) string
	// extra names sheets written before the tables' sheets, which the
	// connector must ignore.
	extra []string
}

func (h workbook) NewConnector(t *testing.T, m *entitytype.Model, tables map[string]connectortest.Table) connector.Connector {
	if h.sheet != nil {
		for i := range m.EntityTypes {
			m.EntityTypes[i].Sheet = h.sheet(m.EntityTypes[i].Name)
		}
		for i := range m.Associations {
			m.Associations[i].Sheet = h.sheet(m.Associations[i].Name)
		}
	}
	path := filepath.Join(t.TempDir(), "kit.xlsx")
	h.write(t, path, tables)
	return xlsxconn.New(m, path)
}

// Mutate rewrites the workbook in place.
func (h workbook) Mutate(t *testing.T, conn connector.Connector, tables map[string]connectortest.Table) {
	// Exported without a folder, the extraction is the workbook itself.
	ext, err := conn.Export(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	h.write(t, ext.(xlsxconn.Workbook).Path, tables)
}

// MaxValueLen implements connectortest.ValueLimiter: a cell holds at most
// 32,767 characters.
func (workbook) MaxValueLen() int { return excelize.TotalCellChars }

func (h workbook) write(t *testing.T, path string, tables map[string]connectortest.Table) {
	t.Helper()
	sheets := map[string]connectortest.Table{}
	for _, name := range h.extra {
		sheets[name] = connectortest.Table{Header: []string{"Read me"}, Rows: [][]string{{"not a table"}}}
	}
	names := slices.Clone(h.extra)
	for _, name := range slices.Sorted(maps.Keys(tables)) {
		s := name
		if h.sheet != nil {
			s = h.sheet(name)
		}
		sheets[s] = tables[name]
		names = append(names, s)
	}
	if err := writeWorkbook(path, names, sheets); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// writeWorkbook writes a workbook holding the named sheets, in order, with
// every value as a text cell and empty values as no cell.
func writeWorkbook(path string, names []string, sheets map[string]connectortest.Table) error {
	f := excelize.NewFile()
	defer f.Close()
	for i, name := range names {
		if i == 0 {
			if err := f.SetSheetName(f.GetSheetName(0), name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(name); err != nil {
			return err
		}
		tb := sheets[name]
		for r, row := range append([][]string{tb.Header}, tb.Rows...) {
			for c, v := range row {
				if v == "" {
					continue
				}
				cell, err := excelize.CoordinatesToCellName(c+1, r+1)
				if err != nil {
					return err
				}
				if err := f.SetCellStr(name, cell, v); err != nil {
					return err
				}
			}
		}
	}
	return f.SaveAs(path)
}

func TestConformance(t *testing.T) {
	t.Run("SheetPerTable", func(t *testing.T) {
		connectortest.Run(t, workbook{})
	})
	t.Run("NamedSheets", func(t *testing.T) {
		connectortest.Run(t, workbook{
			sheet: func(name string) string { return strings.TrimPrefix(name, "Kit_") + "s, sheet" },
			extra: []string{"README"},
		})
	})
}

func model() *entitytype.Model {
	return &entitytype.Model{Name: "HR", EntityTypes: []entitytype.EntityType{
		{Name: "HR_User", Key: []string{"id"}, Properties: []entitytype.Property{
			{Name: "id", Column: "ID"}, {Name: "hired", Column: "Hired", Type: entitytype.Date},
		}},
		{Name: "HR_Org", Key: []string{"code"}, Properties: []entitytype.Property{{Name: "code", Column: "Code"}}},
	}}
}

func TestMissingWorkbook(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.xlsx")
	c := xlsxconn.New(model(), path)
	if _, err := c.Export(context.Background(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "missing.xlsx") {
		t.Errorf("Export of a missing workbook: %v, want an error naming missing.xlsx", err)
	}
	ext, err := c.Export(context.Background(), "")
	if err != nil {
		t.Fatalf("Export without a folder: %v", err)
	}
	if _, err := ext.Open(context.Background(), "HR_User"); !errors.Is(err, connector.ErrNotExported) || !strings.Contains(err.Error(), path) {
		t.Errorf("Open of a table of a missing workbook: %v, want connector.ErrNotExported naming %s", err, path)
	}
}

func TestMissingSheet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hr.xlsx")
	if err := writeWorkbook(path, []string{"HR_User"}, map[string]connectortest.Table{
		"HR_User": {Header: []string{"ID", "Hired"}, Rows: [][]string{{"U1", ""}}},
	}); err != nil {
		t.Fatal(err)
	}
	ext, err := xlsxconn.New(model(), path).Export(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, err = ext.Open(context.Background(), "HR_Org")
	if !errors.Is(err, connector.ErrNotExported) || !strings.Contains(err.Error(), `"HR_Org"`) {
		t.Errorf("Open of a missing sheet: %v, want connector.ErrNotExported naming the sheet", err)
	}
}

// Typed cells read as the text that the engine converts: dates as ISO
// 8601 whatever their display format, numbers as their value, booleans as
// TRUE or FALSE.
func TestTypedCells(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hr.xlsx")
	f := excelize.NewFile()
	sheet := "HR_User"
	if err := f.SetSheetName(f.GetSheetName(0), sheet); err != nil {
		t.Fatal(err)
	}
	dmy := "dd/mm/yyyy"
	style, err := f.NewStyle(&excelize.Style{CustomNumFmt: &dmy})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetSheetRow(sheet, "A1", &[]any{"ID", "Hired", "Count", "Active"}))
	must(f.SetSheetRow(sheet, "A2", &[]any{"U1", time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), 42, true}))
	must(f.SetCellStyle(sheet, "B2", "B2", style))
	must(f.SaveAs(path))
	must(f.Close())

	ext, err := xlsxconn.New(model(), path).Export(context.Background(), t.TempDir())
	must(err)
	tbl, err := ext.Open(context.Background(), "HR_User")
	must(err)
	defer tbl.Close()
	row, err := tbl.Read()
	must(err)
	if want := []string{"U1", "2024-01-02", "42", "TRUE"}; !slices.Equal(row, want) {
		t.Errorf("Read() = %q, want %q", row, want)
	}
	if tbl.Line() != 2 {
		t.Errorf("Line() = %d, want 2", tbl.Line())
	}
	if _, err := tbl.Read(); err != io.EOF {
		t.Errorf("Read after the last row: %v, want io.EOF", err)
	}
}
