package main

import (
	"errors"
	"flag"
	"fmt"

	idsync "github.com/idsync/idsync/sync"
)

var resumeCommand = &command{
	name:    "resume",
	args:    "RUN_ID [--store URL] [--work DIR] [--json]",
	summary: "apply a blocked run's change set, exactly as it was reviewed",
	detail: `
The change set is applied only if the store has not changed since the run
was planned; otherwise nothing is written and the exit code is 4 (stale
plan): cancel the run and plan again.`,
	nargs: [2]int{1, 1},
	setFlags: func(fs *flag.FlagSet, o *opts) {
		flagStore(fs, o)
		flagWork(fs, o)
		flagJSON(fs, o, "the outcome")
	},
	run: func(c *cli, o *opts, args []string) error { return c.resume(o, args[0]) },
}

func (c *cli) resume(o *opts, id string) error {
	if err := checkStoreURL(o.store); err != nil {
		return err
	}
	// Find the run before opening (maybe creating) the store.
	if _, err := idsync.New(nil, &idsync.Options{WorkDir: o.work}).LoadRun(id); err != nil {
		return err
	}
	store, err := openStore(c.ctx, o.store)
	if err != nil {
		return err
	}
	defer store.close()
	prog := c.newProgress(o)
	engine := idsync.New(store, &idsync.Options{WorkDir: o.work, Logger: c.log, Progress: prog.callback()})
	r, err := engine.Resume(c.ctx, id)
	prog.stop()
	if r == nil {
		return err
	}
	p := paths{o.work, o.store}
	if errors.Is(err, idsync.ErrStalePlan) {
		err = fmt.Errorf("%w\nrun %s was planned against another state of the store: nothing was written.\ndiscard it with: %s\nthen plan again with 'idsync run'", err, id, p.cancel(id))
	}
	v := &view{name: r.Connector, run: r, err: err, summary: loadSummary(r)}
	return exitStatus(c.report("resume", o, []*view{v}, r.Mode, string(r.State), p))
}

var cancelCommand = &command{
	name:    "cancel",
	args:    "RUN_ID [--work DIR] [--json]",
	summary: "discard a blocked (or planned) run and its change set",
	nargs:   [2]int{1, 1},
	setFlags: func(fs *flag.FlagSet, o *opts) {
		flagWork(fs, o)
		flagJSON(fs, o, "the outcome")
	},
	run: func(c *cli, o *opts, args []string) error {
		engine := idsync.New(nil, &idsync.Options{WorkDir: o.work, Logger: c.log})
		r, err := engine.Cancel(c.ctx, args[0])
		if err != nil {
			return err
		}
		if o.json {
			return writeJSON(c.stdout, result([]*view{{name: r.Connector, run: r, summary: loadSummary(r)}}, r.Mode, string(r.State)))
		}
		fmt.Fprintf(c.stdout, "%s  run %s  %s: its change set is discarded, nothing was written\n", r.Connector, r.ID, styler(c.colour(o)).state(string(r.State)))
		return nil
	},
}
