package extract

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
)

// DefaultMaxRecordBytes is the default limit on the size of a CSV record.
const DefaultMaxRecordBytes = 16 << 20

// Options configure readers and writers. A nil *Options means the
// defaults.
type Options struct {
	// Separator separates CSV fields. Zero means ','. It must not be
	// '"', '\r', '\n' or utf8.RuneError.
	Separator rune

	// LazyQuotes makes CSV readers accept a quote in an unquoted field and
	// a non-doubled quote in a quoted field, as in encoding/csv.
	LazyQuotes bool

	// MaxRecordBytes limits the size of a CSV record, in bytes of input.
	// A larger record is an error wrapping ErrRecordTooLong, so that a
	// missing closing quote cannot make a reader buffer the rest of a
	// file. Zero means DefaultMaxRecordBytes.
	MaxRecordBytes int

	// Sheet names the XLSX sheet to read or write. Empty means the first
	// sheet when reading and "Sheet1" when writing.
	Sheet string
}

func (o *Options) separator() rune {
	if o == nil || o.Separator == 0 {
		return ','
	}
	return o.Separator
}

func (o *Options) maxRecordBytes() int {
	if o == nil || o.MaxRecordBytes <= 0 {
		return DefaultMaxRecordBytes
	}
	return o.MaxRecordBytes
}

func (o *Options) lazyQuotes() bool { return o != nil && o.LazyQuotes }

func (o *Options) sheet() string {
	if o == nil {
		return ""
	}
	return o.Sheet
}

// A source yields the records of a file, the header first.
type source interface {
	// read returns the next record and the line where it starts, or
	// io.EOF. The record may be reused by the next call.
	read() (record []string, line int, err error)
	close() error
}

// A Reader reads the records of an extraction file, CSV or XLSX, after its
// header. Every record has one field per header column.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	name   string
	src    source
	file   io.Closer     // closed by Close, if not nil
	size   int64         // of the CSV file, or 0 when unknown
	at     *bufio.Reader // reused by ReadAt
	header []string
	view   [][]byte         // ReadBytes of XLSX records
	index  map[string][]int // header positions of each non-empty name
	line   int
}

// Open opens the file at path, reading it as XLSX if its extension is
// .xlsx or .xlsm (in any case) and as CSV otherwise. Errors name the file
// by path.
func Open(path string, opts *Options) (*Reader, error) { return OpenAs(path, path, opts) }

// OpenAs is Open naming the file name in errors instead of its path: a
// copy read in place of the file a person knows, for example.
func OpenAs(path, name string, opts *Options) (*Reader, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".xlsx", ".xlsm":
		return openXLSX(path, name, opts)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	r, err := NewCSVReader(f, name, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.file = f
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
		r.size = info.Size()
	}
	return r, nil
}

// newReader returns a Reader over src, whose header it reads.
func newReader(name string, src source) (*Reader, error) {
	rec, line, err := src.read()
	if err == io.EOF {
		err = &ParseError{File: name, Err: ErrNoHeader}
	}
	if err != nil {
		src.close()
		return nil, err
	}
	r := &Reader{
		name:   name,
		src:    src,
		header: make([]string, len(rec)),
		index:  make(map[string][]int, len(rec)),
		line:   line,
	}
	for i, h := range rec {
		h = strings.TrimFunc(h, func(r rune) bool { return unicode.IsSpace(r) || r == '\uFEFF' })
		r.header[i] = h
		if h != "" {
			r.index[h] = append(r.index[h], i)
		}
	}
	return r, nil
}

// Name returns the name of the file, as used in errors.
func (r *Reader) Name() string { return r.name }

// Header returns the column names, without surrounding spaces.
func (r *Reader) Header() []string { return slices.Clone(r.header) }

// Columns returns the position in each record of each named column, in the
// order of names. A name matches a header column exactly, once surrounding
// spaces are removed from the header.
//
// If a name is absent from the header or names more than one column,
// Columns returns a *HeaderError listing all such names.
func (r *Reader) Columns(names ...string) ([]int, error) {
	return columns(r.name, r.header, r.index, names)
}

// Columns locates names in the header of the table file, as
// Reader.Columns does, for tables read by other means (an API's records).
// Header names are trimmed of spaces and of a byte order mark.
func Columns(file string, header []string, names ...string) ([]int, error) {
	clean := make([]string, len(header))
	index := make(map[string][]int, len(header))
	for i, h := range header {
		clean[i] = strings.TrimFunc(h, func(r rune) bool { return unicode.IsSpace(r) || r == '\uFEFF' })
		if clean[i] != "" {
			index[clean[i]] = append(index[clean[i]], i)
		}
	}
	return columns(file, clean, index, names)
}

func columns(file string, header []string, index map[string][]int, names []string) ([]int, error) {
	cols := make([]int, len(names))
	var e HeaderError
	for i, name := range names {
		switch pos := index[name]; len(pos) {
		case 1:
			cols[i] = pos[0]
		case 0:
			if !slices.Contains(e.Missing, name) {
				e.Missing = append(e.Missing, name)
			}
		default:
			if !slices.Contains(e.Ambiguous, name) {
				e.Ambiguous = append(e.Ambiguous, name)
			}
		}
	}
	if e.Missing != nil || e.Ambiguous != nil {
		e.File, e.Header = file, slices.Clone(header)
		return nil, &e
	}
	return cols, nil
}

// HeaderWarnings describes the oddities of the header: columns without a
// name and names given to several columns. They do no harm unless such a
// column is requested from Columns, which then reports an error.
func (r *Reader) HeaderWarnings() []string {
	var warnings []string
	for i, h := range r.header {
		switch {
		case h == "":
			warnings = append(warnings, fmt.Sprintf("column %d has no name", i+1))
		case len(r.index[h]) > 1 && r.index[h][0] == i:
			warnings = append(warnings, duplicate(r.header, h))
		}
	}
	return warnings
}

// Read returns the next record, or io.EOF after the last one. The record
// holds one field per header column; its slice may be overwritten by the
// next call to Read, so copy it to keep it (its strings may be kept).
//
// After an error matching ErrBadRecord, Read may be called again to go on
// with the next record; any other error is returned again by every later
// call.
func (r *Reader) Read() ([]string, error) {
	rec, line, err := r.src.read()
	if err == nil {
		r.line = line
	}
	return rec, err
}

// ReadBytes is Read returning the fields as byte slices, which may point
// into the Reader's buffer: they are only valid until the next call to Read
// or ReadBytes, and must not be modified. It spares the copy that Read
// makes of each record, for a caller that looks at each record and keeps
// little of it, as the keyed diff of large files does.
func (r *Reader) ReadBytes() ([][]byte, error) {
	if s, ok := r.src.(*csvSource); ok {
		view, line, err := s.readBytes()
		if err == nil {
			r.line = line
		}
		return view, err
	}
	rec, err := r.Read()
	if err != nil {
		return nil, err
	}
	r.view = r.view[:0]
	for _, f := range rec {
		r.view = append(r.view, []byte(f))
	}
	return r.view, nil
}

// Size returns the size in bytes of the CSV file the reader reads, or -1
// when it does not know it (a stream, an XLSX sheet). With Offset, it tells
// how much of the file was read.
func (r *Reader) Size() int64 {
	if r.size <= 0 {
		return -1
	}
	return r.size
}

// Offset returns the byte offset in the file where the record last read
// starts, for ReadAt; -1 when the reader cannot tell (XLSX).
func (r *Reader) Offset() int64 {
	if s, ok := r.src.(*csvSource); ok {
		return s.start
	}
	return -1
}

// ReadAt reads again the record that starts at offset, as returned by
// Offset, without moving the reader; the record is the caller's. It works
// on CSV files opened with Open or OpenAs, and returns ErrNotSeekable
// otherwise.
func (r *Reader) ReadAt(offset int64) ([]string, error) {
	s, ok := r.src.(*csvSource)
	ra, isFile := r.file.(io.ReaderAt)
	if !ok || !isFile {
		return nil, ErrNotSeekable
	}
	// One buffer serves every call: csv.NewReader keeps a *bufio.Reader.
	if r.at == nil {
		r.at = bufio.NewReaderSize(nil, 4<<10)
	}
	var section io.Reader = io.NewSectionReader(ra, offset, s.max+bufSize)
	if s.loneCR {
		section = &crReader{r: section, convert: true}
	}
	r.at.Reset(section)
	cr := csv.NewReader(r.at)
	cr.Comma, cr.LazyQuotes, cr.FieldsPerRecord = s.csv.Comma, s.csv.LazyQuotes, len(r.header)
	rec, err := cr.Read()
	if err != nil {
		return nil, &ParseError{File: r.name, Err: fmt.Errorf("record at offset %d: %w", offset, err)}
	}
	return rec, nil
}

// Line returns the line of the record last read without error: for CSV,
// the physical line where it starts; for XLSX, its row number. Before the
// first record, it is the line of the header, usually 1.
func (r *Reader) Line() int { return r.line }

// Close releases the resources of the Reader and closes the file opened by
// Open. It does not close the io.Reader given to a New function.
func (r *Reader) Close() error {
	err := r.src.close()
	if r.file != nil {
		if cerr := r.file.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
