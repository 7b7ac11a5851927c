package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"os"

	idsync "github.com/idsync/idsync/sync"
)

var resumeCommand = &command{
	name:    "resume",
	args:    "RUN_ID [--store URL] [--work DIR] [--artifacts URL] [--wait] [--as NAME] [--comment TEXT] [--json]",
	summary: "apply a blocked run's change set, exactly as it was reviewed",
	detail: `
The change set applies to the store the run was planned against, which
the run records: without --store, resume uses it (a PostgreSQL URL with a
password asks for --store). It is applied only if that store has not
changed since the run was planned; otherwise, or with --store naming
another store, nothing is written and the exit code is 4 (stale plan):
cancel the run and plan again. Exit code 5: another run of the connector
is in progress (--wait waits for it).`,
	nargs: [2]int{1, 1},
	setFlags: func(fs *flag.FlagSet, o *opts) {
		flagRunStore(fs, o, "apply to")
		flagWork(fs, o)
		flagArtifacts(fs, o)
		flagWait(fs, o)
		flagReview(fs, o)
		flagJSON(fs, o, "the outcome")
	},
	run: func(c *cli, o *opts, args []string) error { return c.resume(o, args[0]) },
}

// flagRunStore is --store of the commands on a recorded run: its default
// is the run's own store.
func flagRunStore(fs *flag.FlagSet, o *opts, what string) {
	fs.StringVar(&o.store, "store", "", "store `URL` to "+what+" (default: the store the run was planned against, else $IDSYNC_STORE or sqlite:./idsync.db)")
}

// runStoreURL returns the store of a command on run r: --store if given,
// else the run's own store, else the default store (a run recorded by an
// idsync that did not record its store).
func runStoreURL(cmd string, o *opts, r *idsync.Run) (string, error) {
	switch {
	case o.store != "":
		return o.store, nil
	case r.StoreName == "":
		return defaultStore(), nil
	case hasPassword(r.StoreName):
		return "", usagef(cmd, "run %s was planned against %s, whose password is not recorded: give it with --store", r.ID, r.StoreName)
	}
	return r.StoreName, nil
}

func (c *cli) resume(o *opts, id string) error {
	// Find the run, and check that it can be resumed, before opening
	// (maybe creating) the store.
	f, err := c.findRun(o, id)
	if err != nil {
		return err
	}
	defer f.close()
	planned := f.run
	if err := checkResumable(o, planned); err != nil {
		return err
	}
	store, err := c.runStore("resume", o, f)
	if err != nil {
		return err
	}
	defer store.close()
	if store.sql != nil && !store.workState {
		if err := os.MkdirAll(o.work, 0o755); err == nil {
			rememberStore(o.work, store.name) // the hints printed next work from here
		}
	}
	prog := c.newProgress(o)
	engine := c.engineFor(store, o, prog, f.arts)
	r, err := engine.Resume(c.ctx, id, o.review())
	prog.stop()
	if r == nil {
		return err
	}
	if errors.Is(err, idsync.ErrRunState) {
		// It changed before the lock was taken: one line says how.
		if e := checkResumable(o, r); e != nil {
			return e
		}
		return err
	}
	p := paths{o.work, store.name}
	var mismatch *idsync.StoreMismatchError
	switch {
	case errors.As(err, &mismatch) && mismatch.Planned == "mem:":
		err = fmt.Errorf("%w\nthe mem: store it was planned against forgot everything when that idsync exited: nothing was written.\ndiscard the run with: %s", err, p.cancel(id))
	case errors.As(err, &mismatch):
		err = fmt.Errorf("%w\nnothing was written into %s.\napply it where it was planned: %s", err, store.name, paths{o.work, mismatch.Planned}.resume(id))
	case errors.Is(err, idsync.ErrStalePlan):
		err = fmt.Errorf("%w\nrun %s was planned against another state of the store: nothing was written.\ndiscard it with: %s\nthen plan again with 'idsync run'", err, id, p.cancel(id))
	}
	v := &view{name: r.Connector, run: r, err: err, summary: loadSummary(r)}
	return exitStatus(c.report("resume", o, []*view{v}, r.Mode, string(r.State), p))
}

var cancelCommand = &command{
	name:    "cancel",
	args:    "RUN_ID [--store URL] [--work DIR] [--artifacts URL] [--wait] [--as NAME] [--comment TEXT] [--json]",
	summary: "discard a blocked (or planned) run and its change set",
	detail: `
Cancel takes the connector's lock in the run's store (or --store), so that
it never discards a change set that a resume is applying. Exit code 5:
another run of the connector is in progress (--wait waits for it).`,
	nargs: [2]int{1, 1},
	setFlags: func(fs *flag.FlagSet, o *opts) {
		flagRunStore(fs, o, "take the connector's lock in")
		flagWork(fs, o)
		flagArtifacts(fs, o)
		flagWait(fs, o)
		flagReview(fs, o)
		flagJSON(fs, o, "the outcome")
	},
	run: func(c *cli, o *opts, args []string) error { return c.cancel(o, args[0]) },
}

func (c *cli) cancel(o *opts, id string) error {
	f, err := c.findRun(o, id)
	if err != nil {
		return err
	}
	defer f.close()
	planned := f.run
	if err := checkCancellable(o, planned); err != nil {
		return err
	}
	// The run's store, which keeps its record, or for a run recorded in
	// the work folder the store of its lock; none when it is gone (mem:,
	// a deleted file) or needs a password: cancel writes nothing there.
	store := f.store
	if store == nil {
		u := o.store
		if u == "" && planned.StoreName != "" && !isMem(planned.StoreName) && !hasPassword(planned.StoreName) && storeExists(planned.StoreName) {
			u = planned.StoreName
		}
		if u != "" {
			if err := checkStoreURL(u); err != nil {
				return err
			}
			if store, err = openStore(c.ctx, u); err != nil {
				return err
			}
			defer store.close()
			store.workState = true // the record is in the work folder: the state stays there
		}
	}
	r, err := c.engineFor(store, o, nil, f.arts).Cancel(c.ctx, id, o.review())
	if errors.Is(err, idsync.ErrRunState) && r != nil {
		// It changed before the lock was taken: one line says how.
		if e := checkCancellable(o, r); e != nil {
			return e
		}
	}
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(c.stdout, result([]*view{{name: r.Connector, run: r, summary: loadSummary(r)}}, r.Mode, string(r.State)))
	}
	fmt.Fprintf(c.stdout, "%s  run %s  %s: its change set is discarded, nothing was written\n", r.Connector, r.ID, styler(c.colour(o)).state(string(r.State)))
	return nil
}

// runStore opens the store a found run applies to: the store that keeps
// its record or, for a run recorded in the work folder (mem:, an older
// idsync), --store or the store the run records. The caller closes it.
func (c *cli) runStore(cmd string, o *opts, f *foundRun) (*openedStore, error) {
	if f.store != nil {
		s := *f.store
		s.close = func() error { return nil } // f's: it closes with f
		return &s, nil
	}
	u, err := runStoreURL(cmd, o, f.run)
	if err != nil {
		return nil, err
	}
	if err := checkStoreURL(u); err != nil {
		return nil, err
	}
	if !storeExists(u) {
		// Never made by a resume: it cannot be the run's store.
		return nil, &runElsewhereError{id: f.run.ID, store: redact(canonicalStoreURL(u)), where: cmp.Or(f.run.StoreName, "another store")}
	}
	s, err := openStore(c.ctx, u)
	if err != nil {
		return nil, err
	}
	s.workState = true // the record is in the work folder: the state stays there
	return s, nil
}
