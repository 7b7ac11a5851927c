package main

import (
	"flag"
	"fmt"

	idsync "github.com/idsync/idsync/sync"
)

var pruneCommand = &command{
	name:    "prune",
	args:    "[--keep N] [--older-than DURATION] [--connector NAME] [--work DIR] [--store URL] [--artifacts URL] [--json]",
	summary: "delete old runs: their records, change sets and error reports",
	detail: `
Every run already prunes its connector's runs beyond the newest 10 when it
ends. prune keeps the newest --keep runs of each connector and, beyond
them, deletes those that started longer ago than --older-than (all of
them without it). It never deletes a blocked or running run, nor the
previous snapshots that incremental runs diff against.`,
	setFlags: func(fs *flag.FlagSet, o *opts) {
		fs.IntVar(&o.limit, "keep", idsync.DefaultKeepRuns, "keep the newest `N` runs of each connector")
		fs.DurationVar(&o.olderThan, "older-than", 0, "beyond --keep, delete only the runs older than `DURATION` (720h: 30 days)")
		fs.StringVar(&o.connector, "connector", "", "prune the runs of connector `NAME` only")
		flagWork(fs, o)
		flagLookupStore(fs, o)
		flagArtifacts(fs, o)
		flagJSON(fs, o, "the runs deleted")
	},
	run: func(c *cli, o *opts, args []string) error {
		if o.limit < 1 {
			return usagef("prune", "--keep %d: want 1 or more", o.limit)
		}
		res, err := c.prune(o, &idsync.PruneOptions{Connector: o.connector, Keep: o.limit, OlderThan: o.olderThan})
		if o.json {
			runs := []string{}
			if res != nil {
				runs = append(runs, res.Runs...)
			}
			if jerr := writeJSON(c.stdout, map[string]any{"deleted": runs}); err == nil {
				err = jerr
			}
			return err
		}
		if res != nil {
			for _, id := range res.Runs {
				fmt.Fprintf(c.stdout, "deleted %s\n", id)
			}
			fmt.Fprintf(c.stdout, "%d runs deleted from %s.\n", len(res.Runs), o.work)
		}
		return err
	},
}

// prune prunes the runs of the stores that keep this work folder's runs,
// and of the work folder.
func (c *cli) prune(o *opts, po *idsync.PruneOptions) (*idsync.PruneResult, error) {
	arts, closeArts, err := c.openArtifacts(o)
	if err != nil {
		return nil, err
	}
	defer closeArts()
	engines, closeAll, err := c.stateEngines(o, arts)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	res := &idsync.PruneResult{}
	for _, e := range engines {
		r, err := e.Prune(c.ctx, po)
		if r != nil {
			res.Runs = append(res.Runs, r.Runs...)
		}
		if err != nil {
			return res, err
		}
	}
	return res, nil
}
