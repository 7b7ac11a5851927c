package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	idsync "github.com/idsync/idsync/sync"
	"github.com/idsync/idsync/sync/blobartifacts"
)

// Where the CLI finds runs. A SQL store keeps the engine's state (run
// records, connector states), so a run's record is in the store it was
// planned against, and any work folder given that --store (and that
// --artifacts) reviews and resumes it. A work folder also remembers the
// stores its runs used (the file "stores"), so that the review commands
// find a run without --store. Runs of mem: stores, and of an idsync that
// kept its state in the work folder, are in the work folder.

const storesFile = "stores"

// flagArtifacts is --artifacts of the commands that write or read runs.
func flagArtifacts(fs *flag.FlagSet, o *opts) {
	fs.StringVar(&o.artifacts, "artifacts", os.Getenv("IDSYNC_ARTIFACTS"), "keep change sets, error reports and snapshots in the artifact store `URL` (a folder, file:///path?create_dir=1, mem://, or s3://, gs://, azblob://... in a build that imports their drivers), shared by idsyncs with other work folders; $IDSYNC_ARTIFACTS (default: the work folder only)")
}

// openArtifacts opens --artifacts, or returns nil when it is not given.
func (c *cli) openArtifacts(o *opts) (idsync.Artifacts, func(), error) {
	if o.artifacts == "" {
		return nil, func() {}, nil
	}
	if !strings.Contains(o.artifacts, "://") {
		abs, err := filepath.Abs(o.artifacts)
		if err != nil {
			return nil, nil, err
		}
		return idsync.NewFolderArtifacts(abs), func() {}, nil
	}
	b, err := blobartifacts.Open(c.ctx, o.artifacts)
	if err != nil {
		return nil, nil, usagef("", "--artifacts %s: %v", redact(o.artifacts), err)
	}
	return b, func() { b.Close() }, nil
}

// rememberStore notes in the work folder that its runs use store u.
func rememberStore(work, u string) {
	known := rememberedStores(work)
	known = slices.DeleteFunc(known, func(s string) bool { return s == u })
	known = append(known, u) // the newest last
	b, _ := json.Marshal(known)
	os.WriteFile(filepath.Join(work, storesFile), b, 0o644)
}

// rememberedStores returns the stores noted in the work folder, oldest
// first.
func rememberedStores(work string) []string {
	b, err := os.ReadFile(filepath.Join(work, storesFile))
	if err != nil {
		return nil
	}
	var known []string
	json.Unmarshal(b, &known)
	return known
}

// candidateStores returns the stores in which the review commands look
// for runs: --store if given; else $IDSYNC_STORE, the work folder's
// stores (newest first) and the default store; only those that exist and
// can be opened without a password that is not recorded.
func candidateStores(o *opts) []string {
	if o.store != "" {
		return []string{o.store}
	}
	var out []string
	add := func(u string) {
		if u != "" && !isMem(strings.ToLower(u)) && !hasPassword(u) && storeExists(u) && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	if env := os.Getenv("IDSYNC_STORE"); env != "" && !isMem(strings.ToLower(env)) && storeExists(env) {
		out = append(out, env) // its password, if any, is the real one
	}
	known := rememberedStores(o.work)
	for i := len(known) - 1; i >= 0; i-- {
		add(known[i])
	}
	add(canonicalStoreURL(defaultStore()))
	return out
}

// foundRun is a run and where its record is: in store (nil for the work
// folder), with the engine that reads it.
type foundRun struct {
	run    *idsync.Run
	store  *openedStore
	engine *idsync.Engine
	arts   idsync.Artifacts
	close  func()
}

// findRun finds a run's record, in the stores that may hold it, then in
// the work folder; it creates nothing. With --store naming a store that
// does not hold the run, a run found elsewhere is a *runElsewhereError.
func (c *cli) findRun(o *opts, id string) (*foundRun, error) {
	arts, closeArts, err := c.openArtifacts(o)
	if err != nil {
		return nil, err
	}
	var looked []string
	for _, u := range candidateStores(o) {
		if !storeExists(u) {
			looked = append(looked, redact(u)+" (no such store)")
			continue
		}
		store, err := openStore(c.ctx, u)
		if err != nil {
			closeArts()
			return nil, err
		}
		engine := c.engineFor(store, o, nil, arts)
		r, err := engine.LoadRun(c.ctx, id)
		if err == nil {
			return &foundRun{r, store, engine, arts, func() { store.close(); closeArts() }}, nil
		}
		store.close()
		if !errors.Is(err, idsync.ErrNotFound) {
			closeArts()
			return nil, err
		}
		looked = append(looked, "the store "+store.name)
	}
	if err := checkWork(o.work); err != nil && len(looked) == 0 {
		closeArts()
		return nil, err
	}
	engine := c.engineFor(nil, o, nil, arts)
	r, err := engine.LoadRun(c.ctx, id)
	if err == nil {
		return &foundRun{r, nil, engine, arts, closeArts}, nil
	}
	closeArts()
	if !errors.Is(err, idsync.ErrNotFound) {
		return nil, err
	}
	looked = append(looked, "the work folder "+absPath(o.work))
	if o.store != "" {
		// The run may be in another store: say so.
		other := *o
		other.store = ""
		if f, ferr := c.findRun(&other, id); ferr == nil {
			f.close()
			return nil, &runElsewhereError{id: id, store: redact(canonicalStoreURL(o.store)), where: f.where()}
		}
	}
	return nil, &runNotFoundError{id: id, work: o.work, looked: looked}
}

// where names where a found run's record is.
func (f *foundRun) where() string {
	if f.store == nil {
		return "the work folder"
	}
	return f.store.name
}

// runElsewhereError is a run asked of a store that does not hold it, but
// found in another.
type runElsewhereError struct {
	id, store, where string
}

func (e *runElsewhereError) Error() string {
	return fmt.Sprintf("stale plan: run %s was planned against %s, not %s: it applies only there, and nothing was written", e.id, e.where, e.store)
}

func (e *runElsewhereError) Unwrap() error { return idsync.ErrStalePlan }

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// localReport points the found run's ErrorReport at its local copy,
// fetched from the artifacts if this work folder lacks it; without one,
// ErrorReport names the file where the run was planned.
func (c *cli) localReport(f *foundRun) {
	if f.run.ErrorReport == "" {
		return
	}
	dir, err := f.engine.ErrorReport(c.ctx, f.run)
	if err != nil {
		return
	}
	if p := filepath.Join(dir, idsync.ReportCSV); fileExists(p) {
		f.run.ErrorReport = p
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// stateEngines returns an engine on each place that may keep runs of
// this work folder: the stores that exist among candidateStores, and the
// work folder itself if it exists; close closes their stores.
func (c *cli) stateEngines(o *opts, arts idsync.Artifacts) (engines []*idsync.Engine, close func(), err error) {
	var stores []*openedStore
	close = func() {
		for _, s := range stores {
			s.close()
		}
	}
	for _, u := range candidateStores(o) {
		if !storeExists(u) {
			continue
		}
		store, err := openStore(c.ctx, u)
		if err != nil {
			close()
			return nil, nil, err
		}
		stores = append(stores, store)
		engines = append(engines, c.engineFor(store, o, nil, arts))
	}
	if fi, err := os.Stat(o.work); err == nil && fi.IsDir() {
		engines = append(engines, c.engineFor(nil, o, nil, arts))
	} else if len(engines) == 0 {
		return nil, close, checkWork(o.work)
	}
	return engines, close, nil
}

// listRuns returns the runs that q selects, newest first, from the stores
// that may hold runs of this work folder and from the work folder itself.
func (c *cli) listRuns(o *opts, q *idsync.RunQuery) ([]*idsync.Run, error) {
	engines, closeAll, err := c.stateEngines(o, nil)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	if len(engines) == 1 {
		return engines[0].Runs(c.ctx, q)
	}
	// Several sources: filter each, then page the whole.
	filter := *q
	filter.Before, filter.Limit = "", 0
	var all []*idsync.Run
	seen := map[string]bool{}
	for _, e := range engines {
		runs, err := e.Runs(c.ctx, &filter)
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			if !seen[r.ID] {
				seen[r.ID] = true
				all = append(all, r)
			}
		}
	}
	return q.Select(all), nil
}

// flagLookupStore is --store of the commands that look runs up.
func flagLookupStore(fs *flag.FlagSet, o *opts) {
	fs.StringVar(&o.store, "store", "", "store `URL` that keeps the runs (default: the stores of this work folder's runs, $IDSYNC_STORE and sqlite:./idsync.db, those that exist)")
}
