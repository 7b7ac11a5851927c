package extract

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// twin is a table with values that are hard to store, written as CSV and
// XLSX by the tests.
var twin = [][]string{
	{"id", "name", "note", "amount", "flag", "last"},
	{"1", " Ann ", "line 1\nline 2", "007", "TRUE", ""},
	{"2", "Émile 漢字 🙂", `say "hi", ok`, "1e5", "0", ""},
	{"3", "=SUM(A1:A2)", "_x0041_ _x005F_ literal", "-12.50", "N", ""},
	{"4", "", "tab\there", "45293", "", "x"},
	{"5", "\ttrail\t", "a\rb", "1234567890123456789", "y", ""},
	{"6", "&<>'\"", ";,|", strings.Repeat("z", excelize.TotalCellChars), " ", "\n"},
}

// write writes records with w and closes it.
func write(t testing.TB, w Writer, records [][]string) {
	t.Helper()
	for _, rec := range records {
		if err := w.Write(rec); err != nil {
			t.Fatalf("Write(%.40q): %v", rec, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// xlsxBytes returns records written as a workbook.
func xlsxBytes(t testing.TB, records [][]string, opts *Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewXLSXWriter(&buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	write(t, w, records)
	return buf.Bytes()
}

// readFile reads the whole file at path.
func readFile(t *testing.T, path string, opts *Options) (header []string, records [][]string) {
	t.Helper()
	r, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	if r.Name() != path {
		t.Errorf("Name() = %q; want %q", r.Name(), path)
	}
	records, _ = readAll(t, r)
	return r.Header(), records
}

// TestTwins checks that the same records written as CSV and as XLSX read
// back identical.
func TestTwins(t *testing.T) {
	dir := t.TempDir()
	var csvData bytes.Buffer
	write(t, NewCSVWriter(&csvData, nil), twin)
	csvPath, xlsxPath := filepath.Join(dir, "users.csv"), filepath.Join(dir, "users.xlsx")
	if err := os.WriteFile(csvPath, csvData.Bytes(), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(xlsxPath, xlsxBytes(t, twin, nil), 0o666); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{csvPath, xlsxPath} {
		header, records := readFile(t, path, nil)
		if !slices.Equal(header, twin[0]) {
			t.Errorf("%s: header %q; want %q", path, header, twin[0])
		}
		if !reflect.DeepEqual(records, twin[1:]) {
			for i := range min(len(records), len(twin)-1) {
				if !slices.Equal(records[i], twin[i+1]) {
					t.Errorf("%s: record %d = %q; want %q", path, i+1, records[i], twin[i+1])
				}
			}
			t.Fatalf("%s: read %d records; want %d", path, len(records), len(twin)-1)
		}
	}
}

func TestXLSXSheet(t *testing.T) {
	data := xlsxBytes(t, [][]string{{"id"}, {"1"}}, &Options{Sheet: "Users"})
	r, err := NewXLSXReader(bytes.NewReader(data), "book.xlsx", &Options{Sheet: "Users"})
	if err != nil {
		t.Fatal(err)
	}
	if records, _ := readAll(t, r); !reflect.DeepEqual(records, [][]string{{"1"}}) {
		t.Errorf("read %q", records)
	}
	_, err = NewXLSXReader(bytes.NewReader(data), "book.xlsx", &Options{Sheet: "Groups"})
	const want = `extract: book.xlsx: no sheet "Groups" (sheets: "Users")`
	if !errors.Is(err, ErrNoSheet) || err.Error() != want {
		t.Errorf("error = %v; want %s", err, want)
	}
	if _, err := NewXLSXWriter(io.Discard, &Options{Sheet: "bad/name"}); err == nil {
		t.Errorf("NewXLSXWriter with an invalid sheet name: no error")
	}
}

// dateBook returns a workbook made with excelize, with cells of many types
// and number formats.
func dateBook(t testing.TB, date1904 bool) *excelize.File {
	f := excelize.NewFile()
	t.Cleanup(func() { f.Close() })
	if date1904 {
		if err := f.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &date1904}); err != nil {
			t.Fatal(err)
		}
	}
	style := func(s *excelize.Style) int {
		id, err := f.NewStyle(s)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	code := func(s string) *string { return &s }
	const sheet = "Sheet1"
	cells := []struct {
		header string
		value  any
		style  int
	}{
		{"date", 45293.0, style(&excelize.Style{NumFmt: 14})},
		{"custom date", 45293.0, style(&excelize.Style{CustomNumFmt: code("dd/mm/yyyy")})},
		{"long date", 45293.0, style(&excelize.Style{CustomNumFmt: code(`[$-409]dddd\, mmmm d\, yyyy;@`)})},
		{"datetime", 45293.635416666664, style(&excelize.Style{NumFmt: 22})},
		{"custom datetime", 45293.5, style(&excelize.Style{CustomNumFmt: code("DD.MM.YYYY HH:MM:SS")})},
		{"time", 0.75, style(&excelize.Style{NumFmt: 21})},
		{"am/pm", 0.25, style(&excelize.Style{CustomNumFmt: code("h:mm AM/PM")})},
		{"elapsed", 1.5, style(&excelize.Style{CustomNumFmt: code("[h]:mm")})},
		{"thousands", 1234567.891, style(&excelize.Style{NumFmt: 4})},
		{"percent", 0.25, style(&excelize.Style{NumFmt: 10})},
		{"red", -5.5, style(&excelize.Style{CustomNumFmt: code(`#,##0.00;[Red]"minus "#,##0.00`)})},
		{"text date", "45293", style(&excelize.Style{NumFmt: 14})},
		{"general", 0.1 + 0.2, 0},
		{"bool", true, style(&excelize.Style{NumFmt: 14})},
		{"int", 42, style(&excelize.Style{NumFmt: 49})},
	}
	for i, c := range cells {
		header, _ := excelize.CoordinatesToCellName(i+1, 1)
		cell, _ := excelize.CoordinatesToCellName(i+1, 2)
		if err := f.SetCellValue(sheet, header, c.header); err != nil {
			t.Fatal(err)
		}
		if err := f.SetCellValue(sheet, cell, c.value); err != nil {
			t.Fatal(err)
		}
		if err := f.SetCellStyle(sheet, cell, cell, c.style); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// TestXLSXValues checks that cells read as ISO 8601 dates and times or as
// their raw value, whatever their number format.
func TestXLSXValues(t *testing.T) {
	want := map[string]string{
		"date":            "2024-01-02",
		"custom date":     "2024-01-02",
		"long date":       "2024-01-02",
		"datetime":        "2024-01-02T15:15:00",
		"custom datetime": "2024-01-02T12:00:00",
		"time":            "18:00:00",
		"am/pm":           "06:00:00",
		"elapsed":         "1.5",
		"thousands":       "1234567.891",
		"percent":         "0.25",
		"red":             "-5.5",
		"text date":       "45293",
		"general":         "0.3",
		"bool":            "TRUE",
		"int":             "42",
	}
	for _, date1904 := range []bool{false, true} {
		f := dateBook(t, date1904)
		var buf bytes.Buffer
		if err := f.Write(&buf); err != nil {
			t.Fatal(err)
		}
		r, err := NewXLSXReader(&buf, "dates.xlsx", nil)
		if err != nil {
			t.Fatal(err)
		}
		records, lines := readAll(t, r)
		if len(records) != 1 || lines[0] != 2 {
			t.Fatalf("read %q on lines %v; want one record on line 2", records, lines)
		}
		for i, h := range r.Header() {
			w := want[h]
			if date1904 && strings.HasPrefix(w, "2024-01-02") {
				w = "2028-01-03" + w[len("2024-01-02"):] // serials count from 1904-01-01
			}
			if got := records[0][i]; got != w {
				t.Errorf("date1904 %v: %s = %q; want %q", date1904, h, got, w)
			}
		}
	}
}

func TestISOFormat(t *testing.T) {
	tests := map[string]string{
		"General":                          "",
		"0.00E+00":                         "",
		"#,##0.00 [$€-407]":                "",
		`0.00 "days"`:                      "",
		`#,##0;[Red]\-#,##0`:               "",
		"@":                                "",
		"[h]:mm:ss":                        "",
		"[mm]:ss":                          "",
		"yyyy-mm-dd":                       isoDate,
		"d/m/yy":                           isoDate,
		"mmm-yy":                           isoDate,
		"mmmm":                             isoDate,
		`[$-F800]dddd\,\ mmmm\ dd\,\ yyyy`: isoDate,
		`yyyy"年"m"月"d"日"`:                  isoDate,
		"dd/mm/yyyy hh:mm":                 isoDateTime,
		"m/d/yy h:mm AM/PM":                isoDateTime,
		"hh:mm":                            isoTime,
		"mm:ss.0":                          isoTime,
		"h AM/PM":                          isoTime,
		"[Red]hh:mm;@":                     isoTime,
		"0;yyyy":                           "",
		`"unclosed`:                        "",
		"[Red":                             "",
	}
	for code, want := range tests {
		if got := isoFormat(code); got != want {
			t.Errorf("isoFormat(%q) = %q; want %q", code, got, want)
		}
	}
}

// TestXLSXRows checks blank and short rows and cells beyond the header.
func TestXLSXRows(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Sheet1"
	set := func(cell string, value any) {
		if err := f.SetCellValue(sheet, cell, value); err != nil {
			t.Fatal(err)
		}
	}
	set("B2", " id ")
	set("C2", "name")
	set("D2", "mail")
	set("B3", "1")
	set("C3", "Ann")
	set("B5", "2") // row 4 is blank, and row 5 short
	set("C6", "Bob")
	set("B7", "3")
	set("E7", "beyond the header")
	set("B8", "4")
	fill, err := f.NewStyle(&excelize.Style{Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"FFFF00"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetCellStyle(sheet, "A9", "F9", fill); err != nil { // a styled blank row
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	r, err := NewXLSXReader(&buf, "rows.xlsx", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Header(), []string{"", "id", "name", "mail"}; !slices.Equal(got, want) {
		t.Errorf("Header() = %q; want %q", got, want)
	}
	if r.Line() != 2 {
		t.Errorf("header on line %d; want 2", r.Line())
	}
	want := []struct {
		rec  []string
		line int
		err  string
	}{
		{rec: []string{"", "1", "Ann", ""}, line: 3},
		{rec: []string{"", "2", "", ""}, line: 5},
		{rec: []string{"", "", "Bob", ""}, line: 6},
		{err: "extract: rows.xlsx:7:5: wrong number of fields: value beyond the 4 columns of the header", line: 6},
		{rec: []string{"", "4", "", ""}, line: 8},
	}
	for _, w := range want {
		rec, err := r.Read()
		switch {
		case w.err != "":
			if err == nil || err.Error() != w.err || !errors.Is(err, ErrFieldCount) {
				t.Errorf("Read() = %q, %v; want error %s", rec, err, w.err)
			}
		case err != nil || !slices.Equal(rec, w.rec):
			t.Errorf("Read() = %q, %v; want %q", rec, err, w.rec)
		}
		if r.Line() != w.line {
			t.Errorf("Line() = %d; want %d", r.Line(), w.line)
		}
	}
	if rec, err := r.Read(); err != io.EOF {
		t.Errorf("Read() = %q, %v; want EOF", rec, err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestXLSXNoHeader(t *testing.T) {
	data := xlsxBytes(t, nil, nil)
	if _, err := NewXLSXReader(bytes.NewReader(data), "empty.xlsx", nil); !errors.Is(err, ErrNoHeader) {
		t.Errorf("error = %v; want %v", err, ErrNoHeader)
	}
}

// rezip returns the workbook data with its worksheet changed by edit.
func rezip(t testing.TB, data []byte, edit func([]byte) []byte) []byte {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		if zf.Name == "xl/worksheets/sheet1.xml" {
			b = edit(b)
		}
		w, err := zw.Create(zf.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestXLSXCorrupt checks that damaged workbooks are errors naming the
// file, never fewer rows.
func TestXLSXCorrupt(t *testing.T) {
	good := xlsxBytes(t, twin, nil)
	bad := map[string][]byte{
		"empty":     {},
		"not a zip": []byte("id,name\n1,Ann\n"),
		"truncated worksheet": rezip(t, good, func(b []byte) []byte {
			return b[:bytes.Index(b, []byte("<row r=\"4\""))]
		}),
		"invalid UTF-8": rezip(t, good, func(b []byte) []byte {
			return bytes.Replace(b, []byte("Ann"), []byte("A\xffn"), 1)
		}),
		"bad XML": rezip(t, good, func(b []byte) []byte {
			return bytes.Replace(b, []byte("<row r=\"4\""), []byte("<row r=\"4\"<"), 1)
		}),
	}
	for _, n := range []int{len(good) / 2, len(good) - 1, len(good) - 30, 100, 4} {
		bad["truncated"+string(rune('0'+n%10))] = good[:n]
	}
	// Damage the compressed worksheet.
	damaged := slices.Clone(good)
	i := bytes.Index(damaged, []byte("xl/worksheets/sheet1.xml")) + 100
	damaged[i] ^= 0xff
	bad["damaged"] = damaged

	dir := t.TempDir()
	for name, data := range bad {
		err := readErr(NewXLSXReader(bytes.NewReader(data), "book.xlsx", nil))
		if err == nil || !strings.HasPrefix(err.Error(), "extract: book.xlsx: ") {
			t.Errorf("%s: reading error = %v; want one naming book.xlsx", name, err)
		}
		path := filepath.Join(dir, "users.xlsx")
		if err := os.WriteFile(path, data, 0o666); err != nil {
			t.Fatal(err)
		}
		err = readErr(Open(path, nil))
		if err == nil || !strings.HasPrefix(err.Error(), "extract: "+path+": ") {
			t.Errorf("%s: reading error = %v; want one naming %s", name, err, path)
		}
	}
}

// readErr reads r to the end and closes it, returning the first error
// other than io.EOF.
func readErr(r *Reader, err error) error {
	if err != nil {
		return err
	}
	defer r.Close()
	for err == nil {
		_, err = r.Read()
	}
	if err == io.EOF {
		return nil
	}
	return err
}

func TestXLSXWriterErrors(t *testing.T) {
	tests := []struct {
		record []string
		err    error
	}{
		{[]string{"a"}, ErrFieldCount},
		{[]string{"a", "b", "c"}, ErrFieldCount},
		{[]string{"a", "\x00"}, ErrCellValue},
		{[]string{"a", "b\x1bc"}, ErrCellValue},
		{[]string{"a", "\uFFFE"}, ErrCellValue},
		{[]string{"a", "\xff"}, ErrInvalidUTF8},
		{[]string{"a", strings.Repeat("x", excelize.TotalCellChars+1)}, ErrCellValue},
		{[]string{"a", strings.Repeat("🙂", excelize.TotalCellChars/2+1)}, ErrCellValue},
	}
	var buf bytes.Buffer
	w, err := NewXLSXWriter(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(nil); err == nil {
		t.Errorf("Write of an empty header: no error")
	}
	if err := w.Write([]string{"id", "name"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		if err := w.Write(tt.record); !errors.Is(err, tt.err) {
			t.Errorf("Write(%.20q) error = %v; want %v", tt.record, err, tt.err)
		}
	}
	ok := []string{"1", strings.Repeat("🙂", excelize.TotalCellChars/2-3) + "\t\r\n\u007f\u0085"}
	write(t, w, [][]string{ok})
	if err := w.Write(ok); err == nil {
		t.Errorf("Write after Close: no error")
	}
	r, err := NewXLSXReader(&buf, "w.xlsx", nil)
	if err != nil {
		t.Fatal(err)
	}
	if records, _ := readAll(t, r); !reflect.DeepEqual(records, [][]string{ok}) {
		t.Errorf("read back %.40q", records)
	}
}

func TestCSVWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewCSVWriter(&buf, &Options{Separator: ';'})
	if err := w.Write(nil); err == nil {
		t.Errorf("Write of an empty header: no error")
	}
	write(t, w, [][]string{{"id"}, {"1"}, {""}, {"a;b"}})
	if err := w.Write([]string{"x", "y"}); !errors.Is(err, ErrFieldCount) {
		t.Errorf("Write of 2 fields after a header of 1: error %v", err)
	}
	if err := w.Write([]string{"\xff"}); !errors.Is(err, ErrInvalidUTF8) {
		t.Errorf("Write of invalid UTF-8: error %v", err)
	}
	const want = "id\n1\n\"\"\n\"a;b\"\n"
	if buf.String() != want {
		t.Errorf("wrote %q; want %q", buf.String(), want)
	}
	r := newCSV(t, buf.String(), &Options{Separator: ';'})
	if records, _ := readAll(t, r); !reflect.DeepEqual(records, [][]string{{"1"}, {""}, {"a;b"}}) {
		t.Errorf("read back %q", records)
	}
}

// dropParts returns the workbook data without the parts named.
func dropParts(t testing.TB, data []byte, names ...string) []byte {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, zf := range zr.File {
		if slices.Contains(names, zf.Name) {
			continue
		}
		if err := zw.Copy(zf); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A file read as XLSX that is not a workbook says so, and what it lacks,
// instead of "EOF" or a zip error.
func TestXLSXNotWorkbook(t *testing.T) {
	good := xlsxBytes(t, twin, nil)
	var other bytes.Buffer
	zw := zip.NewWriter(&other)
	w, _ := zw.Create("people.csv")
	w.Write([]byte("id,name\n1,Ann\n"))
	zw.Close()
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"a zip of something else", other.Bytes(), "not an XLSX workbook: the zip has no xl/workbook.xml"},
		{"no workbook part", dropParts(t, good, "xl/workbook.xml"), "not an XLSX workbook: the zip has no xl/workbook.xml, the workbook part that _rels/.rels names"},
		{"no package relationships", dropParts(t, good, "_rels/.rels"), "not an XLSX workbook: the zip has no _rels/.rels"},
		{"a CSV file", []byte("id,name\n1,Ann\n"), "not an XLSX workbook: not a zip archive, but text (a CSV file?)"},
		{"binary", []byte("\x00\x01\x02garbage"), "not an XLSX workbook: not a zip archive"},
		{"empty", nil, "not an XLSX workbook: the file is empty"},
	} {
		path := filepath.Join(t.TempDir(), "people.xlsx")
		if err := os.WriteFile(path, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, open := range []func() (*Reader, error){
			func() (*Reader, error) { return OpenAs(path, "people.xlsx", nil) },
			func() (*Reader, error) { return NewXLSXReader(bytes.NewReader(tc.data), "people.xlsx", nil) },
		} {
			_, err := open()
			if !errors.Is(err, ErrNotXLSX) || !strings.HasPrefix(err.Error(), "extract: people.xlsx: "+tc.want) {
				t.Errorf("%s: %v; want extract: people.xlsx: %s (ErrNotXLSX)", tc.name, err, tc.want)
			}
		}
	}
}
