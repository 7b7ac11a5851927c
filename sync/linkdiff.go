package sync

import (
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
	"github.com/idsync/idsync/internal/rec"
)

// The links of two snapshot extractions are diffed by hashes too, 8 bytes a
// link and side: the hash of its source and target keys, partitioned by its
// top byte into 256 buckets. Both sides are read in parallel, keeping the
// buckets that fit in the memory budget (a pass halves its range of buckets
// as needed); the kept buckets of both sides are sorted and merged; the
// hashes found once on each side are unchanged links, and the others
// (inserted, deleted or duplicated links) are looked at exactly in the next
// pass, which reads both sides again keeping the rows of those hashes, and
// the next range of buckets. Ten million links a side take two passes
// with the default budget: one to hash them all, one to keep the rows of
// the changes. A link has no content, so it is known by
// its hash: two different links are taken for one only if their hashes
// collide, a chance of about n²/2⁶⁵ for n links (3·10⁻⁶ at ten million).

// linkBytes is the memory of a link row kept for an exact look (its keys,
// in the row read, and the bookkeeping), against the memory budget.
const linkBytes = 128

// linkChange is an inserted or deleted link.
type linkChange struct {
	src, tgt string
	op       Op
}

// linkScan reads the link table of one side, once or more.
type linkScan struct {
	d      *fileDiffer
	a      *entitytype.Association
	side   int
	ext    connector.Extraction
	pt     *PreparedTable
	rep    *tableReport
	mapper *linkMapper
	srcOut keyView // keys rejected in the source entity type, on this side
	tgtOut keyView
	rows   int64  // rows accepted by the first read
	sum    uint64 // and the sum of their hashes

	endRejected map[uint64]struct{} // links rejected for an end, in the first read
}

// read reads the table, calling fn with each accepted row's pair hash and
// keys. The first read reports rejected rows and counts; later reads skip
// the rejected rows quietly, and fail if the table changed meanwhile.
func (ls *linkScan) read(ctx context.Context, fn func(h uint64, src, tgt string, line int) error) error {
	first := ls.mapper == nil
	tbl, err := ls.ext.Open(ctx, ls.a.Name)
	if err != nil {
		return &TableError{ls.d.model.Name, ls.a.Name, "", err}
	}
	defer tbl.Close()
	if first {
		ls.pt.Source, ls.pt.Header = tbl.Name(), slices.Clone(tbl.Header())
		if err := snapshotOnly(tbl); err != nil {
			return &TableError{ls.d.model.Name, ls.a.Name, ls.pt.Source, err}
		}
		if ls.mapper, err = newLinkMapper(ls.a, ls.pt.Source, ls.pt.Header, "", ls.d.keyConvert); err != nil {
			return &TableError{ls.d.model.Name, ls.a.Name, ls.pt.Source, err}
		}
		p := ls.d.prepared[ls.side]
		ls.srcOut, ls.tgtOut = p.table(ls.a.Source.EntityType).protectedView(), p.table(ls.a.Target.EntityType).protectedView()
	}
	var pair []byte
	var n, accepted int64
	var sum uint64            // of the hashes accepted: a fingerprint of the links, whatever their order
	rows := newRowReader(tbl) // rows are only valid until the next
	for {
		row, err := rows.read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return &TableError{ls.d.model.Name, ls.a.Name, ls.pt.Source, err}
		}
		if n++; n%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		src, tgt, _, rej := ls.mapper.mapRow(row)
		if rej != nil {
			if first {
				ls.rep.reject(tbl.Line(), rej)
			}
			continue
		}
		pair = rec.AppendPair(pair[:0], src, tgt)
		h := maphash.Bytes(ls.d.seed, pair)
		if ls.srcOut.has(src) || ls.tgtOut.has(tgt) {
			if first {
				if err := ls.rejectEnd(h, src, tgt, tbl.Line()); err != nil {
					return err
				}
			}
			continue
		}
		accepted++
		sum += h
		if err := fn(h, src, tgt, tbl.Line()); err != nil {
			return err
		}
	}
	if first {
		ls.pt.Read, ls.rows, ls.sum, ls.endRejected = n, accepted, sum, nil
	} else if accepted != ls.rows || sum != ls.sum {
		return fmt.Errorf("idsync: %s changed while it was compared", ls.pt.Source)
	}
	return nil
}

// rejectEnd rejects a link whose source or target row was rejected. As
// Prepare does, a link repeated on more rows is reported once so and then
// as a duplicate; the links so rejected are remembered by hash, and the
// budget falls back to Prepare if there are too many.
func (ls *linkScan) rejectEnd(h uint64, src, tgt string, line int) error {
	if _, ok := ls.endRejected[h]; ok {
		ls.rep.add(DuplicateLink, line, src+" → "+tgt, "", "", "the same link appears on more than one row; kept once")
		return nil
	}
	if ls.endRejected == nil {
		ls.endRejected = map[uint64]struct{}{}
	}
	ls.endRejected[h] = struct{}{}
	if len(ls.endRejected)%4096 == 0 && 8*32*int64(len(ls.endRejected)) > ls.d.budget {
		return errOverBudget
	}
	ls.rep.reject(line, &rejection{reason: RejectedEnd, key: src + " → " + tgt, message: "its source or target row was rejected"})
	return nil
}

func (d *fileDiffer) association(ctx context.Context, i int, exts [2]connector.Extraction, dir string, out *AssociationChanges) error {
	a := &d.model.Associations[i]
	var scans [2]*linkScan
	for s := range scans {
		pt := d.prepared[s].Associations[i]
		scans[s] = &linkScan{d: d, a: a, side: s, ext: exts[s], pt: pt, rep: d.sides[s].table(a.Name, pt)}
	}
	out.Name, out.File = a.Name, a.Name+".changes"
	// The hashes of a pass take up to two thirds of the budget, the rest is
	// for the rows kept, the buffers and the garbage collector: the scans
	// allocate nothing a row, and the blocks of hashes are reused.
	allowance := d.budget * 2 / 3 / 8
	if d.linkPassRows > 0 {
		allowance = d.linkPassRows
	}
	lk := &linkKeeper{d: d, a: a, scans: scans}
	for lo := 0; lo < 256 || len(lk.pending) > 0; {
		p := &linkPass{lo: lo, allowance: allowance}
		p.hi.Store(256) // when lo is 256, the pass only keeps pending rows
		if err := lk.pass(ctx, p); err != nil {
			return err
		}
		lk.resolve()
		lk.pending, lk.filter, lk.pendLo, lk.pendHi = nil, bloom{}, 0, 0
		if lo < 256 {
			hi, err := lk.merge(ctx, p, int(p.hi.Load()))
			if err != nil {
				return err
			}
			lo = hi
			if lo == 256 {
				lk.release()
			}
		}
	}
	out.Inserted, out.Deleted = lk.inserted, lk.deleted
	out.Stored, out.Read, out.Rejected = lk.stored, scans[1].pt.Read, scans[1].pt.RejectedCount()
	for s, ls := range scans {
		ls.pt.Prepared = ls.rows - lk.dups[s]
	}
	return writeLinkChanges(filepath.Join(dir, out.File), lk.changes)
}

// linkKeeper holds what the passes over an association found.
type linkKeeper struct {
	d     *fileDiffer
	a     *entitytype.Association
	scans [2]*linkScan
	// pending are the hashes of the last merged range to look at exactly,
	// with a filter that rules out most others in the CPU caches.
	pending                   map[uint64]struct{}
	filter                    bloom
	pendLo, pendHi            int           // their range of buckets
	kept                      [2][]keptLink // the rows of pending hashes, in file order
	hashes                    [2]hashBuckets[uint64]
	changes                   []linkChange
	stored, inserted, deleted int64
	dups                      [2]int64
}

// keptLink is a link row kept for an exact look.
type keptLink struct {
	src, tgt string
	line     int
}

// linkPass is one read of both sides, keeping the hashes of buckets
// [lo, hi); hi halves when they outgrow the allowance.
type linkPass struct {
	lo        int
	hi        atomic.Int64
	allowance int64        // hashes both sides may keep
	held      atomic.Int64 // hashes both sides keep
}

// pass reads both sides once, in parallel: it keeps the rows of the
// pending hashes of the last merged range, and the hashes of the buckets
// of p's range.
func (lk *linkKeeper) pass(ctx context.Context, p *linkPass) error {
	g, gctx := errgroup.WithContext(ctx)
	for s, ls := range lk.scans {
		g.Go(func() error {
			hb := &lk.hashes[s]
			hb.n = 0
			hi := int(p.hi.Load())
			var added int64
			step := min(1024, max(1, p.allowance/64)) // hashes counted at once
			err := ls.read(gctx, func(h uint64, src, tgt string, line int) error {
				b := int(h >> 56)
				if b >= lk.pendLo && b < lk.pendHi && lk.filter.has(h) {
					if _, ok := lk.pending[h]; ok {
						lk.kept[s] = append(lk.kept[s], keptLink{strings.Clone(src), strings.Clone(tgt), line})
					}
				}
				if b < p.lo || b >= hi {
					return nil
				}
				hb.add(h, h)
				if added++; added%step == 0 && p.held.Add(step) > p.allowance {
					p.shrink()
				}
				if now := int(p.hi.Load()); now < hi {
					// Release what the other side's shrinking left out.
					hi = now
					p.held.Add(-hb.drop(hi))
				}
				return nil
			})
			if err != nil {
				return err
			}
			p.held.Add(-hb.drop(int(p.hi.Load())))
			return nil
		})
	}
	return g.Wait()
}

// release drops the blocks of hashes once the last range is merged. When
// they were large, it also runs a collection: the garbage collector's goal,
// set while they were live, would otherwise let the garbage of the last
// pass and of the change set fill that much memory again.
func (lk *linkKeeper) release() {
	held := int64(0)
	for _, hb := range lk.hashes {
		held += int64(len(hb.free)) * maxBlock * 8
	}
	lk.hashes = [2]hashBuckets[uint64]{}
	if held > 32<<20 {
		runtime.GC()
	}
}

// shrink halves the range of buckets kept, down to one bucket (merge then
// checks that it fits); each side drops the buckets left out as soon as it
// sees the change.
func (p *linkPass) shrink() {
	if hi := p.hi.Load(); hi-int64(p.lo) > 1 {
		p.hi.CompareAndSwap(hi, int64(p.lo)+(hi-int64(p.lo))/2)
	}
}

// merge sorts and merges the buckets [p.lo, hi) of both sides: hashes found
// once on each side are unchanged links; the others are pending.
func (lk *linkKeeper) merge(ctx context.Context, p *linkPass, hi int) (int, error) {
	// A side that finished before the other shrank the range still holds
	// the buckets from hi on; and the range may have to shrink again until
	// what both kept fits.
	lk.hashes[0].drop(hi)
	lk.hashes[1].drop(hi)
	for lk.hashes[0].n+lk.hashes[1].n > p.allowance && hi-p.lo > 1 {
		hi = p.lo + (hi-p.lo)/2
		lk.hashes[0].drop(hi)
		lk.hashes[1].drop(hi)
	}
	if lk.hashes[0].n+lk.hashes[1].n > 2*p.allowance && lk.d.linkPassRows == 0 {
		return 0, errOverBudget // one bucket is more than the budget
	}
	lk.pending, lk.pendLo, lk.pendHi = map[uint64]struct{}{}, p.lo, hi
	var buf, tmp [2][]uint64
	for b := p.lo; b < hi; b++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		var sorted [2][]uint64
		for s := range 2 {
			buf[s] = lk.hashes[s].take(b, buf[s])
			tmp[s] = slices.Grow(tmp[s][:0], len(buf[s]))
			sorted[s] = sortHashes(buf[s], tmp[s])
		}
		mergeRuns(sorted[0], sorted[1], func(h *uint64) uint64 { return *h }, func(h uint64, o, n []uint64) {
			if len(o) == 1 && len(n) == 1 {
				lk.stored++
				return
			}
			lk.pending[h] = struct{}{}
		})
	}
	if 2*linkBytes*int64(len(lk.pending)+len(lk.changes)) > lk.d.budget {
		return 0, errOverBudget
	}
	if len(lk.pending) > 0 {
		lk.filter = newBloom()
		for h := range lk.pending {
			lk.filter.add(h)
		}
	}
	return hi, nil
}

// resolve looks exactly at the rows kept by the last pass: duplicates,
// inserts and deletes.
func (lk *linkKeeper) resolve() {
	if len(lk.kept[0])+len(lk.kept[1]) == 0 {
		return
	}
	type pair struct{ src, tgt string }
	seen := map[pair]*[2]int{}
	var order []pair
	for s, rows := range lk.kept {
		for _, r := range rows {
			k := pair{r.src, r.tgt}
			c, ok := seen[k]
			if !ok {
				c = &[2]int{}
				seen[k] = c
				order = append(order, k)
			}
			if c[s]++; c[s] > 1 {
				lk.dups[s]++
				lk.scans[s].rep.add(DuplicateLink, r.line, r.src+" → "+r.tgt, "", "", "the same link appears on more than one row; kept once")
			}
		}
	}
	srcT, tgtT := lk.d.prepared[1].table(lk.a.Source.EntityType), lk.d.prepared[1].table(lk.a.Target.EntityType)
	for _, k := range order {
		c := seen[k]
		if c[0] > 0 {
			lk.stored++
		}
		switch {
		case c[0] > 0 && c[1] > 0:
		case c[1] > 0:
			lk.inserted++
			lk.changes = append(lk.changes, linkChange{k.src, k.tgt, Insert})
		case !linkKept(lk.scans[1].pt, srcT, tgtT, k.src, k.tgt): // a stored link of a protected key is kept
			lk.deleted++
			lk.changes = append(lk.changes, linkChange{k.src, k.tgt, Delete})
		}
	}
	lk.kept = [2][]keptLink{}
}

// writeLinkChanges writes link changes in key order.
func writeLinkChanges(path string, changes []linkChange) error {
	slices.SortFunc(changes, func(x, y linkChange) int {
		if c := strings.Compare(x.src, y.src); c != 0 {
			return c
		}
		return strings.Compare(x.tgt, y.tgt)
	})
	w, err := newChangeWriter(path)
	if err != nil {
		return err
	}
	var b []byte
	for _, c := range changes {
		b = rec.AppendString(b[:0], c.src)
		b = rec.AppendString(b, c.tgt)
		b = rec.AppendBytes(b, []byte{byte(c.op)})
		if err := w.write(b); err != nil {
			w.close()
			return err
		}
	}
	return w.close()
}
