package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/idsync/idsync/entitytype"
	idsync "github.com/idsync/idsync/sync"
)

// What the review commands (show, errors, resume, cancel, runs) share:
// finding a run without creating anything, saying why a run cannot be
// resumed, and filtering and formatting its changes.

// checkWork refuses a work folder that does not exist: the commands that
// read runs never create one.
func checkWork(work string) error {
	abs, err := filepath.Abs(work)
	if err != nil {
		abs = work
	}
	fi, err := os.Stat(work)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("no work folder %s: no run was recorded there (give --work DIR or set $IDSYNC_WORK)", abs)
	case err != nil:
		return err
	case !fi.IsDir():
		return usagef("", "--work %s is not a folder", work)
	}
	return nil
}

// runNotFoundError is a run ID that names no run of the stores and the
// work folder looked in.
type runNotFoundError struct {
	id, work string
	looked   []string
}

func (e *runNotFoundError) Error() string {
	return fmt.Sprintf("run not found: %s (looked in %s)\nlist the runs with: idsync runs --work %s (and --store URL for a store not used from this work folder)",
		e.id, strings.Join(e.looked, " and "), shellQuote(e.work))
}

func (e *runNotFoundError) Unwrap() error { return idsync.ErrNotFound }

// supersededBy returns the ID of the run that superseded r (a newer run
// of its connector that blocked or succeeded cancels it), or "".
func supersededBy(r *idsync.Run) string {
	if r == nil || r.State != idsync.Cancelled {
		return ""
	}
	by, ok := strings.CutPrefix(r.Error, "superseded by run ")
	if !ok {
		return ""
	}
	return strings.TrimSpace(by)
}

// supersededText says which run to review instead of a superseded one.
func supersededText(by, work string) string {
	return "superseded by run " + by + ": review that one: " + paths{work: work}.show(by)
}

// runStateError is a run in a state that does not allow the command:
// exit code 1, as the library's ErrRunState.
type runStateError struct{ msg string }

func (e *runStateError) Error() string { return e.msg }
func (e *runStateError) Unwrap() error { return idsync.ErrRunState }

// checkResumable says, in one line, why run r cannot be resumed, or
// returns nil for a blocked run.
func checkResumable(o *opts, r *idsync.Run) error {
	var msg string
	switch {
	case r.State == idsync.Blocked:
		return nil
	case supersededBy(r) != "":
		msg = fmt.Sprintf("run %s was %s", r.ID, supersededText(supersededBy(r), o.work))
	case r.State == idsync.Succeeded:
		msg = fmt.Sprintf("run %s has already succeeded: its changes are applied, there is nothing to resume", r.ID)
	case r.State == idsync.Planned:
		msg = fmt.Sprintf("run %s is a plan (a dry run): only a blocked run can be resumed; 'idsync run' plans and applies", r.ID)
	default:
		msg = fmt.Sprintf("run %s is %s: only a blocked run can be resumed", r.ID, r.State)
	}
	return &runStateError{msg}
}

// checkCancellable says, in one line, why run r cannot be cancelled, or
// returns nil for a blocked or planned run.
func checkCancellable(o *opts, r *idsync.Run) error {
	var msg string
	switch {
	case r.State == idsync.Blocked, r.State == idsync.Planned:
		return nil
	case supersededBy(r) != "":
		msg = fmt.Sprintf("run %s is already cancelled: it was %s", r.ID, supersededText(supersededBy(r), o.work))
	case r.State == idsync.Succeeded:
		msg = fmt.Sprintf("run %s has already succeeded: its changes are applied, there is nothing to cancel", r.ID)
	case r.State == idsync.Cancelled:
		msg = fmt.Sprintf("run %s is cancelled: there is nothing left to discard", r.ID)
	default:
		msg = fmt.Sprintf("run %s is %s: only a blocked or planned run can be cancelled", r.ID, r.State)
	}
	return &runStateError{msg}
}

// changeFilter selects the changes that show --changes lists.
type changeFilter struct {
	ops   []idsync.Op // nil: all
	types []string    // nil: all
	key   string      // "": all; a link matches by its source or target
	limit int         // at most this many per table (0: all)
	desc  string      // the filter flags, as given: "--op update --key U1"
}

// parseChangeFilter reads show's --op, --type, --key and --limit.
func parseChangeFilter(cmd string, o *opts) (changeFilter, error) {
	f := changeFilter{key: o.key, limit: o.limit}
	if o.limit < 0 {
		return f, usagef(cmd, "--limit %d: want a positive number, or 0 for all", o.limit)
	}
	var desc []string
	if o.op != "" {
		for _, s := range strings.Split(o.op, ",") {
			op, ok := idsync.ParseOp(s)
			if !ok || op == idsync.Merge {
				return f, usagef(cmd, "--op %s: unknown operation %q: want insert, update or delete (several: comma-separated)", o.op, strings.TrimSpace(s))
			}
			if !slices.Contains(f.ops, op) {
				f.ops = append(f.ops, op)
			}
		}
		desc = append(desc, "--op "+o.op)
	}
	if o.typ != "" {
		for _, s := range strings.Split(o.typ, ",") {
			f.types = append(f.types, strings.TrimSpace(s))
		}
		desc = append(desc, "--type "+o.typ)
	}
	if o.key != "" {
		desc = append(desc, "--key "+shellQuote(o.key))
	}
	f.desc = strings.Join(desc, " ")
	return f, nil
}

// active reports whether the filter selects some changes only.
func (f changeFilter) active() bool { return f.desc != "" }

// check refuses a --type that names no table of the change set's model.
func (f changeFilter) check(cmd string, cs *idsync.ChangeSet, runID string) error {
	var names []string
	for _, t := range cs.EntityTypes() {
		names = append(names, t.Name)
	}
	for _, a := range cs.Associations() {
		names = append(names, a.Name)
	}
	for _, t := range f.types {
		if !slices.Contains(names, t) {
			return usagef(cmd, "--type %s: run %s has no entity type or association %q (it has %s)", strings.Join(f.types, ","), runID, t, orNone(names))
		}
	}
	return nil
}

func (f changeFilter) table(name string) bool {
	return f.types == nil || slices.Contains(f.types, name)
}

func (f changeFilter) resource(ch idsync.ResourceChange) bool {
	return (f.ops == nil || slices.Contains(f.ops, ch.Op)) && (f.key == "" || ch.Key == f.key)
}

func (f changeFilter) link(ch idsync.LinkChange) bool {
	return (f.ops == nil || slices.Contains(f.ops, ch.Op)) && (f.key == "" || ch.Source == f.key || ch.Target == f.key)
}

// printChanges lists a change set's changes, old → new: those that f
// selects, at most f.limit per table.
func printChanges(w io.Writer, cs *idsync.ChangeSet, f changeFilter) error {
	if cs.Len() == 0 {
		fmt.Fprintln(w, "No change.")
		return nil
	}
	model := cs.Model()
	matched := int64(0)
	// header writes a table's header: "SAB_User: 4 changes", or with a
	// filter "SAB_User: 1 of 4 changes (--op update)".
	header := func(name string, n, total int64, what string) {
		if f.active() {
			fmt.Fprintf(w, "%s: %s of %s %s (%s)\n", name, group(n), group(total), what, f.desc)
		} else {
			fmt.Fprintf(w, "%s: %s %s\n", name, group(total), what)
		}
	}
	for _, t := range cs.EntityTypes() {
		total := t.Inserted + t.Updated + t.Deleted
		if total == 0 || !f.table(t.Name) {
			continue
		}
		et := model.EntityType(t.Name)
		var lines []string
		n := int64(0)
		for ch, err := range cs.Resources(t.Name) {
			if err != nil {
				return err
			}
			if !f.resource(ch) {
				continue
			}
			n++
			if f.limit == 0 || len(lines) < f.limit {
				lines = append(lines, resourceLine(et, ch))
			}
		}
		if n == 0 {
			continue
		}
		matched += n
		header(t.Name, n, total, "changes")
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
		if n > int64(len(lines)) {
			fmt.Fprintf(w, "  ... %s more\n", group(n-int64(len(lines))))
		}
	}
	for _, a := range cs.Associations() {
		total := a.Inserted + a.Deleted
		if total == 0 || !f.table(a.Name) {
			continue
		}
		var lines []string
		n := int64(0)
		for ch, err := range cs.Links(a.Name) {
			if err != nil {
				return err
			}
			if !f.link(ch) {
				continue
			}
			n++
			if f.limit == 0 || len(lines) < f.limit {
				lines = append(lines, fmt.Sprintf("  %-6s %s → %s", ch.Op, quote(ch.Source), quote(ch.Target)))
			}
		}
		if n == 0 {
			continue
		}
		matched += n
		header(a.Name, n, total, "link changes")
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
		if n > int64(len(lines)) {
			fmt.Fprintf(w, "  ... %s more\n", group(n-int64(len(lines))))
		}
	}
	if matched == 0 {
		fmt.Fprintf(w, "No change matches %s.\n", f.desc)
	}
	return nil
}

// resourceLine writes one resource change: an insert or a delete with its
// properties, an update with each changed property old → new (a
// multi-valued one with the values added and removed).
func resourceLine(et *entitytype.EntityType, ch idsync.ResourceChange) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %-6s %s", ch.Op, quote(ch.Key))
	var parts []string
	for _, p := range ch.Props {
		multi := isMulti(et, p.Name, p.Old, p.New)
		switch {
		case ch.Op == idsync.Update && multi:
			added, removed := setDiff(multiValues(p.Old), multiValues(p.New))
			var d []string
			if len(added) > 0 {
				d = append(d, "added "+listValue(added))
			}
			if len(removed) > 0 {
				d = append(d, "removed "+listValue(removed))
			}
			parts = append(parts, p.Name+": "+strings.Join(d, ", "))
		case ch.Op == idsync.Update:
			parts = append(parts, fmt.Sprintf("%s: %s → %s", p.Name, value(p.Old), value(p.New)))
		default:
			val := p.New
			if ch.Op == idsync.Delete {
				val = p.Old
			}
			if multi {
				parts = append(parts, p.Name+"="+listValue(multiValues(val)))
			} else {
				parts = append(parts, p.Name+"="+quote(val))
			}
		}
	}
	sep := " "
	if ch.Op == idsync.Update {
		sep = "; "
	}
	if len(parts) > 0 {
		b.WriteString("  " + strings.Join(parts, sep))
	}
	return b.String()
}

// isMulti reports whether a property is multi-valued: as the entity type
// declares it, or, without one, when a value holds the separator.
func isMulti(et *entitytype.EntityType, name string, vals ...string) bool {
	if et != nil {
		if p := et.Property(name); p != nil {
			return p.MultiValued
		}
	}
	return slices.ContainsFunc(vals, func(v string) bool { return strings.Contains(v, entitytype.MultiSep) })
}

// multiValues splits the canonical value of a multi-valued property.
func multiValues(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, entitytype.MultiSep)
}

// setDiff returns the values of new not in old, and of old not in new.
func setDiff(old, new []string) (added, removed []string) {
	for _, v := range new {
		if !slices.Contains(old, v) {
			added = append(added, v)
		}
	}
	for _, v := range old {
		if !slices.Contains(new, v) {
			removed = append(removed, v)
		}
	}
	return added, removed
}

// listValue writes the values of a multi-valued property: [a, b, "c d"].
func listValue(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = quote(v)
		if q[i] == v && strings.ContainsAny(v, ",[]") {
			q[i] = fmt.Sprintf("%q", v)
		}
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// jsonValue is a property's value in JSON: a string, or for a
// multi-valued property an array of strings.
func jsonValue(multi bool, v string) any {
	if multi {
		return multiValues(v)
	}
	return v
}

// The JSON of show --changes and diff --changes.
type propChangeJSON struct {
	Name    string   `json:"name"`
	Old     any      `json:"old"`
	New     any      `json:"new"`
	Added   []string `json:"added,omitempty"`   // multi-valued update
	Removed []string `json:"removed,omitempty"` // multi-valued update
}

type resourceChangeJSON struct {
	EntityType string           `json:"entityType"`
	Op         idsync.Op        `json:"op"`
	Key        string           `json:"key"`
	Props      []propChangeJSON `json:"props,omitempty"`
}

type linkChangeJSON struct {
	Association string    `json:"association"`
	Op          idsync.Op `json:"op"`
	Source      string    `json:"source"`
	Target      string    `json:"target"`
}

// changesJSON returns the changes that f selects, at most f.limit per
// table.
func changesJSON(cs *idsync.ChangeSet, f changeFilter) ([]any, error) {
	out := []any{}
	for _, t := range cs.EntityTypes() {
		if !f.table(t.Name) {
			continue
		}
		et := cs.Model().EntityType(t.Name)
		n := 0
		for ch, err := range cs.Resources(t.Name) {
			if err != nil {
				return nil, err
			}
			if !f.resource(ch) {
				continue
			}
			if f.limit > 0 && n >= f.limit {
				break
			}
			n++
			j := resourceChangeJSON{EntityType: t.Name, Op: ch.Op, Key: ch.Key}
			for _, p := range ch.Props {
				multi := isMulti(et, p.Name, p.Old, p.New)
				pj := propChangeJSON{Name: p.Name, Old: jsonValue(multi, p.Old), New: jsonValue(multi, p.New)}
				if multi && ch.Op == idsync.Update {
					pj.Added, pj.Removed = setDiff(multiValues(p.Old), multiValues(p.New))
				}
				j.Props = append(j.Props, pj)
			}
			out = append(out, j)
		}
	}
	for _, a := range cs.Associations() {
		if !f.table(a.Name) {
			continue
		}
		n := 0
		for ch, err := range cs.Links(a.Name) {
			if err != nil {
				return nil, err
			}
			if !f.link(ch) {
				continue
			}
			if f.limit > 0 && n >= f.limit {
				break
			}
			n++
			out = append(out, linkChangeJSON{a.Name, ch.Op, ch.Source, ch.Target})
		}
	}
	return out, nil
}
