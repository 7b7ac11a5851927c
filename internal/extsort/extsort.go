// Package extsort sorts more records than fit in memory.
//
// A Sorter copies opaque byte records into large arena chunks until a memory
// budget is reached; it then sorts what it holds and spills it to a temporary
// run file. Sort merges the runs, and whatever is still in memory, into one
// ordered stream, so memory stays bounded by the budget however large the
// input. When nothing was spilled, everything happens in memory. Either way
// records are sorted in cache-sized blocks that are then merged, which is
// faster than sorting a large index at once.
//
// The sort is stable: records that compare equal come out in the order they
// were added, across spills too. Callers encode their key at the start of
// each record and pass a comparison function that reads it.
package extsort

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// DefaultMemoryBudget is the budget used when Options.MemoryBudget is not
// set: 256 MiB, room for two million records of 100 bytes while leaving most
// of a laptop's memory free.
const DefaultMemoryBudget = 256 << 20

// ErrFinished is returned by Add and Sort once a Sorter has been sorted or
// closed.
var ErrFinished = errors.New("extsort: sorter already sorted or closed")

const (
	// checkEvery is how many records pass between checks of the context.
	checkEvery = 4096
	// tempPattern names run files in the temporary directory.
	tempPattern = "idsync-extsort-*.run"
	// maxFanIn bounds how many runs one merge reads at once.
	maxFanIn = 64
)

// Options configure a Sorter. A nil *Options means the defaults.
type Options struct {
	// MemoryBudget bounds the bytes held in memory: the records plus the
	// index that orders them. When adding a record would exceed it, the
	// records held so far are sorted and spilled to a temporary file. A
	// single record larger than the budget is still accepted. Merging runs
	// uses buffers of up to a quarter of the budget on top of it, so the
	// Sorter's peak is about 1.25 times the budget; the process's also
	// depends on the garbage the caller makes (see GOGC and GOMEMLIMIT).
	// Zero or negative means DefaultMemoryBudget.
	MemoryBudget int64

	// TempDir is the directory for spill files; "" means os.TempDir().
	TempDir string

	// Prefix, when set, returns an order-preserving 64-bit prefix of a
	// record's sort key: compare(a, b) < 0 must imply Prefix(a) <=
	// Prefix(b). In-memory sorting compares prefixes first and calls
	// compare only on ties, which saves most lookups of the records.
	Prefix func(rec []byte) uint64
}

// A Sorter accumulates records and sorts them, spilling to temporary files
// when they outgrow the memory budget. Add records, then call Sort once and
// read the result through the returned Iterator. A Sorter that is abandoned
// before Sort must be closed to remove its temporary files.
//
// A Sorter is not safe for concurrent use.
type Sorter struct {
	cmp    func(a, b []byte) int
	budget int64
	dir    string
	ioSize int // size of the buffers reading and writing runs
	fanIn  int // most runs merged at once

	arena  *arena
	runs   []run
	n      int64 // records added
	maxLen int   // longest record added; longer lengths in a run are corrupt
	err    error // sticky: set by the first failure, or ErrFinished

	spills int // runs written from memory, for tests
	merges int // intermediate merges, for tests
}

// run is a sorted run file holding n records.
type run struct {
	path string
	n    int64
}

// New returns a Sorter ordering records by compare, which returns a negative
// number, zero or a positive number as a sorts before, equal to or after b
// (as bytes.Compare does). compare must not be nil and must not retain its
// arguments. A nil opts means the defaults.
func New(compare func(a, b []byte) int, opts *Options) *Sorter {
	if compare == nil {
		panic("extsort: nil compare function")
	}
	if opts == nil {
		opts = &Options{}
	}
	budget := opts.MemoryBudget
	if budget <= 0 {
		budget = DefaultMemoryBudget
	}
	dir := opts.TempDir
	if dir == "" {
		dir = os.TempDir()
	}
	// Merge buffers: up to maxFanIn of them within a quarter of the budget,
	// 4 KiB to 1 MiB each. Tiny budgets get a small fan-in instead.
	ioSize := int(min(max(budget/(4*maxFanIn), 4<<10), 1<<20))
	fanIn := int(min(max(budget/4/int64(ioSize), 2), maxFanIn))
	return &Sorter{
		cmp:    compare,
		budget: budget,
		dir:    dir,
		ioSize: ioSize,
		fanIn:  fanIn,
		arena:  &arena{chunkSize: int(min(max(budget/16, 64), 1<<20)), prefix: opts.Prefix},
	}
}

// Len returns the number of records added.
func (s *Sorter) Len() int64 { return s.n }

// Add copies rec into the Sorter. When the records held in memory would
// exceed the budget, it first sorts them and writes them to a run file.
// The context is checked every few thousand records and while spilling.
//
// After an error, including the context's, the Sorter is unusable and its
// temporary files are removed.
func (s *Sorter) Add(ctx context.Context, rec []byte) error {
	if s.err != nil {
		return s.err
	}
	if s.n%checkEvery == 0 {
		if err := ctx.Err(); err != nil {
			return s.fail(err)
		}
	}
	if int64(len(rec)) > maxRecord {
		return s.fail(fmt.Errorf("extsort: record of %d bytes is too large", len(rec)))
	}
	if s.arena.len() > 0 && s.arena.mem+s.arena.cost(len(rec)) > s.budget {
		if err := s.spill(ctx); err != nil {
			return s.fail(err)
		}
	}
	s.arena.add(rec)
	s.n++
	s.maxLen = max(s.maxLen, len(rec))
	return nil
}

// spill sorts the records in memory and writes them to a new run.
func (s *Sorter) spill(ctx context.Context) error {
	s.arena.sort(s.cmp)
	r, err := s.writeRun(ctx, merged(s.cmp, s.arena.sources()))
	if err != nil {
		return err
	}
	s.runs = append(s.runs, r)
	s.spills++
	s.arena.reset()
	return nil
}

// Sort finishes adding and returns an iterator over all records in order.
// Without spilled runs it sorts in memory; otherwise it merges the runs with
// the records still in memory, first merging groups of runs into longer ones
// when there are too many to read at once. ctx also bounds the iteration.
//
// Sort may be called once. The Iterator takes over the temporary files and
// must be closed; on error, Sort removes them itself.
func (s *Sorter) Sort(ctx context.Context) (*Iterator, error) {
	if s.err != nil {
		return nil, s.err
	}
	if err := ctx.Err(); err != nil {
		return nil, s.fail(err)
	}
	tail := s.arena
	tail.sort(s.cmp)
	limit := s.fanIn // runs left for the final merge, which also reads tail
	if tail.len() > 0 {
		limit--
	}
	if err := s.compact(ctx, limit); err != nil {
		return nil, s.fail(err)
	}

	readers, err := s.openRuns(s.runs)
	if err != nil {
		return nil, s.fail(err)
	}
	srcs := append(sources(readers), tail.sources()...)
	it := &Iterator{ctx: ctx, src: merged(s.cmp, srcs), runs: readers}
	// The iterator owns the files and the memory now.
	s.runs, s.arena, s.err = nil, nil, ErrFinished
	return it, nil
}

// compact merges groups of consecutive runs until at most limit are left,
// rewriting as little data as it can. Merging neighbours keeps the order of
// runs, so ties still resolve by the order records were added.
func (s *Sorter) compact(ctx context.Context, limit int) error {
	for len(s.runs) > limit {
		var next []run
		for i := 0; i < len(s.runs); {
			left := len(next) + len(s.runs) - i
			g := min(s.fanIn, left-limit+1, len(s.runs)-i)
			if left <= limit || g < 2 {
				next = append(next, s.runs[i:]...)
				break
			}
			r, err := s.mergeRuns(ctx, s.runs[i:i+g])
			if err != nil {
				s.runs = append(next, s.runs[i:]...) // all still on disk
				return err
			}
			next = append(next, r)
			i += g
		}
		s.runs = next
	}
	return nil
}

// mergeRuns merges runs into a new run and removes them.
func (s *Sorter) mergeRuns(ctx context.Context, runs []run) (run, error) {
	readers, err := s.openRuns(runs)
	if err != nil {
		return run{}, err
	}
	out, err := s.writeRun(ctx, newMerger(s.cmp, sources(readers)))
	for _, r := range readers {
		r.f.Close() // read only: nothing to lose
	}
	if err != nil {
		return run{}, err
	}
	for _, r := range runs {
		os.Remove(r.path) // the new run replaces it; fail or Close retry otherwise
	}
	s.merges++
	return out, nil
}

// fail makes err sticky, removes the temporary files, frees the memory and
// returns err.
func (s *Sorter) fail(err error) error {
	s.err = err
	for _, r := range s.runs {
		os.Remove(r.path)
	}
	s.runs, s.arena = nil, nil
	return err
}

// Close abandons a Sorter that has not been sorted, removing its temporary
// files and releasing its memory. After Sort it does nothing: the Iterator
// owns the files. Close may be called more than once.
func (s *Sorter) Close() error {
	var err error
	for _, r := range s.runs {
		err = errors.Join(err, os.Remove(r.path))
	}
	if s.err == nil {
		s.err = ErrFinished
	}
	s.runs, s.arena = nil, nil
	if err != nil {
		return fmt.Errorf("extsort: %w", err)
	}
	return nil
}
