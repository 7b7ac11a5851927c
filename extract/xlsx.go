package extract

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// ErrNoSheet means that a workbook has no sheet of the requested name.
var ErrNoSheet = errors.New("no sheet")

// ErrNotXLSX means that a file read as an XLSX workbook is not one: it is
// not a zip archive, or the archive lacks the parts of a workbook. The
// error says which.
var ErrNotXLSX = errors.New("not an XLSX workbook")

// NewXLSXReader returns a Reader over the rows of an XLSX workbook read
// from r, after reading the header: the first row that is not blank.
// name names the workbook in errors.
//
// A workbook is a zip archive, which cannot be read from a stream: r is
// read whole into memory first. Open reads a workbook from a file without
// doing so.
func NewXLSXReader(r io.Reader, name string, opts *Options) (*Reader, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, &ParseError{File: name, Err: err}
	}
	zr, err := checkZip(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, &ParseError{File: name, Err: err}
	}
	return newXLSXReader(name, opts, zr, func() (*excelize.File, error) {
		return excelize.OpenReader(bytes.NewReader(b))
	})
}

func openXLSX(path, name string, opts *Options) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	var zr *zip.Reader
	if err == nil {
		zr, err = checkZip(f, fi.Size())
	}
	if err != nil {
		return nil, &ParseError{File: name, Err: err}
	}
	return newXLSXReader(name, opts, zr, func() (*excelize.File, error) {
		return excelize.OpenFile(path)
	})
}

// newXLSXReader returns a Reader over the workbook that open opens, whose
// archive is zr.
func newXLSXReader(name string, opts *Options, zr *zip.Reader, open func() (*excelize.File, error)) (r *Reader, err error) {
	var f *excelize.File
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, &ParseError{File: name, Err: fmt.Errorf("corrupt workbook: %v", p)}
		}
		if err != nil && f != nil {
			f.Close()
		}
	}()
	if f, err = open(); err != nil {
		return nil, &ParseError{File: name, Err: err}
	}
	sheet, err := findSheet(f, opts.sheet())
	if err == nil {
		err = checkSheets(zr, f.CharsetReader)
	}
	if err == nil {
		err = formatDates(f)
	}
	var rows *excelize.Rows
	if err == nil {
		rows, err = f.Rows(sheet)
	}
	if err != nil {
		return nil, &ParseError{File: name, Err: err}
	}
	src := &xlsxSource{name: name, f: f, rows: rows}
	f = nil // closed by src
	return newReader(name, src)
}

// findSheet returns the sheet of f named want, or its first sheet if want
// is empty.
func findSheet(f *excelize.File, want string) (string, error) {
	sheets := f.GetSheetList()
	for _, s := range sheets {
		if s == want || want == "" {
			return s, nil
		}
	}
	if want == "" {
		return "", errors.New("workbook has no sheet")
	}
	quoted := make([]string, len(sheets))
	for i, s := range sheets {
		quoted[i] = strconv.Quote(s)
	}
	return "", fmt.Errorf("%w %q (sheets: %s)", ErrNoSheet, want, strings.Join(quoted, ", "))
}

// xlsxSource reads the rows of a sheet, skipping blank rows.
type xlsxSource struct {
	name string
	f    *excelize.File
	rows *excelize.Rows
	row  int      // number of the row last read
	rec  []string // the record returned, as long as the header
	err  error    // permanent error
}

func (s *xlsxSource) read() (rec []string, line int, err error) {
	if s.err != nil {
		return nil, s.row, s.err
	}
	defer func() {
		if p := recover(); p != nil {
			s.err = &ParseError{File: s.name, Line: s.row, Err: fmt.Errorf("corrupt workbook: %v", p)}
			rec, line, err = nil, s.row, s.err
		}
	}()
	for s.rows.Next() {
		s.row++ // Next visits every row number, yielding missing rows as blank
		cells, err := s.rows.Columns()
		if err != nil {
			s.err = &ParseError{File: s.name, Line: s.row, Err: err}
			return nil, s.row, s.err
		}
		if blank(cells) {
			continue
		}
		if s.rec == nil { // the header
			for cells[len(cells)-1] == "" {
				cells = cells[:len(cells)-1]
			}
			s.rec = cells
			return cells, s.row, nil
		}
		for i := len(s.rec); i < len(cells); i++ {
			if cells[i] != "" {
				return nil, s.row, &ParseError{File: s.name, Line: s.row, Column: i + 1,
					Err: fmt.Errorf("%w: value beyond the %d columns of the header", ErrFieldCount, len(s.rec))}
			}
		}
		clear(s.rec[copy(s.rec, cells):])
		return s.rec, s.row, nil
	}
	if err := s.rows.Error(); err != nil {
		s.err = &ParseError{File: s.name, Line: s.row, Err: err}
		return nil, s.row, s.err
	}
	return nil, s.row, io.EOF
}

func blank(cells []string) bool {
	for _, c := range cells {
		if c != "" {
			return false
		}
	}
	return true
}

func (s *xlsxSource) close() error {
	err := s.rows.Close()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// maxPartSize limits the size of the parts of a workbook that excelize
// loads in memory: all but worksheets and shared strings.
const maxPartSize = 256 << 20

// checkZip reads the parts of the workbook in r but worksheets, returning
// an error if one is corrupt: excelize does not report a part that fails
// to decompress or whose checksum is wrong.
func checkZip(r io.ReaderAt, size int64) (*zip.Reader, error) {
	if size == 0 {
		return nil, fmt.Errorf("%w: the file is empty", ErrNotXLSX)
	}
	zr, err := zip.NewReader(r, size)
	if errors.Is(err, zip.ErrFormat) {
		head := make([]byte, min(size, 512))
		n, _ := r.ReadAt(head, 0)
		if looksLikeText(head[:n]) {
			return nil, fmt.Errorf("%w: not a zip archive, but text (a CSV file?)", ErrNotXLSX)
		}
		return nil, fmt.Errorf("%w: not a zip archive", ErrNotXLSX)
	}
	if err != nil {
		return nil, err
	}
	if err := checkWorkbookPart(zr); err != nil {
		return nil, err
	}
	buf := make([]byte, 32<<10)
	for _, zf := range zr.File {
		if isSheet(zf) {
			continue // see checkSheets
		}
		if !strings.EqualFold(zf.Name, "xl/sharedStrings.xml") && zf.UncompressedSize64 > maxPartSize {
			return nil, fmt.Errorf("part %s is too large (%d bytes)", zf.Name, zf.UncompressedSize64)
		}
		rc, err := zf.Open()
		if err == nil {
			_, err = io.CopyBuffer(io.Discard, rc, buf)
			rc.Close()
		}
		if err != nil {
			return nil, fmt.Errorf("part %s: %w", zf.Name, err)
		}
	}
	return zr, nil
}

// looksLikeText reports whether b, the start of a file, is text: UTF-8
// (perhaps cut at the end) without control characters but white space.
func looksLikeText(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	b = b[:completeRunes(b)]
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// checkWorkbookPart checks that zr holds a workbook part where excelize
// looks for it: the officeDocument relationship of _rels/.rels (usually
// xl/workbook.xml). Without it, excelize reports io.EOF.
func checkWorkbookPart(zr *zip.Reader) error {
	parts := make(map[string]*zip.File, len(zr.File))
	for _, zf := range zr.File {
		parts[zf.Name] = zf
	}
	const defaultPart = "xl/workbook.xml"
	rels := parts["_rels/.rels"]
	if rels == nil {
		if parts[defaultPart] == nil {
			return fmt.Errorf("%w: the zip has no %s", ErrNotXLSX, defaultPart)
		}
		return fmt.Errorf("%w: the zip has no _rels/.rels, which names the workbook part", ErrNotXLSX)
	}
	if rels.UncompressedSize64 > maxPartSize {
		return fmt.Errorf("part %s is too large (%d bytes)", rels.Name, rels.UncompressedSize64)
	}
	rc, err := rels.Open()
	if err != nil {
		return fmt.Errorf("part %s: %w", rels.Name, err)
	}
	defer rc.Close()
	var doc struct {
		Relationships []struct {
			Type   string `xml:",attr"`
			Target string `xml:",attr"`
		} `xml:"Relationship"`
	}
	if err := xml.NewDecoder(rc).Decode(&doc); err != nil {
		return fmt.Errorf("%w: part _rels/.rels: %v", ErrNotXLSX, err)
	}
	for _, rel := range doc.Relationships {
		if strings.HasSuffix(rel.Type, "/officeDocument") {
			target := strings.TrimPrefix(rel.Target, "/")
			if parts[target] == nil {
				return fmt.Errorf("%w: the zip has no %s, the workbook part that _rels/.rels names", ErrNotXLSX, target)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: _rels/.rels names no workbook part (officeDocument)", ErrNotXLSX)
}

// checkSheets parses the worksheets in zr as excelize does, returning the
// first error. excelize's row iterator takes an error for the end of the
// sheet, and excelize does not report a part that fails to decompress.
func checkSheets(zr *zip.Reader, charsetReader func(string, io.Reader) (io.Reader, error)) error {
	for _, zf := range zr.File {
		if !isSheet(zf) {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return fmt.Errorf("part %s: %w", zf.Name, err)
		}
		d := xml.NewDecoder(rc)
		d.CharsetReader = charsetReader
		for err == nil {
			_, err = d.Token()
		}
		rc.Close()
		if err != io.EOF {
			return fmt.Errorf("part %s: %w", zf.Name, err)
		}
	}
	return nil
}

// isSheet reports whether zf is a worksheet, as excelize sees it.
func isSheet(zf *zip.File) bool {
	name := strings.ToLower(strings.ReplaceAll(zf.Name, `\`, "/"))
	return strings.HasPrefix(name, "xl/worksheets/sheet") && !zf.FileInfo().IsDir()
}

// ISO 8601 number formats, replacing date and time formats.
const (
	isoDate     = "yyyy-mm-dd"
	isoDateTime = `yyyy-mm-dd"T"hh:mm:ss`
	isoTime     = "hh:mm:ss"
)

// builtinFormats maps the built-in date and time number formats to ISO
// formats. Formats 27 to 81 depend on the locale.
var builtinFormats = map[int]string{
	14: isoDate, 15: isoDate, 16: isoDate, 17: isoDate,
	18: isoTime, 19: isoTime, 20: isoTime, 21: isoTime,
	22: isoDateTime,
	27: isoDate, 28: isoDate, 29: isoDate, 30: isoDate, 31: isoDate,
	32: isoTime, 33: isoTime, 34: isoTime, 35: isoTime,
	36: isoDate,
	45: isoTime, 47: isoTime,
	50: isoDate, 51: isoDate, 52: isoTime, 53: isoTime, 54: isoDate,
	55: isoTime, 56: isoTime, 57: isoDate, 58: isoDate,
	71: isoDate, 72: isoDate, 73: isoDate, 74: isoDate,
	75: isoTime, 76: isoTime, 77: isoDateTime, 78: isoTime, 80: isoTime,
	81: isoDate,
}

// formatDates changes the styles of f so that its cells read as ISO 8601
// text if their number format shows a date or a time, and as their raw
// value otherwise.
//
// excelize's row iterator formats each cell by its style but does not tell
// the style; so each style's number format is replaced: by an ISO format,
// or by one that excelize does not know and leaves the value alone for.
func formatDates(f *excelize.File) error {
	ss := f.Styles
	if ss == nil || ss.CellXfs == nil {
		return nil
	}
	custom := make(map[int]string)
	if ss.NumFmts != nil {
		for _, nf := range ss.NumFmts.NumFmt {
			if nf != nil {
				custom[nf.NumFmtID] = nf.FormatCode
				if nf.FormatCode16 != "" {
					custom[nf.NumFmtID] = nf.FormatCode16
				}
			}
		}
	}
	formats := make([]string, len(ss.CellXfs.Xf))
	ids := make(map[string]*int)
	for i, xf := range ss.CellXfs.Xf {
		id := 0
		if xf.NumFmtID != nil {
			id = *xf.NumFmtID
		}
		if code, ok := custom[id]; ok {
			formats[i] = isoFormat(code)
		} else {
			formats[i] = builtinFormats[id]
		}
		if iso := formats[i]; iso != "" && ids[iso] == nil {
			style, err := f.NewStyle(&excelize.Style{CustomNumFmt: &iso})
			if err != nil {
				return err
			}
			ids[iso] = ss.CellXfs.Xf[style].NumFmtID
		}
	}
	// Styles are changed only now, as NewStyle reuses matching ones.
	none := -1
	for i, iso := range formats {
		if iso == "" {
			ss.CellXfs.Xf[i].NumFmtID = &none
		} else {
			ss.CellXfs.Xf[i].NumFmtID = ids[iso]
		}
	}
	return nil
}

// isoFormat returns the ISO format replacing the number format code, or ""
// if code does not show a date or a time. Like Excel, it looks at the
// tokens of the first section outside quoted text, escaped characters and
// brackets; elapsed times ([h]:mm) are durations, not times.
func isoFormat(code string) string {
	var date, time, month bool
	for i := 0; i < len(code); i++ {
		c := code[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		switch c {
		case '"':
			if j := strings.IndexByte(code[i+1:], '"'); j >= 0 {
				i += j + 1
			} else {
				i = len(code)
			}
		case '\\', '_', '*':
			i++ // skip the next character
		case '[':
			j := strings.IndexByte(code[i:], ']')
			if j < 0 {
				return ""
			}
			if s := strings.ToLower(code[i+1 : i+j]); s != "" && strings.Trim(s, "hms") == "" {
				return "" // elapsed time
			}
			i += j
		case ';':
			i = len(code)
		case 'y', 'd':
			date = true
		case 'h', 's':
			time = true
		case 'm':
			month = true // or minutes, if there are hours or seconds
		case 'a':
			if t := strings.ToLower(code[i:]); strings.HasPrefix(t, "am/pm") || strings.HasPrefix(t, "a/p") {
				time = true
			}
		case 'g':
			if strings.HasPrefix(strings.ToLower(code[i:]), "general") {
				i += len("general") - 1
			}
		}
	}
	switch {
	case date && time:
		return isoDateTime
	case date || month && !time:
		return isoDate
	case time:
		return isoTime
	}
	return ""
}

// An XLSXWriter writes records to the first sheet of an XLSX workbook,
// every field as a text cell, so that values read back exactly. It streams
// rows to a temporary file and writes the workbook on Close.
//
// A record of empty fields makes a blank row, which readers skip.
type XLSXWriter struct {
	w      io.Writer
	f      *excelize.File
	sw     *excelize.StreamWriter
	n      int   // fields per record, set by the header
	rows   int   // records written, the header included
	values []any // the record being written
	closed bool
}

// NewXLSXWriter returns an XLSXWriter writing a workbook to w, in the
// sheet named by opts.Sheet. The first record written is the header.
func NewXLSXWriter(w io.Writer, opts *Options) (*XLSXWriter, error) {
	f := excelize.NewFile()
	sheet := f.GetSheetName(0)
	if name := opts.sheet(); name != "" && name != sheet {
		if err := f.SetSheetName(sheet, name); err != nil {
			f.Close()
			return nil, fmt.Errorf("extract: %w", err)
		}
		sheet = name
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("extract: %w", err)
	}
	return &XLSXWriter{w: w, f: f, sw: sw}, nil
}

// Write writes a record as a row. It returns an error wrapping
// ErrFieldCount if the record does not have as many fields as the header,
// ErrInvalidUTF8 if a field is not valid UTF-8, and ErrCellValue if a
// field cannot be stored in a cell.
func (w *XLSXWriter) Write(record []string) error {
	if w.closed {
		return errors.New("extract: write to closed XLSXWriter")
	}
	row := w.rows + 1
	if err := checkRecord(record, w.n, row); err != nil {
		return err
	}
	if row > excelize.TotalRows {
		return fmt.Errorf("extract: row %d: more rows than a sheet holds", row)
	}
	w.values = w.values[:0]
	for i, v := range record {
		if err := checkCell(v); err != nil {
			return fmt.Errorf("extract: row %d, field %d: %w", row, i+1, err)
		}
		if v == "" {
			w.values = append(w.values, nil) // no cell
		} else {
			w.values = append(w.values, v)
		}
	}
	if err := w.sw.SetRow("A"+strconv.Itoa(row), w.values); err != nil {
		return fmt.Errorf("extract: row %d: %w", row, err)
	}
	if w.rows == 0 {
		w.n = len(record)
	}
	w.rows++
	return nil
}

// checkCell checks that v can be stored in a cell and read back as is.
func checkCell(v string) error {
	if !utf8.ValidString(v) {
		return ErrInvalidUTF8
	}
	units := 0 // UTF-16 code units, in which Excel counts characters
	for _, r := range v {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF {
			return fmt.Errorf("%w: character %U", ErrCellValue, r)
		}
		units++
		if r > 0xFFFF {
			units++ // a surrogate pair
		}
	}
	if units > excelize.TotalCellChars {
		return fmt.Errorf("%w: %d characters, more than %d", ErrCellValue, units, excelize.TotalCellChars)
	}
	return nil
}

// Close writes the workbook to the underlying io.Writer and releases the
// resources of the XLSXWriter. It does not close the io.Writer.
func (w *XLSXWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.sw.Flush()
	if err == nil {
		err = w.f.Write(w.w)
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	return nil
}
