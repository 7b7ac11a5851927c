package extsort

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// A source yields records in order. The record is valid until the next call.
type source interface {
	next() (rec []byte, ok bool, err error)
}

// writeRun creates a run file holding the records of src, each preceded by
// its length as a uvarint. On error the file is removed.
func (s *Sorter) writeRun(ctx context.Context, src source) (run, error) {
	f, err := os.CreateTemp(s.dir, tempPattern)
	if err != nil {
		return run{}, fmt.Errorf("extsort: %w", err)
	}
	w := bufio.NewWriterSize(f, s.ioSize)
	n, err := copyRecords(ctx, w, src)
	if err == nil {
		if err = errors.Join(w.Flush(), f.Close()); err != nil {
			err = fmt.Errorf("extsort: %w", err)
		}
	} else {
		f.Close()
	}
	if err != nil {
		os.Remove(f.Name())
		return run{}, err
	}
	return run{path: f.Name(), n: n}, nil
}

// copyRecords writes the records of src to w and returns how many there were.
// Write errors name the file (they are *fs.PathError).
func copyRecords(ctx context.Context, w *bufio.Writer, src source) (n int64, err error) {
	var hdr [binary.MaxVarintLen64]byte
	for ; ; n++ {
		if n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		rec, ok, err := src.next()
		if err != nil || !ok {
			return n, err
		}
		w.Write(binary.AppendUvarint(hdr[:0], uint64(len(rec))))
		if _, err := w.Write(rec); err != nil { // errors stick, so this sees both
			return n, fmt.Errorf("extsort: %w", err)
		}
	}
}

// runReader reads the records of a run file.
type runReader struct {
	path string
	f    *os.File
	r    *bufio.Reader
	left int64 // records still to read
	max  int   // longest record; a longer length means corruption
	buf  []byte
}

// openRuns opens runs for reading. On error it closes those it opened.
func (s *Sorter) openRuns(runs []run) ([]*runReader, error) {
	readers := make([]*runReader, 0, len(runs))
	for _, r := range runs {
		f, err := os.Open(r.path)
		if err != nil {
			for _, rr := range readers {
				rr.f.Close()
			}
			return nil, fmt.Errorf("extsort: %w", err)
		}
		readers = append(readers, &runReader{
			path: r.path,
			f:    f,
			r:    bufio.NewReaderSize(f, s.ioSize),
			left: r.n,
			max:  s.maxLen,
		})
	}
	return readers, nil
}

// sources returns readers as sources.
func sources(readers []*runReader) []source {
	srcs := make([]source, len(readers))
	for i, r := range readers {
		srcs[i] = r
	}
	return srcs
}

func (r *runReader) next() ([]byte, bool, error) {
	if r.left == 0 {
		return nil, false, nil
	}
	n, err := binary.ReadUvarint(r.r)
	if err == nil && n > uint64(r.max) {
		err = fmt.Errorf("corrupt record length %d, longest added is %d", n, r.max)
	}
	if err == nil {
		r.buf = slices.Grow(r.buf[:0], int(n))[:n]
		_, err = io.ReadFull(r.r, r.buf)
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // the run holds r.left more records
		}
		return nil, false, fmt.Errorf("extsort: read run %s: %w", r.path, err)
	}
	r.left--
	return r.buf, true, nil
}

// merger merges sources with a loser tree: the root holds the index of the
// source with the smallest record, each inner node the loser of the match
// played there, so advancing the winner replays a single path to the root.
// Ties go to the earlier source, which keeps the merge stable.
type merger struct {
	cmp     func(a, b []byte) int
	srcs    []source
	cur     [][]byte // current record of each source
	live    []bool   // whether cur holds a record
	tree    []int    // tree[0] is the winner; leaf i is node len(srcs)+i
	started bool
}

// merged returns a source merging srcs.
func merged(compare func(a, b []byte) int, srcs []source) source {
	switch len(srcs) {
	case 0:
		return emptySource{}
	case 1:
		return srcs[0]
	}
	return newMerger(compare, srcs)
}

type emptySource struct{}

func (emptySource) next() ([]byte, bool, error) { return nil, false, nil }

func newMerger(compare func(a, b []byte) int, srcs []source) *merger {
	return &merger{
		cmp:  compare,
		srcs: srcs,
		cur:  make([][]byte, len(srcs)),
		live: make([]bool, len(srcs)),
		tree: make([]int, len(srcs)),
	}
}

// less reports whether source i's record goes before source j's. Exhausted
// sources go last.
func (m *merger) less(i, j int) bool {
	if !m.live[i] || !m.live[j] {
		return m.live[i]
	}
	if c := m.cmp(m.cur[i], m.cur[j]); c != 0 {
		return c < 0
	}
	return i < j
}

func (m *merger) next() ([]byte, bool, error) {
	if !m.started {
		m.started = true
		for i := range m.srcs {
			if err := m.advance(i); err != nil {
				return nil, false, err
			}
		}
		m.tree[0] = m.build(1)
	} else {
		w := m.tree[0]
		if err := m.advance(w); err != nil {
			return nil, false, err
		}
		for n := (len(m.srcs) + w) / 2; n > 0; n /= 2 {
			if m.less(m.tree[n], w) {
				m.tree[n], w = w, m.tree[n]
			}
		}
		m.tree[0] = w
	}
	w := m.tree[0]
	return m.cur[w], m.live[w], nil
}

// advance reads the next record of source i.
func (m *merger) advance(i int) (err error) {
	m.cur[i], m.live[i], err = m.srcs[i].next()
	return err
}

// build plays the matches below node n, records their losers and returns
// the winner.
func (m *merger) build(n int) int {
	if k := len(m.srcs); n >= k {
		return n - k
	}
	l, r := m.build(2*n), m.build(2*n+1)
	if m.less(r, l) {
		l, r = r, l
	}
	m.tree[n] = r
	return l
}

// An Iterator reads the sorted records. It owns the Sorter's temporary
// files and memory until it is closed or exhausted.
type Iterator struct {
	ctx      context.Context // from Sort, which bounds the iteration
	src      source          // nil once finished
	runs     []*runReader
	rec      []byte
	n        int64
	err      error
	closeErr error // from removing the temporary files
}

// Next advances to the next record and reports whether there is one. It
// returns false at the end, after an error, or once the context passed to
// Sort is done (checked every few thousand records); Err tells which. The
// temporary files are removed as soon as Next returns false.
func (it *Iterator) Next() bool {
	if it.src == nil {
		return false
	}
	if it.n%checkEvery == 0 {
		if err := it.ctx.Err(); err != nil {
			it.err = err
			it.Close()
			return false
		}
	}
	rec, ok, err := it.src.next()
	if !ok || err != nil {
		it.err = err
		it.Close()
		return false
	}
	it.n++
	it.rec = rec
	return true
}

// Record returns the current record. It is valid until the next call to
// Next or Close and must not be modified; copy it to keep it.
func (it *Iterator) Record() []byte { return it.rec }

// Err returns the error that stopped the iteration, if any: a context's
// error, or a read error naming the run file.
func (it *Iterator) Err() error { return it.err }

// Close releases the memory and removes the temporary files. It may be
// called more than once, and before the end of the iteration.
func (it *Iterator) Close() error {
	var err error
	for _, r := range it.runs {
		err = errors.Join(err, r.f.Close(), os.Remove(r.path))
	}
	if err != nil {
		it.closeErr = fmt.Errorf("extsort: %w", err)
	}
	it.src, it.runs, it.rec = nil, nil, nil
	return it.closeErr
}
