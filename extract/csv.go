package extract

import (
	"bufio"
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
// skipped.
func NewCSVReader(r io.Reader, name string, opts *Options) (*Reader, error) {
	sep := opts.separator()
	if sep == '"' || sep == '\r' || sep == '\n' || sep == utf8.RuneError || !utf8.ValidRune(sep) {
		return nil, fmt.Errorf("extract: invalid separator %q", sep)
	}
	s := &csvSource{name: name, max: int64(opts.maxRecordBytes())}
	s.in = limitedReader{r: r, limit: s.max + bufSize}
	br := bufio.NewReaderSize(&s.in, bufSize)
	if b, _ := br.Peek(len(bom)); string(b) == bom {
		br.Discard(len(bom))
		s.skipped = int64(len(bom))
	}
	s.csv = csv.NewReader(br)
	s.csv.Comma = sep
	s.csv.LazyQuotes = opts.lazyQuotes()
	s.csv.ReuseRecord = true
	return newReader(name, s)
}

// csvSource reads records with encoding/csv, which checks that every
// record has as many fields as the first, the header.
type csvSource struct {
	name    string
	csv     *csv.Reader
	in      limitedReader
	max     int64 // Options.MaxRecordBytes
	skipped int64 // bytes of input not seen by csv: the byte order mark
	endLine int   // line where the last record read ends
	err     error // permanent error
}

func (s *csvSource) read() ([]string, int, error) {
	if s.err != nil {
		return nil, 0, s.err
	}
	rec, err := s.csv.Read()
	if err != nil {
		return nil, 0, s.error(rec, err)
	}
	line, _ := s.csv.FieldPos(0)
	last := len(rec) - 1
	s.endLine, _ = s.csv.FieldPos(last)
	s.endLine += strings.Count(rec[last], "\n")
	// Let the next record be up to max bytes long. The slack covers the
	// data buffered ahead of the csv reader.
	s.in.limit = s.skipped + s.csv.InputOffset() + s.max + bufSize
	for i, f := range rec {
		if !utf8.ValidString(f) {
			l, c := s.csv.FieldPos(i)
			return nil, line, &ParseError{File: s.name, StartLine: line, Line: l, Column: c,
				Err: fmt.Errorf("%w in field %d", ErrInvalidUTF8, i+1)}
		}
	}
	return rec, line, nil
}

// error translates an error returned by the csv reader with rec.
func (s *csvSource) error(rec []string, err error) error {
	if err == io.EOF {
		return err
	}
	var pe *csv.ParseError
	switch {
	case s.in.n >= s.in.limit || errors.Is(err, ErrRecordTooLong):
		s.err = &ParseError{File: s.name, Line: s.endLine + 1,
			Err: fmt.Errorf("%w: more than %d bytes", ErrRecordTooLong, s.max)}
	case errors.As(err, &pe) && pe.Err == csv.ErrFieldCount:
		s.in.limit = s.skipped + s.csv.InputOffset() + s.max + bufSize
		s.endLine = pe.Line
		return &ParseError{File: s.name, Line: pe.Line,
			Err: fmt.Errorf("%w: %d, header has %d", ErrFieldCount, len(rec), s.csv.FieldsPerRecord)}
	case errors.As(err, &pe):
		s.in.limit = s.skipped + s.csv.InputOffset() + s.max + bufSize
		s.endLine = pe.Line
		e := &ParseError{File: s.name, Line: pe.Line, Column: pe.Column, Err: pe.Err}
		if pe.StartLine != pe.Line {
			e.StartLine = pe.StartLine
		}
		return e
	default:
		s.err = &ParseError{File: s.name, Err: err}
	}
	return s.err
}

func (s *csvSource) close() error { return nil }

// limitedReader reads from r until limit bytes have been read, then
// returns ErrRecordTooLong.
type limitedReader struct {
	r     io.Reader
	n     int64 // bytes read so far
	limit int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n >= l.limit {
		return 0, ErrRecordTooLong
	}
	if int64(len(p)) > l.limit-l.n {
		p = p[:l.limit-l.n]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
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
