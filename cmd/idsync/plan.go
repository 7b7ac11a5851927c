package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/csvconn"
	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
)

func planCommand(apply bool) *command {
	c := &command{
		name:    "plan",
		args:    "--config FILE --input DIR [--connector NAME] [--mode complete|incremental] [--allow-empty] [--store URL] [--work DIR] [--artifacts URL] [--wait] [--json]",
		summary: "dry run: prepare, diff against the store and check thresholds; write nothing",
		detail: `
Without --connector, every connector of the configuration is planned, in
order. The exit code is 0 if every plan is within all limits, 3 if a run
would be blocked by a threshold, 1 if a run failed, 5 if another run of a
connector is in progress (--wait waits for it).`,
	}
	if apply {
		c.name = "run"
		c.args = "--config FILE --input DIR [--connector NAME] [--mode complete|incremental] [--allow-empty] [--keep-going] [--store URL] [--work DIR] [--artifacts URL] [--wait] [--json]"
		c.summary = "plan and apply, unless a threshold blocks the run for review"
		c.detail = `
Without --connector, every connector of the configuration runs, in order
(a job): put the connectors whose entity types others reference first,
as HR before the applications whose users point to HR's organizations.
The job stops at the first connector that is blocked or fails, since the
next ones may reference its data (--keep-going runs them all anyway).

A blocked run keeps its change set for review: 'idsync show', then
'idsync resume' applies it or 'idsync cancel' discards it. Exit code: 0
applied, 3 blocked, 1 failed (also when the store changed while the run
was planning: run again), 5 another run of a connector is in progress
(--wait waits for it). Runs of one connector exclude each other across
processes that share the store.`
	}
	c.setFlags = func(fs *flag.FlagSet, o *opts) {
		flagConfig(fs, o, "")
		fs.StringVar(&o.input, "input", "", "`DIR` holding the extraction files named in the configuration (required)")
		fs.StringVar(&o.connector, "connector", "", "process only the connector `NAME` (several: comma-separated); all in order when empty")
		fs.StringVar(&o.mode, "mode", "complete", "`MODE`: complete (the files are the whole truth) or incremental")
		fs.BoolVar(&o.allowEmpty, "allow-empty", false, "let a complete run synchronize an empty extraction, which deletes all its stored resources")
		if apply {
			fs.BoolVar(&o.keepGoing, "keep-going", false, "run the next connectors after one is blocked or fails")
		}
		flagStore(fs, o)
		flagWork(fs, o)
		flagArtifacts(fs, o)
		flagWait(fs, o)
		flagJSON(fs, o, "the outcome")
	}
	c.run = func(cl *cli, o *opts, args []string) error { return cl.plan(o, apply) }
	return c
}

func (c *cli) plan(o *opts, apply bool) error {
	cmd := "plan"
	if apply {
		cmd = "run"
	}
	cfg, err := loadConfig(cmd, o.config)
	if err != nil {
		return err
	}
	if o.input == "" {
		return usagef(cmd, "--input is required: the folder holding the extraction files")
	}
	if fi, err := os.Stat(o.input); err != nil || !fi.IsDir() {
		return usagef(cmd, "--input %s: no such folder", o.input)
	}
	mode, err := parseMode(cmd, o.mode)
	if err != nil {
		return err
	}
	models, err := selectConnectors(cfg, o.connector)
	if err != nil {
		return err
	}
	if err := checkStoreURL(o.store); err != nil {
		return err
	}
	store, err := openStore(c.ctx, o.store)
	if err != nil {
		return err
	}
	defer store.close()
	arts, closeArts, err := c.openArtifacts(o)
	if err != nil {
		return err
	}
	defer closeArts()
	if store.sql != nil {
		if err := os.MkdirAll(o.work, 0o755); err == nil {
			rememberStore(o.work, store.name) // the review commands find its runs there
		}
	}

	prog := c.newProgress(o)
	engine := c.engineFor(store, o, prog, arts)
	var conns []connector.Connector
	for _, m := range models {
		if !m.Disabled {
			conns = append(conns, csvconn.New(m, o.input, nil))
		}
	}
	res, jobErr := engine.RunJob(c.ctx, conns, &idsync.JobOptions{
		Mode: mode, DryRun: !apply, AllowEmpty: o.allowEmpty, StopOnError: apply && !o.keepGoing,
	})
	prog.stop()
	if res == nil {
		return jobErr
	}
	// One view per connector, in the configuration's order.
	byName := map[string]*idsync.ConnectorResult{}
	for i := range res.Connectors {
		byName[res.Connectors[i].Connector] = &res.Connectors[i]
	}
	var views []*view
	var stopped string
	for _, m := range models {
		v := &view{name: m.Name, planOnly: !apply}
		cr := byName[m.Name]
		switch {
		case m.Disabled:
			v.reason = "disabled in " + filepath.Base(o.config)
		case cr == nil && stopped != "":
			v.reason = "not run: the job stopped after " + stopped + "; run it again when that is settled"
		case cr == nil:
			v.reason = "not run: the job stopped"
		case cr.Skipped && cr.Err == nil:
			v.reason = "deactivated: idsync activate " + m.Name + " --work " + shellQuote(o.work)
		default:
			v.run, v.err = cr.Run, cr.Err
			normalize(v.run, v.err)
			if apply {
				v.err = staleRun(m.Name, v.err)
			}
			if v.run != nil {
				v.summary = loadSummary(v.run)
			}
			if cr.Err != nil || (cr.Run != nil && cr.Run.State != idsync.Succeeded && cr.Run.State != idsync.Planned) {
				stopped = m.Name
			}
		}
		views = append(views, v)
	}
	state := jobState(views, apply)
	code := c.report(cmd, o, views, mode, state, paths{o.work, store.name})
	if code == exitOK && jobErr != nil && !errors.Is(jobErr, idsync.ErrBlocked) {
		// Not expected: every connector's error was shown with it.
		return jobErr
	}
	return exitStatus(code)
}

// staleRun turns a stale plan met by a run (plan and apply in one
// command) into a runtime error: exit code 4 is resume's, and here the
// store changed while the run was planning, which running again settles.
func staleRun(connector string, err error) error {
	if !errors.Is(err, idsync.ErrStalePlan) {
		return err
	}
	return fmt.Errorf("the store changed while this run was planning (another process wrote to the data of %s): nothing was written; run again (%v)", connector, err)
}

// jobState is the job's state, as JobResult.State computes it, over the
// connectors that ran; "busy" if one was refused for another run of it
// in progress and none failed.
func jobState(views []*view, apply bool) string {
	state := idsync.Succeeded
	if !apply {
		state = idsync.Planned
	}
	busy := false
	for _, v := range views {
		switch idsync.State(v.state()) {
		case idsync.Failed, idsync.Cancelled:
			return string(idsync.Failed)
		case idsync.Blocked:
			state = idsync.Blocked
		case stateBusy:
			busy = true
		}
	}
	if busy {
		return stateBusy
	}
	return string(state)
}

// report prints the views, and their errors on standard error, and
// returns the exit code: 1 if a run failed, else the highest of 5
// (busy), 4 (stale plan, on resume), 3 (blocked, or would block) and 0.
func (c *cli) report(cmd string, o *opts, views []*view, mode idsync.Mode, state string, p paths) int {
	code := exitOK
	failed := false
	for _, v := range views {
		vc := exitOK
		switch {
		case v.err != nil && !errors.Is(v.err, idsync.ErrBlocked):
			vc = exitCode(v.err)
		case v.run != nil && (v.run.State == idsync.Blocked || v.run.State == idsync.Planned && v.exceeded()):
			vc = exitBlocked
		}
		failed = failed || vc == exitError
		code = max(code, vc)
	}
	if failed {
		code = exitError
	}
	if o.json {
		writeJSON(c.stdout, result(views, mode, state))
	} else {
		st := styler(c.colour(o))
		for i, v := range views {
			if i > 0 {
				fmt.Fprintln(c.stdout)
			}
			printView(c.stdout, v, p, st, false)
		}
	}
	for _, v := range views {
		if v.err != nil && !errors.Is(v.err, idsync.ErrBlocked) {
			c.printError(cmd+": "+v.name, errors.New(v.errText()))
		}
	}
	return code
}

// modelOf returns the connector model holding an entity type or
// association.
func modelOf(cfg *entitytype.Config, name string) *entitytype.Model {
	for i := range cfg.Connectors {
		m := &cfg.Connectors[i]
		if m.EntityType(name) != nil {
			return m
		}
		for _, a := range m.Associations {
			if a.Name == name {
				return m
			}
		}
	}
	return nil
}
