package sync

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
)

// The error report's files, in the prepared folder.
const (
	ReportCSV     = "errors.csv"
	ReportJSONL   = "errors.jsonl"
	ReportSummary = "summary.json"
)

// Rejection is one line of the error report: a row that Prepare rejected
// (or, for DroppedReference and DuplicateLink, kept with a warning).
type Rejection struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Name    string `json:"entityType"` // entity type or association
	Key     string `json:"key"`
	Column  string `json:"column"`
	Code    Reason `json:"code"`
	Message string `json:"message"`
	Raw     string `json:"raw"`
}

// Report summarises the error report of one Prepare.
type Report struct {
	// CSV and JSONL are the paths of the report's two forms.
	CSV   string `json:"csv"`
	JSONL string `json:"jsonl"`
	// Tables are the counts per entity type and association.
	Tables []TableSummary `json:"tables"`

	mu gosync.Mutex
}

// late appends a rejection found after Prepare (by the diff of a delta) to
// the report's files.
func (r *Report) late(pt *PreparedTable, code Reason, line int, key, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pt.Rejected[code]++
	x := Rejection{File: pt.Source, Line: line, Name: pt.Name, Key: key, Code: code, Message: msg}
	if f, err := os.OpenFile(r.JSONL, os.O_APPEND|os.O_WRONLY, 0); err == nil {
		enc := json.NewEncoder(f)
		enc.SetEscapeHTML(false)
		enc.Encode(x)
		f.Close()
	}
	if f, err := os.OpenFile(r.CSV, os.O_APPEND|os.O_WRONLY, 0); err == nil {
		w := csv.NewWriter(f)
		w.Write([]string{x.File, strconv.Itoa(x.Line), x.Name, x.Key, x.Column, string(x.Code), x.Message, x.Raw})
		w.Flush()
		f.Close()
	}
}

// TableSummary counts one table's rows.
type TableSummary struct {
	Name          string           `json:"name"`
	Source        string           `json:"source"`
	Read          int64            `json:"read"`
	Prepared      int64            `json:"prepared"`
	Rejected      map[Reason]int64 `json:"rejected,omitempty"`
	HeaderChanges []string         `json:"headerChanges,omitempty"`
	Error         string           `json:"error,omitempty"`
}

// reportWriter collects rejections per table into temporary files, so that
// the final report lists them grouped by table in model order whatever the
// order tables were prepared in.
type reportWriter struct {
	dir    string
	mu     gosync.Mutex
	tables map[string]*tableReport
}

type tableReport struct {
	mu   gosync.Mutex
	name string
	dir  string
	pt   *PreparedTable
	f    *os.File
	w    *bufio.Writer
	enc  *json.Encoder
	err  error
}

func newReportWriter(dir string) (*reportWriter, error) {
	return &reportWriter{dir: dir, tables: map[string]*tableReport{}}, nil
}

// table returns the report of one table, creating it on first use.
func (rw *reportWriter) table(name string, pt *PreparedTable) *tableReport {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if t := rw.tables[name]; t != nil {
		return t
	}
	t := &tableReport{name: name, pt: pt, dir: rw.dir}
	rw.tables[name] = t
	return t
}

// add reports one row, writing it at once: it keeps no string given.
func (t *tableReport) add(code Reason, line int, key, column, raw, msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pt.Rejected[code]++
	if t.err != nil {
		return
	}
	if t.enc == nil {
		f, err := os.CreateTemp(t.dir, "report-*.tmp")
		if err != nil {
			t.err = err
			return
		}
		t.f, t.w = f, bufio.NewWriter(f)
		t.enc = json.NewEncoder(t.w)
		t.enc.SetEscapeHTML(false)
	}
	t.err = t.enc.Encode(Rejection{File: t.pt.Source, Line: line, Name: t.name, Key: key, Column: column, Code: code, Message: msg, Raw: raw})
}

// protect marks a key of the table as protected. The key is copied: it may
// be a string of a row that a rowReader reuses.
func (t *tableReport) protect(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.pt.protected.has(key) {
		t.pt.protected.add(key)
		t.pt.ProtectedKeys = append(t.pt.ProtectedKeys, strings.Clone(key))
	}
}

// abandon closes and removes the temporary files of a report that will
// not be finished (the prepare failed).
func (rw *reportWriter) abandon() {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	for _, t := range rw.tables {
		t.mu.Lock()
		if t.f != nil {
			t.f.Close()
			os.Remove(t.f.Name())
			t.f = nil
		}
		t.mu.Unlock()
	}
}

// finish writes the report files and the summary.
func (rw *reportWriter) finish(out *Prepared) (*Report, error) {
	r := &Report{CSV: filepath.Join(rw.dir, ReportCSV), JSONL: filepath.Join(rw.dir, ReportJSONL)}
	cf, err := os.Create(r.CSV)
	if err != nil {
		return nil, fmt.Errorf("idsync: %w", err)
	}
	defer cf.Close()
	jf, err := os.Create(r.JSONL)
	if err != nil {
		return nil, fmt.Errorf("idsync: %w", err)
	}
	defer jf.Close()
	cw := csv.NewWriter(cf)
	cw.Write([]string{"file", "line", "entityType", "key", "column", "code", "message", "raw"})
	jw := bufio.NewWriter(jf)
	for _, pt := range slices.Concat(out.EntityTypes, out.Associations) {
		s := TableSummary{Name: pt.Name, Source: pt.Source, Read: pt.Read, Prepared: pt.Prepared, HeaderChanges: pt.HeaderChanges}
		if len(pt.Rejected) > 0 {
			s.Rejected = pt.Rejected
		}
		if pt.Err != nil {
			s.Error = pt.Err.Error()
		}
		r.Tables = append(r.Tables, s)
		t := rw.tables[pt.Name]
		if t == nil || t.f == nil {
			continue
		}
		if err := rw.copy(t, cw, jw); err != nil {
			return nil, err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return nil, fmt.Errorf("idsync: %s: %w", ReportCSV, err)
	}
	if err := jw.Flush(); err != nil {
		return nil, fmt.Errorf("idsync: %s: %w", ReportJSONL, err)
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	if err := os.WriteFile(filepath.Join(rw.dir, ReportSummary), b, 0o644); err != nil {
		return nil, fmt.Errorf("idsync: %w", err)
	}
	return r, nil
}

// copy appends one table's rejections to both forms.
func (rw *reportWriter) copy(t *tableReport, cw *csv.Writer, jw *bufio.Writer) error {
	defer os.Remove(t.f.Name())
	defer t.f.Close()
	if t.err != nil {
		return fmt.Errorf("idsync: error report: %w", t.err)
	}
	if err := t.w.Flush(); err != nil {
		return fmt.Errorf("idsync: error report: %w", err)
	}
	if _, err := t.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	// Rejections are few next to rows, but a changed date format can
	// reject them all: read them back streaming, in the order written.
	dec := json.NewDecoder(bufio.NewReader(t.f))
	enc := json.NewEncoder(jw)
	enc.SetEscapeHTML(false)
	for {
		var x Rejection
		if err := dec.Decode(&x); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("idsync: error report: %w", err)
		}
		enc.Encode(x)
		cw.Write([]string{x.File, strconv.Itoa(x.Line), x.Name, x.Key, x.Column, string(x.Code), x.Message, x.Raw})
	}
}

// ReadReport reads the rejections of an error report in JSON lines.
func ReadReport(path string) ([]Rejection, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("idsync: %w", err)
	}
	defer f.Close()
	var out []Rejection
	dec := json.NewDecoder(bufio.NewReader(f))
	for {
		var x Rejection
		if err := dec.Decode(&x); err == io.EOF {
			return out, nil
		} else if err != nil {
			return out, fmt.Errorf("idsync: %s: %w", path, err)
		}
		out = append(out, x)
	}
}
