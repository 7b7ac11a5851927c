// Command xlsx synchronizes a managed system exported as an XLSX workbook:
// it writes a small workbook (a users sheet with real date, boolean and
// number cells, a groups sheet and a members sheet) into a temporary
// folder, then synchronizes it with xlsxconn into an in-memory store and
// prints the counters.
//
//	go run ./examples/xlsx
//
// Cells are read as text that the engine converts: a date cell reads as
// 2024-01-02 whatever its display format, a number as its value, a
// boolean as TRUE or FALSE.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/idsync/idsync/connector/xlsxconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/memstore"
	"github.com/idsync/idsync/threshold"
)

func main() {
	log.SetFlags(0)
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// model maps the workbook's sheets: one per entity type and association,
// named by Sheet (the entity type's name when empty).
func model() *entitytype.Model {
	return &entitytype.Model{
		Name: "Payroll",
		// A first load into an empty store exceeds every percentage
		// threshold and would block for review: turn them off here.
		Thresholds: threshold.Limits{
			MaxPercentInserted: threshold.PercentOff(), MaxLinkPercentInserted: threshold.PercentOff(),
		},
		EntityTypes: []entitytype.EntityType{
			{Name: "Payroll_Employee", Sheet: "Employees", Key: []string{"number"}, Properties: []entitytype.Property{
				{Name: "number", Column: "Number", Type: entitytype.Int},
				{Name: "name", Column: "Name"},
				{Name: "hired", Column: "Hired", Type: entitytype.Date}, // a date cell: ISO 8601
				{Name: "fullTime", Column: "Full time", Type: entitytype.Bool},
				{Name: "salary", Column: "Salary", Type: entitytype.Decimal},
			}},
			{Name: "Payroll_Team", Sheet: "Teams", Key: []string{"code"}, Properties: []entitytype.Property{
				{Name: "code", Column: "Code"},
				{Name: "name", Column: "Name"},
			}},
		},
		Associations: []entitytype.Association{{
			Name: "Payroll_TeamMembers", Sheet: "Members",
			Source: entitytype.End{EntityType: "Payroll_Team", Column: "Team"},
			Target: entitytype.End{EntityType: "Payroll_Employee", Column: "Employee"},
		}},
	}
}

func run(ctx context.Context, out io.Writer) error {
	dir, err := os.MkdirTemp("", "idsync-xlsx-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "payroll.xlsx")
	if err := writeWorkbook(path); err != nil {
		return err
	}

	store := memstore.New()
	engine := idsync.New(store, &idsync.Options{WorkDir: filepath.Join(dir, "work"), Logger: slog.New(slog.DiscardHandler)})
	run, err := engine.Run(ctx, xlsxconn.New(model(), path), nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "run %s\n", run.State)
	for _, e := range run.EntityTypes {
		fmt.Fprintf(out, "  %-19s %d read, %d inserted, %d rejected\n", e.Name, e.Read, e.Inserted, e.Rejected)
	}
	for _, a := range run.Associations {
		fmt.Fprintf(out, "  %-19s %d read, %d inserted, %d rejected\n", a.Name, a.Read, a.Inserted, a.Rejected)
	}
	e := store.Get("Payroll_Employee", "1002")
	fmt.Fprintf(out, "employee 1002: %s, hired %s, full time %s, salary %s\n", e["name"], e["hired"], e["fullTime"], e["salary"])
	return nil
}

// writeWorkbook writes the managed system's export, as an HR tool would:
// typed cells, dates shown as dd/mm/yyyy.
func writeWorkbook(path string) (err error) {
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if err := f.SetSheetName(f.GetSheetName(0), "Employees"); err != nil {
		return err
	}
	dateFormat := "dd/mm/yyyy"
	date, err := f.NewStyle(&excelize.Style{CustomNumFmt: &dateFormat})
	if err != nil {
		return err
	}
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	employees := [][]any{
		{"Number", "Name", "Hired", "Full time", "Salary"},
		{1001, "Ann Lee", day(2021, time.March, 1), true, 52000.5},
		{1002, "Bob Stone", day(2024, time.January, 2), false, 31000},
		{1003, "Zoë Martin", day(2019, time.June, 30), true, 61250.25},
	}
	if err := setRows(f, "Employees", employees); err != nil {
		return err
	}
	if err := f.SetCellStyle("Employees", "C2", "C4", date); err != nil {
		return err
	}
	if err := setRows(f, "Teams", [][]any{{"Code", "Name"}, {"ops", "Operations"}, {"dev", "Development"}}); err != nil {
		return err
	}
	if err := setRows(f, "Members", [][]any{{"Team", "Employee"}, {"ops", 1001}, {"dev", 1002}, {"dev", 1003}}); err != nil {
		return err
	}
	return f.SaveAs(path)
}

// setRows writes rows from A1 down in sheet, creating it if needed.
func setRows(f *excelize.File, sheet string, rows [][]any) error {
	if _, err := f.NewSheet(sheet); err != nil {
		return err
	}
	for i, row := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		if err != nil {
			return err
		}
		if err := f.SetSheetRow(sheet, cell, &row); err != nil {
			return err
		}
	}
	return nil
}
