package extract

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// readChecked reads r to the end, checking the invariants of every Reader,
// and returns the records read and whether there was an error.
func readChecked(t *testing.T, r *Reader) (records [][]string, failed bool) {
	header := r.Header()
	line := r.Line()
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return records, failed
		}
		var pe *ParseError
		if err != nil {
			if !errors.As(err, &pe) || pe.File != r.Name() {
				t.Fatalf("Read error %#v; want a *ParseError naming %s", err, r.Name())
			}
			failed = true
			if !errors.Is(err, ErrBadRecord) {
				if _, again := r.Read(); again != err {
					t.Fatalf("Read error %v, then %v; want the same", err, again)
				}
				return records, failed
			}
			continue
		}
		if len(rec) != len(header) {
			t.Fatalf("record %q has %d fields; header %q has %d", rec, len(rec), header, len(header))
		}
		for _, f := range rec {
			if !utf8.ValidString(f) {
				t.Fatalf("record %q is not valid UTF-8", rec)
			}
		}
		if r.Line() <= line {
			t.Fatalf("record on line %d after line %d", r.Line(), line)
		}
		line = r.Line()
		records = append(records, slices.Clone(rec))
	}
}

// csvSeeds are inputs worth fuzzing CSV readers from.
var csvSeeds = []struct {
	data string
	sep  rune
}{
	{"id,name\n1,Ann\n2,Bob\n", ','},
	{"\uFEFFid,name\r\n1,Ann\r\n", ','},
	{"\uFEFF\"id\";\"na;me\"\n1;\"A\"\"nn\"\n", ';'},
	{"id\tname\n1\t\"multi\nline\"\n\n\n", '\t'},
	{"id|name\r\n1|Ann|extra\r\n2\r\n", '|'},
	{"id,name\n1,\"unbalanced\n2,Bob\n", ','},
	{"id,name\n1,bare\"quote\n", ','},
	{"id,name\n1,\xff\xfe\n2,\xc3\n", ','},
	{"\xff,id\n", ','},
	{"", ','},
	{"\n\r\n\n", ','},
	{"a,b,\n,,\n\"\",\"\",\"\"\n", ','},
	{"a¦b\n1¦2\n", '¦'},
	{"a b\n\" x\" y\n", ' '},
	{"id,name\r1,Ann\r2,\"B\rob\"\r\r3,x,y\r4,\xff\r", ','}, // classic Mac OS line ends
	{"\uFEFF\"i\rd\";b\r\n1;2\r3\r", ';'},
}

func FuzzCSVReader(f *testing.F) {
	for _, s := range csvSeeds {
		f.Add([]byte(s.data), s.sep, false)
		f.Add([]byte(s.data), s.sep, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, sep rune, lazy bool) {
		opts := &Options{Separator: sep, LazyQuotes: lazy, MaxRecordBytes: 1 << 10}
		r, err := NewCSVReader(bytes.NewReader(data), "fuzz.csv", opts)
		if err != nil {
			return
		}
		records, failed := readChecked(t, r)
		if failed {
			return
		}
		for _, rec := range append(records, r.Header()) {
			for _, f := range rec {
				if strings.Contains(f, "\r\n") {
					return // CSV cannot hold it, see CSVWriter
				}
			}
		}
		// What was read writes and reads back the same.
		var buf bytes.Buffer
		w := NewCSVWriter(&buf, opts)
		if err := w.Write(r.Header()); err != nil {
			if errors.Is(err, ErrInvalidUTF8) {
				return // an invalid header read without error
			}
			t.Fatalf("Write header %q: %v", r.Header(), err)
		}
		for _, rec := range records {
			if err := w.Write(rec); err != nil {
				t.Fatalf("Write(%q): %v", rec, err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r2, err := NewCSVReader(&buf, "fuzz.csv", &Options{Separator: sep})
		if err != nil {
			t.Fatalf("reading back %q: %v", buf.String(), err)
		}
		records2, failed := readChecked(t, r2)
		if failed || !slices.Equal(r2.Header(), r.Header()) || !reflect.DeepEqual(records2, records) {
			t.Fatalf("wrote header %q and %q as %q, read back %q and %q",
				r.Header(), records, buf.String(), r2.Header(), records2)
		}
	})
}

func FuzzXLSXReader(f *testing.F) {
	good := xlsxBytes(f, [][]string{
		{"id", "name", "note"},
		{"1", " Ann ", "line 1\nline 2"},
		{"2", "Émile 🙂", ""},
		{"", "", "x"},
	}, nil)
	f.Add(good)
	for _, n := range []int{0, 10, 100, len(good) / 2, len(good) - 22, len(good) - 1} {
		f.Add(good[:n])
	}
	for _, i := range []int{30, 200, len(good) / 3, len(good) / 2, len(good) - 100} {
		b := slices.Clone(good)
		b[i] ^= 0x55
		f.Add(b)
	}
	// Zips that are not workbooks.
	f.Add(dropParts(f, good, "xl/workbook.xml"))
	f.Add(dropParts(f, good, "_rels/.rels"))
	f.Add(dropParts(f, good, "xl/workbook.xml", "_rels/.rels", "xl/worksheets/sheet1.xml"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewXLSXReader(bytes.NewReader(data), "fuzz.xlsx", nil)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "fuzz.xlsx" {
				t.Fatalf("NewXLSXReader error %#v; want a *ParseError naming fuzz.xlsx", err)
			}
			return
		}
		readChecked(t, r)
		if err := r.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	})
}

// FuzzXLSXSheet fuzzes the XML of the worksheet of a valid workbook.
func FuzzXLSXSheet(f *testing.F) {
	book := dateBook(f, false)
	for _, row := range [][]any{
		{"a", 1.5, true, -2},
		{nil, "x", nil, "y", 45293.5},
	} {
		if err := book.SetSheetRow("Sheet1", "B4", &row); err != nil {
			f.Fatal(err)
		}
	}
	if err := book.SetCellFormula("Sheet1", "A5", "=1+1"); err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if err := book.Write(&buf); err != nil {
		f.Fatal(err)
	}
	template := buf.Bytes()
	rezip(f, template, func(b []byte) []byte {
		f.Add(b)
		f.Add(b[:len(b)/2])
		return b
	})
	f.Add([]byte(`<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>99</v></c></row></sheetData></worksheet>`))
	f.Add([]byte(`<worksheet><sheetData><row r="1048577"><c r="XFE1"><v>1</v></c></row></sheetData></worksheet>`))
	f.Add([]byte(`<worksheet><sheetData><row><c s="999" t="d"><v>2024-01-02T03:04:05Z</v></c></row></sheetData></worksheet>`))
	f.Fuzz(func(t *testing.T, sheet []byte) {
		data := rezip(t, template, func([]byte) []byte { return sheet })
		r, err := NewXLSXReader(bytes.NewReader(data), "fuzz.xlsx", nil)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "fuzz.xlsx" {
				t.Fatalf("NewXLSXReader error %#v; want a *ParseError naming fuzz.xlsx", err)
			}
			return
		}
		readChecked(t, r)
		if err := r.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	})
}

// FuzzCSVFastPath checks that the fast path of the CSV reader reads what
// encoding/csv alone reads: the same records, lines, offsets and errors.
func FuzzCSVFastPath(f *testing.F) {
	for _, s := range csvSeeds {
		f.Add([]byte(s.data), s.sep, false, false)
		f.Add([]byte(s.data), s.sep, true, true)
	}
	f.Add([]byte("a,b\n1,2\r\n\r\n3,4\r5\n6,\"7\"\n8,9"), ',', false, false)
	f.Add([]byte("a,b\n1,2,3\n\n4\n5,6\r"), ',', false, true)
	f.Fuzz(func(t *testing.T, data []byte, sep rune, lazy, oneByte bool) {
		opts := &Options{Separator: sep, LazyQuotes: lazy, MaxRecordBytes: 64}
		slow := traceCSV(data, opts, csvOnly, oneByte)
		for _, m := range []readMode{fastStrings, fastBytes} {
			if fast := traceCSV(data, opts, m, oneByte); fast != slow {
				t.Fatalf("fast path (mode %d) read\n%s\nencoding/csv read\n%s", m, fast, slow)
			}
		}
	})
}

type readMode int

const (
	csvOnly     readMode = iota // encoding/csv alone, Read
	fastStrings                 // Read
	fastBytes                   // ReadBytes
)

// traceCSV reads data as CSV, with or without the fast path, and returns
// what it read: records, lines, offsets and errors.
func traceCSV(data []byte, opts *Options, mode readMode, oneByte bool) string {
	return traceFrom(func() io.Reader {
		if oneByte {
			return iotest.OneByteReader(bytes.NewReader(data))
		}
		return bytes.NewReader(data)
	}, opts, mode, nil)
}

// traceFrom is traceCSV reading from the reader that mk returns; when
// readAt is not nil, each record is read again at its offset from it.
func traceFrom(mk func() io.Reader, opts *Options, mode readMode, readAt io.ReaderAt) string {
	r, err := NewCSVReader(mk(), "fuzz.csv", opts)
	if err != nil {
		return err.Error()
	}
	r.src.(*csvSource).noFast = mode == csvOnly
	if readAt != nil {
		r.file = struct {
			io.ReaderAt
			io.Closer
		}{readAt, io.NopCloser(nil)}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "header %q line %d\n", r.Header(), r.Line())
	for range 1000000 {
		var rec []string
		var err error
		if mode == fastBytes {
			var view [][]byte
			view, err = r.ReadBytes()
			for _, f := range view {
				rec = append(rec, string(f))
			}
		} else {
			rec, err = r.Read()
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(&b, "error %v (record %q)\n", err, rec)
			if !errors.Is(err, ErrBadRecord) {
				if _, again := r.Read(); again != err {
					fmt.Fprintf(&b, "not sticky: %v\n", again)
				}
				break
			}
			continue
		}
		fmt.Fprintf(&b, "line %d offset %d %q\n", r.Line(), r.Offset(), rec)
		if readAt != nil {
			again, err := r.ReadAt(r.Offset())
			fmt.Fprintf(&b, " read again %q %v\n", again, err)
		}
	}
	return b.String()
}

// TestCSVFastPathAcrossBuffers compares the fast path with encoding/csv on
// a file many buffers long, whose lines cross the buffer's end.
func TestCSVFastPathAcrossBuffers(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,name,note\n")
	for i := range 20000 {
		switch i % 7 {
		case 0:
			fmt.Fprintf(&b, "%d,\"quoted, %d\",\"two\nlines\"\r\n", i, i)
		case 3:
			b.WriteString("\n") // blank
		case 5:
			fmt.Fprintf(&b, "%d,short\n", i) // field count error
		default:
			fmt.Fprintf(&b, "%d,name %d,%s\n", i, i, strings.Repeat("x", i%97))
		}
	}
	data := []byte(b.String())
	for _, oneByte := range []bool{false, true} {
		slow := traceCSV(data, nil, csvOnly, oneByte)
		if n := strings.Count(slow, "\nline "); n != 14286 {
			t.Fatalf("read %d records", n)
		}
		for _, m := range []readMode{fastStrings, fastBytes} {
			if fast := traceCSV(data, nil, m, oneByte); fast != slow {
				t.Fatalf("fast path (mode %d) and encoding/csv differ (one byte reads %v)", m, oneByte)
			}
		}
	}
}
