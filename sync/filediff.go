package sync

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/extract"
	"github.com/idsync/idsync/internal/rec"
)

// The keyed diff of two snapshot extractions holds, per row, only hashes:
// 24 bytes an entity row whatever its width (8 a link, see linkdiff.go).
// Both sides are scanned in parallel, without copying rows; each row's key
// and canonical values are hashed; the two hash lists are radix-sorted in
// 256 buckets and merged. A key whose content hash is equal on both sides is
// unchanged; only the rows of changed, inserted, deleted or duplicated keys
// (a few percent) are read again, by their offset in the file, to compute
// their changes exactly. A false "unchanged" needs two rows with different
// values to collide on a 64-bit hash of the same key, a chance of 2^-64.

// hashedSize is the memory a row takes in the hash diff, on one side.
const hashedSize = 24

// errOverBudget stops the hash diff when its rows outgrow the memory
// budget; DiffExtractions then compares through external sorting.
var errOverBudget = errors.New("idsync: the hash diff would exceed the memory budget")

// hashed is one row of a side. Its line, needed only to report a
// duplicated key, is found again from its offset then.
type hashed struct {
	key, content uint64 // hashes of the key and of the canonical values
	pos          int64  // byte offset of the row, or its line when the table cannot read at an offset
}

func hashedKey(h *hashed) uint64 { return h.key }

// fileSide is one extraction's entity table reduced to hashes.
type fileSide struct {
	ext     connector.Extraction
	name    string // table
	pt      *PreparedTable
	rep     *tableReport
	rows    hashBuckets[hashed]
	offsets bool // pos are offsets for ReadAt
	header  []string
	mapRow  func(row []string) (key string, op Op, vals []string, rej *rejection)
}

// fileDiffer runs the hash diff of one model's tables.
type fileDiffer struct {
	budget     int64 // bytes of rows both sides may hold
	model      *entitytype.Model
	seed       maphash.Seed
	sides      [2]*reportWriter // old, new
	prepared   [2]*Prepared
	dir        string
	keyConvert func(string) (*entitytype.Converter, error)
	// linkPassRows, when not 0, is the number of link hashes a pass may
	// keep in place of the budget's (tests).
	linkPassRows int64
}

// snapshotOnly refuses a delta: the keyed diff compares two snapshots.
func snapshotOnly(tbl connector.Table) error {
	if c := connector.CommandColumn(tbl); c != "" {
		return fmt.Errorf("%w: the table is a delta (command column %s), and a diff compares snapshots", ErrDeltaInComplete, c)
	}
	return nil
}

// canHashDiff reports whether the tables can take the hash path: tables
// of their own (no inline association). Deltas are refused on either path.
func canHashDiff(m *entitytype.Model, tables []string) bool {
	want := func(name string) bool { return len(tables) == 0 || slices.Contains(tables, name) }
	for _, a := range m.Associations {
		if want(a.Name) && a.Inline {
			return false
		}
		if a.Inline && want(a.Source.EntityType) {
			return false
		}
	}
	return true
}

func hashDiff(ctx context.Context, model *entitytype.Model, old, nw connector.Extraction, o CompareOptions) (cs *ChangeSet, pn *Prepared, err error) {
	d := &fileDiffer{model: model, seed: maphash.MakeSeed(), dir: o.Dir, budget: o.MemoryBudget, linkPassRows: o.linkPassRows}
	p := &preparer{model: model}
	d.keyConvert = p.keyConverter
	for s, name := range []string{"old", "new"} {
		dir := filepath.Join(o.Dir, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, fmt.Errorf("idsync: %w", err)
		}
		rw, _ := newReportWriter(dir)
		d.sides[s] = rw
		d.prepared[s] = newPrepared(model, Complete, dir, o.Tables)
	}
	defer func() {
		if err != nil {
			for _, rw := range d.sides {
				rw.abandon()
			}
		}
	}()
	cs = &ChangeSet{dir: filepath.Join(o.Dir, "changes"), model: model, m: manifest{Connector: model.Name, Mode: Complete, Model: model}}
	if err := os.MkdirAll(cs.dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("idsync: %w", err)
	}
	exts := [2]connector.Extraction{old, nw}
	var errs []error
	for i := range model.EntityTypes {
		if d.prepared[1].EntityTypes[i].Skipped {
			continue
		}
		out := EntityTypeChanges{}
		err := d.entityType(ctx, i, exts, cs.dir, &out)
		if err != nil && !isTableError(err) {
			return nil, d.prepared[1], err
		}
		errs = append(errs, err)
		cs.m.EntityTypes = append(cs.m.EntityTypes, out)
	}
	for i := range model.Associations {
		if d.prepared[1].Associations[i].Skipped {
			continue
		}
		out := AssociationChanges{}
		err := d.association(ctx, i, exts, cs.dir, &out)
		if err != nil && !isTableError(err) {
			return nil, d.prepared[1], err
		}
		errs = append(errs, err)
		cs.m.Associations = append(cs.m.Associations, out)
	}
	for s := range d.sides {
		r, err := d.sides[s].finish(d.prepared[s])
		if err != nil {
			return nil, d.prepared[1], err
		}
		d.prepared[s].Report = r
		if err := savePrepared(d.prepared[s]); err != nil {
			return nil, d.prepared[1], err
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, d.prepared[1], err
	}
	if err := cs.save(); err != nil {
		return nil, d.prepared[1], err
	}
	return cs, d.prepared[1], nil
}

func isTableError(err error) bool {
	var te *TableError
	return errors.As(err, &te)
}

// scan reads both sides of an entity table into hashes, in parallel.
func (d *fileDiffer) scan(ctx context.Context, exts [2]connector.Extraction, t *entitytype.EntityType, pts [2]*PreparedTable) ([2]*fileSide, error) {
	var sides [2]*fileSide
	g, gctx := errgroup.WithContext(ctx)
	for s := range 2 {
		side := &fileSide{ext: exts[s], name: t.Name, pt: pts[s], rep: d.sides[s].table(t.Name, pts[s])}
		sides[s] = side
		g.Go(func() error { return d.scanSide(gctx, t, side) })
	}
	return sides, g.Wait()
}

func (d *fileDiffer) scanSide(ctx context.Context, t *entitytype.EntityType, side *fileSide) error {
	tbl, err := side.ext.Open(ctx, side.name)
	if err != nil {
		return &TableError{d.model.Name, side.name, "", err}
	}
	defer tbl.Close()
	side.pt.Source, side.header = tbl.Name(), slices.Clone(tbl.Header())
	side.pt.Header = side.header
	if err := snapshotOnly(tbl); err != nil {
		return &TableError{d.model.Name, side.name, side.pt.Source, err}
	}
	m, _, err := newRowMapper(t, side.pt.Source, side.header, nil, "")
	if err != nil {
		return &TableError{d.model.Name, side.name, side.pt.Source, err}
	}
	side.mapRow = m.mapRow
	rr, ok := tbl.(connector.Rereader)
	side.offsets = ok && rr.Offset() >= 0
	var b []byte
	rows := newRowReader(tbl) // rows are only valid until the next
	for {
		row, err := rows.read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &TableError{d.model.Name, side.name, side.pt.Source, err}
		}
		side.pt.Read++
		if side.pt.Read%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			// Both sides' rows, and as much again of garbage collector
			// headroom, must fit.
			if 4*side.rows.n*hashedSize > d.budget {
				return errOverBudget
			}
		}
		key, _, vals, rej := side.mapRow(row)
		if rej != nil {
			side.rep.reject(tbl.Line(), rej)
			continue
		}
		e := d.hash(key, vals, &b)
		e.pos = int64(tbl.Line())
		if side.offsets {
			e.pos = rr.Offset()
		}
		side.rows.add(e.key, e)
	}
}

// hash returns the hashes of a row's key and values, using buf.
func (d *fileDiffer) hash(key string, vals []string, buf *[]byte) hashed {
	b := (*buf)[:0]
	for _, v := range vals {
		b = append(b, v...)
		b = append(b, 0xff) // never in UTF-8 text
	}
	*buf = b
	return hashed{key: maphash.String(d.seed, key), content: maphash.Bytes(d.seed, b)}
}

// hashGroup is a set of rows of both sides sharing a key hash that needs an
// exact look.
type hashGroup struct{ old, new []hashed }

// groups sorts and merges the hashes of both sides, bucket by bucket,
// releasing them: it counts the keys unchanged for sure and returns the
// groups to look at exactly.
func groups(ctx context.Context, sides [2]*fileSide) (unchanged int64, pending []hashGroup, err error) {
	var buf, tmp [2][]hashed
	for b := range 256 {
		if err := ctx.Err(); err != nil {
			return 0, nil, err
		}
		var sorted [2][]hashed
		for s, side := range sides {
			buf[s] = side.rows.take(b, buf[s])
			tmp[s] = slices.Grow(tmp[s][:0], len(buf[s]))
			sorted[s] = radixSort(buf[s], tmp[s][:len(buf[s])], hashedKey)
		}
		mergeRuns(sorted[0], sorted[1], hashedKey, func(_ uint64, o, n []hashed) {
			if len(o) == 1 && len(n) == 1 && o[0].content == n[0].content {
				unchanged++
				return
			}
			pending = append(pending, hashGroup{slices.Clone(o), slices.Clone(n)})
		})
	}
	for _, side := range sides {
		side.rows.free = nil // no more rows to add
	}
	return unchanged, pending, nil
}

// reread reads again the rows of a side that the pending groups need, and
// returns them by position.
func (d *fileDiffer) reread(ctx context.Context, side *fileSide, need []int64) (map[int64][]string, error) {
	slices.Sort(need)
	out := make(map[int64][]string, len(need))
	if len(need) == 0 {
		return out, nil
	}
	tbl, err := side.ext.Open(ctx, side.name)
	if err != nil {
		return nil, err
	}
	defer tbl.Close()
	if rr, ok := tbl.(connector.Rereader); ok && side.offsets {
		for _, pos := range need {
			row, err := rr.ReadAt(pos)
			if err != nil {
				return nil, err
			}
			out[pos] = row
		}
		return out, nil
	}
	// No offsets: read the table again, keeping the needed lines.
	k := 0
	for k < len(need) {
		row, err := tbl.Read()
		if err == io.EOF {
			return nil, fmt.Errorf("idsync: %s changed while it was compared", side.pt.Source)
		}
		if err != nil {
			return nil, err
		}
		if need[k] == int64(tbl.Line()) {
			out[need[k]] = slices.Clone(row)
			k++
		}
	}
	return out, nil
}

// lines returns the line of the rows of a side at the given positions,
// which are lines already when the side has no offsets; otherwise the table
// is read again up to the last of them.
func (d *fileDiffer) lines(ctx context.Context, side *fileSide, pos []int64) (map[int64]int, error) {
	out := make(map[int64]int, len(pos))
	if !side.offsets {
		for _, p := range pos {
			out[p] = int(p)
		}
		return out, nil
	}
	want := make(map[int64]bool, len(pos))
	for _, p := range pos {
		want[p] = true
	}
	tbl, err := side.ext.Open(ctx, side.name)
	if err != nil {
		return nil, err
	}
	defer tbl.Close()
	rr, ok := tbl.(connector.Rereader)
	if !ok {
		return nil, fmt.Errorf("idsync: %s can no longer be read at an offset", side.pt.Source)
	}
	rows := newRowReader(tbl)
	for len(out) < len(want) {
		if _, err := rows.read(); err == io.EOF {
			return nil, fmt.Errorf("idsync: %s changed while it was compared", side.pt.Source)
		} else if err != nil && !errors.Is(err, extract.ErrBadRecord) {
			return nil, err
		}
		if want[rr.Offset()] {
			out[rr.Offset()] = tbl.Line()
		}
	}
	return out, nil
}

// rereadAll rereads the rows that the pending groups need on both sides.
func (d *fileDiffer) rereadAll(ctx context.Context, sides [2]*fileSide, pending []hashGroup) ([2]map[int64][]string, error) {
	var need [2][]int64
	for _, g := range pending {
		for s, rows := range [2][]hashed{g.old, g.new} {
			for _, r := range rows {
				need[s] = append(need[s], r.pos)
			}
		}
	}
	var rows [2]map[int64][]string
	g, gctx := errgroup.WithContext(ctx)
	for s := range 2 {
		g.Go(func() (err error) {
			rows[s], err = d.reread(gctx, sides[s], need[s])
			return err
		})
	}
	return rows, g.Wait()
}

func (d *fileDiffer) entityType(ctx context.Context, i int, exts [2]connector.Extraction, dir string, out *EntityTypeChanges) error {
	t := &d.model.EntityTypes[i]
	pts := [2]*PreparedTable{d.prepared[0].EntityTypes[i], d.prepared[1].EntityTypes[i]}
	out.Name, out.File = t.Name, t.Name+".changes"
	sides, err := d.scan(ctx, exts, t, pts)
	if err != nil {
		return err
	}
	out.Read = pts[1].Read
	unchanged, pending, err := groups(ctx, sides)
	if err != nil {
		return err
	}
	rows, err := d.rereadAll(ctx, sides, pending)
	if err != nil {
		return err
	}
	type version struct {
		vals []string
		pos  int64
	}
	type duplicate struct {
		key string
		pos int64
	}
	var duplicates [2][]duplicate
	var changes [][]byte
	var buf []byte
	var stored int64 = unchanged
	var dups [2]int64 // rows of duplicated keys, left out
	sets := map[string]int64{}
	touched := make([]int64, len(t.Properties))
	for _, g := range pending {
		// Exact keys of the group's rows, side by side.
		keys := map[string]*[2][]version{}
		var order []string
		for s, group := range [2][]hashed{g.old, g.new} {
			for _, r := range group {
				key, _, vals, rej := sides[s].mapRow(rows[s][r.pos])
				// The row read again must be the row hashed.
				if h := d.hash(key, vals, &buf); rej != nil || h.key != r.key || h.content != r.content {
					return fmt.Errorf("idsync: %s changed while it was compared", sides[s].pt.Source)
				}
				v, ok := keys[key]
				if !ok {
					v = &[2][]version{}
					keys[key] = v
					order = append(order, key)
				}
				v[s] = append(v[s], version{slices.Clone(vals), r.pos})
			}
		}
		for _, key := range order {
			v := keys[key]
			if len(v[1]) > 1 { // duplicated in the new extraction
				dups[1] += int64(len(v[1]))
				for _, x := range v[1] {
					duplicates[1] = append(duplicates[1], duplicate{key, x.pos})
				}
				sides[1].rep.protect(key)
			}
			if len(v[0]) > 1 { // duplicated in the old one: not a stored resource
				dups[0] += int64(len(v[0]))
				for _, x := range v[0] {
					duplicates[0] = append(duplicates[0], duplicate{key, x.pos})
				}
				sides[0].rep.protect(key)
				v[0] = nil
			}
			if len(v[0]) == 1 {
				stored++
			}
			if pts[1].protected.has(key) {
				continue
			}
			switch {
			case len(v[0]) == 0 && len(v[1]) == 1:
				out.Inserted++
				changes = append(changes, changeRecord(key, Insert, v[1][0].vals))
			case len(v[0]) == 1 && len(v[1]) == 0:
				out.Deleted++
				changes = append(changes, changeRecord(key, Delete, v[0][0].vals))
			case len(v[0]) == 1 && len(v[1]) == 1:
				b := rec.AppendString(nil, key)
				b = rec.AppendBytes(b, []byte{byte(Update)})
				var set []byte
				for j, nv := range v[1][0].vals {
					if ov := v[0][0].vals[j]; ov != nv {
						b = rec.AppendUint(b, uint64(j))
						b = rec.AppendString(b, ov)
						b = rec.AppendString(b, nv)
						set = append(set, byte(j>>8), byte(j))
						touched[j]++
					}
				}
				if len(set) > 0 {
					out.Updated++
					sets[string(set)]++
					changes = append(changes, b)
				}
			}
		}
	}
	for s, dups := range duplicates {
		if len(dups) == 0 {
			continue
		}
		pos := make([]int64, len(dups))
		for k, x := range dups {
			pos[k] = x.pos
		}
		lines, err := d.lines(ctx, sides[s], pos)
		if err != nil {
			return err
		}
		for _, x := range dups {
			sides[s].rep.add(DuplicateKey, lines[x.pos], x.key, "", "", "the key appears on more than one row")
		}
	}
	out.Stored = stored
	out.Unchanged = out.Stored - out.Updated - out.Deleted
	out.Rejected = pts[1].RejectedCount()
	out.Protected = int64(pts[1].ProtectedCount())
	out.Hints = hints(t, sets, out.Updated)
	pts[0].Prepared, pts[1].Prepared = sides[0].rows.n-dups[0], sides[1].rows.n-dups[1]
	for j, n := range touched {
		if n > 0 {
			if out.Touched == nil {
				out.Touched = map[string]int64{}
			}
			out.Touched[t.Properties[j].Name] = n
		}
	}
	slices.SortFunc(changes, rec.CompareKeys)
	return writeChanges(filepath.Join(dir, out.File), changes)
}

func changeRecord(key string, op Op, vals []string) []byte {
	b := rec.AppendString(nil, key)
	b = rec.AppendBytes(b, []byte{byte(op)})
	for _, v := range vals {
		b = rec.AppendString(b, v)
	}
	return b
}

func writeChanges(path string, changes [][]byte) error {
	w, err := newChangeWriter(path)
	if err != nil {
		return err
	}
	for _, c := range changes {
		if err := w.write(c); err != nil {
			w.close()
			return err
		}
	}
	return w.close()
}
