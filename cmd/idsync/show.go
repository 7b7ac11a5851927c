package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	idsync "github.com/idsync/idsync/sync"
)

var showCommand = &command{
	name:    "show",
	args:    "RUN_ID [--changes] [--op insert|update|delete] [--type NAME] [--key KEY] [--limit N] [--json] [--work DIR] [--store URL] [--artifacts URL]",
	summary: "show a run: counters, verdicts, hints; --changes lists changes old → new",
	detail: `
--op, --type and --key list only some changes (and imply --changes):
those of an operation, of an entity type or association, of a key (a
link matches by its source or its target). --op and --type take several
values, comma-separated.`,
	nargs: [2]int{1, 1},
	setFlags: func(fs *flag.FlagSet, o *opts) {
		fs.BoolVar(&o.changes, "changes", false, "list the changes of the run's change set, old → new")
		fs.StringVar(&o.op, "op", "", "list only the changes of operation `OP`: insert, update or delete")
		fs.StringVar(&o.typ, "type", "", "list only the changes of entity type or association `NAME`")
		fs.StringVar(&o.key, "key", "", "list only the changes of the resource `KEY` (and the links from or to it)")
		fs.IntVar(&o.limit, "limit", 0, "list at most `N` changes per entity type and association (0: all)")
		flagWork(fs, o)
		flagLookupStore(fs, o)
		flagArtifacts(fs, o)
		flagJSON(fs, o, "the run (with --changes, its changes too)")
	},
	run: func(c *cli, o *opts, args []string) error { return c.show(o, args[0]) },
}

func (c *cli) show(o *opts, id string) error {
	f, err := parseChangeFilter("show", o)
	if err != nil {
		return err
	}
	listChanges := o.changes || f.active()
	found, err := c.findRun(o, id)
	if err != nil {
		return err
	}
	defer found.close()
	r := found.run
	c.localReport(found)
	normalize(r, nil)
	v := &view{name: r.Connector, run: r, summary: loadSummary(r), planOnly: r.State == idsync.Planned}
	var cs *idsync.ChangeSet
	if listChanges {
		if cs, err = found.engine.ChangeSet(c.ctx, r); err != nil {
			if by := supersededBy(r); by != "" {
				return &runStateError{fmt.Sprintf("run %s has no change set to list: it was %s", id, supersededText(by, o.work))}
			}
			if r.State == idsync.Cancelled || r.State == idsync.Failed {
				return &runStateError{fmt.Sprintf("run %s is %s: it has no change set to list", id, r.State)}
			}
			return err
		}
		if err := f.check("show", cs, id); err != nil {
			return err
		}
	}
	if o.json {
		cj := v.json()
		if cs != nil {
			if cj.Changes, err = changesJSON(cs, f); err != nil {
				return err
			}
		}
		res := result([]*view{v}, r.Mode, string(r.State))
		res.Connectors[0] = cj
		return writeJSON(c.stdout, res)
	}
	w := c.stdout
	store := o.store
	if store == "" {
		store = defaultStore()
	}
	printView(w, v, paths{o.work, store}, styler(c.colour(o)), true)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  Started: %s", r.Started.Local().Format(time.DateTime))
	if !r.Ended.IsZero() {
		fmt.Fprintf(w, "   ended: %s (%s)", r.Ended.Local().Format(time.DateTime), r.Ended.Sub(r.Started).Round(time.Millisecond))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  Folder:  %s\n", r.Dir())
	if r.StoreName != "" {
		fmt.Fprintf(w, "  Store:   %s (identity %s)\n", r.StoreName, r.StoreID)
	}
	if rv := r.Review; rv != nil {
		verb := map[string]string{"resume": "Resumed", "cancel": "Cancelled"}[rv.Action]
		fmt.Fprintf(w, "  %s by %s at %s", verb, cmp.Or(rv.Actor, "(unnamed)"), rv.At.Local().Format(time.DateTime))
		if rv.Comment != "" {
			fmt.Fprintf(w, ": %s", rv.Comment)
		}
		fmt.Fprintln(w)
	}
	if r.State == idsync.Failed && r.Error != "" {
		for _, line := range strings.Split(human(r.Error), "\n")[1:] {
			fmt.Fprintln(w, "          "+strings.TrimSpace(line))
		}
	}
	if cs != nil {
		fmt.Fprintln(w)
		return printChanges(w, cs, f)
	}
	return nil
}

// value shows a canonical value: (null) for null, quoted if need be.
func value(s string) string {
	if s == "" {
		return "(null)"
	}
	return quote(s)
}

// quote quotes s if it is empty or holds spaces, quotes or controls.
func quote(s string) string {
	if s == "" || strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' || r == '=' || r == ';' || r == '→'
	}) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

var runsCommand = &command{
	name:    "runs",
	args:    "[--connector NAME] [--state STATE,...] [--limit N] [--before RUN_ID] [--json] [--work DIR] [--store URL]",
	summary: "list the runs in the work folder, newest first, with their state",
	detail: `
The runs are listed newest first, 50 at a time (--limit); the last line
tells how to list the next page (--before the last run listed).`,
	setFlags: func(fs *flag.FlagSet, o *opts) {
		fs.StringVar(&o.connector, "connector", "", "list only the runs of connector `NAME`")
		fs.StringVar(&o.states, "state", "", "list only the runs in these states, `STATE,...`: running, planned, blocked, succeeded, failed, cancelled")
		fs.IntVar(&o.limit, "limit", 50, "list at most `N` runs (0: all)")
		fs.StringVar(&o.before, "before", "", "list the runs older than `RUN_ID` (the next page)")
		flagWork(fs, o)
		flagLookupStore(fs, o)
		flagJSON(fs, o, "the runs")
	},
	run: func(c *cli, o *opts, args []string) error {
		q := &idsync.RunQuery{Connector: o.connector, Before: o.before, Limit: o.limit}
		for st := range strings.SplitSeq(o.states, ",") {
			switch st := idsync.State(strings.TrimSpace(st)); st {
			case "":
			case idsync.Running, idsync.Planned, idsync.Blocked, idsync.Succeeded, idsync.Failed, idsync.Cancelled:
				q.States = append(q.States, st)
			default:
				return usagef("runs", "--state %q: want running, planned, blocked, succeeded, failed or cancelled", st)
			}
		}
		if o.limit < 0 {
			return usagef("runs", "--limit %d: want 0 (all) or more", o.limit)
		}
		runs, err := c.listRuns(o, q)
		if err != nil {
			return err
		}
		type runJSON struct {
			ID        string     `json:"id"`
			Connector string     `json:"connector"`
			Mode      string     `json:"mode"`
			State     string     `json:"state"`
			Started   time.Time  `json:"started"`
			Ended     *time.Time `json:"ended,omitempty"`
			Changes   int64      `json:"changes"`
			Rejected  int64      `json:"rejected"`
			Exceeded  bool       `json:"exceeded"`
			Error     string     `json:"error,omitempty"`
		}
		out := []runJSON{}
		for _, r := range runs {
			if o.connector != "" && r.Connector != o.connector {
				continue
			}
			normalize(r, nil)
			j := runJSON{ID: r.ID, Connector: r.Connector, Mode: string(r.Mode), State: string(r.State),
				Started: r.Started, Changes: changeCount(r), Rejected: rejectedCount(r),
				Exceeded: (&view{run: r}).exceeded(), Error: firstLine(r.Error)}
			if !r.Ended.IsZero() {
				j.Ended = &r.Ended
			}
			out = append(out, j)
		}
		if o.json {
			return writeJSON(c.stdout, map[string]any{"runs": out})
		}
		if len(out) == 0 {
			fmt.Fprintf(c.stdout, "No run in %s.\n", o.work)
			return nil
		}
		st := styler(c.colour(o))
		hasErr := slices.ContainsFunc(out, func(j runJSON) bool { return j.Error != "" })
		tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		head := "RUN\tCONNECTOR\tMODE\tSTATE\tSTARTED\tCHANGES\tREJECTED"
		if hasErr {
			head += "\tERROR"
		}
		fmt.Fprintln(tw, head)
		for _, j := range out {
			state := st.state(j.State)
			if j.State == string(idsync.Planned) && j.Exceeded {
				state += " (would block)"
			}
			line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", j.ID, j.Connector, j.Mode, state,
				j.Started.Local().Format(time.DateTime), group(j.Changes), group(j.Rejected))
			if hasErr {
				line += "\t" + j.Error
			}
			fmt.Fprintln(tw, line)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if o.limit > 0 && len(out) == o.limit {
			next := []string{"idsync runs", "--before", out[len(out)-1].ID, "--limit", strconv.Itoa(o.limit), "--work", shellQuote(o.work)}
			if o.connector != "" {
				next = append(next, "--connector", shellQuote(o.connector))
			}
			if o.states != "" {
				next = append(next, "--state", shellQuote(o.states))
			}
			fmt.Fprintf(c.stdout, "\nMore runs may be older: %s\n", strings.Join(next, " "))
		}
		return nil
	},
}

func changeCount(r *idsync.Run) int64 {
	var n int64
	for _, t := range r.EntityTypes {
		n += t.Inserted + t.Updated + t.Deleted
	}
	for _, a := range r.Associations {
		n += a.Inserted + a.Deleted
	}
	return n
}

// errorsDefaultLimit is how many rows per table errors prints by default.
const errorsDefaultLimit = 50

var errorsCommand = &command{
	name:    "errors",
	args:    "RUN_ID [--limit N | --all] [--json] [--work DIR] [--store URL] [--artifacts URL]",
	summary: "print a run's error report: rejected rows with file, line, column, reason",
	detail: `
The rows are listed by table (file and entity type or association), by
line: the first 50 of each table unless --limit or --all says otherwise.
With --json, every row unless --limit says otherwise; "total" is the
number of rows of the report.`,
	nargs: [2]int{1, 1},
	setFlags: func(fs *flag.FlagSet, o *opts) {
		fs.IntVar(&o.limit, "limit", 0, "print at most `N` rows per table (default 50, all with --json)")
		fs.BoolVar(&o.all, "all", false, "print every row")
		flagWork(fs, o)
		flagLookupStore(fs, o)
		flagArtifacts(fs, o)
		flagJSON(fs, o, "the report")
	},
	run: func(c *cli, o *opts, args []string) error { return c.errors(o, args[0]) },
}

func (c *cli) errors(o *opts, id string) error {
	if o.limit < 0 {
		return usagef("errors", "--limit %d: want a positive number", o.limit)
	}
	if o.all && o.limit > 0 {
		return usagef("errors", "--all and --limit %d: give one of them", o.limit)
	}
	limit := o.limit
	if limit == 0 && !o.all && !o.json {
		limit = errorsDefaultLimit
	}
	found, err := c.findRun(o, id)
	if err != nil {
		return err
	}
	defer found.close()
	r := found.run
	c.localReport(found)
	if r.ErrorReport == "" {
		msg := fmt.Sprintf("run %s has no error report", id)
		if r.Error != "" {
			msg += ": it failed before its rows were prepared: " + firstLine(r.Error)
		}
		return errors.New(msg)
	}
	jsonl := filepath.Join(filepath.Dir(r.ErrorReport), idsync.ReportJSONL)
	rows, err := idsync.ReadReport(jsonl)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("run %s: error report %s is gone", id, jsonl)
		}
		return err
	}
	// By table, by line.
	type table struct{ rows []idsync.Rejection }
	var tables []table
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].File == rows[i].File && rows[j].Name == rows[i].Name {
			j++
		}
		slices.SortStableFunc(rows[i:j], func(a, b idsync.Rejection) int { return cmp.Compare(a.Line, b.Line) })
		tables = append(tables, table{rows[i:j]})
		i = j
	}
	if o.json {
		out := []idsync.Rejection{}
		for _, t := range tables {
			n := len(t.rows)
			if limit > 0 {
				n = min(n, limit)
			}
			out = append(out, t.rows[:n]...)
		}
		return writeJSON(c.stdout, map[string]any{"run": r.ID, "connector": r.Connector,
			"errorReport": r.ErrorReport, "total": len(rows), "rejections": out})
	}
	w := c.stdout
	normalize(r, nil)
	if r.State == idsync.Failed && r.Error != "" {
		fmt.Fprintf(w, "%s  run %s failed: %s\n", r.Connector, r.ID, firstLine(r.Error))
	}
	if len(rows) == 0 {
		fmt.Fprintf(w, "%s  run %s: no rejected row.\n", r.Connector, r.ID)
		return nil
	}
	fmt.Fprintf(w, "%s  run %s: %s rows reported%s\n", r.Connector, r.ID, group(int64(len(rows))), reasons(loadSummary(r)))
	fmt.Fprintf(w, "Report: %s (and %s)\n", r.ErrorReport, idsync.ReportJSONL)
	for _, t := range tables {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "%s (%s): %s rows\n", filepath.Base(t.rows[0].File), t.rows[0].Name, group(int64(len(t.rows))))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  LINE\tKEY\tCOLUMN\tREASON\tMESSAGE\tRAW")
		for k, x := range t.rows {
			if limit > 0 && k >= limit {
				more := "  ... %s more"
				if o.limit == 0 {
					more += " (--all lists them)"
				}
				fmt.Fprintf(tw, more+"\n", group(int64(len(t.rows)-k)))
				break
			}
			reason := string(x.Code)
			if x.Code == idsync.DroppedReference || x.Code == idsync.DuplicateLink {
				reason += " (kept)"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", x.Line, cell(x.Key), cell(x.Column), reason, oneLine(human(x.Message)), cell(clip(x.Raw, 60)))
		}
		tw.Flush()
	}
	return nil
}

// cell shows a value in a table cell: "-" when empty, quoted if need be.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
