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
	if sep == '"' || sep == '\r' || sep == '\n' || sep == '\uFEFF' || sep == utf8.RuneError || !utf8.ValidRune(sep) {
		return nil, fmt.Errorf("extract: invalid separator %q", sep)
	}
	s := &csvSource{name: name, max: int64(opts.maxRecordBytes())}
	s.in = input{r: r, limit: s.max + bufSize}
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
	name     string
	csv      *csv.Reader
	in       input
	max      int64  // Options.MaxRecordBytes
	skipped  int64  // bytes of input not seen by csv: the byte order mark
	offset   int64  // input offset of the end of the last record read
	start    int64  // file offset of the start of the last record read
	lastLine int    // line where the last field of the last record starts
	last     string // the last field of the last record
	err      error  // permanent error
}

func (s *csvSource) read() ([]string, int, error) {
	if s.err != nil {
		return nil, 0, s.err
	}
	start := s.skipped + s.offset
	rec, err := s.csv.Read()
	if err != nil {
		return nil, 0, s.error(rec, err)
	}
	s.start = start
	line, _ := s.csv.FieldPos(0)
	if s.advance() > s.max { // but less than the limit of the input
		s.err = &ParseError{File: s.name, Line: line, Err: fmt.Errorf("%w: more than %d bytes", ErrRecordTooLong, s.max)}
		return nil, line, s.err
	}
	s.last = rec[len(rec)-1]
	s.lastLine, _ = s.csv.FieldPos(len(rec) - 1)
	if s.in.invalid { // find the culprit, if in this record
		for i, f := range rec {
			if !utf8.ValidString(f) {
				l, c := s.csv.FieldPos(i)
				e := &ParseError{File: s.name, Line: l, Column: c, Err: fmt.Errorf("%w in field %d", ErrInvalidUTF8, i+1)}
				if l != line {
					e.StartLine = line
				}
				return nil, line, e
			}
		}
	}
	return rec, line, nil
}

// advance moves past the record just read, returning its size, and lets
// the next record be up to max bytes long. The limit of the input leaves
// room for the data buffered ahead of the csv reader.
func (s *csvSource) advance() int64 {
	start := s.offset
	s.offset = s.csv.InputOffset()
	s.in.limit = s.skipped + s.offset + s.max + bufSize
	return s.offset - start
}

// error translates an error returned by the csv reader with rec.
func (s *csvSource) error(rec []string, err error) error {
	if err == io.EOF {
		return err
	}
	var pe *csv.ParseError
	switch {
	case s.in.n >= s.in.limit || errors.Is(err, ErrRecordTooLong):
		line := s.lastLine + strings.Count(s.last, "\n") + 1
		s.err = &ParseError{File: s.name, Line: line, Err: fmt.Errorf("%w: more than %d bytes", ErrRecordTooLong, s.max)}
	case errors.As(err, &pe):
		if pe.Err == csv.ErrFieldCount {
			err = fmt.Errorf("%w: %d, header has %d", ErrFieldCount, len(rec), s.csv.FieldsPerRecord)
		} else {
			err = pe.Err
		}
		e := &ParseError{File: s.name, Line: pe.Line, Column: pe.Column, Err: err}
		if pe.Err == csv.ErrFieldCount {
			e.Column = 0
		}
		if pe.StartLine != pe.Line {
			e.StartLine = pe.StartLine
		}
		if !errors.Is(e, ErrBadRecord) {
			s.err = e
			return e
		}
		s.advance()
		s.last, s.lastLine = "", pe.Line
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
