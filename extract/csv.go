package extract

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// bufSize is the size of the buffers between CSV readers and writers and
// their files.
const bufSize = 64 << 10

var bom = "\uFEFF"

// NewCSVReader returns a Reader over the CSV records of r, after reading
// the header. name names r in errors. A leading UTF-8 byte order mark is
// skipped. Lines may end with "\n" or "\r\n"; if the first line ends with
// a lone "\r" (the line ends of classic Mac OS), so do the others, and every
// lone "\r" is read as a line end (one inside a quoted field as "\n").
func NewCSVReader(r io.Reader, name string, opts *Options) (*Reader, error) {
	sep := opts.separator()
	if sep == '"' || sep == '\r' || sep == '\n' || sep == '\uFEFF' || sep == utf8.RuneError || !utf8.ValidRune(sep) {
		return nil, fmt.Errorf("extract: invalid separator %q", sep)
	}
	s := &csvSource{name: name, max: int64(opts.maxRecordBytes())}
	cr, loneCR := detectCR(r, sep)
	s.loneCR = loneCR
	s.in = input{r: cr, limit: s.max + bufSize}
	br := bufio.NewReaderSize(&s.in, bufSize)
	if b, _ := br.Peek(len(bom)); string(b) == bom {
		br.Discard(len(bom))
		s.skipped = int64(len(bom))
	}
	s.br, s.comma, s.commaBytes = br, string(sep), []byte(string(sep))
	s.csv = csv.NewReader(br)
	s.csv.Comma = sep
	s.csv.LazyQuotes = opts.lazyQuotes()
	s.csv.ReuseRecord = true
	rd, err := newReader(name, s)
	if err != nil {
		return nil, err
	}
	s.names = rd.header
	return rd, nil
}

// csvSource reads records with encoding/csv, which checks that every
// record has as many fields as the first, the header.
//
// A line that encoding/csv would read as a record of unquoted fields (no
// quote, no carriage return but in a "\r\n" end) is split here instead,
// from the same buffer: Read is a fifth faster so, and ReadBytes copies
// nothing at all. Most lines of most extraction files are such lines. Any other line, from its first byte, is
// left to encoding/csv. Lines and offsets that encoding/csv reports are
// shifted by what the fast path read behind its back.
type csvSource struct {
	name     string
	br       *bufio.Reader // shared with csv
	csv      *csv.Reader
	in       input
	max      int64 // Options.MaxRecordBytes
	skipped  int64 // bytes of input not seen by csv: the byte order mark
	offset   int64 // input offset of the end of the last record read
	start    int64 // file offset of the start of the last record read
	lastLine int   // line where the last field of the last record starts
	lastNL   int   // newlines in the last field of the last record
	err      error // permanent error

	fields     int    // fields a record, once the header is read
	comma      string // the separator, encoded
	commaBytes []byte
	csvLines   int   // lines read by encoding/csv
	lineShift  int   // lines read by the fast path
	offShift   int64 // bytes read by the fast path
	rec        []string
	view       [][]byte
	viewBuf    []byte
	noFast     bool     // tests: encoding/csv only
	loneCR     bool     // lone carriage returns are read as newlines
	names      []string // the header's names, once it is read, for errors
}

func (s *csvSource) read() ([]string, int, error) {
	rec, _, line, err := s.next(false)
	return rec, line, err
}

// readBytes is read returning the fields as byte slices that are only
// valid until the next read: they point into the buffer when the fast path
// read the record, and into s.viewBuf otherwise.
func (s *csvSource) readBytes() ([][]byte, int, error) {
	rec, view, line, err := s.next(true)
	if err != nil || view != nil {
		return view, line, err
	}
	s.viewBuf = s.viewBuf[:0]
	for _, f := range rec {
		s.viewBuf = append(s.viewBuf, f...)
	}
	view, b := s.view[:0], s.viewBuf
	for _, f := range rec {
		view, b = append(view, b[:len(f):len(f)]), b[len(f):]
	}
	s.view = view
	return view, line, nil
}

// next reads the next record: as strings, or, if asked and the fast path
// reads it, as byte slices of the buffer.
func (s *csvSource) next(asBytes bool) (rec []string, view [][]byte, line int, err error) {
	if s.err != nil {
		return nil, nil, 0, s.err
	}
	start := s.skipped + s.offset
	if s.fields > 0 && !s.noFast {
		if body := s.fastLine(); body != nil {
			line = s.csvLines + s.lineShift
			view = s.view // split by fastLine
			if asBytes {
				if err = s.accept(len(view), line, start, 0, func(i int) bool { return utf8.Valid(view[i]) }, s.fastPos(line, func(i int) int { return len(view[i]) })); err != nil {
					return nil, nil, line, err
				}
				return nil, view, line, nil
			}
			rec, str := s.rec[:0], string(body)
			for _, f := range view {
				rec = append(rec, str[:len(f)])
				str = str[min(len(f)+len(s.comma), len(str)):]
			}
			s.rec = rec
			if err = s.accept(len(rec), line, start, 0, func(i int) bool { return utf8.ValidString(rec[i]) }, s.fastPos(line, func(i int) int { return len(rec[i]) })); err != nil {
				return nil, nil, line, err
			}
			return rec, nil, line, nil
		}
	}
	rec, err = s.csvRead()
	if err != nil {
		return nil, nil, 0, s.error(rec, err)
	}
	if s.fields == 0 {
		s.fields = len(rec)
	}
	fieldPos := func(i int) (int, int) {
		l, c := s.csv.FieldPos(i)
		return l + s.lineShift, c
	}
	line, _ = fieldPos(0)
	if err = s.accept(len(rec), line, start, strings.Count(rec[len(rec)-1], "\n"), func(i int) bool { return utf8.ValidString(rec[i]) }, fieldPos); err != nil {
		return nil, nil, line, err
	}
	return rec, nil, line, nil
}

// fastPos returns the position of the fields of a record of one line that
// the fast path split, from the lengths of the fields.
func (s *csvSource) fastPos(line int, length func(int) int) func(int) (int, int) {
	return func(i int) (int, int) {
		col := 1
		for j := range i {
			col += length(j) + len(s.comma)
		}
		return line, col
	}
}

// accept checks the record of n fields just read, which starts at line and
// start and whose last field holds lastNL newlines.
func (s *csvSource) accept(n, line int, start int64, lastNL int, valid func(int) bool, fieldPos func(int) (int, int)) error {
	s.start = start
	if s.advance() > s.max { // but less than the limit of the input
		s.err = &ParseError{File: s.name, Line: line, Err: fmt.Errorf("%w: more than %d bytes", ErrRecordTooLong, s.max)}
		return s.err
	}
	s.lastLine, _ = fieldPos(n - 1)
	s.lastNL = lastNL
	if s.in.invalid { // find the culprit, if in this record
		for i := range n {
			if !valid(i) {
				l, c := fieldPos(i)
				e := &ParseError{File: s.name, Line: l, Column: c, Err: fmt.Errorf("%w in %s", ErrInvalidUTF8, s.field(i))}
				if l != line {
					e.StartLine = line
				}
				return e
			}
		}
	}
	return nil
}

// field names field i of a record in errors: by its column's name, when
// the header gives it one.
func (s *csvSource) field(i int) string {
	if i < len(s.names) && s.names[i] != "" {
		return fmt.Sprintf("column %q (field %d)", s.names[i], i+1)
	}
	return fmt.Sprintf("field %d", i+1)
}

// advance moves past the record just read, returning its size, and lets
// the next record be up to max bytes long. The limit of the input leaves
// room for the data buffered ahead of the csv reader.
func (s *csvSource) advance() int64 {
	start := s.offset
	s.offset = s.csv.InputOffset() + s.offShift
	s.in.limit = s.skipped + s.offset + s.max + bufSize
	return s.offset - start
}

// fastLine consumes the next line and returns it, without its end, if its
// record is one the fast path splits, skipping blank lines as encoding/csv
// does; it returns nil when encoding/csv must read the next record. A line
// whose number of fields is wrong is left to encoding/csv, for its error.
func (s *csvSource) fastLine() []byte {
	for {
		n, body := s.simpleLine()
		if n == 0 || (len(body) > 0 && len(s.splitBytes(body)) != s.fields) {
			return nil
		}
		s.br.Discard(n)
		s.lineShift++
		s.offShift += int64(n)
		if len(body) > 0 {
			return body
		}
	}
}

// splitBytes splits a line of unquoted fields into s.view.
func (s *csvSource) splitBytes(b []byte) [][]byte {
	view := s.view[:0]
	for {
		var i int
		if len(s.commaBytes) == 1 {
			i = bytes.IndexByte(b, s.commaBytes[0])
		} else {
			i = bytes.Index(b, s.commaBytes)
		}
		if i < 0 {
			break
		}
		view = append(view, b[:i:i])
		b = b[i+len(s.comma):]
	}
	s.view = append(view, b[:len(b):len(b)])
	return s.view
}

// simpleLine returns the length of the next line, with its end, and its
// body, without its end, if encoding/csv would read it as a record of
// unquoted fields or as a blank line; n is 0 otherwise, or when the buffer
// does not hold the line whole.
//
// It never reads: only encoding/csv fills the buffer (so one record a
// buffer goes through encoding/csv). A fill here could wait on a stream for
// a full buffer, consume a read error that bufio keeps for the next read,
// or read ahead to the limit of the input.
func (s *csvSource) simpleLine() (n int, body []byte) {
	b, _ := s.br.Peek(s.br.Buffered())
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return 0, nil
	}
	body = b[:i]
	if len(body) > 0 && body[len(body)-1] == '\r' {
		body = body[:len(body)-1]
	}
	if bytes.IndexByte(body, '"') >= 0 || bytes.IndexByte(body, '\r') >= 0 {
		return 0, nil
	}
	return i + 1, body
}

// csvRead reads a record with encoding/csv, noting the lines it read.
func (s *csvSource) csvRead() ([]string, error) {
	rec, err := s.csv.Read()
	var pe *csv.ParseError
	switch {
	case err == nil || errors.Is(err, csv.ErrFieldCount):
		l, _ := s.csv.FieldPos(len(rec) - 1)
		s.csvLines = l + strings.Count(rec[len(rec)-1], "\n")
	case errors.As(err, &pe):
		s.csvLines = pe.Line
	}
	return rec, err
}

// error translates an error returned by the csv reader with rec; its lines
// are encoding/csv's, which the fast path shifted.
func (s *csvSource) error(rec []string, err error) error {
	if err == io.EOF {
		return err
	}
	var pe *csv.ParseError
	switch {
	case s.in.n >= s.in.limit || errors.Is(err, ErrRecordTooLong):
		line := s.lastLine + s.lastNL + 1
		s.err = &ParseError{File: s.name, Line: line, Err: fmt.Errorf("%w: more than %d bytes", ErrRecordTooLong, s.max)}
	case errors.As(err, &pe):
		if pe.Err == csv.ErrFieldCount {
			err = fmt.Errorf("%w: %d, header has %d", ErrFieldCount, len(rec), s.csv.FieldsPerRecord)
		} else {
			err = pe.Err
		}
		e := &ParseError{File: s.name, Line: pe.Line + s.lineShift, Column: pe.Column, Err: err}
		if pe.Err == csv.ErrFieldCount {
			e.Column = 0
		}
		if pe.StartLine != pe.Line {
			e.StartLine = pe.StartLine + s.lineShift
		}
		if !errors.Is(e, ErrBadRecord) {
			s.err = e
			return e
		}
		s.advance()
		s.lastNL, s.lastLine = 0, pe.Line+s.lineShift
		return e
	default:
		s.err = &ParseError{File: s.name, Err: err}
	}
	return s.err
}

func (s *csvSource) close() error { return nil }

// input reads the input of a csv reader from r. It returns
// ErrRecordTooLong once limit bytes are read, and notes whether the bytes
// read are valid UTF-8: checking large chunks is much faster than checking
// each field.
type input struct {
	r       io.Reader
	n       int64 // bytes read
	limit   int64
	invalid bool   // whether the bytes read are not valid UTF-8
	cut     []byte // the start of a rune cut at the end of the last read
	cutBuf  [utf8.UTFMax]byte
}

func (in *input) Read(p []byte) (int, error) {
	if in.n >= in.limit {
		return 0, ErrRecordTooLong
	}
	if int64(len(p)) > in.limit-in.n {
		p = p[:in.limit-in.n]
	}
	n, err := in.r.Read(p)
	in.n += int64(n)
	if !in.invalid {
		in.check(p[:n], err != nil)
	}
	return n, err
}

// check checks that the bytes read, p, are valid UTF-8. The start of a rune
// cut at the end of p is checked with the next bytes, unless p is the last.
func (in *input) check(p []byte, last bool) {
	if len(in.cut) > 0 {
		buf := append(in.cut, p[:min(len(p), utf8.UTFMax-len(in.cut))]...)
		if !utf8.FullRune(buf) && !last {
			in.cut = buf
			return
		}
		r, size := utf8.DecodeRune(buf)
		if r == utf8.RuneError && size == 1 {
			in.invalid = true
			return
		}
		p = p[size-len(in.cut):]
		in.cut = nil
	}
	end := len(p)
	if !last {
		end = completeRunes(p)
	}
	in.invalid = !utf8.Valid(p[:end])
	if end < len(p) {
		in.cut = append(in.cutBuf[:0], p[end:]...)
	}
}

// completeRunes returns the length of the longest prefix of p that does
// not end with the start of a rune cut short.
func completeRunes(p []byte) int {
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax; i-- {
		if utf8.RuneStart(p[i]) {
			if utf8.FullRune(p[i:]) {
				return len(p)
			}
			return i
		}
	}
	return len(p)
}

// A Writer writes the records of an extraction file, the header first.
//
// Write returns an error, writing nothing, for a record whose number of
// fields differs from the header's or that the file format cannot hold
// exactly. Close completes the file; a Writer must not be used after.
type Writer interface {
	Write(record []string) error
	Close() error
}

// A CSVWriter writes records to a CSV file, quoting fields as needed.
//
// Note that a CSV file cannot tell "\r\n" from "\n" inside a field: readers
// return both as "\n".
type CSVWriter struct {
	buf  *bufio.Writer
	csv  *csv.Writer
	n    int // fields per record, set by the header
	rows int // records written, the header included
}

// NewCSVWriter returns a CSVWriter writing to w. The first record written
// is the header.
func NewCSVWriter(w io.Writer, opts *Options) *CSVWriter {
	buf := bufio.NewWriterSize(w, bufSize)
	cw := csv.NewWriter(buf)
	cw.Comma = opts.separator()
	return &CSVWriter{buf: buf, csv: cw}
}

// Write writes a record. It returns an error wrapping ErrFieldCount if the
// record does not have as many fields as the header, and ErrInvalidUTF8
// if a field is not valid UTF-8.
//
// Records are buffered: call Flush or Close to write them to the
// underlying io.Writer.
func (w *CSVWriter) Write(record []string) error {
	if err := checkRecord(record, w.n, w.rows+1); err != nil {
		return err
	}
	for i, f := range record {
		if !utf8.ValidString(f) {
			return fmt.Errorf("extract: row %d, field %d: %w", w.rows+1, i+1, ErrInvalidUTF8)
		}
	}
	if len(record) == 1 && record[0] == "" {
		// encoding/csv would write a blank line, which readers skip.
		w.csv.Flush()
		if err := w.csv.Error(); err != nil {
			return err
		}
		if _, err := w.buf.WriteString("\"\"\n"); err != nil {
			return err
		}
	} else if err := w.csv.Write(record); err != nil {
		return err
	}
	if w.rows == 0 {
		w.n = len(record)
	}
	w.rows++
	return nil
}

// Flush writes buffered records to the underlying io.Writer.
func (w *CSVWriter) Flush() error {
	w.csv.Flush()
	if err := w.csv.Error(); err != nil {
		return err
	}
	return w.buf.Flush()
}

// Close flushes buffered records. It does not close the underlying
// io.Writer.
func (w *CSVWriter) Close() error { return w.Flush() }

// checkRecord checks that the record numbered row has n fields, or at least
// one if it is the header (n is 0).
func checkRecord(record []string, n, row int) error {
	switch {
	case n == 0 && len(record) == 0:
		return fmt.Errorf("extract: row %d: empty header", row)
	case n != 0 && len(record) != n:
		return fmt.Errorf("extract: row %d: %w: %d, header has %d", row, ErrFieldCount, len(record), n)
	}
	return nil
}
