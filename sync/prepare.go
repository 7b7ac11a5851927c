package sync

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"

	"golang.org/x/sync/errgroup"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/extract"
	"github.com/idsync/idsync/internal/extsort"
	"github.com/idsync/idsync/internal/rec"
)

// Mode says what an extraction means.
type Mode string

const (
	// Complete: the extraction is the whole truth for the connector's
	// entity types; what the store holds and the extraction lacks is
	// deleted.
	Complete Mode = "complete"
	// Incremental: only changes are applied; a key absent from the
	// extraction is unchanged (unless the delta is computed from the
	// previous prepared snapshot, where a key that disappeared is deleted).
	Incremental Mode = "incremental"
)

// DefaultMemoryBudget bounds the memory that sorting an extraction uses
// before it spills to disk.
const DefaultMemoryBudget = 256 << 20

// PrepareOptions configure [Prepare]. A nil *PrepareOptions means the
// defaults.
type PrepareOptions struct {
	// Dir is the folder that receives the prepared snapshots and the error
	// report; a new temporary folder when empty.
	Dir string
	// Mode is Complete when empty.
	Mode Mode
	// Store, when set, is consulted for references to resources that the
	// extraction does not hold (another connector's entity types, and all
	// entity types in incremental mode).
	Store Store
	// Previous is the folder of the previous successful run's prepared
	// snapshots, for the header comparison (schema drift) and, in
	// incremental mode, to diff snapshot tables against: an incremental
	// Prepare refuses a snapshot table that has none there (ErrNoPrevious).
	Previous string
	// MemoryBudget bounds the memory of the sorts that run at once (two
	// tables are prepared in parallel; each gets half); DefaultMemoryBudget
	// when 0.
	MemoryBudget int64
	// Tables, when not empty, names the entity types and associations to
	// prepare; the others are left out (Skipped), as if not exported.
	Tables []string
	// SkipReferences leaves references unchecked: for comparing files
	// with no store to look the referenced resources up in.
	SkipReferences bool
	// Progress, when set, receives progress events.
	Progress func(Progress)
}

// Reason is why Prepare rejected a row; it is the code in the error report.
type Reason string

// The reasons for rejecting a row.
const (
	NullKey          Reason = "nullKey"
	DuplicateKey     Reason = "duplicateKey"
	InvalidValue     Reason = "invalidValue"
	MissingReference Reason = "missingReference"
	RejectedEnd      Reason = "rejectedEnd"
	BadCommand       Reason = "badCommand"
	UpdateMissing    Reason = "updateMissing"
	DroppedReference Reason = "droppedReference" // reported, row kept
	DuplicateLink    Reason = "duplicateLink"    // reported, one kept
)

// rejects reports whether a row with this reason is left out.
func (r Reason) rejects() bool { return r != DroppedReference && r != DuplicateLink }

// Prepared is the result of [Prepare]: per entity type and association, a
// key-sorted prepared snapshot (or delta) in Dir, its counts, and the keys
// that the synchronize step must protect.
type Prepared struct {
	Connector    string
	Mode         Mode
	Dir          string
	Model        *entitytype.Model
	EntityTypes  []*PreparedTable
	Associations []*PreparedTable
	// Report is the error report's summary; its files are in Dir.
	Report *Report
}

// PreparedTable describes one prepared snapshot or delta.
type PreparedTable struct {
	// Name is the entity type's or association's name.
	Name string `json:"name"`
	// Source names the extraction table ("sab_users.csv").
	Source string `json:"source"`
	// Header is the extraction's header, recorded for schema drift.
	Header []string `json:"header"`
	// HeaderChanges describes how Header differs from the previous run's.
	HeaderChanges []string `json:"headerChanges,omitempty"`
	// Skipped is true for a table that PrepareOptions.Tables left out.
	Skipped bool `json:"skipped,omitempty"`
	// Delta is true when rows carry a command (incremental export).
	Delta bool `json:"delta"`
	// File is the prepared file's name in the Prepared's Dir.
	File string `json:"file"`
	// Snapshot is the prepared snapshot's file when File is a delta
	// computed against the previous snapshot (incremental mode).
	Snapshot string `json:"snapshot,omitempty"`
	// Read counts data rows read; Prepared the rows kept; Rejected the
	// rows left out, by reason.
	Read     int64            `json:"read"`
	Prepared int64            `json:"prepared"`
	Rejected map[Reason]int64 `json:"rejected,omitempty"`
	// Err is set when the table could not be prepared at all (a mapped
	// column missing from the header, a malformed file): no change is
	// computed for it, and the run fails.
	Err error `json:"-"`
	// Error is Err's text, kept in the saved record.
	Error string `json:"error,omitempty"`
	// ProtectedKeys are the keys of rejected rows, kept so that a resumed
	// run protects them too.
	ProtectedKeys []string `json:"protectedKeys,omitempty"`

	protected keySet // keys of rejected rows (entity types)
	keys      keySet // keys prepared (entity types that are referenced)
	deleted   keySet // keys that delete commands name (idem)
}

// RejectedCount returns the number of rows left out.
func (t *PreparedTable) RejectedCount() int64 {
	var n int64
	for r, c := range t.Rejected {
		if r.rejects() {
			n += c
		}
	}
	return n
}

// Protected reports whether key was rejected, so that its stored state
// must be kept as is.
func (t *PreparedTable) Protected(key string) bool { return t.protected.has(key) }

// linkKept reports whether a stored link (src, tgt) of association a must
// be kept as it is: one of its ends is a protected key of its entity type
// (srcT, tgtT), or a rejected row of the association named that end.
func linkKept(a, srcT, tgtT *PreparedTable, src, tgt string) bool {
	return (srcT != nil && srcT.protected.has(src)) || (tgtT != nil && tgtT.protected.has(tgt)) ||
		(a != nil && (a.protected.has(srcEnd+src) || a.protected.has(tgtEnd+tgt)))
}

// An association's protected keys name link ends, prefixed by the side.
const srcEnd, tgtEnd = "s\x00", "t\x00"

// ProtectedCount returns the number of protected keys.
func (t *PreparedTable) ProtectedCount() int { return t.protected.len() }

// Progress is one progress event of a run: a host can turn it into a
// progress bar. Steps come in order: export (one event, when it starts),
// prepare and diff (events per table, which run two at a time, every few
// thousand rows and once with the table's final count), apply (every few
// thousand changes, and once with Done equal to Total when the store has
// applied them). Events may come from several goroutines at once.
type Progress struct {
	Connector string
	Step      string // "export", "prepare", "diff", "apply"
	Name      string // entity type or association; "" for the step as a whole
	// Done counts rows read (prepare), keys compared (diff) or changes
	// applied (apply) so far; Total is the count when done, -1 when
	// unknown.
	Done, Total int64
	// Bytes and Size are the bytes of the table read so far and its
	// size, when the table knows them (connector.Rereader and
	// connector.Sizer: a CSV file); 0 otherwise.
	Bytes, Size int64
}

// progressEvery is how many rows (keys, changes) pass between two
// progress events of one table.
const progressEvery = 4096

// Prepare reads each entity type's and association's extraction table,
// converts values to their canonical form, rejects bad rows into the error
// report, and writes key-sorted prepared files into opts.Dir. A table that
// cannot be read at all is recorded in its PreparedTable.Err and makes
// Prepare return an error after the others were prepared.
//
// A prepared file begins with the line "idsync-prepared v1", then one JSON
// line {"name":..., "delta":...}, then records framed by their length
// (uvarint). The tables' sources, headers and counts are in the folder's
// prepared.json. An entity type's record holds the key, the command
// (one byte: M for a snapshot row, or I, U, D, M), the source line, and the
// canonical values of the properties in model order; an association's
// record holds "source\x00target", the command and the line. Each field is
// written as its length (uvarint) and its bytes.
func Prepare(ctx context.Context, model *entitytype.Model, ext connector.Extraction, opts *PrepareOptions) (*Prepared, error) {
	if opts == nil {
		opts = &PrepareOptions{}
	}
	o := *opts
	if o.Mode == "" {
		o.Mode = Complete
	}
	if o.MemoryBudget <= 0 {
		o.MemoryBudget = DefaultMemoryBudget
	}
	if o.Dir == "" {
		d, err := os.MkdirTemp("", "idsync-prepared-*")
		if err != nil {
			return nil, fmt.Errorf("idsync: %w", err)
		}
		o.Dir = d
	} else if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("idsync: %w", err)
	}
	if err := model.Validate(); err != nil {
		return nil, err
	}
	p := &preparer{opts: o, model: model, ext: ext}
	return p.run(ctx)
}

type preparer struct {
	opts  PrepareOptions
	model *entitytype.Model
	ext   connector.Extraction
	out   *Prepared
	rep   *reportWriter

	referenced map[string]bool // entity types whose keys references are checked against

	storeMu gosync.Mutex
	stored  map[string]*keySet // stored keys by entity type, loaded on demand
}

func (p *preparer) run(ctx context.Context) (*Prepared, error) {
	rep, err := newReportWriter(p.opts.Dir)
	if err != nil {
		return nil, err
	}
	p.rep = rep
	p.referenced = map[string]bool{}
	if !p.opts.SkipReferences {
		for _, t := range p.model.EntityTypes {
			for _, prop := range t.Properties {
				if prop.Type == entitytype.Ref {
					p.referenced[strings.TrimPrefix(prop.Target, p.model.Name+".")] = true
				}
			}
		}
		for _, a := range p.model.Associations {
			p.referenced[strings.TrimPrefix(a.Source.EntityType, p.model.Name+".")] = true
			p.referenced[strings.TrimPrefix(a.Target.EntityType, p.model.Name+".")] = true
		}
	}
	p.out = newPrepared(p.model, p.opts.Mode, p.opts.Dir, p.opts.Tables)

	// Phase 1: entity types, in parallel: read, convert, sort, reject
	// duplicates. Links held in multi-valued columns are collected too.
	inline := make([]*extsort.Sorter, len(p.model.Associations))
	var mu gosync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	for i := range p.model.EntityTypes {
		if p.out.EntityTypes[i].Skipped {
			continue
		}
		g.Go(func() error {
			return p.entityType(gctx, i, inline, &mu)
		})
	}
	if err := g.Wait(); err != nil {
		p.abandon(inline)
		return nil, err
	}
	// Phase 2: references of mono-valued navigation properties.
	if err := p.checkRefs(ctx); err != nil {
		p.abandon(inline)
		return nil, err
	}
	// Phase 3: associations.
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	for i := range p.model.Associations {
		if p.out.Associations[i].Skipped {
			continue
		}
		g.Go(func() error { return p.association(gctx, i, inline[i]) })
	}
	if err := g.Wait(); err != nil {
		p.abandon(inline)
		return nil, err
	}
	compareHeaders(p.out, p.opts.Previous)
	var errs []error
	for _, t := range slices.Concat(p.out.EntityTypes, p.out.Associations) {
		if t.Err != nil {
			t.Error = t.Err.Error()
			errs = append(errs, t.Err)
		}
	}
	report, err := p.rep.finish(p.out)
	if err != nil {
		return nil, err
	}
	p.out.Report = report
	if err := savePrepared(p.out); err != nil {
		return nil, err
	}
	return p.out, errors.Join(errs...)
}

// newPrepared returns the empty result of preparing the tables of m (all
// when tables is empty; the others are Skipped).
func newPrepared(m *entitytype.Model, mode Mode, dir string, tables []string) *Prepared {
	out := &Prepared{Connector: m.Name, Mode: mode, Dir: dir, Model: m}
	skip := func(name string) bool { return len(tables) > 0 && !slices.Contains(tables, name) }
	for _, t := range m.EntityTypes {
		out.EntityTypes = append(out.EntityTypes, &PreparedTable{Name: t.Name, Rejected: map[Reason]int64{}, Skipped: skip(t.Name)})
	}
	for _, a := range m.Associations {
		out.Associations = append(out.Associations, &PreparedTable{Name: a.Name, Rejected: map[Reason]int64{}, Skipped: skip(a.Name)})
	}
	return out
}

// parallel is how many tables are prepared at once.
const parallel = 2

// sortBudget is the memory budget of one table's sort.
func (p *preparer) sortBudget() int64 { return p.opts.MemoryBudget / parallel }

func (p *preparer) abandon(sorters []*extsort.Sorter) {
	p.rep.abandon()
	for _, s := range sorters {
		if s != nil {
			s.Close()
		}
	}
}

func (p *preparer) progress(name string, done int64, bytes [2]int64) {
	if p.opts.Progress != nil {
		p.opts.Progress(Progress{Connector: p.model.Name, Step: "prepare", Name: name, Done: done, Total: -1, Bytes: bytes[0], Size: bytes[1]})
	}
}

// TableError is an error that stops one entity type or association: no
// change is computed for it.
type TableError struct {
	Connector string
	Name      string // entity type or association
	Source    string // table (file) name
	Err       error
}

func (e *TableError) Error() string {
	src := ""
	if e.Source != "" && !strings.Contains(e.Err.Error(), e.Source) {
		src = e.Source + ": "
	}
	return fmt.Sprintf("idsync: %s.%s: %s%v", e.Connector, e.Name, src, e.Err)
}

func (e *TableError) Unwrap() error { return e.Err }

func (p *preparer) entityType(ctx context.Context, i int, inline []*extsort.Sorter, mu *gosync.Mutex) error {
	t := &p.model.EntityTypes[i]
	pt := p.out.EntityTypes[i]
	tbl, err := p.ext.Open(ctx, t.Name)
	if err != nil {
		pt.Err = &TableError{p.model.Name, t.Name, "", err}
		return nil
	}
	defer tbl.Close()
	pt.Source, pt.Header = tbl.Name(), slices.Clone(tbl.Header())
	command := connector.CommandColumn(tbl)
	pt.Delta = command != ""
	fail := func(err error) error {
		pt.Err = &TableError{p.model.Name, t.Name, pt.Source, err}
		return nil
	}
	if err := p.checkKind(pt, command); err != nil {
		return fail(err)
	}

	// Associations whose links are a multi-valued column of this table.
	type inlineAssoc struct {
		ai, src, tgt int
		sep          string
		conv         *entitytype.Converter
	}
	var extra []string
	for _, a := range p.model.Associations {
		if a.Inline && a.Source.EntityType == t.Name {
			extra = append(extra, a.Source.Column, a.Target.Column)
		}
	}
	mapper, idx, err := newRowMapper(t, pt.Source, pt.Header, extra, command)
	if err != nil {
		return fail(err)
	}
	var inl []inlineAssoc
	for ai, a := range p.model.Associations {
		if a.Inline && a.Source.EntityType == t.Name {
			conv, err := p.keyConverter(a.Target.EntityType)
			if err != nil {
				return fail(err)
			}
			inl = append(inl, inlineAssoc{ai: ai, src: idx[a.Source.Column], tgt: idx[a.Target.Column], sep: a.Target.Separator, conv: conv})
			mu.Lock()
			if inline[ai] == nil {
				inline[ai] = newKeySorter(p.sortBudget()/4, p.opts.Dir)
			}
			mu.Unlock()
		}
	}

	sorter := newKeySorter(p.sortBudget(), p.opts.Dir)
	defer sorter.Close()
	errs := p.rep.table(t.Name, pt)
	var buf, lb []byte
	for row, err := range p.rows(ctx, tbl, pt) {
		if err != nil {
			return readError(err, fail)
		}
		line := tbl.Line()
		key, op, vals, rej := mapper.mapRow(row)
		if rej != nil {
			errs.reject(line, rej)
			continue
		}
		buf = rec.AppendString(buf[:0], key)
		buf = rec.AppendBytes(buf, []byte{byte(op)})
		buf = rec.AppendUint(buf, uint64(line))
		for _, v := range vals {
			buf = rec.AppendString(buf, v)
		}
		if err := sorter.Add(ctx, buf); err != nil {
			return err
		}
		for _, ia := range inl {
			src := key
			if len(t.Key) != 1 {
				src = row[ia.src]
			}
			for part := range splitMulti(row[ia.tgt], ia.sep) {
				tgt, err := ia.conv.Convert(part)
				if err != nil {
					p.rep.table(p.model.Associations[ia.ai].Name, p.out.Associations[ia.ai]).add(InvalidValue, line, src, p.model.Associations[ia.ai].Target.Column, part, err.Error())
					continue
				}
				lb = appendLink(lb[:0], src, tgt, op, line)
				mu.Lock()
				err = inline[ia.ai].Add(ctx, lb) // Add copies lb
				p.out.Associations[ia.ai].Read++
				mu.Unlock()
				if err != nil {
					return err
				}
			}
		}
	}
	return p.writeSorted(ctx, t.Name, pt, sorter, errs, len(t.Properties))
}

// checkKind checks, before any row is read, that a table of this kind can
// be prepared in this mode: a delta (a table with a command column) only
// in incremental mode, and a snapshot in incremental mode only if a
// previous snapshot is there to diff it against.
func (p *preparer) checkKind(pt *PreparedTable, command string) error {
	switch {
	case command != "" && p.opts.Mode != Incremental:
		return fmt.Errorf("%w: the table is a delta (command column %s), and a %s run needs a snapshot", ErrDeltaInComplete, command, p.opts.Mode)
	case command == "" && p.opts.Mode == Incremental:
		if f := previousFile(p.opts.Previous, pt.Name); f == "" || !fileExists(f) {
			return fmt.Errorf("%w: the table is a snapshot, and there is no previous snapshot of %s.%s to diff it against", ErrNoPrevious, p.model.Name, pt.Name)
		}
	}
	return nil
}

// rows yields the rows of a table, counting them in pt.Read; every few
// thousand rows it checks ctx and reports progress, and once more at the
// end. A read error is a *TableError (the table stops); ctx's error is
// returned as is.
func (p *preparer) rows(ctx context.Context, tbl connector.Table, pt *PreparedTable) iter.Seq2[[]string, error] {
	return func(yield func([]string, error) bool) {
		rows := newRowReader(tbl) // a row is only valid until the next
		at := tableProgress(tbl)
		for {
			row, err := rows.read()
			if err == io.EOF {
				p.progress(pt.Name, pt.Read, at(true))
				return
			}
			if err != nil {
				yield(nil, &TableError{p.model.Name, pt.Name, pt.Source, err})
				return
			}
			pt.Read++
			if pt.Read%progressEvery == 0 {
				if err := ctx.Err(); err != nil {
					yield(nil, err)
					return
				}
				p.progress(pt.Name, pt.Read, at(false))
			}
			if !yield(row, nil) {
				return
			}
		}
	}
}

// tableProgress returns a function that gives how much of tbl was read,
// in bytes, and its size, when tbl knows them (both 0 otherwise).
func tableProgress(tbl connector.Table) func(end bool) [2]int64 {
	s, sized := tbl.(connector.Sizer)
	r, offsets := tbl.(connector.Rereader)
	if !sized || !offsets || s.Size() <= 0 {
		return func(bool) [2]int64 { return [2]int64{} }
	}
	size := s.Size()
	return func(end bool) [2]int64 {
		if end {
			return [2]int64{size, size}
		}
		return [2]int64{min(max(r.Offset(), 0), size), size}
	}
}

// readError records a table's read error through fail, and returns any
// other error (the context's) as is.
func readError(err error, fail func(error) error) error {
	var te *TableError
	if errors.As(err, &te) {
		return fail(te.Err)
	}
	return err
}

// splitMulti yields the trimmed, non-empty parts of a multi-valued cell.
func splitMulti(s, sep string) iter.Seq[string] {
	return func(yield func(string) bool) {
		if sep == "" {
			if s = strings.TrimSpace(s); s != "" {
				yield(s)
			}
			return
		}
		for part := range strings.SplitSeq(s, sep) {
			if part = strings.TrimSpace(part); part != "" && !yield(part) {
				return
			}
		}
	}
}

// keyConverter converts the key of entity type name as read in an
// association file or a multi-valued column.
func (p *preparer) keyConverter(name string) (*entitytype.Converter, error) {
	if _, typ, ok := strings.Cut(name, "."); ok {
		name = typ
	}
	if t := p.model.EntityType(name); t != nil && len(t.Key) == 1 {
		return entitytype.NewConverter(t.Property(t.Key[0]))
	}
	return entitytype.NewConverter(&entitytype.Property{Name: name, Type: entitytype.String})
}

// writeSorted writes a sorted table to its prepared file. Every row of a
// duplicated entity key is rejected (nvals >= 0); a duplicated link is kept
// once (nvals < 0).
func (p *preparer) writeSorted(ctx context.Context, name string, pt *PreparedTable, s *extsort.Sorter, errs *tableReport, nvals int) error {
	it, err := s.Sort(ctx)
	if err != nil {
		return err
	}
	defer it.Close()
	pt.File = name + ".prepared"
	w, err := newPreparedWriter(filepath.Join(p.opts.Dir, pt.File), pt)
	if err != nil {
		return err
	}
	defer w.abort()
	link := nvals < 0
	report := func(r []byte) {
		f := rec.Split(r)
		key := f.NextString()
		f.Next()
		line := int(f.NextUint())
		if link {
			errs.add(DuplicateLink, line, strings.Replace(key, "\x00", " → ", 1), "", "", "the same link appears on more than one row; kept once")
			return
		}
		errs.add(DuplicateKey, line, key, "", "", "the key appears on more than one row")
		errs.protect(key)
	}
	var prev []byte // the last record, written once its key is known unique
	dup := false
	write := func() error {
		if prev == nil || dup {
			return nil
		}
		if !link && p.referenced[name] {
			f := rec.Split(prev)
			key := f.NextString()
			if op := f.Next(); len(op) == 1 && Op(op[0]) == Delete {
				pt.deleted.add(key)
			} else {
				pt.keys.add(key)
			}
		}
		return w.write(prev)
	}
	for it.Next() {
		r := it.Record()
		if prev != nil && bytes.Equal(rec.Key(prev), rec.Key(r)) {
			if !link && !dup {
				report(prev)
				dup = true
			}
			report(r)
			continue
		}
		if err := write(); err != nil {
			return err
		}
		prev, dup = append(prev[:0], r...), false
	}
	if err := it.Err(); err != nil {
		return err
	}
	if err := write(); err != nil {
		return err
	}
	pt.Prepared = w.count()
	return w.close()
}

// newKeySorter returns a sorter of records by key (see package rec).
func newKeySorter(budget int64, dir string) *extsort.Sorter {
	return extsort.New(rec.CompareKeys, &extsort.Options{MemoryBudget: budget, TempDir: dir, Prefix: rec.KeyPrefix})
}

// keySeed hashes the keys of every keySet of this process.
var keySeed = maphash.MakeSeed()

// keySet is a set of keys held as 64-bit hashes: 8 bytes a key whatever
// its length. A false "present" needs a 64-bit collision.
type keySet struct {
	mu gosync.Mutex
	m  map[uint64]struct{}
}

func (s *keySet) add(k string) {
	s.mu.Lock()
	if s.m == nil {
		s.m = map[uint64]struct{}{}
	}
	s.m[maphash.String(keySeed, k)] = struct{}{}
	s.mu.Unlock()
}

func (s *keySet) remove(k string) {
	s.mu.Lock()
	delete(s.m, maphash.String(keySeed, k))
	s.mu.Unlock()
}

func (s *keySet) has(k string) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) == 0 {
		return false
	}
	_, ok := s.m[maphash.String(keySeed, k)]
	return ok
}

func (s *keySet) len() int { return len(s.m) }

// locate finds each needed column in a header by name, reporting every
// problem at once (extract.HeaderError).
func locate(file string, header []string, needed []string) (map[string]int, error) {
	idx, err := extract.Columns(file, header, needed...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(needed))
	for i, n := range needed {
		out[n] = idx[i]
	}
	return out, nil
}

// preparedWriter writes a prepared file.
type preparedWriter struct {
	f    *os.File
	w    *rec.Writer
	path string
	pt   *PreparedTable
}

const preparedMagic = "idsync-prepared v1\n"

func newPreparedWriter(path string, pt *PreparedTable) (*preparedWriter, error) {
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return nil, fmt.Errorf("idsync: %w", err)
	}
	// The source and its header are in prepared.json, not here, so that
	// equal data gives equal bytes whatever the column order.
	meta, _ := json.Marshal(struct {
		Name  string `json:"name"`
		Delta bool   `json:"delta"`
	}{pt.Name, pt.Delta})
	if _, err := f.WriteString(preparedMagic + string(meta) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("idsync: %w", err)
	}
	return &preparedWriter{f: f, w: rec.NewWriter(f), path: path, pt: pt}, nil
}

func (w *preparedWriter) write(r []byte) error { return w.w.Write(r) }
func (w *preparedWriter) count() int64         { return w.w.Count() }

func (w *preparedWriter) close() error {
	err := w.w.Flush()
	if e := w.f.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = os.Rename(w.path+".tmp", w.path)
	}
	w.f = nil
	if err != nil {
		return fmt.Errorf("idsync: %w", err)
	}
	return nil
}

func (w *preparedWriter) abort() {
	if w.f != nil {
		w.f.Close()
		os.Remove(w.path + ".tmp")
	}
}

// openPrepared opens a prepared file and returns its header and a reader
// positioned on the first record.
func openPrepared(path string) (*os.File, *rec.Reader, *PreparedTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("idsync: %w", err)
	}
	// The header is two lines, read through the buffer that then reads
	// the records (rec.NewReader keeps a large enough *bufio.Reader).
	br := bufio.NewReaderSize(f, 256<<10)
	magic, err1 := br.ReadString('\n')
	meta, err2 := br.ReadSlice('\n')
	if err1 != nil || err2 != nil || magic != preparedMagic {
		f.Close()
		return nil, nil, nil, fmt.Errorf("idsync: %s is not a prepared file", path)
	}
	pt := &PreparedTable{}
	if err := json.Unmarshal(meta, pt); err != nil {
		f.Close()
		return nil, nil, nil, fmt.Errorf("idsync: %s: %w", path, err)
	}
	return f, rec.NewReader(br), pt, nil
}

// keyView is a copy of a keySet, read without locking by one goroutine.
type keyView map[uint64]struct{}

func (s *keySet) view() keyView {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) == 0 {
		return nil
	}
	v := make(keyView, len(s.m))
	for k := range s.m {
		v[k] = struct{}{}
	}
	return v
}

func (v keyView) has(k string) bool {
	if len(v) == 0 {
		return false
	}
	_, ok := v[maphash.String(keySeed, k)]
	return ok
}

// protectedView returns the protected keys of t, which may be nil.
func (t *PreparedTable) protectedView() keyView {
	if t == nil {
		return nil
	}
	return t.protected.view()
}
