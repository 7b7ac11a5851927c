package sync

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/internal/extsort"
	"github.com/idsync/idsync/internal/rec"
)

// known reports whether a key of the entity type name (possibly
// "Connector.EntityType") will exist once the run is applied: it is
// prepared in this extraction, or it is stored and neither deleted by this
// run nor absent from a snapshot (unless protected, hence kept). A
// snapshot is the whole truth in incremental mode too, where its delta is
// computed from the previous snapshot: a key it lacks is deleted, so a
// reference to it is rejected, as a complete run of the same snapshot
// rejects it.
func (p *preparer) known(ctx context.Context, name, key string) (bool, error) {
	conn, typ, other := strings.Cut(name, ".")
	if !other {
		typ = name
	} else if conn == p.model.Name {
		other = false
	}
	if !other {
		if pt := p.out.table(typ); pt != nil {
			switch {
			case pt.keys.has(key): // prepared (and not deleted by a delta)
				return true, nil
			case pt.deleted.has(key): // deleted by this delta
				return false, nil
			case !pt.Delta && !pt.Skipped && pt.Err == nil && !pt.protected.has(key):
				return false, nil // absent from a snapshot: deleted
			}
		}
		// A protected key is kept as stored; a delta leaves what is stored
		// unless it deletes it: ask the store.
	}
	s, err := p.storeKeys(ctx, typ)
	if err != nil {
		return false, err
	}
	return s.has(key), nil
}

// storeKeys loads the stored keys of an entity type, once.
func (p *preparer) storeKeys(ctx context.Context, typ string) (*keySet, error) {
	p.storeMu.Lock()
	defer p.storeMu.Unlock()
	if s, ok := p.stored[typ]; ok {
		return s, nil
	}
	s := &keySet{}
	if p.opts.Store != nil {
		for r, err := range p.opts.Store.Resources(ctx, &entitytype.EntityType{Name: typ}) {
			if err != nil {
				return nil, fmt.Errorf("idsync: scan %s: %w", typ, err)
			}
			s.add(r.Key)
		}
	}
	if p.stored == nil {
		p.stored = map[string]*keySet{}
	}
	p.stored[typ] = s
	return s, nil
}

// checkRefs checks the mono-valued navigation properties of every prepared
// entity type, rewriting its prepared file without the rejected rows.
func (p *preparer) checkRefs(ctx context.Context) error {
	if p.opts.SkipReferences {
		return nil
	}
	for i := range p.model.EntityTypes {
		t := &p.model.EntityTypes[i]
		pt := p.out.EntityTypes[i]
		var refs []int
		for j := range t.Properties {
			if t.Properties[j].Type == entitytype.Ref {
				refs = append(refs, j)
			}
		}
		if len(refs) == 0 || pt.Err != nil || pt.Skipped {
			continue
		}
		errs := p.rep.table(t.Name, pt)
		var fields [][]byte // key, command, line, values: aliases of the record
		if err := p.rewrite(pt, func(r []byte, out []byte) ([]byte, error) {
			fields = fields[:0]
			for f := rec.Split(r); f.More(); {
				fields = append(fields, f.Next())
			}
			if len(fields[1]) == 1 && Op(fields[1][0]) == Delete {
				return append(out, r...), nil
			}
			line := func() int { n, _ := binary.Uvarint(fields[2]); return int(n) }
			changed := false
			for _, j := range refs {
				prop, v := &t.Properties[j], fields[3+j]
				if len(v) == 0 {
					continue
				}
				ok, err := p.known(ctx, prop.Target, string(v))
				if err != nil {
					return nil, err
				}
				if ok {
					continue
				}
				key := string(fields[0])
				if prop.OnMissing == entitytype.Drop {
					errs.add(DroppedReference, line(), key, prop.Column, string(v), fmt.Sprintf("no %s has key %q; link dropped", prop.Target, v))
					fields[3+j], changed = nil, true
					continue
				}
				errs.add(MissingReference, line(), key, prop.Column, string(v), fmt.Sprintf("no %s has key %q", prop.Target, v))
				errs.protect(key)
				pt.keys.remove(key)
				return out, nil
			}
			if !changed {
				return append(out, r...), nil
			}
			for _, f := range fields {
				out = rec.AppendBytes(out, f)
			}
			return out, nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// rewrite passes every record of a prepared file through fn, which
// appends the record to keep (if any) to out.
func (p *preparer) rewrite(pt *PreparedTable, fn func(r, out []byte) ([]byte, error)) error {
	path := filepath.Join(p.opts.Dir, pt.File)
	f, rd, _, err := openPrepared(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := newPreparedWriter(path, pt)
	if err != nil {
		return err
	}
	defer w.abort()
	var out []byte
	for rd.Next() {
		out, err = fn(rd.Record(), out[:0])
		if err != nil {
			return err
		}
		if len(out) > 0 {
			if err := w.write(out); err != nil {
				return err
			}
		}
	}
	if err := rd.Err(); err != nil {
		return err
	}
	pt.Prepared = w.count()
	return w.close()
}

// association prepares one association: its own file, or the links that
// phase 1 collected from a multi-valued column.
func (p *preparer) association(ctx context.Context, i int, sorter *extsort.Sorter) error {
	a := &p.model.Associations[i]
	pt := p.out.Associations[i]
	errs := p.rep.table(a.Name, pt)
	fail := func(err error) error {
		pt.Err = &TableError{p.model.Name, a.Name, pt.Source, err}
		if sorter != nil {
			sorter.Close()
		}
		return nil
	}
	if a.Inline {
		pt.Source = a.Source.EntityType + "." + a.Target.Column
		if sorter == nil { // the source entity type failed
			return fail(fmt.Errorf("the source entity type %s was not prepared", a.Source.EntityType))
		}
		pt.Delta = p.out.table(a.Source.EntityType).Delta // links of the rows of a delta are commands too
	} else {
		sorter = newKeySorter(p.sortBudget(), p.opts.Dir)
		defer sorter.Close() // after Sort, a no-op
		tbl, err := p.ext.Open(ctx, a.Name)
		if err != nil {
			return fail(err)
		}
		defer tbl.Close()
		pt.Source, pt.Header = tbl.Name(), append([]string(nil), tbl.Header()...)
		command := connector.CommandColumn(tbl)
		pt.Delta = command != ""
		if err := p.checkKind(pt, command); err != nil {
			return fail(err)
		}
		mapper, err := newLinkMapper(a, pt.Source, pt.Header, command, p.keyConverter)
		if err != nil {
			return fail(err)
		}
		var buf []byte
		for row, err := range p.rows(ctx, tbl, pt) {
			if err != nil {
				return readError(err, fail)
			}
			line := tbl.Line()
			src, tgt, op, rej := mapper.mapRow(row)
			if rej != nil {
				errs.reject(line, rej)
				continue
			}
			buf = appendLink(buf[:0], src, tgt, op, line)
			if err := sorter.Add(ctx, buf); err != nil {
				return err
			}
		}
	}
	if err := p.writeSorted(ctx, a.Name, pt, sorter, errs, -1); err != nil {
		return err
	}
	// Check both ends of every link.
	srcT, tgtT := p.out.table(a.Source.EntityType), p.out.table(a.Target.EntityType)
	return p.rewrite(pt, func(r, out []byte) ([]byte, error) {
		f := rec.Split(r)
		pair := f.NextString()
		op := f.Next()
		line := int(f.NextUint())
		src, tgt, _ := strings.Cut(pair, "\x00")
		shown := src + " → " + tgt
		if (srcT != nil && srcT.protected.has(src)) || (tgtT != nil && tgtT.protected.has(tgt)) {
			errs.add(RejectedEnd, line, shown, "", "", "its source or target row was rejected")
			return out, nil
		}
		if p.opts.SkipReferences || (len(op) == 1 && Op(op[0]) == Delete) {
			return append(out, r...), nil
		}
		for _, end := range []struct{ typ, key, col string }{{a.Source.EntityType, src, a.Source.Column}, {a.Target.EntityType, tgt, a.Target.Column}} {
			ok, err := p.known(ctx, end.typ, end.key)
			if err != nil {
				return nil, err
			}
			if !ok {
				if a.OnMissing == entitytype.Drop {
					errs.add(DroppedReference, line, shown, end.col, end.key, fmt.Sprintf("no %s has key %q; link dropped", end.typ, end.key))
				} else {
					errs.add(MissingReference, line, shown, end.col, end.key, fmt.Sprintf("no %s has key %q", end.typ, end.key))
				}
				return out, nil
			}
		}
		return append(out, r...), nil
	})
}
