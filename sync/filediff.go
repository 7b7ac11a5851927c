package sync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/internal/rec"
)

// The keyed diff of two snapshot extractions holds, per row, only hashes:
// 32 bytes a row whatever its width. Both sides are scanned in parallel;
// each row's key and canonical values are hashed; the two hash lists are
// sorted and merged. A key whose content hash is equal on both sides is
// unchanged; only the rows of changed, inserted, deleted or duplicated keys
// (a few percent) are read again, by their offset in the file, to compute
// their changes exactly. A false "unchanged" needs two rows with different
// values to collide on a 64-bit hash of the same key, a chance of 2^-64.

// hashedSize is the memory a row takes in the hash diff, on one side.
const hashedSize = 32

// errOverBudget stops the hash diff when its rows outgrow the memory
// budget; DiffExtractions then compares through external sorting.
var errOverBudget = errors.New("idsync: the hash diff would exceed the memory budget")

// hashed is one row of a side.
type hashed struct {
	key, content uint64 // hashes of the key and of the canonical values
	pos          int64  // byte offset of the row, or its line when the table cannot read at an offset
	line         int64
}

// reReader reads a row again at its offset (*extract.Reader does).
type reReader interface {
	Offset() int64
	ReadAt(offset int64) ([]string, error)
}

// fileSide is one extraction's table reduced to hashes.
type fileSide struct {
	index int // 0 for the old side, 1 for the new one
	ext   connector.Extraction
	name  string // table
	pt    *PreparedTable
	rep   *tableReport
	// rows are partitioned by the top byte of their key hash, so that
	// growing never copies all of them at once and each bucket sorts in
	// the CPU caches; a row's index is bucket<<32 | position.
	rows    [256][]hashed
	count   int64
	offsets bool // pos are offsets for ReadAt
	header  []string
	// rowMapper or linkMapper, built from the header
	mapEntity func(row []string) (key string, op Op, vals []string, rej *rejection)
	mapLink   func(row []string) (src, tgt string, op Op, rej *rejection)
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
}

// canHashDiff reports whether the tables can take the hash path: snapshot
// tables of their own (no command column, no inline association).
func canHashDiff(m *entitytype.Model, tables []string) bool {
	want := func(name string) bool { return len(tables) == 0 || slices.Contains(tables, name) }
	for _, t := range m.EntityTypes {
		if want(t.Name) && t.CommandColumn != "" {
			return false
		}
	}
	for _, a := range m.Associations {
		if want(a.Name) && (a.CommandColumn != "" || a.Inline) {
			return false
		}
		if a.Inline && want(a.Source.EntityType) {
			return false
		}
	}
	return true
}

func hashDiff(ctx context.Context, model *entitytype.Model, old, nw connector.Extraction, o CompareOptions) (cs *ChangeSet, pn *Prepared, err error) {
	d := &fileDiffer{model: model, seed: maphash.MakeSeed(), dir: o.Dir, budget: o.MemoryBudget}
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

// scan reads one side of a table into hashes, in parallel with the other.
func (d *fileDiffer) scan(ctx context.Context, exts [2]connector.Extraction, name string, pts [2]*PreparedTable,
	setup func(s *fileSide) error, hash func(s *fileSide, row []string, scratch *[]byte) (hashed, *rejection)) ([2]*fileSide, error) {
	var sides [2]*fileSide
	g, gctx := errgroup.WithContext(ctx)
	for s := range 2 {
		g.Go(func() error {
			side := &fileSide{index: s, ext: exts[s], name: name, pt: pts[s], rep: d.sides[s].table(name, pts[s])}
			sides[s] = side
			tbl, err := exts[s].Open(gctx, name)
			if err != nil {
				return &TableError{d.model.Name, name, "", err}
			}
			defer tbl.Close()
			side.pt.Source, side.header = tbl.Name(), slices.Clone(tbl.Header())
			side.pt.Header = side.header
			if err := setup(side); err != nil {
				return &TableError{d.model.Name, name, side.pt.Source, err}
			}
			rr, ok := tbl.(reReader)
			side.offsets = ok && rr.Offset() >= 0
			var scratch []byte
			for {
				row, err := tbl.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					return &TableError{d.model.Name, name, side.pt.Source, err}
				}
				side.pt.Read++
				if side.pt.Read%65536 == 0 {
					if err := gctx.Err(); err != nil {
						return err
					}
					// Both sides' rows, the slack of growing buckets and the
					// garbage of reading must fit: a sixth of the budget a
					// side in rows.
					if 6*side.count*hashedSize > d.budget {
						return errOverBudget
					}
				}
				e, rej := hash(side, row, &scratch)
				if rej != nil {
					side.rep.reject(tbl.Line(), rej)
					continue
				}
				e.line = int64(tbl.Line())
				e.pos = e.line
				if side.offsets {
					e.pos = rr.Offset()
				}
				b := e.key >> 56
				side.rows[b] = append(side.rows[b], e)
				side.count++
			}
			for _, b := range side.rows {
				slices.SortFunc(b, func(a, b hashed) int {
					if c := cmp.Compare(a.key, b.key); c != 0 {
						return c
					}
					return cmp.Compare(a.line, b.line)
				})
			}
			return nil
		})
	}
	return sides, g.Wait()
}

// row returns the row of index i (bucket<<32 | position).
func (s *fileSide) row(i int) *hashed { return &s.rows[i>>32][i&(1<<32-1)] }

// hashGroup is a set of rows of both sides sharing a key hash that needs an
// exact look: indexes into the sides' rows.
type hashGroup struct{ old, new []int }

// groups merges the sorted hashes of both sides: it counts the keys
// unchanged for sure and returns the groups to look at exactly.
func groups(ctx context.Context, sides [2]*fileSide) (unchanged int64, pending []hashGroup, err error) {
	for b := range 256 {
		if err := ctx.Err(); err != nil {
			return 0, nil, err
		}
		o, n := sides[0].rows[b], sides[1].rows[b]
		base := b << 32
		i, j := 0, 0
		for i < len(o) || j < len(n) {
			var h uint64
			switch {
			case i == len(o):
				h = n[j].key
			case j == len(n):
				h = o[i].key
			default:
				h = min(o[i].key, n[j].key)
			}
			i0, j0 := i, j
			for i < len(o) && o[i].key == h {
				i++
			}
			for j < len(n) && n[j].key == h {
				j++
			}
			if i-i0 == 1 && j-j0 == 1 && o[i0].content == n[j0].content {
				unchanged++
				continue
			}
			var g hashGroup
			for k := i0; k < i; k++ {
				g.old = append(g.old, base|k)
			}
			for k := j0; k < j; k++ {
				g.new = append(g.new, base|k)
			}
			pending = append(pending, g)
		}
	}
	return unchanged, pending, nil
}

// reread reads again the rows of a side that the pending groups need, and
// returns them by row index.
func (d *fileDiffer) reread(ctx context.Context, side *fileSide, need []int) (map[int][]string, error) {
	slices.SortFunc(need, func(a, b int) int { return cmp.Compare(side.row(a).pos, side.row(b).pos) })
	out := make(map[int][]string, len(need))
	if len(need) == 0 {
		return out, nil
	}
	tbl, err := side.ext.Open(ctx, side.name)
	if err != nil {
		return nil, err
	}
	defer tbl.Close()
	if rr, ok := tbl.(reReader); ok && side.offsets {
		for _, i := range need {
			row, err := rr.ReadAt(side.row(i).pos)
			if err != nil {
				return nil, err
			}
			out[i] = row
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
		for k < len(need) && side.row(need[k]).pos == int64(tbl.Line()) {
			out[need[k]] = slices.Clone(row)
			k++
		}
	}
	return out, nil
}

// rereadAll rereads the rows that the pending groups need on both sides.
func (d *fileDiffer) rereadAll(ctx context.Context, sides [2]*fileSide, pending []hashGroup) ([2]map[int][]string, error) {
	var need [2][]int
	for _, g := range pending {
		need[0] = append(need[0], g.old...)
		need[1] = append(need[1], g.new...)
	}
	var rows [2]map[int][]string
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
	sides, err := d.scan(ctx, exts, t.Name, pts, func(s *fileSide) error {
		m, _, err := newRowMapper(t, s.pt.Source, s.header, nil)
		if err == nil {
			s.mapEntity = m.mapRow
		}
		return err
	}, func(s *fileSide, row []string, scratch *[]byte) (hashed, *rejection) {
		key, _, vals, rej := s.mapEntity(row)
		if rej != nil {
			return hashed{}, rej
		}
		b := (*scratch)[:0]
		for _, v := range vals {
			b = append(b, v...)
			b = append(b, 0xff) // never in UTF-8 text
		}
		*scratch = b
		return hashed{key: maphash.String(d.seed, key), content: maphash.Bytes(d.seed, b)}, nil
	})
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
		line int64
	}
	var changes [][]byte
	var stored int64 = unchanged
	var dups [2]int64 // rows of duplicated keys, left out
	sets := map[string]int64{}
	touched := make([]int64, len(t.Properties))
	for _, g := range pending {
		// Exact keys of the group's rows, side by side.
		keys := map[string]*[2][]version{}
		var order []string
		for s, idx := range [2][]int{g.old, g.new} {
			for _, ri := range idx {
				key, _, vals, rej := sides[s].mapEntity(rows[s][ri])
				if rej != nil {
					return fmt.Errorf("idsync: %s line %d changed while it was compared", sides[s].pt.Source, sides[s].row(ri).line)
				}
				v, ok := keys[key]
				if !ok {
					v = &[2][]version{}
					keys[key] = v
					order = append(order, key)
				}
				v[s] = append(v[s], version{slices.Clone(vals), sides[s].row(ri).line})
			}
		}
		for _, key := range order {
			v := keys[key]
			if len(v[1]) > 1 { // duplicated in the new extraction
				dups[1] += int64(len(v[1]))
				for _, x := range v[1] {
					sides[1].rep.add(DuplicateKey, int(x.line), key, "", "", "the key appears on more than one row")
				}
				sides[1].rep.protect(key)
			}
			if len(v[0]) > 1 { // duplicated in the old one: not a stored resource
				dups[0] += int64(len(v[0]))
				for _, x := range v[0] {
					sides[0].rep.add(DuplicateKey, int(x.line), key, "", "", "the key appears on more than one row")
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
	out.Stored = stored
	out.Unchanged = out.Stored - out.Updated - out.Deleted
	out.Rejected = pts[1].RejectedCount()
	out.Protected = int64(pts[1].ProtectedCount())
	out.Hints = hints(t, sets, out.Updated)
	pts[0].Prepared, pts[1].Prepared = sides[0].count-dups[0], sides[1].count-dups[1]
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

func (d *fileDiffer) association(ctx context.Context, i int, exts [2]connector.Extraction, dir string, out *AssociationChanges) error {
	a := &d.model.Associations[i]
	pts := [2]*PreparedTable{d.prepared[0].Associations[i], d.prepared[1].Associations[i]}
	out.Name, out.File = a.Name, a.Name+".changes"
	sides, err := d.scan(ctx, exts, a.Name, pts, func(s *fileSide) error {
		m, err := newLinkMapper(a, s.pt.Source, s.header, d.keyConvert)
		if err == nil {
			s.mapLink = m.mapRow
		}
		return err
	}, func(s *fileSide, row []string, scratch *[]byte) (hashed, *rejection) {
		src, tgt, _, rej := s.mapLink(row)
		if rej != nil {
			return hashed{}, rej
		}
		// A link whose end was rejected on its side is rejected too.
		ps, pg := d.prepared[s.index].table(a.Source.EntityType), d.prepared[s.index].table(a.Target.EntityType)
		if (ps != nil && ps.protected.has(src)) || (pg != nil && pg.protected.has(tgt)) {
			return hashed{}, &rejection{reason: RejectedEnd, key: src + " → " + tgt, message: "its source or target row was rejected"}
		}
		pair := append(append(append((*scratch)[:0], src...), 0), tgt...)
		*scratch = pair
		return hashed{key: maphash.Bytes(d.seed, pair)}, nil
	})
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
	src, tgt := d.prepared[1].table(a.Source.EntityType), d.prepared[1].table(a.Target.EntityType)
	protected := func(pair string) bool {
		s, g, _ := strings.Cut(pair, "\x00")
		return linkKept(pts[1], src, tgt, s, g)
	}
	var changes []string // "source\x00target" + op byte
	stored := unchanged
	var dups [2]int64 // duplicated link rows, kept once
	for _, g := range pending {
		seen := map[string]*[2]int{}
		var order []string
		for s, idx := range [2][]int{g.old, g.new} {
			for _, ri := range idx {
				src, tgt, _, rej := sides[s].mapLink(rows[s][ri])
				pair := src + "\x00" + tgt
				if rej != nil {
					return fmt.Errorf("idsync: %s line %d changed while it was compared", sides[s].pt.Source, sides[s].row(ri).line)
				}
				c, ok := seen[pair]
				if !ok {
					c = &[2]int{}
					seen[pair] = c
					order = append(order, pair)
				}
				if c[s]++; c[s] > 1 {
					dups[s]++
					sides[s].rep.add(DuplicateLink, int(sides[s].row(ri).line), strings.Replace(pair, "\x00", " → ", 1), "", "", "the same link appears on more than one row; kept once")
				}
			}
		}
		for _, pair := range order {
			c := seen[pair]
			if c[0] > 0 {
				stored++
			}
			switch {
			case c[0] > 0 && c[1] > 0:
			case c[1] > 0:
				out.Inserted++
				changes = append(changes, pair+string(rune(Insert)))
			case !protected(pair): // a stored link of a protected key is kept
				out.Deleted++
				changes = append(changes, pair+string(rune(Delete)))
			}
		}
	}
	out.Stored = stored
	out.Rejected = pts[1].RejectedCount()
	pts[0].Prepared, pts[1].Prepared = sides[0].count-dups[0], sides[1].count-dups[1]
	slices.SortFunc(changes, func(a, b string) int { return strings.Compare(a[:len(a)-1], b[:len(b)-1]) })
	w, err := newChangeWriter(filepath.Join(dir, out.File))
	if err != nil {
		return err
	}
	var b []byte
	for _, c := range changes {
		pair, op := c[:len(c)-1], c[len(c)-1]
		s, g, _ := strings.Cut(pair, "\x00")
		b = rec.AppendString(b[:0], s)
		b = rec.AppendString(b, g)
		b = rec.AppendBytes(b, []byte{op})
		if err := w.write(b); err != nil {
			w.close()
			return err
		}
	}
	return w.close()
}
