package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
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
	args:    "RUN_ID [--changes] [--limit N] [--json] [--work DIR]",
	summary: "show a run: counters, verdicts, hints; --changes lists changes old → new",
	nargs:   [2]int{1, 1},
	setFlags: func(fs *flag.FlagSet, o *opts) {
		fs.BoolVar(&o.changes, "changes", false, "list the changes of the run's change set, old → new")
		fs.IntVar(&o.limit, "limit", 0, "list at most `N` changes per entity type and association (0: all)")
		flagWork(fs, o)
		fs.StringVar(&o.store, "store", "", "store `URL` to write in the resume command shown for a blocked run that does not record its store (default $IDSYNC_STORE or sqlite:./idsync.db)")
		flagJSON(fs, o, "the run (with --changes, its changes too)")
	},
	run: func(c *cli, o *opts, args []string) error { return c.show(o, args[0]) },
}

func (c *cli) show(o *opts, id string) error {
	engine := idsync.New(nil, &idsync.Options{WorkDir: o.work, Logger: c.log})
	r, err := engine.LoadRun(id)
	if err != nil {
		return err
	}
	normalize(r, nil)
	v := &view{name: r.Connector, run: r, summary: loadSummary(r), planOnly: r.State == idsync.Planned}
	var cs *idsync.ChangeSet
	if o.changes {
		if cs, err = r.ChangeSet(); err != nil {
			if r.State == idsync.Cancelled || r.State == idsync.Failed {
				return fmt.Errorf("run %s is %s: it has no change set to list", id, r.State)
			}
			return err
		}
	}
	if o.json {
		cj := v.json()
		if cs != nil {
			if cj.Changes, err = changesJSON(cs, o.limit); err != nil {
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
	if r.State == idsync.Failed && r.Error != "" {
		for _, line := range strings.Split(r.Error, "\n")[1:] {
			fmt.Fprintln(w, "          "+strings.TrimSpace(line))
		}
	}
	if cs != nil {
		fmt.Fprintln(w)
		return printChanges(w, cs, o.limit)
	}
	return nil
}

// printChanges lists a change set's changes, old → new.
func printChanges(w io.Writer, cs *idsync.ChangeSet, limit int) error {
	if cs.Len() == 0 {
		fmt.Fprintln(w, "No change.")
		return nil
	}
	for _, t := range cs.EntityTypes() {
		total := t.Inserted + t.Updated + t.Deleted
		if total == 0 {
			continue
		}
		fmt.Fprintf(w, "%s: %s changes\n", t.Name, group(total))
		n := 0
		for ch, err := range cs.Resources(t.Name) {
			if err != nil {
				return err
			}
			if limit > 0 && n >= limit {
				fmt.Fprintf(w, "  ... %s more\n", group(total-int64(n)))
				break
			}
			n++
			fmt.Fprintf(w, "  %-6s %s", ch.Op, quote(ch.Key))
			switch ch.Op {
			case idsync.Update:
				var parts []string
				for _, p := range ch.Props {
					parts = append(parts, fmt.Sprintf("%s: %s → %s", p.Name, value(p.Old), value(p.New)))
				}
				fmt.Fprintf(w, "  %s", strings.Join(parts, "; "))
			default:
				var parts []string
				for _, p := range ch.Props {
					val := p.New
					if ch.Op == idsync.Delete {
						val = p.Old
					}
					parts = append(parts, p.Name+"="+quote(val))
				}
				fmt.Fprintf(w, "  %s", strings.Join(parts, " "))
			}
			fmt.Fprintln(w)
		}
	}
	for _, a := range cs.Associations() {
		total := a.Inserted + a.Deleted
		if total == 0 {
			continue
		}
		fmt.Fprintf(w, "%s: %s link changes\n", a.Name, group(total))
		n := 0
		for ch, err := range cs.Links(a.Name) {
			if err != nil {
				return err
			}
			if limit > 0 && n >= limit {
				fmt.Fprintf(w, "  ... %s more\n", group(total-int64(n)))
				break
			}
			n++
			fmt.Fprintf(w, "  %-6s %s → %s\n", ch.Op, quote(ch.Source), quote(ch.Target))
		}
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

// changesJSON returns the changes as the objects of WriteJSONLines.
func changesJSON(cs *idsync.ChangeSet, limit int) ([]any, error) {
	out := []any{}
	for _, t := range cs.EntityTypes() {
		n := 0
		for ch, err := range cs.Resources(t.Name) {
			if err != nil {
				return nil, err
			}
			if limit > 0 && n >= limit {
				break
			}
			n++
			out = append(out, struct {
				EntityType string `json:"entityType"`
				idsync.ResourceChange
			}{t.Name, ch})
		}
	}
	for _, a := range cs.Associations() {
		n := 0
		for ch, err := range cs.Links(a.Name) {
			if err != nil {
				return nil, err
			}
			if limit > 0 && n >= limit {
				break
			}
			n++
			out = append(out, struct {
				Association string `json:"association"`
				idsync.LinkChange
			}{a.Name, ch})
		}
	}
	return out, nil
}

var runsCommand = &command{
	name:    "runs",
	args:    "[--connector NAME] [--json] [--work DIR]",
	summary: "list the runs in the work folder, oldest first, with their state",
	setFlags: func(fs *flag.FlagSet, o *opts) {
		fs.StringVar(&o.connector, "connector", "", "list only the runs of connector `NAME`")
		flagWork(fs, o)
		flagJSON(fs, o, "the runs")
	},
	run: func(c *cli, o *opts, args []string) error {
		engine := idsync.New(nil, &idsync.Options{WorkDir: o.work, Logger: c.log})
		runs, err := engine.Runs()
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
		return tw.Flush()
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

var errorsCommand = &command{
	name:    "errors",
	args:    "RUN_ID [--limit N] [--json] [--work DIR]",
	summary: "print a run's error report: rejected rows with file, line, column, reason",
	nargs:   [2]int{1, 1},
	setFlags: func(fs *flag.FlagSet, o *opts) {
		fs.IntVar(&o.limit, "limit", 0, "print at most `N` rows per table (0: all)")
		flagWork(fs, o)
		flagJSON(fs, o, "the report")
	},
	run: func(c *cli, o *opts, args []string) error { return c.errors(o, args[0]) },
}

func (c *cli) errors(o *opts, id string) error {
	engine := idsync.New(nil, &idsync.Options{WorkDir: o.work, Logger: c.log})
	r, err := engine.LoadRun(id)
	if err != nil {
		return err
	}
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
	if o.json {
		if rows == nil {
			rows = []idsync.Rejection{}
		}
		return writeJSON(c.stdout, map[string]any{"run": r.ID, "connector": r.Connector,
			"errorReport": r.ErrorReport, "rejections": rows})
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
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].File == rows[i].File && rows[j].Name == rows[i].Name {
			j++
		}
		slices.SortStableFunc(rows[i:j], func(a, b idsync.Rejection) int { return cmp.Compare(a.Line, b.Line) })
		fmt.Fprintln(w)
		fmt.Fprintf(w, "%s (%s): %s rows\n", filepath.Base(rows[i].File), rows[i].Name, group(int64(j-i)))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  LINE\tKEY\tCOLUMN\tREASON\tMESSAGE\tRAW")
		for k := i; k < j; k++ {
			if o.limit > 0 && k-i >= o.limit {
				fmt.Fprintf(tw, "  ... %s more\n", group(int64(j-k)))
				break
			}
			x := rows[k]
			reason := string(x.Code)
			if x.Code == idsync.DroppedReference || x.Code == idsync.DuplicateLink {
				reason += " (kept)"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", x.Line, cell(x.Key), cell(x.Column), reason, oneLine(x.Message), cell(clip(x.Raw, 60)))
		}
		tw.Flush()
		i = j
	}
	return nil
}

// cell shows a value in a table cell: "-" when empty, quoted if need be.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	if strings.ContainsAny(s, "\t\n\r") {
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
