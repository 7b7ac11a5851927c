package extract

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"

	"github.com/gocarina/gocsv"
)

// WriteStructs writes to w a header made of the csv tags of the structs in
// rows, a slice of structs or of pointers to structs, then one record per
// struct, converting fields with github.com/gocarina/gocsv. It does not
// close w.
func WriteStructs(w Writer, rows any) error {
	sw := &structWriter{w: w}
	err := gocsv.MarshalCSV(rows, sw)
	if err != nil && err != sw.err {
		err = fmt.Errorf("extract: %w", err)
	}
	return err
}

// structWriter adapts a Writer to gocsv.
type structWriter struct {
	w   Writer
	err error // the error returned by w
}

func (s *structWriter) Write(record []string) error {
	s.err = s.w.Write(record)
	return s.err
}

func (s *structWriter) Flush() {}

func (s *structWriter) Error() error { return nil }

// ReadStructs reads the remaining records of r into out, a pointer to a
// slice of structs or of pointers to structs, converting fields with
// github.com/gocarina/gocsv. Columns are matched by name to the csv tags
// of the structs: every tagged column must be in r's header, once, or
// ReadStructs returns a *HeaderError. A value that cannot be converted is
// a *ParseError naming its line and column name.
//
// ReadStructs holds all the records in memory at once.
func ReadStructs(r *Reader, out any) error {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Slice {
		return fmt.Errorf("extract: ReadStructs needs a pointer to a slice, not %T", out)
	}
	var hw headerWriter
	if err := gocsv.MarshalCSV(reflect.MakeSlice(v.Elem().Type(), 0, 0).Interface(), &hw); err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	if _, err := r.Columns(hw.header...); err != nil {
		return err
	}
	sr := &structReader{r: r}
	err := gocsv.UnmarshalCSV(sr, out)
	var pe *csv.ParseError
	if errors.As(err, &pe) && 2 <= pe.Line && pe.Line-2 < len(sr.lines) && 1 <= pe.Column && pe.Column <= len(r.header) {
		return &ParseError{File: r.name, Line: sr.lines[pe.Line-2],
			Err: fmt.Errorf("column %q: %w", r.header[pe.Column-1], pe.Err)}
	}
	var ee *ParseError
	if err != nil && !errors.As(err, &ee) {
		err = fmt.Errorf("extract: %w", err)
	}
	return err
}

// headerWriter captures the header that gocsv writes.
type headerWriter struct{ header []string }

func (h *headerWriter) Write(record []string) error {
	if h.header == nil {
		h.header = slices.Clone(record)
	}
	return nil
}

func (h *headerWriter) Flush() {}

func (h *headerWriter) Error() error { return nil }

// structReader adapts a Reader to gocsv.
type structReader struct {
	r      *Reader
	header bool  // whether the header was read
	lines  []int // the line of each record read
}

// Read returns the header, then the records of r.
func (s *structReader) Read() ([]string, error) {
	if !s.header {
		s.header = true
		return s.r.Header(), nil
	}
	rec, err := s.r.Read()
	if err != nil {
		return nil, err
	}
	s.lines = append(s.lines, s.r.Line())
	return slices.Clone(rec), nil
}

// ReadAll returns all the records that Read returns.
func (s *structReader) ReadAll() ([][]string, error) {
	var all [][]string
	for {
		rec, err := s.Read()
		if err == io.EOF {
			return all, nil
		}
		if err != nil {
			return nil, err
		}
		all = append(all, rec)
	}
}
