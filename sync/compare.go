package sync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sync/errgroup"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/entitytype"
)

// CompareOptions configure [DiffExtractions]. A nil *CompareOptions means
// the defaults.
type CompareOptions struct {
	// Dir receives the prepared data and the change set; a temporary
	// folder when empty (the caller removes it).
	Dir string
	// MemoryBudget bounds the memory of the comparison as a whole (the
	// rows the two sides hold); DefaultMemoryBudget when 0.
	MemoryBudget int64
	// Tables, when not empty, names the entity types and associations to
	// compare; all when empty.
	Tables []string

	prepareBoth  bool  // tests: compare through Prepare and Diff
	linkPassRows int64 // tests: link hashes a pass of the hash diff may keep
}

// DiffExtractions diffs two extractions of one connector's model by key:
// the change set turns the old extraction into the new one (complete
// mode). Rows that either side rejects are in that side's error report
// (in Dir/old and Dir/new), and keys rejected on the new side are
// protected. This is the keyed diff of two snapshot files, as `idsync
// diff` runs it.
//
// Both sides are read in parallel. Snapshot tables are compared by hashes
// (24 bytes an entity row and 8 bytes a link in memory; only changed rows
// are read again), as long as that fits in the memory budget, links in as
// many passes as needed; otherwise, and for deltas and inline
// associations, both sides are prepared (sorted externally) and diffed.
// A change is missed only if two different rows collide on a 64-bit hash.
func DiffExtractions(ctx context.Context, model *entitytype.Model, old, new connector.Extraction, opts *CompareOptions) (*ChangeSet, *Prepared, error) {
	var o CompareOptions
	if opts != nil {
		o = *opts
	}
	if o.Dir == "" {
		d, err := os.MkdirTemp("", "idsync-diff-*")
		if err != nil {
			return nil, nil, fmt.Errorf("idsync: %w", err)
		}
		o.Dir = d
	}
	if o.MemoryBudget <= 0 {
		o.MemoryBudget = DefaultMemoryBudget
	}
	if canHashDiff(model, o.Tables) && !o.prepareBoth {
		cs, p, err := hashDiff(ctx, model, old, new, o)
		if !errors.Is(err, errOverBudget) {
			return cs, p, err
		}
		// Too large for memory: start again with external sorting.
		for _, d := range []string{"old", "new", "changes"} {
			if err := os.RemoveAll(filepath.Join(o.Dir, d)); err != nil {
				return nil, nil, fmt.Errorf("idsync: %w", err)
			}
		}
	}
	// Two sides sort at once, and the garbage collector lets the heap grow
	// to about twice what is live: half the budget a side (which Prepare
	// halves again between the tables it sorts at once) keeps the process
	// near the budget.
	side := o.MemoryBudget / 2
	var po, pn *Prepared
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		po, err = Prepare(gctx, model, old, &PrepareOptions{Dir: filepath.Join(o.Dir, "old"), MemoryBudget: side, SkipReferences: true, Tables: o.Tables})
		return err
	})
	g.Go(func() (err error) {
		pn, err = Prepare(gctx, model, new, &PrepareOptions{Dir: filepath.Join(o.Dir, "new"), MemoryBudget: side, SkipReferences: true, Tables: o.Tables})
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, pn, err
	}
	cs, err := Diff(ctx, pn, nil, &DiffOptions{Dir: filepath.Join(o.Dir, "changes"), MemoryBudget: o.MemoryBudget, Current: po})
	return cs, pn, err
}
