package sync

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/internal/rec"
)

// DiffOptions configure [Diff]. A nil *DiffOptions means the defaults.
type DiffOptions struct {
	// Dir receives the change set; required.
	Dir string
	// MemoryBudget bounds the memory used to sort the store's state when
	// the store is not a SortedScanner; DefaultMemoryBudget when 0.
	MemoryBudget int64
	// Fingerprint is the store's fingerprint read before the scan; the
	// change set carries it so that Apply can detect a stale plan.
	Fingerprint string
	// Progress, when set, receives progress events.
	Progress func(Progress)
	// Current, when set, is the current state instead of the store: the
	// prepared snapshots of an older extraction (see DiffExtractions).
	Current *Prepared
}

// Diff merges the prepared data with the store's current state, key by
// key, and writes the resulting change set into opts.Dir:
//
//   - a key only in the prepared data is inserted; a key in both is
//     updated, property by property, where a canonical value differs; a
//     key only in the store is deleted in complete mode (never a protected
//     key) and left alone in incremental mode;
//   - a delta's commands apply against the stored state: insert of a
//     stored key updates it, update of a missing key is rejected into the
//     error report, delete of a missing key is a no-op, merge upserts;
//   - links are inserted and deleted likewise, per association; links of a
//     protected key are never deleted.
//
// Entity types and associations are diffed in parallel. If the store
// implements SortedScanner its scans are merged as they come; otherwise
// they are sorted first, spilling to disk above the memory budget.
func Diff(ctx context.Context, p *Prepared, store Store, opts *DiffOptions) (*ChangeSet, error) {
	if opts == nil || opts.Dir == "" {
		return nil, fmt.Errorf("idsync: Diff needs DiffOptions.Dir")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("idsync: %w", err)
	}
	budget := opts.MemoryBudget
	if budget <= 0 {
		budget = DefaultMemoryBudget
	}
	cs := &ChangeSet{dir: opts.Dir, model: p.Model, m: manifest{
		Connector: p.Connector, Mode: p.Mode, Fingerprint: opts.Fingerprint, Model: p.Model,
	}}
	var ets, as []int // the tables prepared, in model order
	for i, t := range p.EntityTypes {
		if !t.Skipped {
			ets = append(ets, i)
		}
	}
	for i, t := range p.Associations {
		if !t.Skipped {
			as = append(as, i)
		}
	}
	cs.m.EntityTypes = make([]EntityTypeChanges, len(ets))
	cs.m.Associations = make([]AssociationChanges, len(as))
	d := &differ{p: p, store: store, budget: budget / int64(max(1, runtime.GOMAXPROCS(0))), opts: opts}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for j, i := range ets {
		g.Go(func() error { return d.entityType(gctx, i, &cs.m.EntityTypes[j]) })
	}
	for j, i := range as {
		g.Go(func() error { return d.association(gctx, i, &cs.m.Associations[j]) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := cs.save(); err != nil {
		return nil, err
	}
	return cs, nil
}

type differ struct {
	p      *Prepared
	store  Store
	budget int64
	opts   *DiffOptions
}

// cursor walks sorted records: key first, then skip fields to ignore, then
// the values.
type cursor struct {
	next    func() ([]byte, bool, error)
	stop    func()
	rec     []byte
	prevKey []byte
	done    bool
	err     error
	skip    int
	count   int64
}

// advance moves to the next record. The record aliases the source's
// buffer, valid until the next advance; only its key is copied, to check
// that keys ascend.
func (c *cursor) advance() {
	if c.done {
		return
	}
	first := c.rec == nil
	if !first {
		c.prevKey = append(c.prevKey[:0], rec.Key(c.rec)...)
	}
	r, ok, err := c.next()
	if err != nil || !ok {
		c.rec, c.done, c.err = nil, true, err
		return
	}
	if !first && bytes.Compare(c.prevKey, rec.Key(r)) >= 0 {
		c.rec, c.done = nil, true
		c.err = fmt.Errorf("idsync: records out of order or duplicated at key %q", rec.Key(r))
		return
	}
	c.rec = r
	c.count++
}

// values returns the fields after the key and the skipped fields.
func (c *cursor) values() rec.Fields {
	f := rec.Split(c.rec)
	for range 1 + c.skip {
		f.Next()
	}
	return f
}

func (c *cursor) close() {
	if c.stop != nil {
		c.stop()
	}
}

// preparedCursor reads a prepared file: key, op, line, values.
func preparedCursor(path string) (*cursor, error) {
	f, r, _, err := openPrepared(path)
	if err != nil {
		return nil, err
	}
	c := &cursor{skip: 2, stop: func() { f.Close() }}
	c.next = func() ([]byte, bool, error) {
		if r.Next() {
			return r.Record(), true, nil
		}
		return nil, false, r.Err()
	}
	return c, nil
}

// seqCursor encodes what a scan yields and sorts it unless sorted.
func seqCursor[T any](ctx context.Context, seq iter.Seq2[T, error], sorted bool, budget int64, tmp string, encode func([]byte, T) []byte) (*cursor, error) {
	if sorted {
		next, stop := iter.Pull2(seq)
		var buf []byte
		return &cursor{stop: stop, next: func() ([]byte, bool, error) {
			v, err, ok := next()
			if !ok || err != nil {
				return nil, false, err
			}
			buf = encode(buf[:0], v)
			return buf, true, nil
		}}, nil
	}
	s := newKeySorter(budget, tmp)
	var buf []byte
	for v, err := range seq {
		if err != nil {
			s.Close()
			return nil, err
		}
		buf = encode(buf[:0], v)
		if err := s.Add(ctx, buf); err != nil {
			s.Close()
			return nil, err
		}
	}
	it, err := s.Sort(ctx)
	if err != nil {
		return nil, err
	}
	return &cursor{stop: func() { it.Close() }, next: func() ([]byte, bool, error) {
		if it.Next() {
			return it.Record(), true, nil
		}
		return nil, false, it.Err()
	}}, nil
}

func encodeRecord(n int) func([]byte, Record) []byte {
	return func(b []byte, r Record) []byte {
		b = rec.AppendString(b, r.Key)
		for i := range n {
			v := ""
			if i < len(r.Values) {
				v = r.Values[i]
			}
			b = rec.AppendString(b, v)
		}
		return b
	}
}

func encodeLink(b []byte, l Link) []byte { return rec.AppendString(b, l.Source+"\x00"+l.Target) }

// storeResources returns a sorted cursor over the stored resources of t.
func (d *differ) storeResources(ctx context.Context, t *entitytype.EntityType) (*cursor, error) {
	if c := d.opts.Current; c != nil {
		return preparedCursor(filepath.Join(c.Dir, snapshotFile(c.table(t.Name))))
	}
	if ss, ok := d.store.(SortedScanner); ok {
		return seqCursor(ctx, ss.SortedResources(ctx, t), true, d.budget, d.opts.Dir, encodeRecord(len(t.Properties)))
	}
	return seqCursor(ctx, d.store.Resources(ctx, t), false, d.budget, d.opts.Dir, encodeRecord(len(t.Properties)))
}

func (d *differ) storeLinks(ctx context.Context, a *entitytype.Association) (*cursor, error) {
	if c := d.opts.Current; c != nil {
		for _, t := range c.Associations {
			if t.Name == a.Name {
				return preparedCursor(filepath.Join(c.Dir, snapshotFile(t)))
			}
		}
	}
	if ss, ok := d.store.(SortedScanner); ok {
		return seqCursor(ctx, ss.SortedLinks(ctx, a), true, d.budget, d.opts.Dir, encodeLink)
	}
	return seqCursor(ctx, d.store.Links(ctx, a), false, d.budget, d.opts.Dir, encodeLink)
}

// merge walks two sorted cursors together, calling fn with the record of
// each side for every key (nil for the side that lacks it).
// Every 64Ki keys it checks ctx; every few thousand keys, and at the end,
// it calls tick (if not nil) with the number of keys merged.
func merge(ctx context.Context, nw, cur *cursor, tick func(int64), fn func(n, c []byte) error) error {
	nw.advance()
	cur.advance()
	i := int64(0)
	defer func() {
		if tick != nil {
			tick(i)
		}
	}()
	for ; !nw.done || !cur.done; i++ {
		if i&(1<<16-1) == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if tick != nil && i%progressEvery == 0 && i > 0 {
			tick(i)
		}
		var err error
		switch {
		case cur.done:
			err = fn(nw.rec, nil)
			nw.advance()
		case nw.done:
			err = fn(nil, cur.rec)
			cur.advance()
		default:
			switch c := bytes.Compare(rec.Key(nw.rec), rec.Key(cur.rec)); {
			case c < 0:
				err = fn(nw.rec, nil)
				nw.advance()
			case c > 0:
				err = fn(nil, cur.rec)
				cur.advance()
			default:
				err = fn(nw.rec, cur.rec)
				nw.advance()
				cur.advance()
			}
		}
		if err != nil {
			return err
		}
	}
	if nw.err != nil {
		return nw.err
	}
	return cur.err
}

func (d *differ) entityType(ctx context.Context, i int, out *EntityTypeChanges) error {
	pt := d.p.EntityTypes[i]
	t := &d.p.Model.EntityTypes[i]
	out.Name = pt.Name
	out.File = pt.Name + ".changes"
	out.Read = pt.Read
	out.Rejected = pt.RejectedCount()
	out.Protected = int64(pt.ProtectedCount())
	if pt.Err != nil {
		return pt.Err
	}
	nw, cur, w, err := d.open(pt, out.File, func() (*cursor, error) { return d.storeResources(ctx, t) })
	if err != nil {
		return err
	}
	defer nw.close()
	defer cur.close()
	complete := d.p.Mode == Complete && !pt.Delta
	sets := map[string]int64{}
	touched := make([]int64, len(t.Properties))
	var buf, set []byte
	// deleteStored writes the delete of the current stored record.
	deleteStored := func(key []byte) error {
		out.Deleted++
		buf = rec.AppendBytes(buf[:0], key)
		buf = rec.AppendBytes(buf, []byte{byte(Delete)})
		for f := cur.values(); f.More(); {
			buf = rec.AppendBytes(buf, f.Next())
		}
		return w.write(buf)
	}
	err = merge(ctx, nw, cur, d.tick(pt.Name), func(n, c []byte) error {
		var key []byte
		var op Op = Merge
		if n != nil {
			f := rec.Split(n)
			key = f.Next()
			if o := f.Next(); len(o) == 1 {
				op = Op(o[0])
			}
		} else {
			key = rec.Key(c)
		}
		if pt.protected.has(string(key)) {
			return nil
		}
		switch {
		case n == nil: // stored only
			if !complete {
				return nil
			}
			return deleteStored(key)
		case c == nil: // new only
			switch op {
			case Delete:
				out.NoOps++
				return nil
			case Update:
				out.Rejected++
				d.p.Report.late(pt, UpdateMissing, lineOf(n), string(key), "an update of a key that is not stored")
				return nil
			}
			out.Inserted++
			buf = rec.AppendBytes(buf[:0], key)
			buf = rec.AppendBytes(buf, []byte{byte(Insert)})
			for f := nw.values(); f.More(); {
				buf = rec.AppendBytes(buf, f.Next())
			}
			return w.write(buf)
		}
		if op == Delete {
			return deleteStored(key)
		}
		buf = rec.AppendBytes(buf[:0], key)
		buf = rec.AppendBytes(buf, []byte{byte(Update)})
		set = set[:0]
		fn, fc := nw.values(), cur.values()
		for j := 0; fn.More(); j++ {
			nv, cv := fn.Next(), fc.Next()
			if !bytes.Equal(nv, cv) {
				buf = rec.AppendUint(buf, uint64(j))
				buf = rec.AppendBytes(buf, cv)
				buf = rec.AppendBytes(buf, nv)
				set = append(set, byte(j>>8), byte(j))
				touched[j]++
			}
		}
		if len(set) == 0 {
			return nil
		}
		out.Updated++
		sets[string(set)]++
		return w.write(buf)
	})
	if cerr := w.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	out.Stored = cur.count
	out.Unchanged = out.Stored - out.Updated - out.Deleted
	out.Hints = hints(t, sets, out.Updated)
	for j, n := range touched {
		if n > 0 {
			if out.Touched == nil {
				out.Touched = map[string]int64{}
			}
			out.Touched[t.Properties[j].Name] = n
		}
	}
	return nil
}

// open opens the two sides of a table's diff, the prepared data and the
// current state, and the change file.
func (d *differ) open(pt *PreparedTable, file string, current func() (*cursor, error)) (nw, cur *cursor, w *changeWriter, err error) {
	if nw, err = preparedCursor(filepath.Join(d.p.Dir, pt.File)); err != nil {
		return nil, nil, nil, err
	}
	if cur, err = current(); err != nil {
		nw.close()
		return nil, nil, nil, fmt.Errorf("idsync: scan %s: %w", pt.Name, err)
	}
	if w, err = newChangeWriter(filepath.Join(d.opts.Dir, file)); err != nil {
		nw.close()
		cur.close()
		return nil, nil, nil, err
	}
	return nw, cur, w, nil
}

// tick reports the diff's progress on one table.
func (d *differ) tick(name string) func(int64) {
	if d.opts.Progress == nil {
		return nil
	}
	return func(n int64) {
		d.opts.Progress(Progress{Connector: d.p.Connector, Step: "diff", Name: name, Done: n, Total: -1})
	}
}

func lineOf(r []byte) int {
	f := rec.Split(r)
	f.Next()
	f.Next()
	return int(f.NextUint())
}

func (d *differ) association(ctx context.Context, i int, out *AssociationChanges) error {
	pt := d.p.Associations[i]
	a := &d.p.Model.Associations[i]
	out.Name = pt.Name
	out.File = pt.Name + ".changes"
	out.Read = pt.Read
	out.Rejected = pt.RejectedCount()
	if pt.Err != nil {
		return pt.Err
	}
	nw, cur, w, err := d.open(pt, out.File, func() (*cursor, error) { return d.storeLinks(ctx, a) })
	if err != nil {
		return err
	}
	defer nw.close()
	defer cur.close()
	srcT, tgtT := d.p.table(a.Source.EntityType), d.p.table(a.Target.EntityType)
	complete := d.p.Mode == Complete && !pt.Delta
	var buf []byte
	emit := func(pair []byte, op Op) error {
		src, tgt, _ := bytes.Cut(pair, []byte{0})
		buf = rec.AppendBytes(buf[:0], src)
		buf = rec.AppendBytes(buf, tgt)
		buf = rec.AppendBytes(buf, []byte{byte(op)})
		return w.write(buf)
	}
	err = merge(ctx, nw, cur, d.tick(pt.Name), func(n, c []byte) error {
		var op Op = Merge
		if n != nil {
			f := rec.Split(n)
			f.Next()
			if o := f.Next(); len(o) == 1 {
				op = Op(o[0])
			}
		}
		switch {
		case n == nil:
			if !complete {
				return nil
			}
			pair := rec.Key(c)
			src, tgt, _ := strings.Cut(string(pair), "\x00")
			if linkKept(pt, srcT, tgtT, src, tgt) {
				return nil
			}
			out.Deleted++
			return emit(pair, Delete)
		case c == nil:
			if op == Delete {
				out.NoOps++
				return nil
			}
			out.Inserted++
			return emit(rec.Key(n), Insert)
		case op == Delete:
			out.Deleted++
			return emit(rec.Key(n), Delete)
		}
		return nil
	})
	if cerr := w.close(); err == nil {
		err = cerr
	}
	out.Stored = cur.count
	return err
}
